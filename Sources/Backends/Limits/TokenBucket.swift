import Foundation
import SwitchyardCore

/// A token bucket that hands out reservations: `reserve(n)` takes `n` tokens at once (the balance
/// may go negative) and returns how long the caller must wait before using them.
///
/// Reservations make waiting FIFO-fair without a queue, and `adjust` lets the tokens/min bucket be
/// corrected once the backend reports the actual usage. Any window of T seconds admits at most
/// `capacity + rate * T` tokens.
final class TokenBucket: Sendable {
    private struct State {
        var tokens: Double
        var last: ContinuousClock.Instant
    }

    /// Tokens refilled per second.
    let rate: Double
    /// Most tokens held at once (the burst).
    let capacity: Double
    private let state: LockedState<State>

    init(perMinute: Double, burstSeconds: Double) {
        rate = max(perMinute, 1e-9) / 60
        capacity = max(1, rate * max(burstSeconds, 0))
        state = LockedState(State(tokens: capacity, last: .now))
    }

    /// Takes `amount` tokens (clamped to the capacity so a huge request still passes, alone) and
    /// returns the wait before they are really available (zero when the bucket had them).
    func reserve(_ amount: Double, now: ContinuousClock.Instant = .now) -> Duration {
        let take = min(max(amount, 0), capacity)
        return state.withLock { s in
            refill(&s, now: now)
            s.tokens -= take
            if s.tokens >= 0 { return .zero }
            return .nanoseconds(Int64((-s.tokens / rate * 1e9).rounded(.up)))
        }
    }

    /// Gives back (positive) or takes more (negative) tokens after the fact.
    func adjust(by delta: Double, now: ContinuousClock.Instant = .now) {
        state.withLock { s in
            refill(&s, now: now)
            s.tokens = min(capacity, s.tokens + delta)
        }
    }

    private func refill(_ s: inout State, now: ContinuousClock.Instant) {
        let elapsed = now - s.last
        guard elapsed > .zero else { return }
        let seconds = elapsed.seconds
        s.tokens = min(capacity, s.tokens + seconds * rate)
        s.last = now
    }
}
