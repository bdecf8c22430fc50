import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Where `scripts/real-backend install` puts upstream llama.cpp `llama-server` and the SmolLM2-135M
/// GGUF, and how to start one for a test: a real third-party OpenAI-compatible server, not our replay.
enum RealBackend {
    static let cache: URL = {
        let environment = ProcessInfo.processInfo.environment
        let base = environment["SWITCHYARD_CACHE"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/switchyard")
        return base.appendingPathComponent("real-backend")
    }()
    static let server = cache.appendingPathComponent("bin/llama-server")
    static let model = cache.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf")

    static var isInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: server.path) && FileManager.default.fileExists(atPath: model.path)
    }

    /// `SWITCHYARD_REAL_BACKEND=1` makes a missing install a failure instead of a skip (`make test-real`).
    static var isForced: Bool { ProcessInfo.processInfo.environment["SWITCHYARD_REAL_BACKEND"] == "1" }

    static var shouldRun: Bool { isInstalled || isForced }

    static func requireInstalled() throws {
        guard isInstalled else {
            throw HarnessError("SWITCHYARD_REAL_BACKEND=1 but no llama-server/model under \(cache.path): run `scripts/real-backend install` (15-25 min, once)")
        }
    }

    /// Starts llama-server on a free port with the same flags as `scripts/real-backend start`
    /// (1 thread: llama.cpp threads spin-wait and collapse on 2 shared cores) and waits for `/health`.
    static func start(
        in harness: SwitchyardHarness, aliases: [String], context: Int, slots: Int, maxTokens: Int
    ) async throws -> (SwitchyardHarness.Child, Int) {
        try requireInstalled()
        let port = try SwitchyardHarness.freePort()
        let process = Process()
        process.executableURL = server
        process.arguments = [
            "-m", model.path, "--host", "127.0.0.1", "--port", "\(port)", "-c", "\(context)", "-np", "\(slots)",
            "-t", "1", "-n", "\(maxTokens)", "--alias", aliases.joined(separator: ","), "--no-webui", "--metrics",
        ]
        let log = harness.directory.appendingPathComponent("llama-server.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let child = SwitchyardHarness.Child(process: process, name: "llama-server", log: log)
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if let (status, _) = try? await get("http://127.0.0.1:\(port)/health"), status == 200 { return (child, port) }
            guard process.isRunning else { throw HarnessError("llama-server exited during startup:\n\(child.output.suffix(3000))") }
            try await Task.sleep(for: .milliseconds(200))
        }
        stop(child)
        throw HarnessError("llama-server was not healthy within 120 s:\n\(child.output.suffix(3000))")
    }

    /// SIGKILL, not `terminate()`: a child spawned from the test runner inherits its blocked-signal
    /// mask (SIGTERM included), so llama-server would ignore SIGTERM and outlive the test. It keeps no state.
    static func stop(_ child: SwitchyardHarness.Child) {
        if child.process.isRunning { kill(child.process.processIdentifier, SIGKILL) }
    }

    /// One GET; the status and the body.
    static func get(_ url: String) async throws -> (Int, Data) { try await SwitchyardHarness.get(url) }
}

/// `switchyard run` against upstream llama.cpp `llama-server` serving SmolLM2-135M: real
/// completions, real `usage`, real 400s. Skipped unless `scripts/real-backend install` was run
/// (or forced with SWITCHYARD_REAL_BACKEND=1, then a missing install fails).
@Suite(
    "end to end: switchyard run against a real llama.cpp llama-server", .serialized,
    .enabled(if: RealBackend.shouldRun, "no cached llama-server: run `scripts/real-backend install` (or `make test-real`) to enable")
)
struct RealBackendTests {
    static let cheap = (input: 0.10, output: 0.20)
    static let dear = (input: 1.50, output: 6.00)

    /// Two pool models served by one llama-server under two aliases, priced differently, cheapest routing.
    func writeConfiguration(_ harness: SwitchyardHarness, port: Int) throws -> URL {
        let yaml = """
            coordinator: {endpoint: "tcp://127.0.0.1:\(try SwitchyardHarness.freePort())", lease_seconds: 120}
            stages: {profile: {workers: 1, batch: 8}, score: {workers: 1}, dispatch: {workers: 1, concurrency: 8}}
            ingest: {default_max_tokens: 16}     # plain lines carry no max_tokens: this caps them
            profiler: {embedder: hashed, dimension: 256}
            router: {strategy: cheapest}
            models:
              - name: smollm2-a
                backend: {url: "http://127.0.0.1:\(port)/v1", timeout_seconds: 120}
                price: {input_usd_per_mtok: \(Self.cheap.input), output_usd_per_mtok: \(Self.cheap.output)}
                limits: {concurrency: 4}
              - name: smollm2-b
                backend: {url: "http://127.0.0.1:\(port)/v1", timeout_seconds: 120}
                price: {input_usd_per_mtok: \(Self.dear.input), output_usd_per_mtok: \(Self.dear.output)}
                limits: {concurrency: 4}
            """
        let url = harness.directory.appendingPathComponent("pipeline.yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static func jsonLine(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    static func batchLine(_ id: String, _ prompt: String, model: String = "auto") throws -> String {
        try jsonLine([
            "custom_id": id, "method": "POST", "url": "/v1/chat/completions",
            "body": ["model": model, "max_tokens": 16, "temperature": 0, "messages": [["role": "user", "content": prompt]]],
        ])
    }

    func run(_ harness: SwitchyardHarness, configuration: URL, lines: [String]) async throws -> SwitchyardHarness.Output {
        let input = harness.directory.appendingPathComponent("input.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
        let output = harness.directory.appendingPathComponent("out")
        let run = try harness.start("run", [
            "run", configuration.path, "--input", input.path, "--output", output.path, "--ordered", "--log-level", "warning",
        ])
        let status = try await run.wait(timeout: 300)
        #expect(status == 0, "switchyard run failed:\n\(run.output.suffix(3000))")
        return try SwitchyardHarness.checkInvariant(output: output, inputLines: lines.count)
    }

    @Test func runAnswersEveryLineWithRealCompletionsUsageAndCost() async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let (server, port) = try await RealBackend.start(
            in: harness, aliases: ["smollm2-a", "smollm2-b"], context: 4096, slots: 4, maxTokens: 256)
        defer { RealBackend.stop(server) }

        // llama-server lists only the first alias as a model id; Switchyard must not rely on /v1/models.
        let (modelsStatus, modelsBody) = try await RealBackend.get("http://127.0.0.1:\(port)/v1/models")
        #expect(modelsStatus == 200)
        let models = try JSONSerialization.jsonObject(with: modelsBody) as? [String: Any]
        #expect(((models?["data"] as? [[String: Any]])?.first?["id"] as? String) == "smollm2-a")

        let prompts = [
            "Say hello.", "What is 2 + 3?", "Name a colour.", "Write one word about the sea.",
            "What is the capital of France?", "Count to three.", "Name a fruit.", "Is water wet?",
            "Say goodbye.", "What day comes after Monday?", "Name an animal.",
        ]
        var lines: [String] = []
        for (index, prompt) in prompts.enumerated() {
            let line = index + 1
            if line == 6 {  // malformed: a batch line without messages
                lines.append(try Self.jsonLine([
                    "custom_id": "broken-6", "method": "POST", "url": "/v1/chat/completions", "body": ["model": "auto"],
                ]))
            }
            if line % 2 == 0 {
                lines.append(try Self.jsonLine(["id": "plain-\(line)", "prompt": prompt]))
            } else {
                lines.append(try Self.batchLine("batch-\(line)", prompt, model: line % 3 == 0 ? "smollm2-b" : "auto"))
            }
        }
        #expect(lines.count == 12)

        let configuration = try writeConfiguration(harness, port: port)
        let result = try await run(harness, configuration: configuration, lines: lines)

        #expect(result.errors.count == 1, "unexpected error records: \(result.errors)")
        let broken = try #require(result.errors.first?["error"] as? [String: Any])
        #expect(broken["line"] as? Int == 6)
        #expect(broken["field"] as? String == "body.messages")
        #expect(broken["code"] as? String == "missing_field")

        #expect(result.results.count == 11)
        var totalCost = 0.0
        for record in result.results {
            let id = record["custom_id"] as? String ?? "?"
            let routing = try #require(record["routing"] as? [String: Any])
            let response = try #require(record["response"] as? [String: Any])
            #expect(response["status_code"] as? Int == 200, "\(id)")
            let body = try #require(response["body"] as? [String: Any])
            // The real server answers as its first alias whatever was asked: routing.model is the truth.
            #expect(body["model"] as? String == "smollm2-a", "\(id)")
            let choices = try #require(body["choices"] as? [[String: Any]])
            let message = try #require(choices.first?["message"] as? [String: Any])
            let content = try #require(message["content"] as? String, "\(id): no completion text")
            let usage = try #require(body["usage"] as? [String: Any], "\(id): no usage")
            let prompt = try #require(usage["prompt_tokens"] as? Int)
            let completion = try #require(usage["completion_tokens"] as? Int)
            #expect(prompt > 5, "\(id): the chat template alone is more than 5 tokens")
            #expect((1...16).contains(completion), "\(id): \(completion) completion tokens with max_tokens 16")
            #expect(usage["total_tokens"] as? Int == prompt + completion)
            #expect(!content.isEmpty || completion == 1, "\(id): empty completion of \(completion) tokens")

            let pinned = id.hasPrefix("batch-") && (Int(id.dropFirst(6)) ?? 0) % 3 == 0
            let model = routing["model"] as? String
            #expect(model == (pinned ? "smollm2-b" : "smollm2-a"), "\(id) went to \(model ?? "nil")")
            #expect(routing["attempts"] as? Int == 1, "\(id): retried against a healthy server")
            let price = pinned ? Self.dear : Self.cheap
            let expected = (Double(prompt) * price.input + Double(completion) * price.output) / 1_000_000
            let actual = try #require(routing["actual_cost_usd"] as? Double, "\(id): no actual cost")
            #expect(abs(actual - expected) < 1e-12, "\(id): actual cost \(actual) != \(expected) from usage")
            totalCost += actual
        }
        let spend = try #require(result.summary["spend"] as? [String: Any])
        let summaryActual = try #require(spend["actual_usd"] as? Double)
        #expect(abs(summaryActual - totalCost) < 1e-9, "summary actual \(summaryActual) != sum of records \(totalCost)")
    }

    @Test func promptLongerThanTheContextIsOneErrorRecordWithoutRetries() async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        // 1024 tokens of context; a 5,000-word prompt is ~5,000+ tokens: llama-server answers 400.
        let (server, port) = try await RealBackend.start(
            in: harness, aliases: ["smollm2-a", "smollm2-b"], context: 1024, slots: 1, maxTokens: 16)
        defer { RealBackend.stop(server) }
        let words = (0..<5000).map { ["river", "stone", "cloud", "lamp", "field"][$0 % 5] }.joined(separator: " ")
        let lines = [
            try Self.batchLine("short-1", "Say hello."),
            try Self.jsonLine(["id": "long-2", "prompt": "Summarise this: " + words]),
            try Self.batchLine("short-3", "Name a colour."),
        ]
        let configuration = try writeConfiguration(harness, port: port)
        let started = Date()
        let result = try await run(harness, configuration: configuration, lines: lines)
        #expect(Date().timeIntervalSince(started) < 240)

        #expect(result.results.count == 2, "the short lines must still be answered: \(result.errors)")
        #expect(result.errors.count == 1)
        let record = try #require(result.errors.first)
        #expect(record["custom_id"] as? String == "long-2")
        let error = try #require(record["error"] as? [String: Any])
        #expect(error["line"] as? Int == 2)
        #expect(error["code"] as? String == "backend_error")
        let message = error["message"] as? String ?? ""
        #expect(message.contains("HTTP 400"), "\(message)")
        #expect(message.contains("context"), "the reason must say the context is too small: \(message)")
        let routing = try #require(record["routing"] as? [String: Any])
        // A 400 is the request's fault: one attempt, no retry, no fallback to the other alias.
        #expect(routing["attempts"] as? Int == 1, "\(routing)")
        #expect((routing["fallbacks"] as? [Any])?.isEmpty == true, "\(routing)")
        let spend = try #require(result.summary["spend"] as? [String: Any])
        #expect((spend["actual_usd"] as? Double ?? -1) > 0, "the two short answers cost something")
    }
}

/// `switchyard models onboard` against upstream llama.cpp `llama-server` serving SmolLM2-135M: a real
/// model takes a short aptitude test (one ZeroEval prompt per category), its real replies are graded,
/// and it joins a small ZeroEval router. Skipped unless the real backend is installed (`make test-real`).
@Suite(
    "end to end: models onboard against a real llama.cpp llama-server", .serialized,
    .enabled(if: RealBackend.shouldRun, "no cached llama-server: run `scripts/real-backend install` (or `make test-real`) to enable")
)
struct RealBackendOnboardingTests {
    @Test func onboardSmolLMFromAShortAptitudeTest() async throws {
        try SwitchyardHarness.requirePrerequisites()
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let (built, _, _) = try await CollectEndToEndTests.buildSmallArtifact(harness, train: 300, dev: 60)
        let (server, port) = try await RealBackend.start(in: harness, aliases: ["smollm2"], context: 8192, slots: 4, maxTokens: 256)
        defer { RealBackend.stop(server) }
        let price = (input: 0.01, output: 0.02)
        let configuration = harness.directory.appendingPathComponent("pipeline-real.yaml")
        try """
            models:
              - name: smollm2
                backend: {url: "http://127.0.0.1:\(port)/v1", timeout_seconds: 300}
                price: {input_usd_per_mtok: \(price.input), output_usd_per_mtok: \(price.output)}
                limits: {concurrency: 4}
            """.write(to: configuration, atomically: true, encoding: .utf8)
        let replies = harness.directory.appendingPathComponent("onboard-replies")
        let onboard = try harness.start("onboard", [
            "models", "onboard", "--profiles", built.path, "--config", configuration.path, "--name", "smollm2",
            "--per-category", "1", "--max-tokens", "48", "--out", replies.path, "--log-level", "warning",
        ])
        #expect(try await onboard.wait(timeout: 900) == 0, "\(onboard.output.suffix(3000))")
        #expect(onboard.output.contains("| category | task | asked | mean outcome |"), "\(onboard.output)")
        #expect(onboard.output.contains("decisions smollm2 would take at the default lambda"), "\(onboard.output)")

        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: built.appendingPathComponent("manifest.json"))) as? [String: Any])
        #expect((manifest["models"] as? [String])?.contains("smollm2") == true)
        let records = try CollectEndToEndTests.lines(replies.appendingPathComponent("aptitude/replies.jsonl"))
        #expect(!records.isEmpty)
        for record in records {
            let id = record["id"] as? String ?? "?"
            let promptTokens = try #require(record["prompt_tokens"] as? Int, "\(id): no usage")
            let completionTokens = try #require(record["completion_tokens"] as? Int, "\(id): no usage")
            #expect(promptTokens > 100, "\(id): a ZeroEval prompt is more than 100 tokens")
            #expect((1...48).contains(completionTokens), "\(id): \(completionTokens) completion tokens with max_tokens 48")
            let cost = try #require(record["cost_usd"] as? Double)
            let expected = (Double(promptTokens) * price.input + Double(completionTokens) * price.output) / 1_000_000
            #expect(abs(cost - expected) < 1e-15, "\(id): cost \(cost) is not usage x price \(expected)")
            #expect([0.0, 1.0].contains(record["outcome"] as? Double ?? -1), "\(id): graded 0 or 1")
            #expect(["stop", "length"].contains(record["finish_reason"] as? String ?? ""), "\(id)")
            #expect(record["reply"] is String)
        }
        let errors = try String(contentsOf: replies.appendingPathComponent("aptitude/errors.jsonl"), encoding: .utf8)
        #expect(errors.isEmpty, "\(errors.prefix(2000))")
    }
}
