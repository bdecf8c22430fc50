import Foundation

/// SplitMix64: a tiny, fast, seedable generator so retry jitter is reproducible in tests.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Computes retry delays: full jitter over an exponentially growing cap, floored by `Retry-After`.
final class Backoff: Sendable {
    private let policy: RetryPolicy
    private let generator: LockedState<SeededGenerator>

    init(policy: RetryPolicy, seed: UInt64?) {
        self.policy = policy
        generator = LockedState(SeededGenerator(seed: seed ?? UInt64.random(in: .min ... .max)))
    }

    /// Delay before retry number `retry` (0 for the first retry).
    func delay(retry: Int, retryAfter: Duration?) -> Duration {
        let base = policy.baseDelay.seconds
        let cap = min(policy.maxDelay.seconds, base * pow(2, Double(min(retry, 30))))
        let unit = generator.withLock { g in Double(g.next() >> 11) / Double(1 << 53) }
        let jittered = Duration.seconds(cap * unit)
        if let retryAfter { return max(retryAfter, jittered) }
        return jittered
    }
}

extension Duration {
    /// The duration in seconds as a Double.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}

/// Parses `Retry-After`: delta-seconds (`"2"`, `"1.5"`) or an HTTP-date.
enum RetryAfter {
    static func parse(_ value: String?, now: Date = Date()) -> Duration? {
        guard let raw = value?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
        if let seconds = Double(raw) {
            return seconds >= 0 && seconds.isFinite ? .seconds(seconds) : nil
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: raw) else { return nil }
        return .seconds(max(0, date.timeIntervalSince(now)))
    }
}
