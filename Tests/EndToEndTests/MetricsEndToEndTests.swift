import Foundation
import Testing

/// Prometheus `/metrics` from a real stage process: the coordinator's per-stage queue depth shows which
/// stage lacks workers.
@Suite("end to end: Prometheus metrics of a stage process", .serialized)
struct MetricsEndToEndTests {
    /// The value of the sample `name{labels}` in Prometheus text format, or nil when absent.
    static func sample(_ text: String, _ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1).split(separator: " ").first ?? "")
        }
        return nil
    }

    static func scrape(_ port: Int) async -> String {
        guard let (status, body) = try? await SwitchyardHarness.get("http://127.0.0.1:\(port)/metrics"), status == 200 else { return "" }
        return String(decoding: body, as: UTF8.self)
    }

    /// Polls `/metrics` until `condition` holds (180 s at most: three debug processes starting while
    /// `make test` runs hundreds of tests on two shared cores have taken over 60 s); returns the last scrape.
    static func scrape(_ port: Int, until condition: (String) -> Bool) async throws -> String {
        let deadline = Date().addingTimeInterval(180)
        var text = ""
        while Date() < deadline {
            text = await scrape(port)
            if condition(text) { return text }
            try await Task.sleep(for: .milliseconds(200))
        }
        return text
    }

    @Test func queueDepthPerStageMovesToTheStageWithoutWorkers() async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        // No dispatch or sink runs here, so the backends are never called.
        let configuration = try harness.writeConfiguration(healthyPort: 9, failingPort: 9, coordinatorPort: try SwitchyardHarness.freePort())
        let (input, _) = try harness.writeInput(count: 300)
        let metricsPort = try SwitchyardHarness.freePort()
        let common = ["--config", configuration.path, "--log-level", "warning"]
        var children: [SwitchyardHarness.Child] = []
        defer { children.forEach { $0.stop() } }
        children.append(try harness.start("coordinator", ["stage", "coordinator", "--metrics-port", "\(metricsPort)"] + common))
        children.append(try harness.start("ingest", ["stage", "ingest", "--input", input.path] + common))
        // Ingest submits only once a sink has joined (it says what its output already holds first).
        children.append(try harness.start("sink", ["stage", "sink", "--output", harness.directory.appendingPathComponent("out").path] + common))

        // No profile worker yet: accepted requests wait in the profile queue.
        let profile = #"switchyard_stage_queue_depth{stage="profile"}"#
        let score = #"switchyard_stage_queue_depth{stage="score"}"#
        let waiting = try await Self.scrape(metricsPort) { (Self.sample($0, profile) ?? 0) > 0 }
        #expect((Self.sample(waiting, profile) ?? 0) > 0, "no profile queue depth in /metrics:\n\(waiting.prefix(2000))\ncoordinator:\n\(children[0].output.suffix(2000))\ningest:\n\(children[1].output.suffix(2000))")
        #expect(Self.sample(waiting, "switchyard_coordinator_workers") == 0)
        #expect((Self.sample(waiting, "switchyard_coordinator_requests_in_flight") ?? 0) > 0)

        // A profile worker joins: its queue drains into the score stage, which has no worker.
        children.append(try harness.start("profile", ["stage", "profile"] + common))
        let moved = try await Self.scrape(metricsPort) { Self.sample($0, profile) == 0 && (Self.sample($0, score) ?? 0) > 0 }
        #expect(Self.sample(moved, profile) == 0, "profile queue did not drain:\n\(moved.prefix(2000))")
        #expect((Self.sample(moved, score) ?? 0) > 0)
        #expect(Self.sample(moved, "switchyard_coordinator_workers") == 1)
        // Per stage: workers, tasks completed (the profile worker's), and the counters of trouble, at 0.
        #expect(Self.sample(moved, #"switchyard_coordinator_stage_workers{stage="profile"}"#) == 1)
        #expect(Self.sample(moved, #"switchyard_coordinator_stage_workers{stage="score"}"#) == 0)
        #expect((Self.sample(moved, #"switchyard_coordinator_tasks_completed_total{stage="profile"}"#) ?? 0) > 0)
        Self.expectHelpAndType(moved)
    }

    /// Every family in a scrape has `# HELP` and `# TYPE` lines.
    static func expectHelpAndType(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = text.split(separator: "\n")
        let typed = Dictionary(lines.filter { $0.hasPrefix("# TYPE ") }.map { line -> (String, String) in
            let parts = line.split(separator: " ")
            return (String(parts[2]), String(parts.count > 3 ? parts[3] : ""))
        }, uniquingKeysWith: { first, _ in first })
        let helped = Set(lines.filter { $0.hasPrefix("# HELP ") }.map { String($0.split(separator: " ")[2]) })
        var families: Set<String> = []
        for line in lines where !line.hasPrefix("#") {
            var name = String(line.prefix { $0 != "{" && $0 != " " })
            if typed[name] == nil {
                for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) { name = String(name.dropLast(suffix.count)) }
            }
            families.insert(name)
        }
        #expect(!families.isEmpty, sourceLocation: sourceLocation)
        for family in families {
            #expect(typed[family] != nil, "no # TYPE for \(family)", sourceLocation: sourceLocation)
            #expect(helped.contains(family), "no # HELP for \(family)", sourceLocation: sourceLocation)
        }
    }
}
