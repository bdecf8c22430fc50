#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SwitchyardCore

/// A child process started with `posix_spawn` and reaped with `wait4`, so its own CPU time and peak
/// RSS come back from the kernel (`Foundation.Process` does not give them).
final class Spawned: @unchecked Sendable {  // touched by one task at a time
    let name: String
    let pid: pid_t
    let log: String
    private(set) var usage: rusage?
    private(set) var status: Int32 = 0
    let started = ContinuousClock.now
    private(set) var ended: ContinuousClock.Instant?
    /// The highest VmHWM read from /proc while the child ran (KiB). Why not `ru_maxrss` from wait4: posix_spawn
    /// runs the child on the bench's memory until exec, and exec folds that high-water mark into the child's, so
    /// every child would read at least the bench's own resident set.
    private(set) var observedPeakKB: Double = 0

    /// Starts `binary arguments` with stdout and stderr appended to `log` (and `environment` added).
    init(_ name: String, _ binary: String, _ arguments: [String], log: String, environment: [String: String] = [:]) throws {
        self.name = name
        self.log = log
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        let argv = ([binary] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, binary, &actions, nil, argv, envp)
        guard result == 0 else { throw BenchError("cannot start \(binary): \(String(cString: strerror(result)))") }
        self.pid = pid
    }

    /// True once `wait`/`poll` reaped it.
    var exited: Bool { usage != nil }

    /// Reaps the child if it has exited (non-blocking).
    @discardableResult
    func poll() -> Bool {
        guard usage == nil else { return true }
        samplePeak()
        var status: Int32 = 0
        var usage = rusage()
        let reaped = wait4(pid, &status, WNOHANG, &usage)
        guard reaped == pid else { return false }
        self.status = status
        self.usage = usage
        ended = ContinuousClock.now
        return true
    }

    /// Waits for exit, polling every 20 ms; kills the child after `timeout`.
    func wait(timeout: Duration = .seconds(3_600)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !poll() {
            if ContinuousClock.now > deadline {
                kill(pid, SIGKILL)
                throw BenchError("\(name) did not finish within \(timeout); see \(log)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        guard exitCode == 0 else { throw BenchError("\(name) exited with status \(exitCode); see \(log):\n\(tail())") }
    }

    func terminate() {
        guard usage == nil else { return }
        kill(pid, SIGTERM)
    }

    var exitCode: Int32 { (status >> 8) & 0xFF }

    /// User + system CPU seconds (after exit).
    var cpuSeconds: Double {
        guard let usage else { return 0 }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Peak resident set in MB: the child's own high-water mark as /proc showed it (see `observedPeakKB`), or
    /// the kernel's figure when the child ended before one was read.
    var peakRSSMB: Double { (observedPeakKB > 0 ? observedPeakKB : Double(usage?.ru_maxrss ?? 0)) / 1024 }

    /// Reads the child's VmHWM (its peak resident set so far, monotonic) while it runs.
    func samplePeak() {
        guard usage == nil, let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count > 1, let kb = Double(fields[1]) { observedPeakKB = max(observedPeakKB, kb) }
        }
    }

    var wallSeconds: Double { ((ended ?? ContinuousClock.now) - started).seconds }

    /// The current resident set in MB, from /proc (nil once gone).
    func currentRSSMB() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return nil }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }

    func tail(_ bytes: Int = 2_000) -> String {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").suffix(bytes).description
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
