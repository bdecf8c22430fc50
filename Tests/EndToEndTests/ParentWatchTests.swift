import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A `switchyard` started with `SWITCHYARD_WATCH_PID` (what every test harness here sets to its own ID) stops
/// when that process dies, so a test process that traps leaves no replay backend or stage behind holding
/// ports and CPU. bash starts a replay backend in the background and exits at once: the backend is
/// orphaned, as it would be by a crashed test.
@Suite("Orphaned children stop")
struct ParentWatchTests {
    @Test("an orphaned replay backend stops when it was asked to watch its parent, and lives on when not")
    func anOrphanedReplayBackendStops() async throws {
        try SwitchyardHarness.requirePrerequisites()
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }

        // Control: without the variable the orphan keeps serving (so the watched one stops because of the watch).
        let unwatched = try await Self.startOrphan(harness, name: "unwatched", watch: false)
        defer { kill(unwatched.pid, SIGKILL) }
        let deadline = Date().addingTimeInterval(120)
        while !Self.contents(unwatched.log).contains("http://127.0.0.1:") {
            try #require(Self.isAlive(unwatched.pid), "the unwatched backend exited:\n\(Self.contents(unwatched.log))")
            try #require(Date() < deadline, "the unwatched backend never announced its address")
            try await Task.sleep(for: .milliseconds(50))
        }

        let watched = try await Self.startOrphan(harness, name: "watched", watch: true)
        defer { kill(watched.pid, SIGKILL) }
        let gone = Date().addingTimeInterval(60)
        while Self.isAlive(watched.pid), Date() < gone { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!Self.isAlive(watched.pid), "the orphaned backend is still running:\n\(Self.contents(watched.log))")
        #expect(Self.isAlive(unwatched.pid), "the control stopped on its own:\n\(Self.contents(unwatched.log))")
    }

    /// Starts `switchyard replay-backend` from a bash that exits at once; returns the backend's pid and log.
    static func startOrphan(_ harness: SwitchyardHarness, name: String, watch: Bool) async throws -> (pid: Int32, log: URL) {
        let log = harness.directory.appendingPathComponent("\(name).log")
        let pidFile = harness.directory.appendingPathComponent("\(name).pid")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [
            "-c", #"if [ "$4" = 1 ]; then export SWITCHYARD_WATCH_PID=$$; else unset SWITCHYARD_WATCH_PID; fi; "$0" replay-backend --data "$1" --port 0 --log-level info > "$2" 2>&1 < /dev/null & echo $! > "$3""#,
            SwitchyardHarness.binary.path, SwitchyardHarness.testData.path, log.path, pidFile.path, watch ? "1" : "0",
        ]
        try process.run()
        // bash writes the pid after starting the backend and exits; Foundation may notice the exit late,
        // so the test waits for the file, not for bash (a dead bash not yet reaped is a zombie, which
        // the watch counts as gone).
        let deadline = Date().addingTimeInterval(60)
        while contents(pidFile).last != "\n", Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let text = contents(pidFile)
        let pid = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), "bash wrote no pid: \(text)")
        return (pid, log)
    }

    /// Running, and not a zombie waiting for a parent that does not reap (PID 1 in a container may not).
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    static func contents(_ url: URL) -> String { (try? String(contentsOf: url, encoding: .utf8)) ?? "" }
}
