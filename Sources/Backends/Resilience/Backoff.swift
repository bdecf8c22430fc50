import Foundation
import SwitchyardCore

/// Computes retry delays: full jitter over an exponentially growing cap, floored by `Retry-After`.
final class Backoff: Sendable {
    private let policy: RetryPolicy
    private let generator: LockedState<SplitMix64>

    init(policy: RetryPolicy, seed: UInt64?) {
        self.policy = policy
        generator = LockedState(SplitMix64(seed: seed ?? UInt64.random(in: .min ... .max)))
    }

    /// Delay before retry number `retry` (0 for the first retry).
    func delay(retry: Int, retryAfter: Duration?) -> Duration {
        let base = policy.baseDelay.seconds
        let cap = min(policy.maxDelay.seconds, base * pow(2, Double(min(retry, 30))))
        let unit = generator.withLock { g in g.unit() }
        let jittered = Duration.seconds(cap * unit)
        if let retryAfter { return max(retryAfter, jittered) }
        return jittered
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
