/// Chooses one model per query to maximise total predicted quality subject to total estimated cost ≤ B:
/// a multiple-choice knapsack.
///
/// Method: Lagrangian relaxation. For a price λ (quality per USD) each query independently takes
/// `argmax q − λ·c` (ties to the cheaper model); total cost falls as λ rises, so a bisection on λ over the
/// whole batch finds the smallest λ whose choices fit in B. A greedy repair pass then spends what is left on
/// the upgrades with the best Δquality/Δcost that still fit. The result is never over budget in estimates;
/// the Lagrangian dual gives an upper bound, so the optimality gap is known (`upperBound − predictedQuality`),
/// and it is at most about one query's quality span.
///
/// λ never goes below `Configuration.minimumLambda` (the router's own λ: the artifact's default), and
/// the repair takes no upgrade worth less than that many quality units per USD: a budget is a cap, not a
/// spending target. Why: near λ = 0 the predicted-quality differences between the top models are mostly
/// noise, and a budget free to reach them bought expensive models for nothing (ZeroEval test, before the
/// floor: 0.8075 at $1.48 against the λ sweep's 0.8239 at the same cost). The same rule holds in
/// `route --budget-usd`, `eval --budgets` and the score stage's `StreamingBudgetController`.
public struct BudgetAllocator: Sendable {
    public struct Configuration: Sendable {
        /// Relative width of the λ bracket at which bisection stops. Default 1e-6.
        public var relativeTolerance: Double
        /// Bisection steps at most. Default 200.
        public var maxIterations: Int
        /// Rounds of greedy upgrades after the Lagrangian solution (each round is O(queries · models)). Default 4.
        public var repairRounds: Int
        /// The lowest λ the budget may price cost at (quality per USD), and the lowest Δquality/Δcost an
        /// upgrade of the repair pass must bring. Default 0 (no floor).
        public var minimumLambda: Double

        public init(relativeTolerance: Double = 1e-6, maxIterations: Int = 200, repairRounds: Int = 4, minimumLambda: Double = 0) {
            self.relativeTolerance = relativeTolerance
            self.maxIterations = maxIterations
            self.repairRounds = repairRounds
            self.minimumLambda = minimumLambda.isFinite ? max(0, minimumLambda) : 0
        }
    }

    public var configuration: Configuration

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The smallest λ ≥ `minimumLambda` (to the configured tolerance) whose Lagrangian choices fit in
    /// `budgetUSD`: the floor when its choices already fit, `maxSlope` (all cheapest) when only that
    /// fits, `+∞` when not even that fits.
    public func calibrateLambda(_ frontier: EfficientFrontier, budgetUSD: Double) -> Double {
        let floor = configuration.minimumLambda
        if frontier.totalCost(lambda: floor) <= budgetUSD { return floor }
        if frontier.cheapestTotal > budgetUSD { return .infinity }
        // At the floor (and at least below every query's first slope) the choices are over budget.
        var lo = max(frontier.minPositiveSlope * 0.5, floor)
        var hi = frontier.maxSlope  // every query takes its cheapest model: fits
        if !(lo > 0) || !(hi > lo) { return max(hi, floor) }
        var iterations = 0
        while hi > lo * (1 + configuration.relativeTolerance) && iterations < configuration.maxIterations {
            let mid = (lo * hi).squareRoot()  // geometric: λ spans many decades
            let spend = frontier.totalCost(lambda: mid)
            if spend <= budgetUSD {
                hi = mid
                if spend == budgetUSD { break }
            } else {
                lo = mid
            }
            iterations += 1
        }
        return hi
    }

    /// Allocates the batch within `budgetUSD` (see the type's doc for the method).
    public func allocate(_ problem: BudgetProblem, budgetUSD: Double) -> BudgetAllocation {
        let frontier = EfficientFrontier(problem)
        let n = problem.queries
        var unassigned: [Int: BudgetAllocation.Reason] = [:]
        for i in 0..<n where frontier.count(i) == 0 { unassigned[i] = .noEligibleModel }
        let lambda = calibrateLambda(frontier, budgetUSD: budgetUSD)
        var choices = [Int?](repeating: nil, count: n)
        var spend = 0.0
        var total = 0.0
        if lambda.isInfinite {
            // Not even the cheapest models fit: serve as many queries as possible on their cheapest model,
            // dropping the most expensive ones first.
            var order = (0..<n).filter { frontier.count($0) > 0 }
            order.sort { frontier.cost[Int(frontier.start[$0])] < frontier.cost[Int(frontier.start[$1])] }
            for i in order {
                let k = Int(frontier.start[i])
                let c = Double(frontier.cost[k])
                if spend + c <= budgetUSD {
                    choices[i] = Int(frontier.model[k])
                    spend += c
                    total += Double(frontier.quality[k])
                } else {
                    unassigned[i] = .budgetExhausted
                }
            }
            let bound = (0..<n).reduce(0.0) { acc, i in
                frontier.count(i) > 0 ? acc + Double(frontier.quality[Int(frontier.start[i + 1]) - 1]) : acc
            }
            return BudgetAllocation(
                choices: choices, lambda: lambda, estimatedCostUSD: spend, predictedQuality: total,
                upperBound: bound, unassigned: unassigned)
        }
        for (i, k) in frontier.positions(lambda: lambda).enumerated() where k >= 0 {
            choices[i] = Int(frontier.model[k])
            spend += Double(frontier.cost[k])
            total += Double(frontier.quality[k])
        }
        let bound = frontier.dualValue(lambda: lambda) + lambda * budgetUSD
        repair(problem, choices: &choices, spend: &spend, total: &total, budgetUSD: budgetUSD)
        // Recompute from scratch so rounding in the running sums can never hide an overspend.
        (spend, total) = Self.totals(problem, choices)
        if spend > budgetUSD {
            repair(problem, choices: &choices, spend: &spend, total: &total, budgetUSD: budgetUSD)
            (spend, total) = Self.totals(problem, choices)
        }
        return BudgetAllocation(
            choices: choices, lambda: lambda, estimatedCostUSD: spend, predictedQuality: total,
            upperBound: max(bound, total), unassigned: unassigned)
    }

    /// Sum of estimated cost and predicted quality of `choices`.
    public static func totals(_ problem: BudgetProblem, _ choices: [Int?]) -> (cost: Double, quality: Double) {
        var cost = 0.0, quality = 0.0
        for (i, choice) in choices.enumerated() {
            guard let j = choice else { continue }
            cost += Double(problem.cost[i * problem.models + j])
            quality += Double(problem.quality[i * problem.models + j])
        }
        return (cost, quality)
    }

    /// Greedy pass: downgrade while over budget (float rounding only), then spend the slack on the best
    /// Δq/Δc upgrades that fit and bring at least `minimumLambda` quality per USD, a few rounds.
    func repair(_ problem: BudgetProblem, choices: inout [Int?], spend: inout Double, total: inout Double, budgetUSD: Double) {
        let m = problem.models
        let q = problem.quality
        let c = problem.cost
        // Downgrade: take the smallest quality loss per USD saved until within budget.
        while spend > budgetUSD {
            var best: (loss: Double, i: Int, j: Int)? = nil
            for i in 0..<problem.queries {
                guard let cur = choices[i] else { continue }
                for j in 0..<m where problem.isEligible(i, j) && c[i * m + j] < c[i * m + cur] {
                    let loss = Double(q[i * m + cur] - q[i * m + j]) / Double(c[i * m + cur] - c[i * m + j])
                    if best == nil || loss < best!.loss { best = (loss, i, j) }
                }
            }
            guard let step = best, let cur = choices[step.i] else { break }
            spend += Double(c[step.i * m + step.j]) - Double(c[step.i * m + cur])
            total += Double(q[step.i * m + step.j]) - Double(q[step.i * m + cur])
            choices[step.i] = step.j
        }
        for _ in 0..<configuration.repairRounds {
            let slack = budgetUSD - spend
            if slack <= 0 { break }
            var candidates: [(efficiency: Double, i: Int, j: Int)] = []
            for i in 0..<problem.queries {
                guard let cur = choices[i] else { continue }
                let cq = q[i * m + cur], cc = Double(c[i * m + cur])
                var best: (Double, Int)? = nil
                for j in 0..<m where problem.isEligible(i, j) {
                    let dq = Double(q[i * m + j] - cq)
                    let dc = Double(c[i * m + j]) - cc
                    guard dq > 0, dc <= slack else { continue }
                    let efficiency = dc > 0 ? dq / dc : .infinity
                    guard efficiency >= configuration.minimumLambda else { continue }
                    if best == nil || efficiency > best!.0 { best = (efficiency, j) }
                }
                if let best { candidates.append((best.0, i, best.1)) }
            }
            if candidates.isEmpty { break }
            candidates.sort { $0.efficiency > $1.efficiency }
            var applied = false
            for candidate in candidates {
                guard let cur = choices[candidate.i] else { continue }
                let dc = Double(c[candidate.i * m + candidate.j]) - Double(c[candidate.i * m + cur])
                if spend + dc <= budgetUSD {
                    spend += dc
                    total += Double(q[candidate.i * m + candidate.j]) - Double(q[candidate.i * m + cur])
                    choices[candidate.i] = candidate.j
                    applied = true
                }
            }
            if !applied { break }
        }
    }
}
