import Payloads

/// Where dispatch reports what a budgeted request really cost: straight to the score stage's ledger in
/// `switchyard run`, or over the spend feed to the score process that reserved it in stage mode.
///
/// Implementations must not block: dispatch calls them from Swift's cooperative pool.
public protocol SpendSettler: Sendable {
    /// The request was sent: its actual cost (0 when it failed before it was billed).
    func settle(_ hold: BudgetHold, actualUSD: Double)
    /// The request was never sent: give its reservation back.
    func release(_ hold: BudgetHold)
}
