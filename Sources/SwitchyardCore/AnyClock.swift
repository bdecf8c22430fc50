/// A clock passed as a value: the time base of every wait a component makes on purpose (retry backoff,
/// `Retry-After`, rate limits, breaker cooldowns, budget pacing), so a test can run those waits on a clock
/// it advances by hand instead of waiting real seconds. Production passes `.continuous`, the default.
///
/// It wraps any `Clock` whose durations are `Duration` (as swift-async-algorithms' operators take a clock);
/// its instants count from the moment it was made, so components store one instant type whatever the clock.
/// Latencies reported to users are measured on `ContinuousClock`, never here: they are what really passed.
public struct AnyClock: Clock {
    /// A point on the wrapped clock, as the time since this `AnyClock` was made (a test's `ManualClock`
    /// counts its time the same way).
    public struct Instant: InstantProtocol {
        public var offset: Duration

        public init(offset: Duration) { self.offset = offset }
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        public static func + (lhs: Instant, rhs: Duration) -> Instant { lhs.advanced(by: rhs) }
        public static func - (lhs: Instant, rhs: Duration) -> Instant { lhs.advanced(by: .zero - rhs) }
        public static func - (lhs: Instant, rhs: Instant) -> Duration { rhs.duration(to: lhs) }
    }

    private let elapsed: @Sendable () -> Duration
    private let sleepUntil: @Sendable (Duration, Duration?) async throws -> Void
    public let minimumResolution: Duration

    public init<C: Clock>(_ clock: C) where C.Duration == Swift.Duration {
        let origin = clock.now
        elapsed = { origin.duration(to: clock.now) }
        sleepUntil = { offset, tolerance in try await clock.sleep(until: origin.advanced(by: offset), tolerance: tolerance) }
        minimumResolution = clock.minimumResolution
    }

    /// Real time: `ContinuousClock`.
    public static let continuous = AnyClock(ContinuousClock())

    public var now: Instant { Instant(offset: elapsed()) }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try await sleepUntil(deadline.offset, tolerance)
    }
}
