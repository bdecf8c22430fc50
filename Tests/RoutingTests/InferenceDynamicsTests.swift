import Foundation
import Profiling
@testable import Routing
import SwitchyardCore
import Testing

@Suite("InferenceDynamics strategy")
struct InferenceDynamicsTests {
    /// The synthetic context with requirements attached as the profiler would: code → coding,
    /// arithmetic → reasoning, trivia → knowledge retrieval; domain = the kind.
    func labelledContext(models: [String] = ["coder", "coin", "mathy", "trivia-buff"]) throws -> TrainingContext {
        var context = try AptitudeSyntheticData.context(models: models)
        func label(_ split: inout TrainingContext.Split) {
            for i in split.features.indices {
                let kind = i % 3
                split.features[i].capabilities = [[.coding, .reasoning], [.reasoning, .instructionFollowing], [.knowledgeRetrieval]][kind]
                split.features[i].domains = [AptitudeSyntheticData.kinds[kind]]
            }
        }
        label(&context.train)
        label(&context.dev)
        return context
    }

    func winner(_ strategy: InferenceDynamicsStrategy, _ query: QueryFeatures) -> String {
        let q = strategy.predictQuality(query)
        return strategy.models[q.indices.max { q[$0] < q[$1] } ?? 0]
    }

    @Test("rank weights are α^(r−1) / Σ α^(j−1)")
    func rankWeights() {
        let w = InferenceDynamicsConfiguration(alpha: 0.5).rankWeights(count: 3)
        #expect(abs(w[0] - 4.0 / 7) < 1e-12 && abs(w[1] - 2.0 / 7) < 1e-12 && abs(w[2] - 1.0 / 7) < 1e-12)
        #expect(InferenceDynamicsConfiguration(alpha: 1).rankWeights(count: 4) == [0.25, 0.25, 0.25, 0.25])
    }

    @Test("a model only good at coding wins coding queries; each specialist wins its own")
    func specialistsWin() throws {
        // The proficiency model itself (fixed element shrinkage, no prior blend): on this 60-prompt dev,
        // the dev-chosen blend may legitimately prefer the cheap coin at λ = 0.
        let strategy = try InferenceDynamicsStrategy.train(try labelledContext(), configuration: InferenceDynamicsConfiguration())
        #expect(winner(strategy, AptitudeSyntheticData.query(kind: 0, capabilities: [.coding], domains: ["code"])) == "coder")
        #expect(winner(strategy, AptitudeSyntheticData.query(kind: 1, capabilities: [.reasoning], domains: ["math"])) == "mathy")
        #expect(winner(strategy, AptitudeSyntheticData.query(kind: 2, capabilities: [.knowledgeRetrieval], domains: ["trivia"])) == "trivia-buff")
        // Predictions are calibrated probabilities.
        let q = strategy.predictQuality(AptitudeSyntheticData.query(kind: 0, capabilities: [.coding], domains: ["code"]))
        #expect(q.allSatisfy { $0 > 0 && $0 < 1 })
        let coder = try #require(strategy.models.firstIndex(of: "coder"))
        #expect(q[coder] > 0.6)
    }

    @Test("proficiency follows the formula on a hand-checked case")
    func proficiencyFormula() throws {
        var configuration = InferenceDynamicsConfiguration(alpha: 0.5, beta: 0)
        configuration.shrinkage = 0
        var context = try labelledContext()
        context.includeDevInFit = false  // proficiencies from train alone, as the formula below counts
        let strategy = try InferenceDynamicsStrategy.train(context, configuration: configuration)
        let coder = try #require(strategy.models.firstIndex(of: "coder"))
        // Coding appears only at rank 1 of 2 in code queries: S = mean(outcome) · (1 / 1.5).
        let codeOutcomes = (0..<50).map { AptitudeSyntheticData.outcome(specialty: 0, kind: 0, index: $0) }
        let expected = codeOutcomes.reduce(0, +) / 50 * (1 / 1.5)
        let s = try #require(strategy.capabilityProficiency[Capability.coding.rawValue])
        #expect(abs(s[coder] - expected) < 1e-9)
    }

    @Test("β makes an expensive model less proficient")
    func betaPenalisesCost() throws {
        var context = try labelledContext()
        // Make the coder 100× more expensive.
        let coder = try #require(context.models.firstIndex(of: "coder"))
        for i in 0..<context.train.count { context.train.costs[i, coder] = 1 }
        let plain = try InferenceDynamicsStrategy.train(context, configuration: .init(alpha: 0.5, beta: 0))
        let penalised = try InferenceDynamicsStrategy.train(context, configuration: .init(alpha: 0.5, beta: 2))
        let key = Capability.coding.rawValue
        #expect(try #require(penalised.capabilityProficiency[key])[coder] < (try #require(plain.capabilityProficiency[key]))[coder])
    }

    @Test("without requirements from the profiler it learns its own extractor from vectors and prompts")
    func ownExtractor() throws {
        let context = try AptitudeSyntheticData.context()
        let strategy = try InferenceDynamicsStrategy.train(context)
        let extractor = try #require(strategy.extractor)
        #expect(extractor.vocabulary.domains.count >= 3)
        #expect(winner(strategy, AptitudeSyntheticData.query(kind: 0)) == "coder")
        #expect(winner(strategy, AptitudeSyntheticData.query(kind: 1)) == "mathy")
    }

    @Test("deterministic, and the artifact round-trips; a corrupt one is an error")
    func roundTrip() throws {
        let a = try InferenceDynamicsStrategy.train(try labelledContext())
        let b = try InferenceDynamicsStrategy.train(try labelledContext())
        #expect(a == b)
        let dir = try AptitudeSyntheticData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try a.save(to: dir)
        let loaded = try InferenceDynamicsStrategy.load(from: dir)
        let query = AptitudeSyntheticData.query(kind: 2, capabilities: [.knowledgeRetrieval], domains: ["trivia"])
        #expect(loaded.predictQuality(query) == a.predictQuality(query))
        try Data("not json".utf8).write(to: dir.appendingPathComponent("inference-dynamics.json"))
        #expect(throws: SwitchyardError.self) { try InferenceDynamicsStrategy.load(from: dir) }
    }
}
