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
/// 4. A line leaves room for every line still to come at its cheapest model: N lines after it need about
///    N × the mean cheapest eligible cost of the lines seen so far, taken at an upper bound (mean + 2 standard
///    errors, plus 2 standard deviations of a sum of N); and once N is within one window of the end, at least
///    the sum of the N dearest cheapest costs seen so far (a batch's last lines need not look like its
///    average, nor like the lines just before them: ZeroEval's last prompts cost 2.5 × its mean, and
///    without it the last 1–38 of 17,040 lines ran out with $5 where the cheapest plan costs $3). A line
///    takes the best candidate of rule 3 that fits within what is available minus that floor, and only when
///    none does, the cheapest the ledger accepts.
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
    /// The cheapest eligible cost (as estimated) of every line seen: count, mean and sum of squared deviations
    /// (Welford), for rule 4.
    private var floorCount = 0
    private var floorMean = 0.0
    private var floorSquares = 0.0
    /// The `windowSize` dearest cheapest eligible costs (as estimated) seen so far, dearest first.
    private var dearestCheapest: [Double] = []

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
        let cheapest = (0..<m).filter { p.isEligible(i, $0) }.map { Double(p.cost[i * m + $0]) }.min() ?? 0
        floorCount += 1
        let deviation = cheapest - floorMean
        floorMean += deviation / Double(floorCount)
        floorSquares += deviation * (cheapest - floorMean)
        if dearestCheapest.count < configuration.windowSize || cheapest > (dearestCheapest.last ?? 0) {
            var low = 0, high = dearestCheapest.count
            while low < high {
                let middle = (low + high) / 2
                if dearestCheapest[middle] >= cheapest { low = middle + 1 } else { high = middle }
            }
            dearestCheapest.insert(cheapest, at: low)
            if dearestCheapest.count > configuration.windowSize { dearestCheapest.removeLast() }
        }
    }

    /// Rule 4: what the lines after this one need at their cheapest, at an upper bound.
    private var floorForLaterLines: Double {
        let later = Double(max(0, totalLines - decided))
        guard floorCount > 0, later > 0 else { return 0 }
        let deviation = floorCount > 1 ? (floorSquares / Double(floorCount - 1)).squareRoot() : floorMean
        let mean = floorMean + 2 * deviation / Double(floorCount).squareRoot()
        var floor = later * mean + 2 * deviation * later.squareRoot()
        if later <= Double(configuration.windowSize) {
            floor = max(floor, dearestCheapest.prefix(Int(later)).reduce(0, +))
        }
        return floor * ledger.reservationScale
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
        let candidates = order.filter { $0.cost <= first.cost || $0.j == first.j }
        let headroom = ledger.snapshot().availableUSD - floorForLaterLines
        let scale = ledger.reservationScale
        // Within the headroom, by score; past it, the line is short of room already: cheapest first.
        let withinHeadroom = candidates.filter { $0.cost * scale <= headroom }
        let cheapestFirst = candidates.sorted { ($0.cost, $0.j) < ($1.cost, $1.j) }
        for candidate in withinHeadroom + cheapestFirst {
            if let reservation = ledger.reserve(candidate.cost) {
                return .route(model: candidate.j, estimateUSD: candidate.cost, reservation: reservation, downgraded: candidate.j != first.j)
            }
        }
        return .budgetExhausted
    }
}
