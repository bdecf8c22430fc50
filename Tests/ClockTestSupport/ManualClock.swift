import Synchronization
import SwitchyardCore

/// A clock that moves only when the test says so: `sleep(until:)` suspends until `advance(by:)` reaches
/// the deadline (or the sleeping task is cancelled). Code under test takes it as `AnyClock(manualClock)`,
/// so retry backoff, `Retry-After`, rate limits, breaker cooldowns and pacing run without real sleeping,
/// and a test can say exactly when a wait ends: `await clock.sleepers(atLeast: 1)` (something is waiting
/// now), `clock.advance(by:)` (time passes; the sleepers whose deadline came are resumed, in deadline order).
public final class ManualClock: Clock {
    /// Time since the clock was made, as `AnyClock`'s instants are.
    public typealias Instant = AnyClock.Instant

    private struct Sleeper {
        var id: UInt64
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct Watcher {
        var id: UInt64
        var count: Int
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var nextID: UInt64 = 0
        var sleepers: [Sleeper] = []
        var watchers: [Watcher] = []
        /// Every `sleep` call so far, finished or not: what a test asserts waits on.
        var sleeps = 0
    }

    private let state = Mutex(State())

    public init() {}

    public var now: Instant { state.withLock { $0.now } }
    public var minimumResolution: Duration { .zero }

    /// Tasks suspended in `sleep` right now.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    /// How many times `sleep` was called (whether or not it had to suspend).
    public var sleepCount: Int { state.withLock { $0.sleeps } }

    /// When each suspended sleeper wakes, as time from now, earliest first.
    public var pendingWaits: [Duration] {
        state.withLock { s in s.sleepers.map { s.now.duration(to: $0.deadline) }.sorted() }
    }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = state.withLock { s in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let ready: [CheckedContinuation<Void, any Error>]? = state.withLock { s in
                    s.sleeps += 1
                    if Task.isCancelled {
                        continuation.resume(throwing: CancellationError())
                        return nil
                    }
                    if deadline <= s.now {
                        continuation.resume()
                        return nil
                    }
                    s.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return Self.satisfiedWatchers(&s)
                }
                ready?.forEach { $0.resume() }
            }
        } onCancel: {
            let cancelled = state.withLock { s -> Sleeper? in
                guard let index = s.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return s.sleepers.remove(at: index)
            }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward and resumes every sleeper whose deadline has come, earliest first.
    public func advance(by duration: Duration) {
        let due = state.withLock { s -> [Sleeper] in
            s.now = s.now.advanced(by: duration)
            let now = s.now
            let due = s.sleepers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
            s.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Moves time to the earliest sleeper's deadline (resuming it and any due with it); returns how far
    /// time moved, nil when nothing sleeps.
    @discardableResult
    public func advanceToNextDeadline() -> Duration? {
        let step = state.withLock { s in s.sleepers.map(\.deadline).min().map { s.now.duration(to: $0) } }
        guard let step else { return nil }
        advance(by: step)
        return step
    }

    /// Returns once at least `count` tasks are suspended in `sleep`: the code under test has reached its
    /// wait, so advancing now ends that wait. Throws `CancellationError` when cancelled first. (Bound the
    /// test with a `.timeLimit` trait: if the code never sleeps, this never returns.)
    public func sleepers(atLeast count: Int) async throws {
        let id = state.withLock { s in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let ready = state.withLock { s in
                    if Task.isCancelled { return Result<Bool, any Error>.failure(CancellationError()) }
                    if s.sleepers.count >= count { return .success(true) }
                    s.watchers.append(Watcher(id: id, count: count, continuation: continuation))
                    return .success(false)
                }
                switch ready {
                case .success(true): continuation.resume()
                case .success(false): break
                case .failure(let error): continuation.resume(throwing: error)
                }
            }
        } onCancel: {
            let cancelled = state.withLock { s -> Watcher? in
                guard let index = s.watchers.firstIndex(where: { $0.id == id }) else { return nil }
                return s.watchers.remove(at: index)
            }
            cancelled?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Runs `body` while time jumps to the next deadline whenever something sleeps: every wait in `body`
    /// (backoff, cooldown polls, pacing) ends at once, in deadline order, and `now` tells how long the
    /// waits would have taken. For code whose waits a test does not need to step through one by one.
    public func advancingWhileSleeping<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        let driver = Task {
            while !Task.isCancelled {
                do { try await sleepers(atLeast: 1) } catch { return }
                advanceToNextDeadline()
            }
        }
        defer { driver.cancel() }
        return try await body()
    }

    private static func satisfiedWatchers(_ s: inout State) -> [CheckedContinuation<Void, any Error>] {
        let count = s.sleepers.count
        let ready = s.watchers.filter { $0.count <= count }.map(\.continuation)
        s.watchers.removeAll { $0.count <= count }
        return ready
    }
}
