#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// Stops this process when the process that started it dies.
///
/// A supervisor or test harness that starts `switchyard` (a replay backend, a stage) sets
/// `SWITCHYARD_WATCH_PID` to its own process ID. If it then dies without stopping its children (a test
/// process that traps, a killed script), a child would live on holding its ports and CPU; with the watch it
/// notices and stops the way `kill` would stop it: SIGTERM (a graceful drain where the command has one),
/// then, if it is still running 15 s later, exit status 1. The ID is passed rather than read from
/// `getppid()` because a parent can die before its child has started to look.
public final class ParentWatch {
    /// The environment variable naming the process to outlive no longer than.
    public static let environmentVariable = "SWITCHYARD_WATCH_PID"

    private let timer: any DispatchSourceTimer

    /// A running watch when the environment names a process (keep it for the life of this one), else nil.
    public static func startIfRequested(environment: [String: String]) -> ParentWatch? {
        guard let value = environment[environmentVariable], let pid = pid_t(value), pid > 1 else { return nil }
        return ParentWatch(watching: pid, interval: .milliseconds(500))
    }

    private init(watching pid: pid_t, interval: DispatchTimeInterval) {
        let queue = DispatchQueue(label: "switchyard.parent-watch")
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now(), repeating: interval)
        // The handler holds the timer until it cancels it (cancelling releases the handler).
        timer.setEventHandler {
            guard !Self.isRunning(pid) else { return }
            timer.cancel()
            kill(getpid(), SIGTERM)
            queue.asyncAfter(deadline: .now() + .seconds(15)) { exit(1) }
        }
        timer.resume()
        self.timer = timer
    }

    deinit { timer.cancel() }

    /// Exists and is not a zombie (a dead parent whose own parent has not reaped it yet counts as gone).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        #if os(Linux)
        guard let file = fopen("/proc/\(pid)/stat", "r") else { return false }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 512)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return true }
        let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let close = line.lastIndex(of: ")") else { return true }
        let state = line[line.index(after: close)...].drop { $0 == " " }.first
        return state != "Z" && state != "X"
        #else
        return true
        #endif
    }
}
