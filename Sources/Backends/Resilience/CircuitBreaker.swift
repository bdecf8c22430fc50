import Foundation

/// Per-backend circuit breaker: closed → (N consecutive failures) → open → (cooldown) → half-open,
/// where a single probe request closes it again on success or reopens it on failure.
final class CircuitBreaker: Sendable {
    enum Phase: Equatable, Sendable {
        case closed(consecutiveFailures: Int)
        case open(until: ContinuousClock.Instant)
        case halfOpen(probeInFlight: Bool)
    }

    /// What `admit` decided.
    enum Admission: Equatable, Sendable {
        case allowed
        /// This request is the half-open probe: its result decides the breaker.
        case probe
        case rejected
    }

    private let configuration: CircuitBreakerConfiguration
    private let phase: LockedState<Phase>

    init(configuration: CircuitBreakerConfiguration) {
        self.configuration = configuration
        phase = LockedState(.closed(consecutiveFailures: 0))
    }

    var currentPhase: Phase { phase.withLock { $0 } }

    /// True while requests would be rejected (open and cooling down, or a probe is out).
    func isUnavailable(now: ContinuousClock.Instant = .now) -> Bool {
        phase.withLock { p in
            switch p {
            case .closed: return false
            case .open(let until): return now < until
            case .halfOpen(let probeInFlight): return probeInFlight
            }
        }
    }

    func admit(now: ContinuousClock.Instant = .now) -> Admission {
        phase.withLock { p in
            switch p {
            case .closed:
                return .allowed
            case .open(let until):
                if now < until { return .rejected }
                p = .halfOpen(probeInFlight: true)
                return .probe
            case .halfOpen(let probeInFlight):
                if probeInFlight { return .rejected }
                p = .halfOpen(probeInFlight: true)
                return .probe
            }
        }
    }

    func recordSuccess() {
        phase.withLock { $0 = .closed(consecutiveFailures: 0) }
    }

    /// Returns true when this failure opened the breaker.
    @discardableResult
    func recordFailure(now: ContinuousClock.Instant = .now) -> Bool {
        phase.withLock { p in
            switch p {
            case .closed(let failures):
                if failures + 1 >= configuration.failureThreshold {
                    p = .open(until: now + configuration.cooldown)
                    return true
                }
                p = .closed(consecutiveFailures: failures + 1)
                return false
            case .halfOpen:
                p = .open(until: now + configuration.cooldown)
                return true
            case .open:
                return false
            }
        }
    }

    /// Opens the breaker at once, whatever its phase (the backend said it does not serve the model: no
    /// point sending more until the cooldown passes and a probe checks again).
    func trip(now: ContinuousClock.Instant = .now) {
        phase.withLock { $0 = .open(until: now + configuration.cooldown) }
    }

    /// A probe that ended without a verdict (cancelled, 4xx) lets the next request probe instead.
    func releaseProbe() {
        phase.withLock { p in
            if case .halfOpen = p { p = .halfOpen(probeInFlight: false) }
        }
    }
}
