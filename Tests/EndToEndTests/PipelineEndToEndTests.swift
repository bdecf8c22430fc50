import Foundation
import Testing

/// The real binary on a real input file, against real replay backends on loopback (one of them
/// failing every call), in one process (`switchyard run`) and as separate stage processes.
@Suite("end to end: switchyard run and switchyard stage", .serialized)
struct PipelineEndToEndTests {
    static let lines = Int(ProcessInfo.processInfo.environment["SWITCHYARD_E2E_LINES"] ?? "") ?? 10_000

    @Test(arguments: [SwitchyardHarness.Mode.oneProcess, .processes])
    func batchRunsWithTheInvariantHeld(mode: SwitchyardHarness.Mode) async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let (healthy, healthyPort) = try await harness.startReplayBackend("replay-healthy")
        defer { healthy.stop() }
        // Every model on this backend answers 503: the dispatcher must fall back to the healthy one.
        let (failing, failingPort) = try await harness.startReplayBackend("replay-failing", extra: ["--down", "gemini-1.5-flash"])
        defer { failing.stop() }
        let configuration = try harness.writeConfiguration(
            healthyPort: healthyPort, failingPort: failingPort, coordinatorPort: try SwitchyardHarness.freePort())
        let (input, malformed) = try harness.writeInput(count: Self.lines, pinned: "Meta-Llama-3.1-8B-Instruct")
        let output = harness.directory.appendingPathComponent("out")

        switch mode {
        case .oneProcess:
            let run = try harness.start("run", [
                "run", configuration.path, "--input", input.path, "--output", output.path, "--ordered", "--log-level", "warning",
            ])
            let status = try await run.wait(timeout: 240)
            #expect(status == 0, "switchyard run failed:\n\(run.output.suffix(3000))")
        case .processes:
            let common = ["--config", configuration.path, "--log-level", "warning"]
            let stages = try harness.startStages(common: common, input: input, output: output, profileWorkers: 2, sink: ["--ordered"])
            defer { stages.stopAll() }
            let (sink, coordinator, ingest) = (stages.sink, stages.coordinator, stages.ingest)
            let sinkStatus = try await sink.wait(timeout: 240)
            #expect(sinkStatus == 0, "sink failed:\n\(sink.output.suffix(3000))")
            let ingestStatus = try await ingest.wait(timeout: 30)
            #expect(ingestStatus == 0, "ingest failed:\n\(ingest.output.suffix(3000))")
            let coordinatorStatus = try await coordinator.wait(timeout: 30)
            #expect(coordinatorStatus == 0, "coordinator failed:\n\(coordinator.output.suffix(3000))")
        }

        let result = try SwitchyardHarness.checkInvariant(output: output, inputLines: Self.lines)
        #expect(result.errors.count == malformed, "unexpected error records: \(result.errors.prefix(3))")
        // Ordered output: results by line.
        let resultLines = result.results.compactMap { ($0["routing"] as? [String: Any])?["line"] as? Int }
        #expect(resultLines == resultLines.sorted())
        // The failing backend's model was chosen (cheapest) and fell back to a healthy one.
        let fellBack = result.results.filter { (($0["routing"] as? [String: Any])?["fallbacks"] as? [String])?.contains("gemini-1.5-flash") == true }
        #expect(!fellBack.isEmpty, "no request fell back from the failing backend")
        for record in result.results.prefix(50) {
            let response = try #require(record["response"] as? [String: Any])
            #expect(response["status_code"] as? Int == 200)
            let routing = try #require(record["routing"] as? [String: Any])
            #expect(routing["model"] as? String != "gemini-1.5-flash")
        }
        // Pinned batch lines went to the pinned model.
        let pinned = result.results.filter { ($0["custom_id"] as? String).map { id in
            id.hasPrefix("batch-") && (Int(id.dropFirst(6)) ?? 0) % 7 == 1 } ?? false }
        #expect(!pinned.isEmpty)
        #expect(pinned.allSatisfy { ($0["routing"] as? [String: Any])?["model"] as? String == "Meta-Llama-3.1-8B-Instruct" })
        let spend = try #require(result.summary["spend"] as? [String: Any])
        #expect((spend["actual_usd"] as? Double ?? 0) > 0)
    }

    @Test func dryRunWritesDecisionsAndResumeWritesNothingTwice() async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let configuration = try harness.writeConfiguration(healthyPort: 9, failingPort: 9, coordinatorPort: 9)
        let (input, malformed) = try harness.writeInput(count: 300)
        let output = harness.directory.appendingPathComponent("dry")
        for attempt in 1...2 {
            let run = try harness.start("dry-\(attempt)", [
                "run", configuration.path, "--input", input.path, "--output", output.path, "--dry-run", "--log-level", "warning",
            ])
            let status = try await run.wait(timeout: 120)
            #expect(status == 0, "dry run failed:\n\(run.output.suffix(3000))")
        }
        let result = try SwitchyardHarness.checkInvariant(output: output, inputLines: 300)
        #expect(result.errors.count == malformed)
        #expect(result.summary["resumed_records"] as? Int == 300)
        for record in result.results.prefix(20) {
            #expect(record["response"] is NSNull)
            let routing = try #require(record["routing"] as? [String: Any])
            #expect(routing["strategy"] as? String == "cheapest")
            #expect(routing["model"] as? String == "gemini-1.5-flash")
        }
    }

    @Test func brokenConfigurationFailsBeforeAnyWork() async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let configuration = harness.directory.appendingPathComponent("bad.yaml")
        try """
            models:
              - name: a
                backend: {url: "ftp://nowhere"}
                price: {input_usd_per_mtok: 1, output_usd_per_mtok: 1}
            """.write(to: configuration, atomically: true, encoding: .utf8)
        let (input, _) = try harness.writeInput(count: 5)
        let output = harness.directory.appendingPathComponent("never")
        let run = try harness.start("bad", ["run", configuration.path, "--input", input.path, "--output", output.path])
        let status = try await run.wait(timeout: 60)
        #expect(status == 2)
        #expect(run.output.contains("models[0].backend.url: not a valid http(s) URL"), "\(run.output)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }
}
