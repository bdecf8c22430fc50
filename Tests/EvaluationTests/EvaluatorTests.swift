import Foundation
import SwitchyardCore
import Testing
@testable import Evaluation

/// Synthetic "strategies" built straight from the split (no trained artifact needed): a noisy oracle that
/// knows outcomes, and a constant one that predicts every model's mean. They exercise sweeps, budgets,
/// metrics, the report and the plot end to end.
func syntheticStrategies(_ t: EvaluationTables) -> [StrategyPredictions] {
    let m = t.models.count
    let r = ReferenceRouters(t)
    var rng = SystemRandomNumberGeneratorSeeded(seed: 7)
    var noisy: [Double] = [], constant: [Double] = []
    for i in 0..<t.count {
        for j in 0..<m {
            noisy.append(0.6 * t.outcome(i, j) + 0.4 * Double(rng.next() % 1000) / 1000)
            constant.append(r.singles[j].quality)
        }
    }
    let estimated = (0..<t.count).flatMap { i in (0..<m).map { j in r.singles[j].cost } }
    return [
        StrategyPredictions(name: "noisy-oracle", predicted: noisy, estimated: estimated),
        StrategyPredictions(name: "model-means", predicted: constant, estimated: estimated),
    ]
}

struct SystemRandomNumberGeneratorSeeded: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state >> 11
    }
}

@Suite("Evaluator, report and plot")
struct EvaluatorTests {
    @Test("curve metrics on a hand-made curve")
    func handMade() throws {
        let curve = CostQualityCurve(points: [
            CurvePoint(cost: 1, quality: 0.5), CurvePoint(cost: 2, quality: 0.7), CurvePoint(cost: 3, quality: 0.6),
        ])
        #expect(curve.quality(at: 0.5) == nil)
        #expect(curve.quality(at: 2.5) == 0.7)
        #expect(curve.costToReach(0.6) == 2)
        // ∫_1^3 Q = 0.5·1 + 0.7·1 = 1.2 over width 2
        #expect(abs((curve.aiq(lo: 1, hi: 3) ?? 0) - 0.6) < 1e-12)
        // ∫_0^2 with n/a counted 0 on [0,1): 0.5 / 2
        #expect(abs((curve.aiq(lo: 0, hi: 2) ?? 0) - 0.25) < 1e-12)
        let stairs = curve.staircase(lo: 1, hi: 3)
        #expect(stairs.map(\.quality) == [0.5, 0.5, 0.7, 0.7])
    }

    @Test("APGR and CPT against references: a router on the chord recovers its share of the gap")
    func apgrCPT() throws {
        // two models: weak (q 0.2, $1) and strong (q 0.6, $3) on one prompt each → references from tables
        let records = [
            RoutingRecord(id: "a", prompt: "x", outcomes: ["w": 0.2, "s": 0.6], costs: ["w": 1, "s": 3]),
        ]
        let t = try EvaluationTables(dataset: RoutingDataset(records: records))
        let r = ReferenceRouters(t)
        #expect(r.bestSingle.model == "s" && r.cheapestSingle.model == "w")
        // router point at cost 2 with quality 0.5 (75 % of the gap)
        let m = RouterMetrics(curve: CostQualityCurve(points: [CurvePoint(cost: 2, quality: 0.5)]), references: r)
        // PGR = 0 on [1,2), 0.75 on [2,3) → APGR = 0.375
        #expect(abs((m.apgr ?? 0) - 0.375) < 1e-12)
        #expect(m.cpt[0].costUSD == 2 && m.cpt[0].percentOfSpan == 50)
        #expect(m.cpt[1].costUSD == 3 && m.cpt[1].percentOfSpan == 100)  // 80 % only at the strong model
    }

    @Test("zeroeval test split: sweeps, budgets, report, metrics.json, SVG rendered to PNG by rsvg-convert")
    func endToEnd() throws {
        let t = try EvaluationTables(dataset: SharedData.dataset("zeroeval", "test"))
        let report = try Evaluator().evaluate(t, strategies: syntheticStrategies(t), dataset: "zeroeval test")
        let noisy = try #require(report.strategies.first { $0.name == "noisy-oracle" })
        let means = try #require(report.strategies.first { $0.name == "model-means" })
        // knowing outcomes beats the single-model envelope; predicting means cannot
        #expect((noisy.metrics.aiq ?? 0) > (report.singleEnvelope.aiq ?? 1))
        #expect((means.metrics.aiq ?? 1) <= (report.singleEnvelope.aiq ?? 0) + 1e-9)
        #expect(noisy.points.count == 402)
        // the λ = 0 point of model-means is the best single model; its λ = ∞ point the cheapest
        #expect(abs((means.points.first?.quality ?? 0) - report.references.bestSingle.quality) < 1e-12)
        // budgets: never over budget in estimates; quality non-decreasing in the budget
        for s in report.strategies {
            for b in s.budgets { #expect(b.estimatedSpendUSD <= b.budgetUSD * (1 + 1e-9)) }
            #expect(zip(s.budgets, s.budgets.dropFirst()).allSatisfy { $0.quality <= $1.quality + 1e-9 })
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-eval-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let paths = try EvaluationOutput.write(report, to: dir.path)
        let markdown = try String(contentsOfFile: paths.report, encoding: .utf8)
        #expect(markdown.contains("**Headline:**") && markdown.contains("noisy-oracle") && markdown.contains("AIQ"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: paths.metrics))) as? [String: Any]
        #expect((json?["strategies"] as? [Any])?.count == 2)
        let decoded = try JSONDecoder().decode(EvaluationReport.self, from: Data(contentsOf: URL(fileURLWithPath: paths.metrics)))
        #expect(decoded.strategies.count == 2)
        // render with a real SVG renderer
        let rsvg = try #require(["/usr/bin/rsvg-convert", "/usr/local/bin/rsvg-convert"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                "rsvg-convert not installed: apt-get install librsvg2-bin")
        let png = dir.appendingPathComponent("plot.png").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: rsvg)
        process.arguments = ["-o", png, paths.plot]
        let stderr = Pipe()
        process.standardError = stderr
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "rsvg-convert failed: \(message)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(bytes.count > 10_000)
        #expect(Array(bytes.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
        if let keep = ProcessInfo.processInfo.environment["SWITCHYARD_KEEP_PLOT"] {
            try? FileManager.default.copyItem(atPath: png, toPath: keep)
            try? FileManager.default.copyItem(atPath: paths.plot, toPath: keep + ".svg")
            try? FileManager.default.copyItem(atPath: paths.report, toPath: keep + ".md")
        }
    }
}
