import Foundation
import Testing

/// `switchyard collect` operated as `run` is (issue 19's rules through the same dispatcher): backends
/// checked before the first pair, failures as error records with the documented exit statuses, SIGTERM
/// drains and a rerun finishes. The real binary against real replay backends, on a few dev prompts.
@Suite("end to end: collect's readiness, failures, exit statuses and SIGTERM", .serialized)
struct CollectOperatingTests {
    static let models = ["gpt-4o-mini-2024-07-18", "gemini-1.5-flash"]
    static let prompts = 30

    /// The first `prompts` dev records (their answers come from answers.jsonl) and the dev split itself,
    /// which the replay backend serves.
    static func promptsFile(_ harness: SwitchyardHarness) throws -> URL {
        let dev = CollectEndToEndTests.zeroeval.appendingPathComponent("dev.jsonl")
        let lines = try String(contentsOf: dev, encoding: .utf8).split(separator: "\n").prefix(prompts)
        let url = harness.directory.appendingPathComponent("prompts.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static func startBackend(_ harness: SwitchyardHarness, name: String = "replay", port: Int = 0, extra: [String] = []) async throws -> (SwitchyardHarness.Child, Int) {
        try await harness.startReplayBackend(
            name, data: CollectEndToEndTests.zeroeval.appendingPathComponent("dev.jsonl"), port: port,
            extra: ["--answers", CollectEndToEndTests.answers.path] + extra)
    }

    /// Both models on the backend at `port`; `served` replaces the model name the backend is asked for.
    static func configuration(_ harness: SwitchyardHarness, port: Int, served: [String: String] = [:], concurrency: Int = 4) throws -> URL {
        var yaml = """
            stages: {dispatch: {unavailable_wait_seconds: 0, ready_timeout_seconds: 5}}
            models:

            """
        for model in models {
            yaml += """
                  - name: \(model)
                    backend: {url: "http://127.0.0.1:\(port)/v1", model: \(served[model] ?? model)}
                    price: {input_usd_per_mtok: 0.15, output_usd_per_mtok: 0.60}
                    limits: {concurrency: \(concurrency)}

                """
        }
        let url = harness.directory.appendingPathComponent("collect-\(port)-\(served.count)-\(concurrency).yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static func arguments(config: URL, prompts: URL, out: URL) -> [String] {
        ["collect", "--config", config.path, "--prompts", prompts.path, "--answers", CollectEndToEndTests.answers.path,
         "--out", out.path, "--log-level", "info", "--no-progress"]
    }

    /// Every (prompt, model) pair of `replies.jsonl`, checking none is there twice.
    static func pairs(_ out: URL) throws -> Set<String> {
        let replies = try SwitchyardHarness.readLines(out.appendingPathComponent("replies.jsonl"))
        let keys = replies.map { "\($0["id"] as? String ?? "?")@\($0["model"] as? String ?? "?")" }
        #expect(Set(keys).count == keys.count, "a pair was answered twice")
        return Set(keys)
    }

    @Test("collect checks every backend before the first pair: a model it does not serve stops it (exit 2), nothing written")
    func readinessBeforeAnything() async throws {
        try SwitchyardHarness.requirePrerequisites()
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let (backend, port) = try await Self.startBackend(harness)
        defer { backend.stop() }
        let prompts = try Self.promptsFile(harness)
        let out = harness.directory.appendingPathComponent("never")
        let config = try Self.configuration(harness, port: port, served: ["gemini-1.5-flash": "no-such-model"])
        let (status, collect) = try await harness.runToEnd("collect-bad", Self.arguments(config: config, prompts: prompts, out: out))
        #expect(status == 2, "\(collect.output.suffix(2000))")
        #expect(collect.output.contains("does not serve 'no-such-model'"), "\(collect.output.suffix(2000))")
        #expect(!FileManager.default.fileExists(atPath: out.path), "a refused collect wrote \(out.path)")

        // Nothing listening: waited for (ready_timeout_seconds), then the same refusal.
        let nobody = try Self.configuration(harness, port: try SwitchyardHarness.freePort())
        let (downStatus, down) = try await harness.runToEnd("collect-nobody", Self.arguments(config: nobody, prompts: prompts, out: out))
        #expect(downStatus == 2, "\(down.output.suffix(2000))")
        #expect(down.output.contains("did not answer GET /models"), "\(down.output.suffix(2000))")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test("a model whose backend is down: its pairs are error records, --max-error-rate says exit 3, a rerun once it is back fills them")
    func downModelThenRerun() async throws {
        try SwitchyardHarness.requirePrerequisites()
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let (backend, port) = try await Self.startBackend(harness, name: "replay-down", extra: ["--down", "gemini-1.5-flash"])
        let prompts = try Self.promptsFile(harness)
        let out = harness.directory.appendingPathComponent("out")
        let config = try Self.configuration(harness, port: port)
        let arguments = Self.arguments(config: config, prompts: prompts, out: out)

        let (status, collect) = try await harness.runToEnd("collect-down", arguments + ["--max-error-rate", "0.1"])
        #expect(status == 3, "\(collect.output.suffix(2000))")
        #expect(collect.output.contains("30 of 60 pairs failed"), "\(collect.output.suffix(2000))")
        let errors = try SwitchyardHarness.readLines(out.appendingPathComponent("errors.jsonl"))
        #expect(errors.count == Self.prompts && errors.allSatisfy { $0["model"] as? String == "gemini-1.5-flash" })
        #expect(try Self.pairs(out).count == Self.prompts)

        // Back up on the same port: the rerun sends only the failed pairs, and every pair has its reply once.
        backend.stop()
        _ = try await backend.wait(timeout: 30)
        let (healthy, _) = try await Self.startBackend(harness, name: "replay-up", port: port)
        defer { healthy.stop() }
        let (rerunStatus, rerun) = try await harness.runToEnd("collect-rerun", arguments + ["--max-error-rate", "0.1"])
        #expect(rerunStatus == 0, "\(rerun.output.suffix(2000))")
        #expect(rerun.output.contains("60 pairs: 30 done before, 30 answered now"), "\(rerun.output.suffix(2000))")
        #expect(try Self.pairs(out).count == 2 * Self.prompts)
        #expect(try String(contentsOf: out.appendingPathComponent("errors.jsonl"), encoding: .utf8).isEmpty)
        #expect(try SwitchyardHarness.readLines(out.appendingPathComponent("routing.jsonl")).count == Self.prompts)
    }

    @Test("SIGTERM stops collect gracefully (exit 4): pairs in flight are written, a rerun sends the rest once")
    func sigtermDrains() async throws {
        try SwitchyardHarness.requirePrerequisites()
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        // Slow answers and one request at a time per model keep the run busy long enough to be stopped.
        let (backend, port) = try await Self.startBackend(harness, extra: ["--latency-ms-p50", "150"])
        defer { backend.stop() }
        let prompts = try Self.promptsFile(harness)
        let out = harness.directory.appendingPathComponent("out")
        let arguments = Self.arguments(config: try Self.configuration(harness, port: port, concurrency: 1), prompts: prompts, out: out)
        let collect = try harness.start("collect", arguments)
        let replies = out.appendingPathComponent("replies.jsonl")
        let deadline = Date().addingTimeInterval(120)
        while ((try? SwitchyardHarness.readLines(replies).count) ?? 0) < 6, Date() < deadline, collect.process.isRunning {
            try await Task.sleep(for: .milliseconds(50))
        }
        collect.terminate()
        let status = try await collect.wait(timeout: 60)
        #expect(status == 4, "\(collect.output.suffix(2000))")
        #expect(collect.output.contains("rerun the same command to continue"), "\(collect.output.suffix(2000))")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json"))) as? [String: Any])
        #expect(summary["stopped"] as? Bool == true)
        let notSent = summary["not_sent"] as? Int ?? 0
        let done = try Self.pairs(out).count
        #expect(notSent > 0 && done > 0 && done + notSent == 2 * Self.prompts, "done \(done), not sent \(notSent)")
        #expect(try String(contentsOf: out.appendingPathComponent("errors.jsonl"), encoding: .utf8).isEmpty, "a drained pair became an error")

        let (rerunStatus, rerun) = try await harness.runToEnd("collect-rerun", arguments)
        #expect(rerunStatus == 0, "\(rerun.output.suffix(2000))")
        #expect(rerun.output.contains("\(done) done before, \(notSent) answered now"), "\(rerun.output.suffix(2000))")
        #expect(try Self.pairs(out).count == 2 * Self.prompts)
    }
}
