import Foundation
import HTTPTestSupport
import Logging
import ReplayBackend
import SwitchyardCore
import Testing
@testable import Backends

#if canImport(Glibc)
import Glibc
#endif

/// The dispatcher's start-up check of its backends, the 404 breaker and the wait for a half-open probe,
/// against real HTTP servers on loopback.
@Suite("Backend readiness, unserved models, waiting for a probe")
struct ReadinessTests {
    /// What llama.cpp's llama-server (b11434) answers to GET /v1/models with two aliases.
    static let llamaServerModels = Data("""
        {"models":[{"name":"smollm2-a","model":"smollm2-a","modified_at":"","size":"","digest":"","type":"model","description":"","tags":[""],"capabilities":["completion"],"parameters":"","details":{"parent_model":"","format":"gguf","family":"","families":[""],"parameter_size":"","quantization_level":""}}],"object":"list","data":[{"id":"smollm2-a","aliases":["smollm2-b"],"tags":[],"object":"model","created":1764700000,"owned_by":"llamacpp","meta":{"vocab_type":2,"n_vocab":49152}}]}
        """.utf8)

    @Test("both /v1/models shapes: OpenAI's data[].id and llama.cpp's aliases and models[]")
    func servedModelsShapes() throws {
        let openAI = try #require(ServedModels.parse(Data(#"{"object":"list","data":[{"id":"gpt-4o"},{"id":"gpt-4o-mini"}]}"#.utf8)))
        #expect(openAI.names == ["gpt-4o", "gpt-4o-mini"])
        let llama = try #require(ServedModels.parse(Self.llamaServerModels))
        #expect(llama.serves("smollm2-a") && llama.serves("smollm2-b") && !llama.serves("smollm2-c"))
        #expect(ServedModels.parse(Data(#"{"status":"ok"}"#.utf8)) == nil)
        #expect(ServedModels.parse(Data("not json".utf8)) == nil)
    }

    @Test("a backend serving every configured model is ready, in either list shape", arguments: ReplayConfiguration.ModelsListShape.allCases)
    func readyInEitherShape(shape: ReplayConfiguration.ModelsListShape) async throws {
        try await withReplayServer(catalog: TestData.catalog, configuration: ReplayConfiguration(modelsListShape: shape)) { port, _ in
            let dispatcher = try Dispatcher(endpoints: ["alpha", "beta", "gamma"].map { TestData.endpoint($0, port: port) },
                                            configuration: TestData.configuration(), logger: quietLogger)
            try await dispatcher.waitUntilReady()
            try await dispatcher.shutdown()
        }
    }

    @Test("a configured model the backend does not serve is refused at start, naming what it serves")
    func unservedModelIsRefused() async throws {
        try await withReplayServer(catalog: TestData.catalog) { port, _ in
            var ghost = TestData.endpoint("ghost", port: port)
            ghost.servedModel = "not-in-data"
            let dispatcher = try Dispatcher(endpoints: [ghost, TestData.endpoint("alpha", port: port)],
                                            configuration: TestData.configuration(), logger: quietLogger)
            let error = await #expect(throws: BackendsError.self) { try await dispatcher.waitUntilReady() }
            try await dispatcher.shutdown()
            guard case .modelNotServed(let model, let served, _, let available)? = error else {
                Issue.record("expected modelNotServed, got \(String(describing: error))")
                return
            }
            #expect(model == "ghost" && served == "not-in-data" && Set(available) == ["alpha", "beta", "gamma"])
            #expect(error?.description.contains("fix backend.model") == true)
        }
    }

    @Test("a backend that comes up late is waited for; one that never does fails with its URL and the knob")
    func lateBackendIsWaitedFor() async throws {
        let port = try Self.freePort()
        var configuration = TestData.configuration()
        configuration.readiness = ReadinessPolicy(timeout: .seconds(60), interval: .milliseconds(50))
        let dispatcher = try Dispatcher(endpoints: [TestData.endpoint("alpha", port: port)], configuration: configuration, logger: quietLogger)
        let waiting = Task { try await dispatcher.waitUntilReady() }
        try await Task.sleep(for: .milliseconds(300))
        // Nothing listens yet: the check is still waiting, not failed.
        let server = ReplayServer(responder: ReplayResponder(catalog: TestData.catalog, configuration: ReplayConfiguration(port: port)),
                                  logger: quietLogger)
        try await withRunningApplication({ server.makeApplication(onRunning: $0) }) { _ in
            try await waiting.value
        }
        try await dispatcher.shutdown()

        var short = TestData.configuration()
        short.readiness = ReadinessPolicy(timeout: .milliseconds(300), interval: .milliseconds(50))
        let down = try Dispatcher(endpoints: [TestData.endpoint("alpha", port: port)], configuration: short, logger: quietLogger)
        let error = await #expect(throws: BackendsError.self) { try await down.waitUntilReady() }
        try await down.shutdown()
        #expect(error?.description.contains("127.0.0.1:\(port)") == true)
        #expect(error?.description.contains("ready_timeout_seconds") == true)
    }

    @Test("404 model_not_found falls back along the ranking and opens that model's breaker")
    func notFoundOpensTheBreaker() async throws {
        try await withReplayServer(catalog: TestData.catalog, configuration: ReplayConfiguration(unloadedModels: ["alpha"])) { port, responder in
            let dispatcher = try Dispatcher(endpoints: ["alpha", "beta"].map { TestData.endpoint($0, port: port) },
                                            configuration: TestData.configuration(), logger: quietLogger)
            let first = await dispatcher.dispatch(DispatchRequest(requestID: "r1", body: TestData.body(prompt: "Say hi."), candidates: ["alpha", "beta"]))
            #expect(first.error == nil && first.model == "beta")
            #expect(first.attempts.map(\.statusCode) == [404, 200])
            #expect(first.fallbacks.map(\.model) == ["alpha"])
            #expect(dispatcher.unavailableModels() == ["alpha"])
            // The next request skips alpha without calling it.
            let second = await dispatcher.dispatch(DispatchRequest(requestID: "r2", body: TestData.body(prompt: "Say hi."), candidates: ["alpha", "beta"]))
            try await dispatcher.shutdown()
            #expect(second.model == "beta" && second.attempts.map(\.model) == ["beta"])
            #expect(responder.requestCounts()["alpha"] == 1)
        }
    }

    @Test("a request whose backends are all unavailable waits for the half-open probe instead of failing")
    func waitsForTheProbe() async throws {
        // Two 500s open alpha's breaker (threshold 2); after the cooldown the probe gets a 200.
        let server = ScriptedServer { call, _ in .init(status: call < 2 ? 500 : 200) }
        try await server.run { port in
            var configuration = TestData.configuration(failureThreshold: 2, cooldown: .milliseconds(1_200))
            configuration.unavailableWait = .seconds(30)
            let dispatcher = try Dispatcher(endpoints: [TestData.endpoint("alpha", port: port)], configuration: configuration, logger: quietLogger)
            let keepAlives = LockedState(0)
            let outcome = await dispatcher.dispatch(DispatchRequest(
                requestID: "r", body: TestData.body(prompt: "x"), candidates: ["alpha"], keepAlive: { keepAlives.withLock { $0 += 1 } }))
            try await dispatcher.shutdown()
            #expect(outcome.error == nil, "\(String(describing: outcome.error))")
            #expect(outcome.attempts.map(\.result) == ["http_500", "http_500", "ok"])
            #expect(outcome.fallbacks.map(\.model) == ["alpha"])
            #expect(keepAlives.withLock { $0 } >= 1, "the lease was not kept alive while waiting")
        }
        // Without a wait (the library default) the same line fails at once.
        let again = ScriptedServer { call, _ in .init(status: call < 2 ? 500 : 200) }
        try await again.run { port in
            let dispatcher = try Dispatcher(endpoints: [TestData.endpoint("alpha", port: port)],
                                            configuration: TestData.configuration(failureThreshold: 2, cooldown: .seconds(30)), logger: quietLogger)
            let outcome = await dispatcher.dispatch(DispatchRequest(requestID: "r", body: TestData.body(prompt: "x"), candidates: ["alpha"]))
            try await dispatcher.shutdown()
            #expect(outcome.error?.code == .backendUnavailable)
        }
    }

    /// A TCP port nothing listens on (bound, then released).
    static func freePort() throws -> Int {
        try LoopbackPort.free()
    }
}
