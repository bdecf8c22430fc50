import ArgumentParser
import Budget
import Foundation

/// `SwitchyardBench budget`: λ calibration of the batch budget (issue 6: 1M queries × 26 models ≤ 2 s, one core).
///
/// Peers measured in the same run: a naive bisection that scans every model of every query at each step
/// (what the efficient frontier avoids), and one streaming pass over the quality and cost arrays (the
/// machine's memory-bandwidth floor for touching the data once).
struct BudgetBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "budget", abstract: "Batch-budget λ calibration: 1M queries × 26 models.")

    @Option(help: "Queries in the batch.") var queries = 1_000_000
    @Option(help: "Models in the pool.") var models = 26
    @Option(help: "Repetitions (the best time is reported).") var repetitions = 3
    @Option(help: "Where to write the JSON results.") var out = "bench-results/budget.json"

    struct Result: Codable {
        var queries: Int
        var models: Int
        var frontierSeconds: Double
        var bisectionSeconds: Double
        var calibrationSeconds: Double
        var allocateSeconds: Double
        var naiveBisectionSeconds: Double
        var onePassSeconds: Double
        var bisectionSteps: Int
        var lambda: Double
        var budgetUSD: Double
        var estimatedSpendUSD: Double
        var gapToUpperBound: Double
        var speedupOverNaive: Double
        var calibrationInPasses: Double
        var targetSeconds: Double
        var meetsTarget: Bool
    }

    func run() async throws {
        let n = queries, m = models
        var rng = SplitMix(state: 0x5EED)
        var quality = [Float](repeating: 0, count: n * m)
        var cost = [Float](repeating: 0, count: n * m)
        for j in 0..<m {
            let price = Float(pow(10, -5 + 3 * Double(j) / Double(max(1, m - 1))))  // $1e-5 ... $1e-2, like the pool
            let skill = 0.3 + 0.5 * Double(j) / Double(max(1, m - 1))
            for i in 0..<n {
                quality[i * m + j] = Float(min(1, max(0, skill + 0.3 * (rng.unit() - 0.5))))
                cost[i * m + j] = price * Float(0.5 + rng.unit())
            }
        }
        let problem = try BudgetProblem(queries: n, models: m, quality: quality, cost: cost)
        let allocator = BudgetAllocator()
        var frontierT = Double.infinity, bisectT = Double.infinity, allocT = Double.infinity
        var naiveT = Double.infinity, passT = Double.infinity
        var lambda = 0.0, steps = 0, budget = 0.0
        var allocation: BudgetAllocation? = nil
        for _ in 0..<repetitions {
            var t0 = now()
            let frontier = EfficientFrontier(problem)
            frontierT = min(frontierT, now() - t0)
            budget = frontier.cheapestTotal + 0.2 * (frontier.totalCost(lambda: 0) - frontier.cheapestTotal)
            t0 = now()
            lambda = allocator.calibrateLambda(frontier, budgetUSD: budget)
            bisectT = min(bisectT, now() - t0)
            steps = Self.bisectionSteps(frontier, budget)
            t0 = now()
            allocation = allocator.allocate(problem, budgetUSD: budget)
            allocT = min(allocT, now() - t0)
            t0 = now()
            _ = Self.naiveBisection(problem, budget: budget, steps: steps, lo: frontier.minPositiveSlope * 0.5, hi: frontier.maxSlope)
            naiveT = min(naiveT, now() - t0)
            t0 = now()
            var sink: Float = 0
            quality.withUnsafeBufferPointer { q in cost.withUnsafeBufferPointer { c in for k in 0..<(n * m) { sink += q[k] + c[k] } } }
            passT = min(passT, now() - t0)
            if sink == .infinity { print("") }
        }
        let calibration = frontierT + bisectT
        let result = Result(
            queries: n, models: m, frontierSeconds: frontierT, bisectionSeconds: bisectT, calibrationSeconds: calibration,
            allocateSeconds: allocT, naiveBisectionSeconds: naiveT, onePassSeconds: passT, bisectionSteps: steps,
            lambda: lambda, budgetUSD: budget, estimatedSpendUSD: allocation?.estimatedCostUSD ?? 0,
            gapToUpperBound: (allocation?.upperBound ?? 0) - (allocation?.predictedQuality ?? 0),
            speedupOverNaive: naiveT / calibration, calibrationInPasses: calibration / passT, targetSeconds: 2,
            meetsTarget: calibration <= 2)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileManager.default.createDirectory(
            at: URL(fileURLWithPath: out).deletingLastPathComponent(), withIntermediateDirectories: true)
        try encoder.encode(result).write(to: URL(fileURLWithPath: out))
        print("budget: \(n) queries × \(m) models, one core, best of \(repetitions)")
        print("| step | seconds | ratio |")
        print("|---|---|---|")
        print(String(format: "| efficient frontier (once) | %.3f | |", frontierT))
        print(String(format: "| bisection on λ (%d steps) | %.3f | |", steps, bisectT))
        print(String(format: "| λ calibration = frontier + bisection | %.3f | %.2f of the 2 s target |", calibration, calibration / 2))
        print(String(format: "| naive bisection, every model every step (peer) | %.3f | %.1f× slower than ours |", naiveT, naiveT / calibration))
        print(String(format: "| one pass over quality+cost (bandwidth floor) | %.3f | ours = %.1f passes |", passT, calibration / passT))
        print(String(format: "| full allocate (frontier, bisection, greedy repair) | %.3f | |", allocT))
        print(String(format: "budget $%.2f, spend $%.2f, λ %.1f, gap to the dual bound %.3f quality (of %.0f)",
                     budget, allocation?.estimatedCostUSD ?? 0, lambda, result.gapToUpperBound, allocation?.predictedQuality ?? 0))
        print("wrote \(out)")
    }

    /// Steps the real bisection takes (same rule as `calibrateLambda`), so the naive peer does as many.
    static func bisectionSteps(_ f: EfficientFrontier, _ budget: Double) -> Int {
        var lo = f.minPositiveSlope * 0.5, hi = f.maxSlope, steps = 0
        while hi > lo * (1 + 1e-6) && steps < 200 {
            let mid = (lo * hi).squareRoot()
            if f.totalCost(lambda: mid) <= budget { hi = mid } else { lo = mid }
            steps += 1
        }
        return steps
    }

    /// The peer: each step scans all `models` of every query for argmax q − λc.
    static func naiveBisection(_ p: BudgetProblem, budget: Double, steps: Int, lo: Double, hi: Double) -> Double {
        var lo = lo, hi = hi
        let n = p.queries, m = p.models
        p.quality.withUnsafeBufferPointer { q in
            p.cost.withUnsafeBufferPointer { c in
                for _ in 0..<steps {
                    let mid = (lo * hi).squareRoot()
                    let lam = Float(mid)
                    var total = 0.0
                    for i in 0..<n {
                        var best = -Float.infinity, bestCost: Float = 0
                        for j in 0..<m {
                            let s = q[i * m + j] - lam * c[i * m + j]
                            if s > best { best = s; bestCost = c[i * m + j] }
                        }
                        total += Double(bestCost)
                    }
                    if total <= budget { hi = mid } else { lo = mid }
                }
            }
        }
        return hi
    }

    func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    struct SplitMix {
        var state: UInt64
        mutating func unit() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
        }
    }
}
