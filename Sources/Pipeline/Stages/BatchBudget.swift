import Synchronization

/// The batch budget the score stage spends against: estimated costs are reserved as decisions are made,
/// so the batch never commits more than `limitUSD` (estimates, not invoices: `summary.json` shows both).
///
/// Thread-safe; one instance per score worker process (several score workers split the budget evenly).
public final class BatchBudget: Sendable {
    public let limitUSD: Double?
    private let reserved = Mutex<Double>(0)

    public init(limitUSD: Double?) {
        self.limitUSD = limitUSD
    }

    /// USD still uncommitted, or nil without a budget.
    public var remainingUSD: Double? {
        guard let limitUSD else { return nil }
        return max(0, limitUSD - reserved.withLock { $0 })
    }

    public var reservedUSD: Double { reserved.withLock { $0 } }

    /// Reserves `amount` if it fits; false when it would overspend.
    public func reserve(_ amount: Double) -> Bool {
        reserved.withLock { total in
            if let limitUSD, total + amount > limitUSD + 1e-12 { return false }
            total += amount
            return true
        }
    }
}
