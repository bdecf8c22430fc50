import Foundation
import ReplayBackend
import SwitchyardCore
import Testing
@testable import Backends

@Suite("Replay backend: catalog and responder")
struct ReplayCatalogTests {
    static let routingData = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("data/routing")

    @Test func knownPromptUsesRecordedTokens() throws {
        let answer = try #require(TestData.catalog.answer(model: "beta", prompt: "What is 2+2?"))
        #expect(answer.known && answer.recordID == "p1" && answer.score == 0)
        #expect(answer.promptTokens == 100 && answer.completionTokens == 40)
    }

    @Test func completionTokensAreSolvedFromCostWhenTheDataHasNone() throws {
        // p2 has no output_tokens: gamma cost = 50 * $10 + 5 * $30 per Mtok.
        let answer = try #require(TestData.catalog.answer(model: "gamma", prompt: "Name a prime."))
        #expect(answer.completionTokens == 5)
    }

    @Test func unknownPromptIsDeterministicAndUnknownModelIsNil() throws {
        let a = try #require(TestData.catalog.answer(model: "alpha", prompt: "never seen"))
        let b = try #require(TestData.catalog.answer(model: "alpha", prompt: "never seen"))
        #expect(a == b && !a.known && a.recordID == nil)
        #expect(TestData.catalog.answer(model: "delta", prompt: "What is 2+2?") == nil)
    }

    @Test func responderRepliesLikeAnOpenAIServer() throws {
        let responder = ReplayResponder(catalog: TestData.catalog, configuration: ReplayConfiguration(downModels: ["gamma"]))
        let ok = responder.chatCompletion(body: TestData.body(prompt: "Say hi.", model: "alpha"))
        #expect(ok.status == 200)
        let json = try #require(try JSONSerialization.jsonObject(with: ok.body) as? [String: Any])
        #expect(json["object"] as? String == "chat.completion")
        let usage = try #require(json["usage"] as? [String: Any])
        #expect(usage["prompt_tokens"] as? Int == 10)
        let choices = try #require(json["choices"] as? [[String: Any]])
        let content = try #require((choices.first?["message"] as? [String: Any])?["content"] as? String)
        #expect(content.contains("alpha") && content.contains("correct"))
        #expect(responder.chatCompletion(body: TestData.body(prompt: "Say hi.", model: "gamma")).status == 503)
        #expect(responder.chatCompletion(body: TestData.body(prompt: "Say hi.", model: "delta")).status == 404)
        #expect(responder.chatCompletion(body: Data("[]".utf8)).status == 400)
        let models = try #require(try JSONSerialization.jsonObject(with: responder.modelsList()) as? [String: Any])
        #expect((models["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["alpha", "beta", "gamma"])
    }

    @Test func injectedErrorsFollowTheRateAndKind() {
        let responder = ReplayResponder(
            catalog: TestData.catalog, configuration: ReplayConfiguration(errorRate: 0.3, errorKind: .rateLimited, seed: 3))
        var limited = 0
        for _ in 0..<1000 {
            let reply = responder.chatCompletion(body: TestData.body(prompt: "Say hi.", model: "alpha"))
            if reply.status == 429 {
                limited += 1
                #expect(reply.headers.contains { $0.0 == "Retry-After" })
            }
        }
        #expect((240...360).contains(limited))
    }

    @Test func latencyDrawsMatchTheRequestedPercentiles() {
        let responder = ReplayResponder(
            catalog: TestData.catalog, configuration: ReplayConfiguration(latencyP50Ms: 20, latencyP99Ms: 200, seed: 5))
        let delays = (0..<4000).map { _ in
            responder.chatCompletion(body: TestData.body(prompt: "Say hi.", model: "alpha")).delay.seconds * 1000
        }.sorted()
        #expect(abs(delays[2000] - 20) < 3)
        #expect(abs(delays[3960] - 200) < 60)
    }

    /// The replay's usage must reproduce the recorded cost of the shared data under its prices.
    @Test func sharedDataUsageReproducesRecordedCosts() throws {
        let dataPath = Self.routingData.appendingPathComponent("zeroeval/dev.jsonl").path
        try #require(
            FileManager.default.fileExists(atPath: dataPath),
            "shared routing data missing at \(dataPath): it ships in the repository under data/routing")
        let catalog = try ReplayCatalog.load(dataPath: dataPath)
        let dataset = try RoutingDataset.load(path: dataPath)
        var checked = 0
        for record in dataset.records.prefix(100) {
            for model in dataset.models {
                let answer = try #require(catalog.answer(model: model, prompt: record.prompt))
                let price = try #require(catalog.price(of: model))
                let cost = price.cost(inputTokens: Double(answer.promptTokens), outputTokens: Double(answer.completionTokens))
                let recorded = try #require(record.costs[model])
                #expect(abs(cost - recorded) <= max(1e-9, recorded * 0.01), "\(record.id) \(model): \(cost) vs \(recorded)")
                checked += 1
            }
        }
        #expect(checked > 1000)
    }
}
