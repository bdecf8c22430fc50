import ClockTestSupport
import Foundation
import Logging
import SwitchyardCore
import Testing
@testable import Backends

/// Waits (backoff, `Retry-After`, rate limits) run on a manual clock: the tests say when time passes and
/// check that nothing went out before it did. The HTTP client's own deadlines are in `HTTPTimeoutTests`.
@Suite("Retries and rate limits against a scripted server", .timeLimit(.minutes(1)))
struct FailureHandlingTests {
    @Test func rateLimitedRetryHonoursRetryAfter() async throws {
        let server = ScriptedServer { call, _ in
            call == 0 ? .init(status: 429, headers: [("Retry-After", "1")]) : .init(status: 200)
        }
        try await server.run { port in
            let clock = ManualClock()
            let dispatcher = try Dispatcher(endpoints: [TestData.endpoint("alpha", port: port)], configuration: TestData.configuration(),
                                            clock: AnyClock(clock), logger: quietLogger)
            let dispatching = Task { await dispatcher.dispatch(DispatchRequest(requestID: "r", body: TestData.body(prompt: "x"), candidates: ["alpha"])) }
            try await clock.sleepers(atLeast: 1)
            // Retry-After: 1 floors the backoff (at most 5 ms here): the retry waits exactly a second.
            #expect(clock.pendingWaits == [.seconds(1)])
            clock.advance(by: .milliseconds(999))
            #expect(clock.sleeperCount == 1)
            #expect(server.requests.count == 1, "the retry went out before Retry-After passed")
            clock.advance(by: .milliseconds(1))
            let outcome = await dispatching.value
            try await dispatcher.shutdown()
            #expect(outcome.error == nil)
            #expect(outcome.attempts.map(\.statusCode) == [429, 200])
            #expect(server.requests.count == 2)
            #expect(clock.sleepCount == 1)
        }
    }

    @Test func retryAfterBeyondTheLimitFallsBackAtOnce() async throws {
        let server = ScriptedServer { _, model in
            model == "alpha" ? .init(status: 429, headers: [("Retry-After", "120")]) : .init(status: 200)
        }
        try await server.run { port in
            let clock = ManualClock()
            let dispatcher = try Dispatcher(
                endpoints: [TestData.endpoint("alpha", port: port), TestData.endpoint("beta", port: port)],
                configuration: TestData.configuration(), clock: AnyClock(clock), logger: quietLogger)
            let outcome = await dispatcher.dispatch(DispatchRequest(requestID: "r", body: TestData.body(prompt: "x"), candidates: ["alpha", "beta"]))
            try await dispatcher.shutdown()
            #expect(clock.sleepCount == 0, "no wait at all before falling back")
            #expect(outcome.model == "beta")
            #expect(outcome.attempts.map(\.statusCode) == [429, 200])
            #expect(outcome.fallbacks.first?.reason.contains("Retry-After") == true)
        }
    }

    @Test func serverErrorThenSuccess() async throws {
        let server = ScriptedServer { call, _ in .init(status: call == 0 ? 500 : 200) }
        try await server.run { port in
            let dispatcher = try Dispatcher(endpoints: [TestData.endpoint("alpha", port: port)], configuration: TestData.configuration(), logger: quietLogger)
            let outcome = await dispatcher.dispatch(DispatchRequest(requestID: "r", body: TestData.body(prompt: "x"), candidates: ["alpha"]))
            try await dispatcher.shutdown()
            #expect(outcome.error == nil)
            #expect(outcome.attempts.map(\.result) == ["http_500", "ok"])
            #expect(outcome.fallbacks.isEmpty)
            // 100 prompt + 50 completion tokens at alpha's $1/$2 per Mtok.
            #expect(abs(outcome.actualCostUSD - 200e-6) < 1e-12)
        }
    }

    @Test func requestsPerMinuteLimitIsRespectedServerSide() async throws {
        let server = ScriptedServer { _, _ in .init(status: 200) }
        try await server.run { port in
            let clock = ManualClock()
            // 600 rpm = 10 requests/s with a 0.2 s burst (2 requests).
            let limits = BackendLimits(maxConcurrency: 16, requestsPerMinute: 600, burstSeconds: 0.2)
            let dispatcher = try Dispatcher(
                endpoints: [TestData.endpoint("alpha", port: port, limits: limits)], configuration: TestData.configuration(),
                clock: AnyClock(clock), logger: quietLogger)
            let count = 12
            let dispatching = Task {
                await withTaskGroup(of: DispatchOutcome.self) { group in
                    for i in 0..<count {
                        group.addTask {
                            await dispatcher.dispatch(DispatchRequest(requestID: "r\(i)", body: TestData.body(prompt: "x"), candidates: ["alpha"]))
                        }
                    }
                    var all: [DispatchOutcome] = []
                    for await outcome in group { all.append(outcome) }
                    return all
                }
            }
            // 2 at once, then one every 100 ms: the other 10 wait 0.1 s, 0.2 s, ... 1.0 s.
            try await clock.sleepers(atLeast: count - 2)
            #expect(clock.pendingWaits == (1...10).map { .milliseconds(100 * $0) })
            clock.advance(by: .milliseconds(550))
            #expect(clock.sleeperCount == 5, "5 of the 10 waiting requests went out in 0.55 s")
            clock.advance(by: .milliseconds(450))
            let outcomes = await dispatching.value
            try await dispatcher.shutdown()
            #expect(outcomes.count == count && outcomes.allSatisfy { $0.error == nil })
            #expect(server.requests.count == count)
        }
    }

    @Test func apiKeyIsSentButNeverLoggedOrReported() async throws {
        let secret = "sk-switchyard-TEST-9f8e7d6c5b4a"
        let server = ScriptedServer { call, model in
            if model == "alpha" { return .init(status: call == 0 ? 500 : 401) }
            return .init(status: 200)
        }
        let lines = LockedState<[String]>([])
        var logger = Logger(label: "test.capture", factory: { _ in CapturingLogHandler(store: lines) })
        logger.logLevel = .trace
        try await server.run { port in
            let endpoints = ["alpha", "beta"].map {
                TestData.endpoint($0, port: port, apiKeyEnv: "SWITCHYARD_TEST_KEY")
            }
            let dispatcher = try Dispatcher(
                endpoints: endpoints, configuration: TestData.configuration(),
                environment: ["SWITCHYARD_TEST_KEY": secret], logger: logger)
            let outcome = await dispatcher.dispatch(
                DispatchRequest(requestID: "r", body: TestData.body(prompt: "x"), candidates: ["alpha", "beta"]))
            try await dispatcher.shutdown()
            #expect(outcome.model == "beta")
            #expect(server.requests.allSatisfy { $0.authorization == "Bearer \(secret)" })
            let reported = "\(outcome) \(outcome.fallbacks) \(String(describing: outcome.error)) \(endpoints)"
            #expect(!reported.contains(secret))
        }
        let captured = lines.withLock { $0 }
        #expect(!captured.isEmpty, "the dispatcher should have logged the fallback")
        #expect(captured.allSatisfy { !$0.contains(secret) && !$0.contains("9f8e7d6c5b4a") })
        #expect("\(APIKey(secret))" == "<redacted>")
    }

    @Test func missingAPIKeyVariableFailsAtStartWithWhatToDo() {
        #expect(throws: BackendsError.missingAPIKey(model: "alpha", variable: "NOT_SET_ANYWHERE")) {
            try Dispatcher(
                endpoints: [TestData.endpoint("alpha", port: 1, apiKeyEnv: "NOT_SET_ANYWHERE")],
                environment: [:], logger: quietLogger)
        }
        let message = BackendsError.missingAPIKey(model: "alpha", variable: "NOT_SET_ANYWHERE").description
        #expect(message.contains("export it"))
    }
}
