import Foundation
import HTTPTestSupport
import Logging
import ReplayBackend
import SwitchyardCore
import Testing
@testable import Backends

@Suite("Dispatcher against the replay backend")
struct DispatcherTests {
    @Test func happyPathReturnsRecordedAnswerUsageAndCost() async throws {
        try await withReplayServer(catalog: TestData.catalog) { port, _ in
            let dispatcher = try Dispatcher(
                endpoints: ["alpha", "beta"].map { TestData.endpoint($0, port: port) },
                configuration: TestData.configuration(), logger: quietLogger
            )
            let outcome = await dispatcher.dispatch(
                DispatchRequest(requestID: "r1", body: TestData.body(prompt: "What is 2+2?"), candidates: ["alpha", "beta"])
            )
            try await dispatcher.shutdown()
            #expect(outcome.error == nil)
            #expect(outcome.model == "alpha")
            #expect(outcome.statusCode == 200)
            #expect(outcome.attemptCount == 1)
            #expect(outcome.fallbacks.isEmpty)
            #expect(outcome.usage == TokenUsage(promptTokens: 100, completionTokens: 20))
            let recorded = try #require(TestData.records[0].costs["alpha"])
            #expect(abs(outcome.actualCostUSD - recorded) < 1e-12)
            let body = try #require(outcome.responseBody)
            let text = String(decoding: body, as: UTF8.self)
            #expect(text.contains("alpha on prompt p1: recorded outcome correct"))
        }
    }

    @Test func servedModelNameReplacesTheRequestedModel() async throws {
        try await withReplayServer(catalog: TestData.catalog) { port, responder in
            var endpoint = TestData.endpoint("pool-name", port: port)
            endpoint.servedModel = "beta"
            let dispatcher = try Dispatcher(endpoints: [endpoint], configuration: TestData.configuration(), logger: quietLogger)
            let outcome = await dispatcher.dispatch(
                DispatchRequest(requestID: "r1", body: TestData.body(prompt: "Name a prime."), candidates: ["pool-name"])
            )
            try await dispatcher.shutdown()
            #expect(outcome.error == nil)
            #expect(outcome.model == "pool-name")
            #expect(responder.requestCounts() == ["beta": 1])
            // Cost is computed with the pool model's price: 50 prompt + 70 completion tokens (derived from cost).
            #expect(outcome.usage == TokenUsage(promptTokens: 50, completionTokens: 70))
        }
    }

    @Test func downBackendOpensBreakerAndFallsBackWithoutLosingRequests() async throws {
        let configuration = ReplayConfiguration(downModels: ["alpha"])
        try await withReplayServer(catalog: TestData.catalog, configuration: configuration) { port, responder in
            let dispatcher = try Dispatcher(
                endpoints: ["alpha", "beta", "gamma"].map { TestData.endpoint($0, port: port) },
                configuration: TestData.configuration(maxAttempts: 2, failureThreshold: 3), logger: quietLogger
            )
            let prompts = ["What is 2+2?", "Name a prime.", "Say hi.", "unknown prompt"]
            // Sequential first requests open the breaker deterministically, then a concurrent burst.
            var outcomes: [DispatchOutcome] = []
            for i in 0..<3 {
                outcomes.append(await dispatcher.dispatch(DispatchRequest(
                    requestID: "s\(i)", body: TestData.body(prompt: prompts[i % 4]), candidates: ["alpha", "beta", "gamma"])))
            }
            #expect(dispatcher.unavailableModels() == ["alpha"])
            let burst = await withTaskGroup(of: DispatchOutcome.self) { group in
                for i in 0..<40 {
                    group.addTask {
                        await dispatcher.dispatch(DispatchRequest(
                            requestID: "c\(i)", body: TestData.body(prompt: prompts[i % 4]), candidates: ["alpha", "beta", "gamma"]))
                    }
                }
                var all: [DispatchOutcome] = []
                for await outcome in group { all.append(outcome) }
                return all
            }
            outcomes += burst
            try await dispatcher.shutdown()

            #expect(outcomes.count == 43)
            #expect(Set(outcomes.map(\.requestID)).count == 43)
            for outcome in outcomes {
                #expect(outcome.error == nil, "\(outcome.requestID): \(String(describing: outcome.error))")
                #expect(outcome.model == "beta")
                #expect(outcome.fallbacks.first?.model == "alpha")
            }
            // The first request retried alpha (503, 503) then fell back.
            #expect(outcomes[0].attempts.map(\.statusCode) == [503, 503, 200])
            // Once open, alpha gets no more traffic: 3 failures opened it.
            #expect(responder.requestCounts()["alpha"] == 3)
            #expect(burst.allSatisfy { $0.fallbacks.first?.reason.contains("circuit open") == true })
        }
    }

    @Test func unknownCandidateIsSkippedAndRecorded() async throws {
        try await withReplayServer(catalog: TestData.catalog) { port, _ in
            let dispatcher = try Dispatcher(endpoints: [TestData.endpoint("beta", port: port)], configuration: TestData.configuration(), logger: quietLogger)
            let outcome = await dispatcher.dispatch(
                DispatchRequest(requestID: "r", body: TestData.body(prompt: "Say hi."), candidates: ["nope", "beta"]))
            try await dispatcher.shutdown()
            #expect(outcome.model == "beta")
            #expect(outcome.fallbacks == [Fallback(model: "nope", reason: "no backend configured for this model")])
        }
    }

    @Test func modelMissingOnServerFallsBackWithItsMessage() async throws {
        try await withReplayServer(catalog: TestData.catalog) { port, _ in
            var ghost = TestData.endpoint("ghost", port: port)
            ghost.servedModel = "not-in-data"
            let dispatcher = try Dispatcher(
                endpoints: [ghost, TestData.endpoint("gamma", port: port)], configuration: TestData.configuration(), logger: quietLogger)
            let outcome = await dispatcher.dispatch(
                DispatchRequest(requestID: "r", body: TestData.body(prompt: "Say hi."), candidates: ["ghost", "gamma"]))
            try await dispatcher.shutdown()
            #expect(outcome.model == "gamma")
            #expect(outcome.attempts.map(\.statusCode) == [404, 200])
            #expect(outcome.fallbacks.first?.reason.contains("does not exist") == true)
        }
    }

    @Test func badRequestIsAnErrorWithTheBackendMessageAndNoFallback() async throws {
        try await withReplayServer(catalog: TestData.catalog) { port, _ in
            let dispatcher = try Dispatcher(
                endpoints: ["alpha", "beta"].map { TestData.endpoint($0, port: port) }, configuration: TestData.configuration(), logger: quietLogger)
            // No `messages`: the replay backend answers 400 like llama-server does.
            let outcome = await dispatcher.dispatch(
                DispatchRequest(requestID: "r", body: Data(#"{"model":"auto"}"#.utf8), candidates: ["alpha", "beta"]))
            try await dispatcher.shutdown()
            let error = try #require(outcome.error)
            #expect(error.code == .backendError)
            #expect(error.message.contains("'messages' must be an array"))
            #expect(outcome.attemptCount == 1)
            #expect(outcome.fallbacks.isEmpty)
        }
    }

    @Test func invalidBodyAndNoCandidatesAreErrorsNotCrashes() async throws {
        let dispatcher = try Dispatcher(endpoints: [TestData.endpoint("alpha", port: 9)], configuration: TestData.configuration(), logger: quietLogger)
        let bad = await dispatcher.dispatch(DispatchRequest(requestID: "r", body: Data("{nope".utf8), candidates: ["alpha"]))
        #expect(bad.error?.code == .invalidField)
        let none = await dispatcher.dispatch(DispatchRequest(requestID: "r", body: TestData.body(prompt: "x"), candidates: []))
        #expect(none.error?.code == .noEligibleModel)
        try await dispatcher.shutdown()
    }

    @Test func connectionRefusedEverywhereIsBackendUnavailable() async throws {
        // Port 9 (discard) is closed on loopback: every attempt is a connection error.
        let dispatcher = try Dispatcher(
            endpoints: [TestData.endpoint("alpha", port: 9), TestData.endpoint("beta", port: 9)],
            configuration: TestData.configuration(maxAttempts: 2), logger: quietLogger)
        let outcome = await dispatcher.dispatch(
            DispatchRequest(requestID: "r", body: TestData.body(prompt: "x"), candidates: ["alpha", "beta"]))
        try await dispatcher.shutdown()
        let error = try #require(outcome.error)
        #expect(error.code == .backendUnavailable)
        #expect(outcome.attempts.count == 4)
        #expect(outcome.fallbacks.map(\.model) == ["alpha", "beta"])
    }
}
