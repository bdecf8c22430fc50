import Budget

/// The budget a routed request holds: which ledger reserved it (`owner`, one per score process) and the
/// reservation itself. It travels with the request so dispatch can settle it with the actual cost, in
/// the same process or over the spend feed.
public struct BudgetHold: Sendable, Hashable {
    /// The reserving ledger's ID (`ScoreBudget.owner`): a settle record for another owner is ignored.
    public var owner: String
    public var reservation: SpendLedger.Reservation
    /// True when the budget made the score stage take a cheaper model than its first choice.
    public var downgraded: Bool

    public init(owner: String, reservation: SpendLedger.Reservation, downgraded: Bool) {
        self.owner = owner
        self.reservation = reservation
        self.downgraded = downgraded
    }
}
