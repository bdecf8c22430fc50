/// Keeps a batch within its budget when lines arrive as a stream (the score stage): it cannot see the
/// whole batch at once, so it prices quality against cost with a λ learned from the lines it has seen.
///
/// Rule (documented contract):
/// 1. Target spend per remaining line = (B − actual spend − reserved in flight) / lines left (the ledger
///    provides both spends; lines left = `totalLines` − lines decided).
/// 2. λ is calibrated on the first window of lines and again every `recalibrateEvery` lines, by bisection
///    (`BudgetAllocator.calibrateLambda`) on the most recent `windowSize` lines with budget
///    target × window length. So λ rises when spending runs ahead of plan and falls when it lags, but
///    never below `minimumLambda` (the caller's own trade-off: a budget is a cap, not a spending target).
/// 3. Each line takes `argmax q − λ·c` among its eligible models; the ledger then must accept a reservation
///    for it. If not, the next best by `q − λ·c` that fits is taken (a cheaper model), and when none fits
///    the line is `budget_exhausted`, never sent.
///
/// Not thread-safe, so not `Sendable`: one owner decides with it (the score stage keeps it in a `Mutex`); the
/// `SpendLedger` it uses is thread-safe and may be shared with the dispatchers that settle actual costs.
public final class StreamingBudgetController {
    public struct Configuration: Sendable {
        /// Lines in the calibration window. Default 256.
        public var windowSize: Int
        /// Lines between recalibrations of λ. Default 64.
        public var recalibrateEvery: Int
        /// The caller's own price of cost (`router.lambda`): the budget only ever raises λ above it, so adding
        /// a budget never makes a batch spend more than it would without one. Default 0 (quality first).
        public var minimumLambda: Double

        public init(windowSize: Int = 256, recalibrateEvery: Int = 64, minimumLambda: Double = 0) {
            self.windowSize = max(1, windowSize)
            self.recalibrateEvery = max(1, recalibrateEvery)
            self.minimumLambda = max(0, minimumLambda.isFinite ? minimumLambda : 0)
        }
    }

    /// What happened to one line.
    public enum Decision: Sendable, Equatable {
        /// Send to model `model` (index); `reservation` must be settled with the actual cost or released.
        case route(model: Int, estimateUSD: Double, reservation: SpendLedger.Reservation, downgraded: Bool)
        /// No model fits what is left of the budget.
        case budgetExhausted
        /// The line's own controls exclude every model.
        case noEligibleModel
    }

    public let ledger: SpendLedger
    public let totalLines: Int
    public let models: Int
    public let configuration: Configuration
    private let allocator: BudgetAllocator
    /// Current price of cost in quality per USD (nil before the first calibration).
    public private(set) var lambda: Double?
    public private(set) var decided = 0
    private var sinceCalibration = 0
    private var recentQuality: [Float] = []
    private var recentCost: [Float] = []
    private var recentEligible: [Bool] = []

    public init(
        ledger: SpendLedger, totalLines: Int, models: Int, configuration: Configuration = Configuration(),
        allocator: BudgetAllocator = BudgetAllocator()
    ) {
        self.ledger = ledger
        self.totalLines = max(1, totalLines)
        self.models = models
        self.configuration = configuration
        self.allocator = allocator
    }

    /// Target spend per line still to decide, from the ledger (rule 1).
    public var targetPerLine: Double {
        let left = max(1, totalLines - decided)
        return max(0, ledger.snapshot().availableUSD) / Double(left)
    }

    /// Decides a window of lines together: adds them to the calibration window, recalibrates λ when due
    /// (always on the first window), then decides each line in order.
    public func decide(_ window: BudgetProblem) -> [Decision] {
        precondition(window.models == models, "window has \(window.models) models, controller \(models)")
        for i in 0..<window.queries { remember(window, i) }
        if lambda == nil || sinceCalibration >= configuration.recalibrateEvery { calibrate() }
        return (0..<window.queries).map { decideLine(window, $0) }
    }

    /// Decides one line (its row `i` of `problem`) with the current λ, recalibrating when due.
    public func decide(_ problem: BudgetProblem, line i: Int) -> Decision {
        remember(problem, i)
        if lambda == nil || sinceCalibration >= configuration.recalibrateEvery { calibrate() }
        return decideLine(problem, i)
    }

    private func remember(_ p: BudgetProblem, _ i: Int) {
        let m = models
        recentQuality.append(contentsOf: p.quality[(i * m)..<((i + 1) * m)])
        recentCost.append(contentsOf: p.cost[(i * m)..<((i + 1) * m)].map { $0 * Float(ledger.reservationScale) })
        recentEligible.append(contentsOf: (0..<m).map { p.isEligible(i, $0) })
        let excess = recentQuality.count - configuration.windowSize * m
        if excess > 0 {
            recentQuality.removeFirst(excess)
            recentCost.removeFirst(excess)
            recentEligible.removeFirst(excess)
        }
    }

    /// Rule 2: λ such that the recent window would spend the per-line target.
    private func calibrate() {
        sinceCalibration = 0
        let n = recentQuality.count / models
        guard n > 0, let sample = try? BudgetProblem(
            queries: n, models: models, quality: recentQuality, cost: recentCost, eligible: recentEligible)
        else { return }
        let frontier = EfficientFrontier(sample)
        var floored = allocator
        floored.configuration.minimumLambda = configuration.minimumLambda
        let lam = floored.calibrateLambda(frontier, budgetUSD: targetPerLine * Double(n))
        lambda = max(configuration.minimumLambda, lam.isInfinite ? frontier.maxSlope * 2 + 1 : lam)
    }

    /// Rule 3 for one line.
    private func decideLine(_ p: BudgetProblem, _ i: Int) -> Decision {
        decided += 1
        sinceCalibration += 1
        let m = models
        let lam = lambda ?? 0
        var order: [(score: Double, cost: Double, j: Int)] = []
        for j in 0..<m where p.isEligible(i, j) {
            let c = Double(p.cost[i * m + j])
            order.append((Double(p.quality[i * m + j]) - lam * c, c, j))
        }
        if order.isEmpty { return .noEligibleModel }
        order.sort { $0.score != $1.score ? $0.score > $1.score : $0.cost < $1.cost }
        let first = order[0]
        for candidate in order where candidate.cost <= first.cost || candidate.j == first.j {
            if let reservation = ledger.reserve(candidate.cost) {
                return .route(model: candidate.j, estimateUSD: candidate.cost, reservation: reservation, downgraded: candidate.j != first.j)
            }
        }
        return .budgetExhausted
    }
}
