import Foundation
import HTTPTestSupport
import ReplayBackend
import SwitchyardCore
import Testing
@testable import Backends

@Suite("Three replay backends, one failing")
struct ThreeBackendsTests {
    @Test func everyRequestIsAnsweredWithFallbacksRecorded() async throws {
        // Three servers; alpha's server fails every request with 500.
        try await withReplayServer(catalog: TestData.catalog, configuration: ReplayConfiguration(errorRate: 1, errorKind: .serverError)) { failingPort, failing in
            try await withReplayServer(catalog: TestData.catalog) { betaPort, beta in
                try await withReplayServer(catalog: TestData.catalog) { gammaPort, gamma in
                    let dispatcher = try Dispatcher(
                        endpoints: [
                            TestData.endpoint("alpha", port: failingPort),
                            TestData.endpoint("beta", port: betaPort),
                            TestData.endpoint("gamma", port: gammaPort),
                        ],
                        configuration: TestData.configuration(maxAttempts: 2, failureThreshold: 4), logger: quietLogger)
                    let prompts = TestData.records.map(\.prompt) + ["an unknown prompt"]
                    let rankings = [["alpha", "beta", "gamma"], ["gamma", "alpha", "beta"], ["beta", "gamma"], ["alpha", "gamma"]]
                    func request(_ i: Int) -> DispatchRequest {
                        DispatchRequest(
                            requestID: "line-\(i)", body: TestData.body(prompt: prompts[i % prompts.count]),
                            candidates: rankings[i % rankings.count])
                    }
                    // Lines 0 and 3 rank alpha first: sent one after another they open its breaker
                    // (2 attempts each, threshold 4); the rest go concurrently.
                    var outcomes = [await dispatcher.dispatch(request(0)), await dispatcher.dispatch(request(3))]
                    outcomes += await withTaskGroup(of: DispatchOutcome.self) { group in
                        for i in 0..<60 where i != 0 && i != 3 {
                            group.addTask {
                                await dispatcher.dispatch(request(i))
                            }
                        }
                        var all: [DispatchOutcome] = []
                        for await outcome in group { all.append(outcome) }
                        return all
                    }
                    try await dispatcher.shutdown()

                    #expect(Set(outcomes.map(\.requestID)).count == 60)
                    for outcome in outcomes {
                        let index = try #require(Int(outcome.requestID.dropFirst("line-".count)))
                        let ranking = rankings[index % rankings.count]
                        #expect(outcome.error == nil, "\(outcome.requestID): \(String(describing: outcome.error))")
                        let expected = ranking.first { $0 != "alpha" }
                        #expect(outcome.model == expected)
                        #expect(outcome.fallbacks.map(\.model) == (ranking.first == "alpha" ? ["alpha"] : []))
                        #expect(outcome.actualCostUSD > 0)
                    }
                    // The breaker stopped all traffic to the failing server once open.
                    #expect(failing.requestCounts()["alpha"] == 4)
                    #expect(dispatcher.unavailableModels() == ["alpha"])
                    #expect((beta.requestCounts()["beta"] ?? 0) + (gamma.requestCounts()["gamma"] ?? 0) == 60)
                }
            }
        }
    }

    @Test func breakerProbesAfterCooldownAndClosesWhenTheBackendRecovers() async throws {
        let server = ScriptedServer { call, model in
            model == "alpha" && call < 2 ? .init(status: 503) : .init(status: 200)
        }
        try await server.run { port in
            let dispatcher = try Dispatcher(
                endpoints: ["alpha", "beta"].map { TestData.endpoint($0, port: port) },
                configuration: TestData.configuration(maxAttempts: 2, failureThreshold: 2, cooldown: .milliseconds(200)),
                logger: quietLogger)
            let request = DispatchRequest(requestID: "r", body: TestData.body(prompt: "x"), candidates: ["alpha", "beta"])
            let first = await dispatcher.dispatch(request)
            #expect(first.model == "beta")
            #expect(dispatcher.unavailableModels() == ["alpha"])
            let skipped = await dispatcher.dispatch(request)
            #expect(skipped.model == "beta")
            #expect(skipped.attempts.map(\.model) == ["beta"])
            try await Task.sleep(for: .milliseconds(250))
            #expect(dispatcher.unavailableModels().isEmpty)
            let probe = await dispatcher.dispatch(request)
            #expect(probe.model == "alpha")
            #expect(probe.fallbacks.isEmpty)
            try await dispatcher.shutdown()
        }
    }
}
