import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Operating a batch with the real binary: what happens around failures (issue 19). Backends are real
/// replay servers on loopback; every run is `switchyard run` or `switchyard stage` processes.
@Suite("end to end: operating a batch (failures, retries, readiness, exit codes, files)", .serialized)
struct OperatingEndToEndTests {
    static let lines = 120

    static func summary(_ output: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: output.appendingPathComponent("summary.json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    static func errorCodes(_ output: URL) -> [String: Int] {
        var codes: [String: Int] = [:]
        for record in (try? SwitchyardHarness.readLines(output.appendingPathComponent("errors.jsonl"))) ?? [] {
            codes[(record["error"] as? [String: Any])?["code"] as? String ?? "?", default: 0] += 1
        }
        return codes
    }

    /// A replay backend on which every model of the pool answers 503, and a configuration that fails at
    /// once on it (no wait for a probe): every line ends as an error.
    static func allModelsDown(_ harness: SwitchyardHarness) async throws -> (backend: SwitchyardHarness.Child, port: Int, configuration: URL) {
        let models = ["gpt-4o-mini-2024-07-18", "Meta-Llama-3.1-8B-Instruct", "claude-3-5-sonnet-20240620", "gemini-1.5-flash"]
        let (backend, port) = try await harness.startReplayBackend("replay-down", extra: ["--down"] + models)
        let configuration = try harness.writeConfiguration(healthyPort: port, failingPort: port, coordinatorPort: try SwitchyardHarness.freePort(),
                                                           dispatch: ", unavailable_wait_seconds: 0")
        return (backend, port, configuration)
    }

    /// Stops `backend` and starts a healthy one on the same port (the backend came back).
    static func bringBack(_ backend: SwitchyardHarness.Child, port: Int, _ harness: SwitchyardHarness) async throws -> SwitchyardHarness.Child {
        backend.stop()
        _ = try await backend.wait(timeout: 30)
        return try await harness.startReplayBackend("replay-up", port: port).0
    }

    // MARK: 1. dry runs

    @Test("a dry run never poisons its output directory for a real run")
    func dryRunDoesNotPoisonARealRun() async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let (backend, port) = try await harness.startReplayBackend("replay")
        defer { backend.stop() }
        let configuration = try harness.writeConfiguration(healthyPort: port, failingPort: port, coordinatorPort: try SwitchyardHarness.freePort())
        let (input, malformed) = try harness.writeInput(count: 30)
        let output = harness.directory.appendingPathComponent("out")
        let common = ["--input", input.path, "--output", output.path, "--log-level", "warning", "--no-progress"]

        let (dryStatus, dry) = try await harness.runToEnd("dry", ["run", configuration.path] + common + ["--dry-run"])
        #expect(dryStatus == 0, "\(dry.output.suffix(2000))")
        let (realStatus, real) = try await harness.runToEnd("real", ["run", configuration.path] + common)
        #expect(realStatus == 2, "a real run over dry-run decisions must stop: \(real.output.suffix(2000))")
        #expect(real.output.contains("dry run") && real.output.contains(output.path), "\(real.output.suffix(2000))")
        // Nothing was taken as done: the decisions are untouched, and another directory runs for real.
        let decisions = try SwitchyardHarness.checkInvariant(output: output, inputLines: 30)
        #expect(decisions.results.allSatisfy { $0["response"] is NSNull })
        let fresh = harness.directory.appendingPathComponent("fresh")
        let (freshStatus, freshRun) = try await harness.runToEnd("fresh", ["run", configuration.path, "--input", input.path, "--output", fresh.path, "--log-level", "warning"])
        #expect(freshStatus == 0, "\(freshRun.output.suffix(2000))")
        let answered = try SwitchyardHarness.checkInvariant(output: fresh, inputLines: 30)
        #expect(answered.errors.count == malformed)
        #expect(answered.results.allSatisfy { ($0["response"] as? [String: Any])?["status_code"] as? Int == 200 })
    }

    // MARK: 2. readiness, retries

    @Test("stage mode started before its backends: dispatch waits for them, no line is lost to the race")
    func stagesStartedBeforeTheirBackends() async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let (healthyPort, failingPort) = (try SwitchyardHarness.freePort(), try SwitchyardHarness.freePort())
        let configuration = try harness.writeConfiguration(healthyPort: healthyPort, failingPort: failingPort,
                                                           coordinatorPort: try SwitchyardHarness.freePort())
        let (input, malformed) = try harness.writeInput(count: Self.lines)
        let output = harness.directory.appendingPathComponent("out")
        let stages = try harness.startStages(common: ["--config", configuration.path, "--log-level", "info"], input: input, output: output)
        defer { stages.stopAll() }
        // The dispatch process is up and waiting; the backends come a second later (the README's `&` race).
        let deadline = Date().addingTimeInterval(120)
        while !stages.dispatch.output.contains("waiting for backend"), Date() < deadline, stages.dispatch.process.isRunning {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(stages.dispatch.output.contains("waiting for backend"), "\(stages.dispatch.output.suffix(2000))")
        let (healthy, _) = try await harness.startReplayBackend("replay-healthy", port: healthyPort)
        defer { healthy.stop() }
        let (failing, _) = try await harness.startReplayBackend("replay-failing", port: failingPort)
        defer { failing.stop() }
        let status = try await stages.sink.wait(timeout: 240)
        #expect(status == 0, "\(stages.sink.output.suffix(3000))")
        let result = try SwitchyardHarness.checkInvariant(output: output, inputLines: Self.lines)
        #expect(result.errors.count == malformed, "lines lost to backends still starting: \(Self.errorCodes(output))")
    }

    @Test("at start every backend is checked in either /v1/models shape; a model it does not serve stops the run before anything is written",
          arguments: ["openai", "llama-cpp"])
    func readinessChecksWhatTheBackendServes(shape: String) async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let (backend, port) = try await harness.startReplayBackend("replay", extra: ["--models-list", shape])
        defer { backend.stop() }
        let (input, malformed) = try harness.writeInput(count: 20)
        func configuration(servedAs served: String, name: String) throws -> URL {
            let url = harness.directory.appendingPathComponent(name)
            try """
                profiler: {embedder: hashed, dimension: 64}
                router: {strategy: cheapest}
                models:
                  - name: gpt-4o-mini-2024-07-18
                    backend: {url: "http://127.0.0.1:\(port)/v1", model: \(served)}
                    price: {input_usd_per_mtok: 0.15, output_usd_per_mtok: 0.60}
                  - name: gemini-1.5-flash
                    backend: {url: "http://127.0.0.1:\(port)/v1"}
                    price: {input_usd_per_mtok: 0.05, output_usd_per_mtok: 0.10}
                """.write(to: url, atomically: true, encoding: .utf8)
            return url
        }
        let good = harness.directory.appendingPathComponent("good")
        let (status, run) = try await harness.runToEnd("good", ["run", try configuration(servedAs: "gpt-4o-mini-2024-07-18", name: "good.yaml").path,
                                                                "--input", input.path, "--output", good.path, "--log-level", "warning"])
        #expect(status == 0, "\(run.output.suffix(2000))")
        #expect(try SwitchyardHarness.checkInvariant(output: good, inputLines: 20).errors.count == malformed)

        let never = harness.directory.appendingPathComponent("never")
        let (badStatus, bad) = try await harness.runToEnd("bad", ["run", try configuration(servedAs: "no-such-model", name: "bad.yaml").path,
                                                                  "--input", input.path, "--output", never.path, "--log-level", "warning"])
        #expect(badStatus == 2, "\(bad.output.suffix(2000))")
        #expect(bad.output.contains("does not serve 'no-such-model'") && bad.output.contains("gemini-1.5-flash"), "\(bad.output)")
        #expect(!FileManager.default.fileExists(atPath: never.path))
    }

    @Test("run --retry-errors sends failed lines again and replaces their records; exit statuses say what happened")
    func retryErrorsReplacesFailedLines() async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        // Every model of the pool answers 503 at first.
        var (backend, port, configuration) = try await Self.allModelsDown(harness)
        defer { backend.stop() }
        let (input, malformed) = try harness.writeInput(count: Self.lines)
        let output = harness.directory.appendingPathComponent("out")
        let common = ["run", configuration.path, "--input", input.path, "--output", output.path, "--log-level", "warning", "--no-progress"]

        // Every line fails: exit 3 with one line that says why and what to do.
        let (failedStatus, failed) = try await harness.runToEnd("all-down", common)
        #expect(failedStatus == 3, "\(failed.output.suffix(2000))")
        #expect(failed.output.contains("lines failed") && failed.output.contains("--retry-errors"), "\(failed.output.suffix(2000))")
        let before = try SwitchyardHarness.checkInvariant(output: output, inputLines: Self.lines)
        #expect(before.results.isEmpty && before.errors.count == Self.lines)
        // The same failures within --max-error-rate 1: exit 0.
        let tolerant = harness.directory.appendingPathComponent("tolerant")
        let (tolerantStatus, _) = try await harness.runToEnd("tolerant", ["run", configuration.path, "--input", input.path, "--output", tolerant.path,
                                                                          "--log-level", "warning", "--max-error-rate", "1"])
        #expect(tolerantStatus == 0)

        // The backend comes back; a plain rerun keeps the errors (they are records), --retry-errors redoes them.
        backend = try await Self.bringBack(backend, port: port, harness)
        let (rerunStatus, _) = try await harness.runToEnd("rerun", common)
        #expect(rerunStatus == 3)
        #expect(try SwitchyardHarness.checkInvariant(output: output, inputLines: Self.lines).results.isEmpty)
        let (retryStatus, retry) = try await harness.runToEnd("retry", common + ["--retry-errors"])
        #expect(retryStatus == 0, "\(retry.output.suffix(2000))")
        let after = try SwitchyardHarness.checkInvariant(output: output, inputLines: Self.lines)
        #expect(after.errors.count == malformed, "\(Self.errorCodes(output))")
        #expect(Set(Self.errorCodes(output).keys).isDisjoint(with: ["backend_unavailable", "max_attempts_exceeded"]))
        #expect(after.results.allSatisfy { ($0["response"] as? [String: Any])?["status_code"] as? Int == 200 })
    }

    // MARK: 3. model not found

    @Test("a model the backend no longer serves (404) falls back along the ranking, under a budget too")
    func unservedModelFallsBack() async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        // The cheapest model is listed by /v1/models (so it passes the start-up check) but answers 404.
        let (backend, port) = try await harness.startReplayBackend("replay", extra: ["--unloaded", "gemini-1.5-flash"])
        defer { backend.stop() }
        let configuration = try harness.writeConfiguration(healthyPort: port, failingPort: port, coordinatorPort: try SwitchyardHarness.freePort(),
                                                           router: ", budget_usd: 5.0")
        let (input, malformed) = try harness.writeInput(count: 60)
        let output = harness.directory.appendingPathComponent("out")
        let (status, run) = try await harness.runToEnd("run", ["run", configuration.path, "--input", input.path, "--output", output.path,
                                                               "--log-level", "warning", "--no-progress"])
        #expect(status == 0, "\(run.output.suffix(2000))")
        let result = try SwitchyardHarness.checkInvariant(output: output, inputLines: 60)
        #expect(result.errors.count == malformed, "\(Self.errorCodes(output))")
        let routings = result.results.compactMap { $0["routing"] as? [String: Any] }
        #expect(routings.allSatisfy { $0["model"] as? String != "gemini-1.5-flash" })
        #expect(routings.contains { ($0["fallbacks"] as? [String]) == ["gemini-1.5-flash"] })
    }

    // MARK: 4. one output directory, either mode

    @Test("run over a stage-mode output directory resumes: nothing is sent or paid twice")
    func runResumesAStageModeDirectory() async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let (backend, port) = try await harness.startReplayBackend("replay")
        defer { backend.stop() }
        let configuration = try harness.writeConfiguration(healthyPort: port, failingPort: port, coordinatorPort: try SwitchyardHarness.freePort())
        let (input, _) = try harness.writeInput(count: 60)
        let output = harness.directory.appendingPathComponent("out")
        let stages = try harness.startStages(common: ["--config", configuration.path, "--log-level", "warning"], input: input, output: output)
        defer { stages.stopAll() }
        #expect(try await stages.sink.wait(timeout: 240) == 0, "\(stages.sink.output.suffix(2000))")
        let first = try SwitchyardHarness.checkInvariant(output: output, inputLines: 60)

        let (status, run) = try await harness.runToEnd("run", ["run", configuration.path, "--input", input.path, "--output", output.path,
                                                               "--budget-usd", "10", "--log-level", "warning", "--no-progress"])
        #expect(status == 0, "\(run.output.suffix(2000))")
        let again = try SwitchyardHarness.checkInvariant(output: output, inputLines: 60)
        #expect(again.results.count == first.results.count)
        let summary = try Self.summary(output)
        #expect(summary["resumed_records"] as? Int == 60)
        let budget = try #require(summary["budget"] as? [String: Any])
        #expect(budget["ledger_actual_usd"] as? Double == 0, "the rerun paid again: \(budget)")
        #expect(budget["ledger_reserved_usd"] as? Double == 0, "the rerun routed lines again: \(budget)")
    }

    @Test("stage mode over a run's output: stage sink --retry-errors replaces the failed lines, and a rerun sends nothing")
    func stageModeRetriesAndResumesARunDirectory() async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        var (backend, port, configuration) = try await Self.allModelsDown(harness)
        defer { backend.stop() }
        let (input, malformed) = try harness.writeInput(count: 60)
        let output = harness.directory.appendingPathComponent("out")
        let (failedStatus, _) = try await harness.runToEnd("all-down", ["run", configuration.path, "--input", input.path, "--output", output.path,
                                                                        "--log-level", "warning"])
        #expect(failedStatus == 3)
        backend = try await Self.bringBack(backend, port: port, harness)

        /// One stage-mode run over `output`: what its dispatch process did.
        func stageRun(_ name: String, sink: [String]) async throws -> Int {
            let stages = try harness.startStages(common: ["--config", configuration.path, "--log-level", "info"], input: input, output: output,
                                                 sink: sink)
            defer { stages.stopAll() }
            let status = try await stages.sink.wait(timeout: 240)
            #expect(status == 0, "\(stages.sink.output.suffix(2000))")
            _ = try await stages.dispatch.wait(timeout: 60)
            let line = try #require(stages.dispatch.output.split(separator: "\n").last { $0.contains("msg=\"workers finished\"") })
            return Int(line.split(separator: " ").first { $0.hasPrefix("tasks_done=") }?.dropFirst("tasks_done=".count) ?? "") ?? -1
        }
        #expect(try await stageRun("retry", sink: ["--retry-errors"]) == 60 - malformed)
        let after = try SwitchyardHarness.checkInvariant(output: output, inputLines: 60)
        #expect(after.errors.count == malformed, "\(Self.errorCodes(output))")
        #expect(try Self.summary(output)["retried_records"] as? Int == 60 - malformed)
        // Every line has its record now: another stage-mode run over the directory sends nothing.
        #expect(try await stageRun("again", sink: []) == 0)
        #expect(try Self.summary(output)["resumed_records"] as? Int == 60)
        _ = try SwitchyardHarness.checkInvariant(output: output, inputLines: 60)
    }

    // MARK: 6. process lifecycle

    @Test("SIGTERM drains a stage worker, with and without --metrics-port", arguments: [false, true])
    func sigtermDrainsAWorker(withMetrics: Bool) async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        // No score worker: requests pile up after profile, so the profile worker is busy when told to stop.
        let configuration = try harness.writeConfiguration(healthyPort: 9, failingPort: 9, coordinatorPort: try SwitchyardHarness.freePort())
        let (input, _) = try harness.writeInput(count: 300)
        let coordinatorMetrics = try SwitchyardHarness.freePort()
        let common = ["--config", configuration.path, "--log-level", "info"]
        var children: [SwitchyardHarness.Child] = []
        defer { children.forEach { $0.stop() } }
        let coordinator = try harness.start("coordinator", ["stage", "coordinator", "--metrics-port", "\(coordinatorMetrics)"] + common)
        children.append(coordinator)
        children.append(try harness.start("ingest", ["stage", "ingest", "--input", input.path] + common))
        children.append(try harness.start("sink", ["stage", "sink", "--output", harness.directory.appendingPathComponent("out").path] + common))
        let workerMetrics = try SwitchyardHarness.freePort()
        let profile = try harness.start("profile", ["stage", "profile"] + (withMetrics ? ["--metrics-port", "\(workerMetrics)"] : []) + common)
        children.append(profile)
        let score = #"switchyard_stage_queue_depth{stage="score"}"#
        let busy = try await MetricsEndToEndTests.scrape(coordinatorMetrics) { (MetricsEndToEndTests.sample($0, score) ?? 0) > 0 }
        #expect((MetricsEndToEndTests.sample(busy, score) ?? 0) > 0, "the profile worker never worked:\n\(profile.output.suffix(2000))")
        if withMetrics {
            let own = await MetricsEndToEndTests.scrape(workerMetrics)
            #expect(own.contains("switchyard_stage_tasks_total"), "worker /metrics:\n\(own.prefix(1000))")
            MetricsEndToEndTests.expectHelpAndType(own)
        }

        profile.terminate()
        let status = try await profile.wait(timeout: 30)
        #expect(status == 0, "\(profile.output.suffix(2000))")
        #expect(profile.output.contains("drained; leaving"), "\(profile.output.suffix(2000))")
        // The coordinator saw it leave (BYE), and SIGTERM stops the coordinator too.
        let left = try await MetricsEndToEndTests.scrape(coordinatorMetrics) { MetricsEndToEndTests.sample($0, "switchyard_coordinator_workers") == 0 }
        #expect(MetricsEndToEndTests.sample(left, "switchyard_coordinator_workers") == 0)
        coordinator.terminate()
        #expect(try await coordinator.wait(timeout: 30) == 0, "\(coordinator.output.suffix(2000))")
    }

    @Test("SIGTERM stops switchyard run gracefully: what is done is written with the summary, a rerun finishes")
    func sigtermStopsARunGracefully() async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        // Slow answers keep the run busy long enough to be stopped in the middle.
        let (backend, port) = try await harness.startReplayBackend("replay", extra: ["--latency-ms-p50", "200"])
        defer { backend.stop() }
        let configuration = try harness.writeConfiguration(healthyPort: port, failingPort: port, coordinatorPort: try SwitchyardHarness.freePort())
        let (input, _) = try harness.writeInput(count: 2_000)
        let output = harness.directory.appendingPathComponent("out")
        let arguments = ["run", configuration.path, "--input", input.path, "--output", output.path, "--log-level", "info", "--no-progress"]
        let run = try harness.start("run", arguments)
        let results = output.appendingPathComponent("results.jsonl")
        let deadline = Date().addingTimeInterval(120)
        while ((try? SwitchyardHarness.readLines(results).count) ?? 0) < 50, Date() < deadline, run.process.isRunning {
            try await Task.sleep(for: .milliseconds(100))
        }
        run.terminate()
        let status = try await run.wait(timeout: 60)
        #expect(status == 4, "\(run.output.suffix(2000))")
        #expect(run.output.contains("rerun"), "\(run.output.suffix(2000))")
        let partial = try Self.summary(output)
        let written = (partial["results"] as? Int ?? 0) + (partial["errors"] as? Int ?? 0)
        #expect(written > 0 && written < 2_000)
        let (rerunStatus, rerun) = try await harness.runToEnd("rerun", arguments)
        #expect(rerunStatus == 0, "\(rerun.output.suffix(2000))")
        _ = try SwitchyardHarness.checkInvariant(output: output, inputLines: 2_000)
    }

    // MARK: 8. file errors

    @Test("file errors name the path and what to do; a missing input creates nothing")
    func fileErrorsSayWhatToDo() async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let configuration = try harness.writeConfiguration(healthyPort: 9, failingPort: 9, coordinatorPort: 9)
        let (input, _) = try harness.writeInput(count: 5)
        let file = harness.directory.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)

        let under = file.appendingPathComponent("out")
        let (status, run) = try await harness.runToEnd("under-a-file", ["run", configuration.path, "--input", input.path, "--output", under.path, "--dry-run"])
        #expect(status == 2, "\(run.output)")
        #expect(run.output.contains("\(file.path) is a file, not a folder") && run.output.contains("--output"), "\(run.output)")
        #expect(!run.output.contains("NSCocoaErrorDomain") && !run.output.contains("(null)"), "\(run.output)")

        let missing = harness.directory.appendingPathComponent("missing.jsonl")
        let never = harness.directory.appendingPathComponent("never")
        let (missingStatus, missingRun) = try await harness.runToEnd("missing", ["run", configuration.path, "--input", missing.path, "--output", never.path, "--dry-run"])
        #expect(missingStatus == 2, "\(missingRun.output)")
        #expect(missingRun.output.contains(missing.path) && missingRun.output.contains("check"), "\(missingRun.output)")
        #expect(!FileManager.default.fileExists(atPath: never.path), "a missing input created the output directory")
    }

    // MARK: 13. metadata

    @Test("an input line's metadata is copied into its result or error record, whichever stage wrote it")
    func metadataTravelsIntoRecords() async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let (backend, port) = try await harness.startReplayBackend("replay")
        defer { backend.stop() }
        let configuration = try harness.writeConfiguration(healthyPort: port, failingPort: port, coordinatorPort: try SwitchyardHarness.freePort())
        let input = harness.directory.appendingPathComponent("metadata.jsonl")
        try """
            {"id": "p1", "prompt": "What is 2+2?", "metadata": {"batch": "a", "n": 1}}
            {"custom_id": "b2", "method": "POST", "url": "/v1/chat/completions", "metadata": {"n": 2}, "body": {"model": "auto", "messages": [{"role": "user", "content": "Name a prime."}]}}
            {"id": "p3", "prompt": "Say hi."}
            {"id": "p4", "prompt": "", "metadata": {"n": 4}}
            {"custom_id": "b5", "method": "POST", "url": "/v1/chat/completions", "metadata": "five", "body": {"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}}

            """.write(to: input, atomically: true, encoding: .utf8)
        func metadata(_ records: [[String: Any]]) -> [String: String] {
            var out: [String: String] = [:]
            for record in records {
                let id = record["custom_id"] as? String ?? "?"
                guard let value = record["metadata"] else { out[id] = "absent"; continue }
                let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])) ?? Data()
                out[id] = String(decoding: data, as: UTF8.self)
            }
            return out
        }
        let expected = ["p1": #"{"batch":"a","n":1}"#, "b2": #"{"n":2}"#, "p3": "absent", "p4": #"{"n":4}"#, "b5": #""five""#]

        let output = harness.directory.appendingPathComponent("out")
        let (status, run) = try await harness.runToEnd("run", ["run", configuration.path, "--input", input.path, "--output", output.path, "--log-level", "warning"])
        #expect(status == 0, "\(run.output.suffix(2000))")
        let answered = try SwitchyardHarness.checkInvariant(output: output, inputLines: 5)
        #expect(answered.results.count == 3 && answered.errors.count == 2)
        #expect(metadata(answered.results + answered.errors) == expected)

        // The score stage's errors (a zero budget) carry it too.
        let broke = harness.directory.appendingPathComponent("broke")
        let (brokeStatus, _) = try await harness.runToEnd("broke", ["run", configuration.path, "--input", input.path, "--output", broke.path,
                                                                   "--budget-usd", "0", "--max-error-rate", "1", "--log-level", "warning"])
        #expect(brokeStatus == 0)
        let exhausted = try SwitchyardHarness.checkInvariant(output: broke, inputLines: 5)
        #expect(exhausted.results.isEmpty)
        #expect(metadata(exhausted.errors) == expected)
        #expect(Self.errorCodes(broke)["budget_exhausted"] == 3)
    }

    // MARK: 9. logs

    @Test("one log format: logfmt or JSON lines, snake_case keys, one run finished line, fallbacks at debug", arguments: ["logfmt", "json"])
    func oneLogFormat(format: String) async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let (healthy, healthyPort) = try await harness.startReplayBackend("replay-healthy")
        defer { healthy.stop() }
        let (failing, failingPort) = try await harness.startReplayBackend("replay-failing", extra: ["--down", "gemini-1.5-flash"])
        defer { failing.stop() }
        let configuration = try harness.writeConfiguration(healthyPort: healthyPort, failingPort: failingPort, coordinatorPort: try SwitchyardHarness.freePort())
        let (input, _) = try harness.writeInput(count: 200)
        let output = harness.directory.appendingPathComponent("out")
        let (status, run) = try await harness.runToEnd("run", [
            "run", configuration.path, "--input", input.path, "--output", output.path, "--log-format", format, "--log-level", "info",
        ], separateStderr: true)
        #expect(status == 0, "\(run.errors.suffix(2000))")
        let lines = run.errors.split(separator: "\n").map(String.init)
        #expect(!lines.isEmpty)
        var messages: [String] = []
        for line in lines {
            let fields: [String: String]
            if format == "json" {
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                let parsed = try #require(object, "not a JSON object: \(line)")
                fields = parsed.mapValues { "\($0)" }
                #expect(parsed.values.allSatisfy { $0 is String }, "nested value in \(line)")
            } else {
                fields = Dictionary(try LogfmtLine.fields(line).map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
                #expect(line.hasPrefix("ts="), "not logfmt: \(line)")
            }
            for (key, value) in fields {
                #expect(key.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" || $0 == "." }, "key \(key) in \(line)")
                #expect(key == "msg" || !(value.contains("=") && value.contains(" ")), "nested key=value in \(key): \(line)")
                #expect(value.range(of: #"^[A-Z][A-Za-z]+\("#, options: .regularExpression) == nil, "a Swift description dump in \(key): \(line)")
            }
            messages.append(fields["msg"] ?? "")
        }
        #expect(messages.filter { $0 == "run finished" }.count == 1, "\(messages)")
        #expect(!messages.contains("falling back"), "fallbacks are logged per request at info")
        // Fallbacks did happen (the cheapest model's backend is down): they are in the records.
        let result = try SwitchyardHarness.checkInvariant(output: output, inputLines: 200)
        #expect(result.results.contains { (($0["routing"] as? [String: Any])?["fallbacks"] as? [String])?.isEmpty == false })
    }
}

/// logfmt fields of one line (values may be quoted with \" escapes).
enum LogfmtLine {
    struct Malformed: Error { var line: String }

    static func fields(_ line: String) throws -> [(key: String, value: String)] {
        var fields: [(String, String)] = []
        var rest = Substring(line)
        while !rest.isEmpty {
            guard let equals = rest.firstIndex(of: "="), !rest[..<equals].contains(" ") else { throw Malformed(line: line) }
            let key = String(rest[..<equals])
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var closed = false
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if character == "\\", let next = rest.first { value.append(next); rest = rest.dropFirst(); continue }
                    if character == "\"" { closed = true; break }
                    value.append(character)
                }
                guard closed else { throw Malformed(line: line) }
            } else {
                value = String(rest.prefix { $0 != " " })
                rest = rest.dropFirst(value.count)
            }
            fields.append((key, value))
            rest = rest.drop { $0 == " " }
        }
        return fields
    }
}
