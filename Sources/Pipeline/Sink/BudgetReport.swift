import Foundation
import Logging

/// The batch budget at the end of a run (`summary.json` `budget`, and the end-of-run log line): what the
/// score stage's ledger holds, the λ it ended with, and how many lines the budget changed.
///
/// In stage mode the sink has no ledger: it reports the counts it can see in the records
/// (`downgraded`, `budget_exhausted`) and each score process logs its own ledger when it leaves.
public struct BudgetReport: Codable, Sendable, Equatable {
    public var budgetUSD: Double
    /// Actual cost of the settled requests, as dispatch reported it.
    public var ledgerActualUSD: Double?
    /// Still reserved at the end (requests whose settle never came: counted as spent, conservatively).
    public var ledgerReservedUSD: Double?
    /// The estimates of the settled requests (compare with `ledgerActualUSD`).
    public var ledgerSettledEstimateUSD: Double?
    public var inFlight: Int?
    public var settled: Int?
    /// Learned actual/estimate ratio.
    public var costRatio: Double?
    /// λ (quality per USD) the score stage ended with.
    public var finalLambda: Double?
    /// Whether λ was recalibrated as the batch streamed (the line count was known).
    public var streamingLambda: Bool?
    /// Lines routed to a cheaper model than their first choice because of the budget.
    public var downgraded: Int
    /// Lines written as `budget_exhausted` (never sent).
    public var budgetExhausted: Int

    public init(budgetUSD: Double, ledgerActualUSD: Double? = nil, ledgerReservedUSD: Double? = nil,
                ledgerSettledEstimateUSD: Double? = nil, inFlight: Int? = nil, settled: Int? = nil, costRatio: Double? = nil,
                finalLambda: Double? = nil, streamingLambda: Bool? = nil, downgraded: Int, budgetExhausted: Int) {
        self.budgetUSD = budgetUSD
        self.ledgerActualUSD = ledgerActualUSD
        self.ledgerReservedUSD = ledgerReservedUSD
        self.ledgerSettledEstimateUSD = ledgerSettledEstimateUSD
        self.inFlight = inFlight
        self.settled = settled
        self.costRatio = costRatio
        self.finalLambda = finalLambda
        self.streamingLambda = streamingLambda
        self.downgraded = downgraded
        self.budgetExhausted = budgetExhausted
    }

    enum CodingKeys: String, CodingKey {
        case budgetUSD = "budget_usd", ledgerActualUSD = "ledger_actual_usd", ledgerReservedUSD = "ledger_reserved_usd"
        case ledgerSettledEstimateUSD = "ledger_settled_estimate_usd", inFlight = "in_flight", settled
        case costRatio = "cost_ratio", finalLambda = "final_lambda", streamingLambda = "streaming_lambda"
        case downgraded, budgetExhausted = "budget_exhausted"
    }

    /// Log metadata, flat: `budget_usd`, `ledger_actual_usd`, `ledger_reserved_usd`, `final_lambda`, `downgraded`,
    /// `budget_exhausted` (ledger fields only when the ledger ran in this process).
    public var logMetadata: Logger.Metadata {
        var metadata: Logger.Metadata = [
            "budget_usd": "\(String(format: "%.6f", budgetUSD))", "downgraded": "\(downgraded)", "budget_exhausted": "\(budgetExhausted)",
        ]
        if let ledgerActualUSD { metadata["ledger_actual_usd"] = "\(String(format: "%.6f", ledgerActualUSD))" }
        if let ledgerReservedUSD { metadata["ledger_reserved_usd"] = "\(String(format: "%.6f", ledgerReservedUSD))" }
        if let finalLambda { metadata["final_lambda"] = "\(String(format: "%.4g", finalLambda))" }
        if let costRatio { metadata["cost_ratio"] = "\(String(format: "%.4f", costRatio))" }
        return metadata
    }

    /// One human line (the end of `switchyard run`'s output): `budget=$B actual=$A reserved=$R lambda=L downgraded=D budget_exhausted=E`.
    public var logLine: String {
        func usd(_ value: Double?) -> String { value.map { String(format: "$%.6f", $0) } ?? "n/a" }
        return "budget=\(usd(budgetUSD)) ledger_actual=\(usd(ledgerActualUSD)) ledger_reserved=\(usd(ledgerReservedUSD)) "
            + "final_lambda=\(finalLambda.map { String(format: "%.4g", $0) } ?? "n/a") downgraded=\(downgraded) budget_exhausted=\(budgetExhausted)"
    }
}
