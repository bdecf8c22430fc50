#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// CPU time each stage's own code spends, when `SWITCHYARD_STAGE_CPU=1` (off by default: reading a
/// thread's CPU clock is a system call, a few hundred nanoseconds each side of every step).
///
/// Why: in `switchyard run` every stage shares one process, so `getrusage` gives only the total; this
/// splits it (ingest's parse, profile, score, dispatch's own work, the sink's write) and leaves the rest
/// to the work protocol (coordinator, ZeroMQ I/O, workers' loops). `summary.json` reports it as
/// `stage_cpu_seconds`; the pipeline benchmark reads it. Only synchronous steps are measured (a thread
/// CPU clock means nothing across an `await`): dispatch's HTTP client on its event loops is not in it.
public enum StageCPU {
    public static let enabled = ProcessInfo.processInfo.environment["SWITCHYARD_STAGE_CPU"] == "1"

    public enum Stage: Int, CaseIterable, Sendable {
        case ingest, profile, score, dispatch, sink
        var name: String { "\(self)" }
    }

    private static let ingest = Atomic<UInt64>(0)
    private static let profile = Atomic<UInt64>(0)
    private static let score = Atomic<UInt64>(0)
    private static let dispatch = Atomic<UInt64>(0)
    private static let sink = Atomic<UInt64>(0)

    private static func add(_ stage: Stage, _ value: UInt64) {
        switch stage {
        case .ingest: ingest.add(value, ordering: .relaxed)
        case .profile: profile.add(value, ordering: .relaxed)
        case .score: score.add(value, ordering: .relaxed)
        case .dispatch: dispatch.add(value, ordering: .relaxed)
        case .sink: sink.add(value, ordering: .relaxed)
        }
    }

    private static func load(_ stage: Stage) -> UInt64 {
        switch stage {
        case .ingest: return ingest.load(ordering: .relaxed)
        case .profile: return profile.load(ordering: .relaxed)
        case .score: return score.load(ordering: .relaxed)
        case .dispatch: return dispatch.load(ordering: .relaxed)
        case .sink: return sink.load(ordering: .relaxed)
        }
    }

    /// Runs `body`, adding its thread CPU time to `stage` when enabled.
    @inline(__always)
    public static func measure<T, E: Error>(_ stage: Stage, _ body: () throws(E) -> T) throws(E) -> T {
        guard enabled else { return try body() }
        let start = threadNanoseconds()
        defer { add(stage, threadNanoseconds() &- start) }
        return try body()
    }

    /// Seconds per stage so far (nil when not enabled).
    public static func snapshot() -> [String: Double]? {
        guard enabled else { return nil }
        var out: [String: Double] = [:]
        for stage in Stage.allCases { out[stage.name] = Double(load(stage)) / 1e9 }
        return out
    }

    static func threadNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
