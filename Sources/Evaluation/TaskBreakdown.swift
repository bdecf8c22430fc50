/// Quality per task: where a router gains or loses against the references.
public enum TaskBreakdown {
    /// One task's reference qualities (oracle / best single / random), as in BASELINES.md.
    public struct ReferenceRow: Sendable, Codable, Hashable {
        public var task: String
        public var count: Int
        public var oracle: Double
        public var bestSingle: Double
        public var random: Double
    }

    /// One task's realised quality and cost for a router's choices.
    public struct RouterRow: Sendable, Codable, Hashable {
        public var task: String
        public var count: Int
        public var quality: Double
        public var cost: Double
    }

    public static func references(_ t: EvaluationTables, _ r: ReferenceRouters) -> [ReferenceRow] {
        let m = t.models.count
        return t.taskIndices.map { task, rows in
            let oracle = t.realised(r.oracleChoices.map { Optional($0) }, subset: rows).quality
            let best = t.realised([Int?](repeating: r.bestIndex, count: t.count), subset: rows).quality
            var random = 0.0
            for i in rows { for j in 0..<m { random += t.outcome(i, j) } }
            random /= Double(max(1, rows.count * m))
            return ReferenceRow(task: task, count: rows.count, oracle: oracle, bestSingle: best, random: random)
        }
    }

    public static func router(_ t: EvaluationTables, choices: [Int?]) -> [RouterRow] {
        t.taskIndices.map { task, rows in
            let realised = t.realised(choices, subset: rows)
            return RouterRow(task: task, count: rows.count, quality: realised.quality, cost: realised.cost)
        }
    }
}
