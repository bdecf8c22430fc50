import Foundation
import Profiling
@testable import Routing
import SwitchyardCore
import Testing

@Suite("Aptitude strategy (Model-SAT)")
struct AptitudeTests {
    func best(_ strategy: AptitudeStrategy, kind: Int) -> String {
        let q = strategy.predictQuality(AptitudeSyntheticData.query(kind: kind))
        let j = q.indices.max { q[$0] < q[$1] } ?? 0
        return strategy.models[j]
    }

    @Test("each specialist wins its own kind of query")
    func specialistsWin() throws {
        let strategy = try AptitudeStrategy.train(try AptitudeSyntheticData.context())
        #expect(best(strategy, kind: 0) == "coder")
        #expect(best(strategy, kind: 1) == "mathy")
        #expect(best(strategy, kind: 2) == "trivia-buff")
        let q = strategy.predictQuality(AptitudeSyntheticData.query(kind: 0))
        #expect(q.allSatisfy { (0...1).contains($0) })
        // Calibrated: the coder is right 90 % on code, the others 10 % / 50 %.
        let coder = try #require(strategy.models.firstIndex(of: "coder"))
        #expect(q[coder] > 0.7)
        let mathy = try #require(strategy.models.firstIndex(of: "mathy"))
        #expect(q[mathy] < 0.3)
    }

    @Test("aptitude set is stratified: at most promptsPerCategory per category, all labelled prompts")
    func stratifiedSet() throws {
        var configuration = AptitudeConfiguration()
        configuration.categories = 3
        configuration.promptsPerCategory = 5
        let context = try AptitudeSyntheticData.context()
        let strategy = try AptitudeTrainer(configuration: configuration).train(context)
        #expect(strategy.set.count <= 15)
        for c in 0..<strategy.set.categoryCount {
            #expect(strategy.set.categories.filter { $0 == c }.count <= 5)
        }
        let labelledIDs = Set((context.train.records + context.dev.records).map(\.id))
        #expect(strategy.set.ids.allSatisfy { labelledIDs.contains($0) })
        // Three well-separated kinds: every kind is represented.
        let kinds = Set(strategy.set.ids.map { $0.split(separator: "-").first.map(String.init) ?? "" })
        #expect(kinds == ["code", "math", "trivia"])
    }

    @Test("a model never seen in training is onboarded from its aptitude outcomes alone")
    func onboarding() throws {
        // Train without the coder; then add it from its outcomes on the aptitude prompts.
        let context = try AptitudeSyntheticData.context(models: ["coin", "mathy", "trivia-buff"])
        let strategy = try AptitudeStrategy.train(context)
        #expect(best(strategy, kind: 0) != "coder")
        var outcomes: [String: Double] = [:]
        for id in strategy.set.ids {
            let parts = id.split(separator: "-")
            let kind = AptitudeSyntheticData.kinds.firstIndex(of: String(parts[0])) ?? 0
            let index = Int(parts[1]) ?? 0
            outcomes[id] = AptitudeSyntheticData.outcome(specialty: 0, kind: kind, index: index)
        }
        let onboarded = try strategy.adding(model: "coder", outcomes: outcomes)
        #expect(onboarded.models == ["coin", "mathy", "trivia-buff", "coder"])
        #expect(best(onboarded, kind: 0) == "coder")
        #expect(best(onboarded, kind: 1) == "mathy")
        // The scorer itself is unchanged: no retraining happened.
        #expect(onboarded.scorer == strategy.scorer)
        // Compare with a router trained with the coder: same winner, similar confidence.
        let full = try AptitudeStrategy.train(try AptitudeSyntheticData.context())
        let qFull = full.predictQuality(AptitudeSyntheticData.query(kind: 0))
        let qNew = onboarded.predictQuality(AptitudeSyntheticData.query(kind: 0))
        let coderFull = try #require(full.models.firstIndex(of: "coder"))
        #expect(abs(qFull[coderFull] - qNew[3]) < 0.25)
    }

    @Test("onboarding with too few or invalid outcomes is a typed error")
    func onboardingErrors() throws {
        let strategy = try AptitudeStrategy.train(try AptitudeSyntheticData.context())
        #expect(throws: AptitudeError.self) { try strategy.adding(model: "x", outcomes: [:]) }
        let some = Dictionary(uniqueKeysWithValues: strategy.set.ids.prefix(2).map { ($0, 1.0) })
        #expect(throws: AptitudeError.self) { try strategy.adding(model: "x", outcomes: some) }
        let bad = Dictionary(uniqueKeysWithValues: strategy.set.ids.map { ($0, 2.0) })
        #expect(throws: AptitudeError.self) { try strategy.adding(model: "x", outcomes: bad) }
    }

    @Test("training is deterministic for a seed, and the artifact round-trips")
    func determinismAndRoundTrip() throws {
        let a = try AptitudeStrategy.train(try AptitudeSyntheticData.context())
        let b = try AptitudeStrategy.train(try AptitudeSyntheticData.context())
        #expect(a == b)
        let dir = try AptitudeSyntheticData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try a.save(to: dir)
        let loaded = try AptitudeStrategy.load(from: dir)
        #expect(loaded == a)
        #expect(loaded.predictQuality(AptitudeSyntheticData.query(kind: 1)) == a.predictQuality(AptitudeSyntheticData.query(kind: 1)))
        // The matrices live in Float32 files, not in the JSON.
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("aptitude.json"))) as? [String: Any]
        let set = json?["set"] as? [String: Any]
        #expect((set?["vectors"] as? [Any])?.isEmpty == true && (set?["centroids"] as? [Any])?.isEmpty == true)
        #expect(!a.set.vectors.isEmpty)
        // An artifact that kept them inline (before the Float32 files) still loads.
        let inline = try AptitudeSyntheticData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: inline) }
        try JSONEncoder().encode(a).write(to: inline.appendingPathComponent("aptitude.json"))
        #expect(try AptitudeStrategy.load(from: inline) == a)
        // A truncated matrix is a clear error.
        try Data([0, 0, 0, 0]).write(to: dir.appendingPathComponent("aptitude_vectors.f32"))
        #expect(throws: SwitchyardError.self) { try AptitudeStrategy.load(from: dir) }
        try Data("{\"models\": 3}".utf8).write(to: dir.appendingPathComponent("aptitude.json"))
        #expect(throws: SwitchyardError.self) { try AptitudeStrategy.load(from: dir) }
    }

    @Test("batch prediction equals one-by-one prediction")
    func batchMatchesSingle() throws {
        let strategy = try AptitudeStrategy.train(try AptitudeSyntheticData.context())
        let queries = (0..<3).map { AptitudeSyntheticData.query(kind: $0) }
        let batch = strategy.predictQuality(batch: queries)
        for (i, q) in queries.enumerated() {
            // One query sums its Float32 similarities over its non-zeros, the batch in one BLAS product:
            // the same up to summation order.
            let single = strategy.predictQuality(q)
            for j in single.indices { #expect(abs(single[j] - batch[i][j]) < 1e-5) }
        }
    }

    @Test("the folded scoring table gives the scorer's probability of every feature row")
    func foldedTableMatchesRows() throws {
        let strategy = try AptitudeStrategy.train(try AptitudeSyntheticData.context())
        let f = strategy.features
        for kind in 0..<3 {
            let unit = RequirementVectorMath.normalized(AptitudeSyntheticData.query(kind: kind).vector)
            let items = LinearAlgebra.multiplyTransposed(try FloatMatrix(stacking: [unit], cols: unit.count), strategy.set.vectorMatrix)
            let centroids = LinearAlgebra.multiplyTransposed(try FloatMatrix(stacking: [unit], cols: unit.count), strategy.set.centroidMatrix)
            let context = items.values.withUnsafeBufferPointer { i in
                centroids.values.withUnsafeBufferPointer { c in f.context(itemSims: i, centroidSims: c, excluded: nil) }
            }
            // What training fits: the scorer on every model's feature row.
            var row = [Float](repeating: 0, count: f.width)
            let fromRows = strategy.aptitude.map { outcomes in
                f.fill(&row, context: context, outcomes: outcomes, summary: f.summary(outcomes: outcomes))
                return strategy.scorer.probability(row)
            }
            let folded = strategy.predictQuality(AptitudeSyntheticData.query(kind: kind))
            for j in fromRows.indices { #expect(abs(fromRows[j] - folded[j]) < 1e-5, "model \(strategy.models[j]), kind \(kind)") }
        }
    }
}
