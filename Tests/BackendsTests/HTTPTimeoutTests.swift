import Foundation
import Logging
import SwitchyardCore
import Testing
@testable import Backends

/// The HTTP client's own deadlines (first byte, total) against a server that answers late: these run in
/// real time (the client's deadlines are NIO's), so `make test` runs them in its timing phase.
@Suite("HTTP timeouts against a slow scripted server")
struct HTTPTimeoutTests {
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
}
