import Foundation

/// Thread-safe account of a batch budget: estimates reserved for requests in flight plus the actual spend
/// reported by responses (`usage`).
///
/// A request is sent only after `reserve` succeeds; when its response arrives, `settle` swaps the reservation
/// for the actual cost. So the spend can exceed the budget only by how much the requests already in flight
/// cost above what was reserved for them. With `learnsCostRatio`, reservations are scaled by the observed
/// actual/estimate ratio of settled requests, so a systematically optimistic cost model stops overspending
/// after the first settled requests.
public final class SpendLedger: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Scale reservations by the observed actual/estimate ratio. Default true.
        public var learnsCostRatio: Bool
        /// Settled requests needed before the ratio is trusted. Default 8.
        public var minSamplesForRatio: Int
        /// The ratio is clamped to this range. Default 0.5...4.
        public var ratioRange: ClosedRange<Double>

        public init(learnsCostRatio: Bool = true, minSamplesForRatio: Int = 8, ratioRange: ClosedRange<Double> = 0.5...4) {
            self.learnsCostRatio = learnsCostRatio
            self.minSamplesForRatio = minSamplesForRatio
            self.ratioRange = ratioRange
        }
    }

    /// Proof that budget was set aside for one request; hand it back to `settle` or `release`.
    /// `Codable` so it can travel with the request between stages.
    public struct Reservation: Sendable, Hashable, Codable {
        public var id: UInt64
        /// The cost model's estimate for the chosen model.
        public var estimateUSD: Double
        /// What was set aside (estimate × learned ratio).
        public var reservedUSD: Double

        public init(id: UInt64, estimateUSD: Double, reservedUSD: Double) {
            self.id = id
            self.estimateUSD = estimateUSD
            self.reservedUSD = reservedUSD
        }
    }

    /// A consistent view of the account.
    public struct Snapshot: Sendable, Equatable, Codable {
        public var budgetUSD: Double
        /// Actual cost of settled requests.
        public var actualUSD: Double
        /// Estimates of the same settled requests (compare with `actualUSD`).
        public var settledEstimateUSD: Double
        /// Set aside for requests in flight.
        public var reservedUSD: Double
        public var inFlight: Int
        public var settled: Int
        /// Budget not yet spent nor reserved (may be negative after an overspend).
        public var availableUSD: Double { budgetUSD - actualUSD - reservedUSD }
        /// Observed actual/estimate ratio (1 until requests settle).
        public var costRatio: Double { settledEstimateUSD > 0 ? actualUSD / settledEstimateUSD : 1 }
    }

    public let budgetUSD: Double
    public let configuration: Configuration
    private let lock = NSLock()
    private var nextID: UInt64 = 1
    private var open: [UInt64: Reservation] = [:]
    private var actual = 0.0
    private var settledEstimate = 0.0
    private var reserved = 0.0
    private var settledCount = 0

    public init(budgetUSD: Double, configuration: Configuration = Configuration()) {
        self.budgetUSD = budgetUSD
        self.configuration = configuration
    }

    /// The factor reservations are scaled by now.
    public var reservationScale: Double { lock.withLock { scaleLocked() } }

    private func scaleLocked() -> Double {
        guard configuration.learnsCostRatio, settledCount >= configuration.minSamplesForRatio, settledEstimate > 0 else { return 1 }
        return min(max(actual / settledEstimate, configuration.ratioRange.lowerBound), configuration.ratioRange.upperBound)
    }

    /// Whether a request estimated at `estimateUSD` would fit now (no reservation made).
    public func canAfford(_ estimateUSD: Double) -> Bool {
        lock.withLock { actual + reserved + estimateUSD * scaleLocked() <= budgetUSD }
    }

    /// Sets budget aside for one request, or nil when it would not fit (route it cheaper or answer
    /// `budget_exhausted`).
    public func reserve(_ estimateUSD: Double) -> Reservation? {
        lock.withLock {
            let amount = max(0, estimateUSD) * scaleLocked()
            guard actual + reserved + amount <= budgetUSD else { return nil }
            let reservation = Reservation(id: nextID, estimateUSD: estimateUSD, reservedUSD: amount)
            nextID += 1
            open[reservation.id] = reservation
            reserved += amount
            return reservation
        }
    }

    /// Replaces a reservation by the request's actual cost (from the response's `usage`; 0 for a request
    /// that failed before it was billed). Settling twice, or an unknown reservation, is ignored and returns false.
    @discardableResult
    public func settle(_ reservation: Reservation, actualUSD: Double) -> Bool {
        settle(id: reservation.id, actualUSD: actualUSD)
    }

    /// `settle` by reservation ID alone, for settle records that come back over the network.
    @discardableResult
    public func settle(id: UInt64, actualUSD: Double) -> Bool {
        lock.withLock {
            guard let held = open.removeValue(forKey: id) else { return false }
            reserved -= held.reservedUSD
            if open.isEmpty { reserved = 0 }  // no drift from rounding
            actual += actualUSD.isFinite ? max(0, actualUSD) : 0
            settledEstimate += held.estimateUSD
            settledCount += 1
            return true
        }
    }

    /// Gives a reservation back unspent (the request was never sent).
    @discardableResult
    public func release(_ reservation: Reservation) -> Bool {
        release(id: reservation.id)
    }

    /// `release` by reservation ID alone.
    @discardableResult
    public func release(id: UInt64) -> Bool {
        lock.withLock {
            guard let held = open.removeValue(forKey: id) else { return false }
            reserved -= held.reservedUSD
            if open.isEmpty { reserved = 0 }
            return true
        }
    }

    public func snapshot() -> Snapshot {
        lock.withLock {
            Snapshot(
                budgetUSD: budgetUSD, actualUSD: actual, settledEstimateUSD: settledEstimate, reservedUSD: reserved,
                inFlight: open.count, settled: settledCount)
        }
    }
}
