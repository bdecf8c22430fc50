import Budget
import Foundation
import Payloads
import Synchronization

/// The batch budget as the score stage spends it: every routed line holds a `SpendLedger` reservation
/// (its estimate × the learned actual/estimate ratio) until dispatch settles it with the real cost.
///
/// With the batch's line count known (`expectedLines`: `switchyard run` counts the input; stage mode takes
/// `--expected-lines`), models are chosen with the λ of a `StreamingBudgetController`, recalibrated from
/// the spend so far and the lines left. Without it λ stays fixed and only the ledger enforces the budget.
/// Either way a line whose first choice does not fit takes the best cheaper model that does
/// (`downgraded`), and when none fits it is `budget_exhausted`, never sent.
///
/// Overspend is bounded by what requests already in flight cost above their reservations: a request is
/// only sent with a reservation, and a lost settle only keeps its estimate held (can under-spend, never
/// over-spend). Thread-safe; one instance per score process (its workers share it).
public final class ScoreBudget: SpendSettler, Sendable {
    public struct Configuration: Sendable {
        public var budgetUSD: Double
        /// Lines of the batch (for the streaming λ); nil: fixed λ with ledger reservations.
        public var expectedLines: Int?
        /// λ used when it is not streamed (and reported as the final λ then); when streamed, the floor of λ.
        public var fixedLambda: Double
        /// Pacing: while reservations in flight exceed this share of the unspent budget, a line waits for
        /// settles (`ScoreStage.processPaced`) instead of reserving more, so estimates that are too low can
        /// overspend by at most this share of what is left. Only when actual costs come back (one process,
        /// or a spend feed). Default 0.25; nil: no pacing.
        public var inFlightShare: Double?
        public var controller: StreamingBudgetController.Configuration
        public var ledger: SpendLedger.Configuration

        public init(budgetUSD: Double, expectedLines: Int? = nil, fixedLambda: Double = 0, inFlightShare: Double? = 0.25,
                    controller: StreamingBudgetController.Configuration = .init(),
                    ledger: SpendLedger.Configuration = .init()) {
            self.budgetUSD = budgetUSD
            self.expectedLines = expectedLines
            self.fixedLambda = fixedLambda
            self.inFlightShare = inFlightShare
            self.controller = controller
            self.ledger = ledger
        }
    }

    /// What the budget decided for one line.
    public enum Choice: Sendable, Equatable {
        /// Route to `candidates[index]`, holding `hold` until dispatch settles it.
        case route(index: Int, hold: BudgetHold)
        /// Nothing fits: write `budget_exhausted`.
        case exhausted(availableUSD: Double, cheapestUSD: Double)
    }

    public let configuration: Configuration
    public let ledger: SpendLedger
    /// This ledger's ID in settle records (unique per process).
    public let owner: String
    /// The router's models, the controller's column order.
    public let models: [String]
    private let modelIndex: [String: Int]
    private let controller: Mutex<StreamingBudgetController?>
    private let counts = Mutex<(downgraded: Int, exhausted: Int)>((0, 0))

    public init(configuration: Configuration, models: [String], owner: String = UUID().uuidString) {
        self.configuration = configuration
        self.models = models
        self.owner = owner
        let ledger = SpendLedger(budgetUSD: configuration.budgetUSD, configuration: configuration.ledger)
        self.ledger = ledger
        var index: [String: Int] = [:]
        for (i, model) in models.enumerated() where index[model] == nil { index[model] = i }
        modelIndex = index
        var controllerConfiguration = configuration.controller
        controllerConfiguration.minimumLambda = max(controllerConfiguration.minimumLambda, configuration.fixedLambda)
        controller = Mutex(configuration.expectedLines.flatMap { lines in
            models.isEmpty ? nil : StreamingBudgetController(
                ledger: ledger, totalLines: lines, models: models.count, configuration: controllerConfiguration)
        })
    }

    /// True while reservations in flight hold more than `inFlightShare` of the unspent budget: the caller
    /// should wait for settles before choosing (nothing in flight never waits).
    public var shouldWaitForSettles: Bool {
        guard let share = configuration.inFlightShare else { return false }
        let snapshot = ledger.snapshot()
        return snapshot.inFlight > 0 && snapshot.reservedUSD > share * max(0, snapshot.budgetUSD - snapshot.actualUSD)
    }

    /// What the ledger can still reserve (budget − actual − reserved).
    public var availableUSD: Double { max(0, ledger.snapshot().availableUSD) }

    /// Chooses among `candidates` (already filtered by pool, pin and `max_cost_usd`). `ranked` is their
    /// order under the fixed λ (best first), used when λ is not streamed or nothing predicts quality.
    public func choose(_ candidates: [ModelAssessment], ranked: [Int]) -> Choice {
        let cheapest = candidates.map(\.estimatedCostUSD).min() ?? 0
        let streamed = candidates.contains { $0.predictedQuality != nil } ? chooseStreaming(candidates) : nil
        let choice = streamed ?? chooseRanked(candidates, ranked: ranked)
        counts.withLock { counts in
            switch choice {
            case .route(_, let hold): if hold.downgraded { counts.downgraded += 1 }
            case .exhausted: counts.exhausted += 1
            }
        }
        if case .exhausted = choice { return .exhausted(availableUSD: max(0, ledger.snapshot().availableUSD), cheapestUSD: cheapest) }
        return choice
    }

    /// The controller's rule 3 on one line (nil when there is no controller).
    private func chooseStreaming(_ candidates: [ModelAssessment]) -> Choice? {
        let m = models.count
        var quality = [Float](repeating: 0, count: m)
        var cost = [Float](repeating: 0, count: m)
        var eligible = [Bool](repeating: false, count: m)
        var position = [Int](repeating: -1, count: m)
        for (i, candidate) in candidates.enumerated() {
            guard let j = modelIndex[candidate.model], !eligible[j] else { continue }
            quality[j] = Float(candidate.predictedQuality ?? 0)
            cost[j] = Float(max(0, candidate.estimatedCostUSD))
            eligible[j] = true
            position[j] = i
        }
        guard let problem = try? BudgetProblem(queries: 1, models: m, quality: quality, cost: cost, eligible: eligible) else { return nil }
        let decision: StreamingBudgetController.Decision? = controller.withLock { controller in
            controller?.decide(problem, line: 0)
        }
        switch decision {
        case nil: return nil
        case .route(let j, _, let reservation, let downgraded)?:
            return .route(index: position[j], hold: BudgetHold(owner: owner, reservation: reservation, downgraded: downgraded))
        case .budgetExhausted?, .noEligibleModel?:
            return .exhausted(availableUSD: 0, cheapestUSD: 0)
        }
    }

    /// Fixed λ: the first of `ranked` whose estimate the ledger accepts (a later one is cheaper).
    private func chooseRanked(_ candidates: [ModelAssessment], ranked: [Int]) -> Choice {
        for (rank, i) in ranked.enumerated() {
            if let reservation = ledger.reserve(candidates[i].estimatedCostUSD) {
                return .route(index: i, hold: BudgetHold(owner: owner, reservation: reservation, downgraded: rank > 0))
            }
        }
        return .exhausted(availableUSD: 0, cheapestUSD: 0)
    }

    // MARK: SpendSettler (one process: dispatch settles here directly; stage mode: the spend feed does)

    public func settle(_ hold: BudgetHold, actualUSD: Double) {
        guard hold.owner == owner else { return }
        ledger.settle(hold.reservation, actualUSD: actualUSD.isFinite ? actualUSD : 0)
    }

    public func release(_ hold: BudgetHold) {
        guard hold.owner == owner else { return }
        ledger.release(hold.reservation)
    }

    /// The budget's state for `summary.json` and the end-of-run log line.
    public func report() -> BudgetReport {
        let snapshot = ledger.snapshot()
        let lambda = controller.withLock { $0?.lambda }
        let counts = counts.withLock { $0 }
        return BudgetReport(
            budgetUSD: snapshot.budgetUSD, ledgerActualUSD: snapshot.actualUSD, ledgerReservedUSD: snapshot.reservedUSD,
            ledgerSettledEstimateUSD: snapshot.settledEstimateUSD, inFlight: snapshot.inFlight, settled: snapshot.settled,
            costRatio: snapshot.costRatio, finalLambda: lambda ?? configuration.fixedLambda, streamingLambda: configuration.expectedLines != nil,
            downgraded: counts.downgraded, budgetExhausted: counts.exhausted)
    }
}
