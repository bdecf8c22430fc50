import Foundation
import Logging
import SwitchyardCore
import Testing
@testable import Backends

@Suite("Retries, timeouts and rate limits against a scripted server")
struct FailureHandlingTests {
    @Test func rateLimitedRetryHonoursRetryAfter() async throws {
        let server = ScriptedServer { call, _ in
            call == 0 ? .init(status: 429, headers: [("Retry-After", "1")]) : .init(status: 200)
        }
        try await server.run { port in
            let dispatcher = try Dispatcher(endpoints: [TestData.endpoint("alpha", port: port)], configuration: TestData.configuration(), logger: quietLogger)
            let start = ContinuousClock.now
            let outcome = await dispatcher.dispatch(DispatchRequest(requestID: "r", body: TestData.body(prompt: "x"), candidates: ["alpha"]))
            let elapsed = ContinuousClock.now - start
            try await dispatcher.shutdown()
            #expect(outcome.error == nil)
            #expect(outcome.attempts.map(\.statusCode) == [429, 200])
            #expect(elapsed >= .seconds(1), "Retry-After: 1 must delay the retry by a second, took \(elapsed)")
            #expect(elapsed < .seconds(3))
            let requests = server.requests
            #expect(requests.count == 2)
            #expect(requests[1].arrival - requests[0].arrival >= .seconds(1))
        }
    }

    @Test func retryAfterBeyondTheLimitFallsBackAtOnce() async throws {
        let server = ScriptedServer { _, model in
            model == "alpha" ? .init(status: 429, headers: [("Retry-After", "120")]) : .init(status: 200)
        }
        try await server.run { port in
            let dispatcher = try Dispatcher(
                endpoints: [TestData.endpoint("alpha", port: port), TestData.endpoint("beta", port: port)],
                configuration: TestData.configuration(), logger: quietLogger)
            let start = ContinuousClock.now
            let outcome = await dispatcher.dispatch(DispatchRequest(requestID: "r", body: TestData.body(prompt: "x"), candidates: ["alpha", "beta"]))
            try await dispatcher.shutdown()
            #expect(ContinuousClock.now - start < .seconds(2))
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

    @Test func firstByteTimeoutIsRetried() async throws {
        let server = ScriptedServer { call, _ in
            call == 0 ? .init(status: 200, delay: .seconds(3)) : .init(status: 200)
        }
        try await server.run { port in
            let timeouts = BackendTimeouts(connect: .seconds(1), firstByte: .milliseconds(300), total: .seconds(5))
            let dispatcher = try Dispatcher(
                endpoints: [TestData.endpoint("alpha", port: port, timeouts: timeouts)], configuration: TestData.configuration(), logger: quietLogger)
            let start = ContinuousClock.now
            let outcome = await dispatcher.dispatch(DispatchRequest(requestID: "r", body: TestData.body(prompt: "x"), candidates: ["alpha"]))
            let elapsed = ContinuousClock.now - start
            try await dispatcher.shutdown()
            #expect(outcome.error == nil)
            #expect(outcome.attempts.map(\.result) == ["timeout", "ok"])
            let first = try #require(outcome.attempts.first)
            #expect(first.latencySeconds >= 0.29 && first.latencySeconds < 1.5)
            #expect(elapsed < .seconds(2))
        }
    }

    @Test func timeoutsOnEveryModelGiveATimeoutError() async throws {
        let server = ScriptedServer { _, _ in .init(status: 200, delay: .seconds(3)) }
        try await server.run { port in
            let timeouts = BackendTimeouts(connect: .seconds(1), firstByte: .milliseconds(150), total: .seconds(5))
            let dispatcher = try Dispatcher(
                endpoints: ["alpha", "beta"].map { TestData.endpoint($0, port: port, timeouts: timeouts) },
                configuration: TestData.configuration(maxAttempts: 1), logger: quietLogger)
            let outcome = await dispatcher.dispatch(DispatchRequest(requestID: "r", body: TestData.body(prompt: "x"), candidates: ["alpha", "beta"]))
            try await dispatcher.shutdown()
            #expect(outcome.error?.code == .timeout)
            #expect(outcome.fallbacks.map(\.model) == ["alpha", "beta"])
        }
    }

    @Test func requestsPerMinuteLimitIsRespectedServerSide() async throws {
        let server = ScriptedServer { _, _ in .init(status: 200) }
        try await server.run { port in
            // 600 rpm = 10 requests/s with a 0.2 s burst (2 requests).
            let limits = BackendLimits(maxConcurrency: 16, requestsPerMinute: 600, burstSeconds: 0.2)
            let dispatcher = try Dispatcher(
                endpoints: [TestData.endpoint("alpha", port: port, limits: limits)], configuration: TestData.configuration(), logger: quietLogger)
            let count = 12
            let outcomes = await withTaskGroup(of: DispatchOutcome.self) { group in
                for i in 0..<count {
                    group.addTask {
                        await dispatcher.dispatch(DispatchRequest(requestID: "r\(i)", body: TestData.body(prompt: "x"), candidates: ["alpha"]))
                    }
                }
                var all: [DispatchOutcome] = []
                for await outcome in group { all.append(outcome) }
                return all
            }
            try await dispatcher.shutdown()
            #expect(outcomes.allSatisfy { $0.error == nil })
            let arrivals = server.requests.map(\.arrival).sorted()
            #expect(arrivals.count == count)
            let first = try #require(arrivals.first)
            let last = try #require(arrivals.last)
            // 12 requests, 2 at once then 10/s: the last cannot arrive before ~1.0 s.
            #expect(last - first >= .milliseconds(900), "span \(last - first)")
            // Any 0.5 s window holds at most burst + rate * 0.5 = 2 + 5 (+1 for timer slop).
            for (i, start) in arrivals.enumerated() {
                let inWindow = arrivals[i...].prefix { $0 - start < .milliseconds(500) }.count
                #expect(inWindow <= 8, "\(inWindow) requests within 0.5 s")
            }
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
