import Budget
import Routing

/// One strategy's predictions on a split, in the tables' model order: what `Evaluator` needs from a router.
public struct StrategyPredictions: Sendable {
    public var name: String
    /// Predicted quality, `count × models`, row-major.
    public var predicted: [Double]
    /// Estimated USD (the cost model's), `count × models`, row-major.
    public var estimated: [Double]
    /// The strategy's own λ (the artifact's default for it): the floor of its batch budgets' λ, as in
    /// `route --budget-usd` and the score stage. Default 0.
    public var minimumLambda: Double

    public init(name: String, predicted: [Double], estimated: [Double], minimumLambda: Double = 0) {
        self.name = name
        self.predicted = predicted
        self.estimated = estimated
        self.minimumLambda = minimumLambda
    }
}

/// Realised quality when the `BudgetAllocator` spends a batch budget (estimates) on a split.
public struct BudgetRow: Sendable, Codable, Hashable {
    /// Budget as a fraction of what the best single model costs on the whole split (realised).
    public var fraction: Double
    public var budgetUSD: Double
    /// What the allocator planned to spend (estimates, ≤ budget).
    public var estimatedSpendUSD: Double
    /// What those choices really cost on the split (recorded costs).
    public var realisedSpendUSD: Double
    /// Mean realised quality per prompt (an unanswered prompt counts 0).
    public var quality: Double
    public var unanswered: Int
    /// The λ the allocator settled on; nil for ∞.
    public var lambda: Double?
}

/// Everything measured for one strategy.
public struct StrategyResult: Sendable, Codable, Hashable {
    public var name: String
    /// The λ sweep (mean realised cost and quality per λ).
    public var points: [CurvePoint]
    public var metrics: RouterMetrics
    /// The best point costing at most the best single model (or the cheapest point if none does).
    public var operatingPoint: CurvePoint
    /// Per-task realised quality and cost at the operating point's λ.
    public var perTask: [TaskBreakdown.RouterRow]
    /// Quality at batch budgets (fractions of the best single model's cost).
    public var budgets: [BudgetRow]

    public var curve: CostQualityCurve { CostQualityCurve(points: points) }
}

/// The whole evaluation of one split: references, every strategy, and the single-model envelope.
public struct EvaluationReport: Sendable, Codable, Hashable {
    public var dataset: String
    public var prompts: Int
    public var models: [String]
    public var references: ReferenceRouters
    public var referenceTasks: [TaskBreakdown.ReferenceRow]
    /// Metrics of the "single models only" envelope (the bar a router must clear).
    public var singleEnvelope: RouterMetrics
    public var strategies: [StrategyResult]
    /// The strategy `auto` resolves to in the evaluated artifact: chosen on dev, so the router that would
    /// actually run. nil when unknown.
    public var autoStrategy: String?

    /// Baselines evaluated beside the learned strategies; they never make the headline.
    public static let baselineStrategies: Set<String> = ["best-single", "cheapest", "random", "oracle"]

    /// The learned strategy with the highest AIQ on this split; a baseline only when nothing else ran.
    /// Picking it is a choice made on the evaluated data: the headline uses `headlineStrategy`.
    public var bestStrategy: StrategyResult? {
        let learned = strategies.filter { !Self.baselineStrategies.contains($0.name) }
        return (learned.isEmpty ? strategies : learned).max { ($0.metrics.aiq ?? -1) < ($1.metrics.aiq ?? -1) }
    }

    /// The router the headline describes: `auto`'s strategy (chosen on dev) when it was evaluated, else the
    /// best on this split (`bestStrategy`).
    public var headlineStrategy: StrategyResult? {
        if let autoStrategy, let chosen = strategies.first(where: { $0.name == autoStrategy }) { return chosen }
        return bestStrategy
    }
}

/// Sweeps λ and budgets for every strategy on a split and computes the metrics of METRICS.md.
public struct Evaluator: Sendable {
    public struct Configuration: Sendable {
        /// λ values of the sweep. Default: `CostQualitySweep.lambdas` (baselines.py's 402 values).
        public var lambdas: [Double]
        /// Budgets as fractions of the best single model's total cost. Default 10, 25, 50, 100 %.
        public var budgetFractions: [Double]

        public init(lambdas: [Double] = CostQualitySweep.lambdas, budgetFractions: [Double] = [0.1, 0.25, 0.5, 1.0]) {
            self.lambdas = lambdas
            self.budgetFractions = budgetFractions
        }
    }

    public var configuration: Configuration
    public var allocator: BudgetAllocator

    public init(configuration: Configuration = Configuration(), allocator: BudgetAllocator = BudgetAllocator()) {
        self.configuration = configuration
        self.allocator = allocator
    }

    /// - `autoStrategy`: what `auto` resolves to in the artifact (the headline router; see `EvaluationReport`).
    public func evaluate(_ t: EvaluationTables, strategies: [StrategyPredictions], dataset: String,
                         autoStrategy: String? = nil) throws -> EvaluationReport {
        let references = ReferenceRouters(t)
        var results: [StrategyResult] = []
        for s in strategies {
            results.append(try evaluate(t, s, references))
        }
        return EvaluationReport(
            dataset: dataset, prompts: t.count, models: t.models, references: references,
            referenceTasks: TaskBreakdown.references(t, references),
            singleEnvelope: RouterMetrics(curve: references.singleCurve, references: references),
            strategies: results, autoStrategy: autoStrategy)
    }

    /// Choices at one λ, with the Router's rule (argmax q − λc, ties to the cheaper; ∞: cheapest predicted).
    public static func choices(_ s: StrategyPredictions, models m: Int, lambda: Double) -> [Int?] {
        let n = s.predicted.count / max(1, m)
        var out = [Int?](repeating: nil, count: n)
        s.predicted.withUnsafeBufferPointer { q in
            s.estimated.withUnsafeBufferPointer { c in
                for i in 0..<n {
                    out[i] = CostQualitySweep.choose(
                        quality: UnsafeBufferPointer(rebasing: q[(i * m)..<((i + 1) * m)]),
                        cost: UnsafeBufferPointer(rebasing: c[(i * m)..<((i + 1) * m)]), lambda: lambda)
                }
            }
        }
        return out
    }

    /// The allocator a strategy's batch budgets are spent with: λ never below the strategy's own λ
    /// (`StrategyPredictions.minimumLambda`), the rule of `route --budget-usd` and the score stage.
    public func budgetAllocator(for s: StrategyPredictions) -> BudgetAllocator {
        var allocator = self.allocator
        allocator.configuration.minimumLambda = max(allocator.configuration.minimumLambda, s.minimumLambda)
        return allocator
    }

    /// The choices budget mode makes for a strategy on a split within `budgetUSD` (estimates): the
    /// allocation behind a `BudgetRow`, for checks that need it prompt by prompt.
    public func allocate(_ t: EvaluationTables, _ s: StrategyPredictions, budgetUSD: Double) throws -> BudgetAllocation {
        budgetAllocator(for: s).allocate(try Self.budgetProblem(t, s), budgetUSD: budgetUSD)
    }

    static func budgetProblem(_ t: EvaluationTables, _ s: StrategyPredictions) throws -> BudgetProblem {
        try BudgetProblem(queries: t.count, models: t.models.count, quality: s.predicted.map(Float.init), cost: s.estimated.map(Float.init))
    }

    func evaluate(_ t: EvaluationTables, _ s: StrategyPredictions, _ r: ReferenceRouters) throws -> StrategyResult {
        let m = t.models.count
        guard s.predicted.count == t.count * m, s.estimated.count == t.count * m else {
            throw EvaluationError.shapeMismatch(strategy: s.name, expected: t.count * m, got: s.predicted.count)
        }
        var points: [CurvePoint] = []
        var bestLambda = configuration.lambdas.first ?? 0
        var operating: CurvePoint? = nil
        var cheapest: (CurvePoint, Double)? = nil
        for lambda in configuration.lambdas {
            let realised = t.realised(Self.choices(s, models: m, lambda: lambda))
            let point = CurvePoint(cost: realised.cost, quality: realised.quality, lambda: lambda.isFinite ? lambda : nil)
            points.append(point)
            if point.cost <= r.bestSingle.cost + 1e-15,
               operating.map({ point.quality > $0.quality || (point.quality == $0.quality && point.cost < $0.cost) }) ?? true {
                operating = point
                bestLambda = lambda
            }
            if cheapest.map({ point.cost < $0.0.cost }) ?? true { cheapest = (point, lambda) }
        }
        if operating == nil, let cheapest {
            operating = cheapest.0
            bestLambda = cheapest.1
        }
        let perTask = TaskBreakdown.router(t, choices: Self.choices(s, models: m, lambda: bestLambda))
        let problem = try Self.budgetProblem(t, s)
        let bestTotal = r.bestSingle.cost * Double(t.count)
        let allocator = budgetAllocator(for: s)
        let budgets = configuration.budgetFractions.map { fraction -> BudgetRow in
            let allocation = allocator.allocate(problem, budgetUSD: bestTotal * fraction)
            let realised = t.realised(allocation.choices)
            return BudgetRow(
                fraction: fraction, budgetUSD: bestTotal * fraction, estimatedSpendUSD: allocation.estimatedCostUSD,
                realisedSpendUSD: realised.cost * Double(t.count), quality: realised.quality,
                unanswered: allocation.choices.filter { $0 == nil }.count,
                lambda: allocation.lambda.isFinite ? allocation.lambda : nil)
        }
        let curve = CostQualityCurve(points: points)
        return StrategyResult(
            name: s.name, points: points, metrics: RouterMetrics(curve: curve, references: r),
            operatingPoint: operating ?? CurvePoint(cost: 0, quality: 0), perTask: perTask, budgets: budgets)
    }
}

/// Why an evaluation could not run, and what to do.
public enum EvaluationError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(strategy: String, expected: Int, got: Int)
    case renderFailed(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let s, let e, let g):
            return "strategy \(s): predictions have \(g) values, the split needs \(e) (prompts × models): predict every model for every prompt"
        case .renderFailed(let m):
            return "could not write the report: \(m)"
        }
    }
}
