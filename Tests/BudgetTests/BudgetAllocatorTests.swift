import SwitchyardCore
import Testing
@testable import Budget


func randomProblem(queries n: Int, models m: Int, seed: UInt64, masked: Bool = false) throws -> BudgetProblem {
    var rng = SplitMix64(seed: seed)
    var q: [Float] = [], c: [Float] = [], e: [Bool] = []
    for _ in 0..<n {
        for j in 0..<m {
            q.append(Float(Double.random(in: 0...1, using: &rng)))
            c.append(Float(Double(j + 1) * 1e-4 * Double.random(in: 0.5...1.5, using: &rng)))
            e.append(!masked || Double.random(in: 0...1, using: &rng) < 0.75)
        }
    }
    return try BudgetProblem(queries: n, models: m, quality: q, cost: c, eligible: masked ? e : nil)
}

/// Exhaustive optimum (quality, cost) within the budget; nil if no full assignment fits.
func bruteForce(_ p: BudgetProblem, budget: Double) -> Double? {
    var best: Double? = nil
    func go(_ i: Int, _ cost: Double, _ quality: Double) {
        if cost > budget { return }
        if i == p.queries {
            if best == nil || quality > best! { best = quality }
            return
        }
        for j in 0..<p.models where p.isEligible(i, j) {
            go(i + 1, cost + Double(p.cost[i * p.models + j]), quality + Double(p.quality[i * p.models + j]))
        }
    }
    go(0, 0, 0)
    return best
}

@Suite("BudgetAllocator")
struct BudgetAllocatorTests {
    @Test("matches brute force within one query's quality span, never over budget")
    func optimalityGap() throws {
        var exact = 0
        var cases = 0
        for seed in UInt64(1)...60 {
            let p = try randomProblem(queries: 6, models: 4, seed: seed, masked: seed % 3 == 0)
            let frontier = EfficientFrontier(p)
            if (0..<p.queries).contains(where: { frontier.count($0) == 0 }) { continue }
            let lo = frontier.cheapestTotal, hi = frontier.totalCost(lambda: 0)
            for fraction in [0.1, 0.35, 0.6, 0.9] {
                let budget = lo + (hi - lo) * fraction
                let allocation = BudgetAllocator().allocate(p, budgetUSD: budget)
                let optimum = try #require(bruteForce(p, budget: budget))
                #expect(allocation.estimatedCostUSD <= budget)
                #expect(allocation.unassigned.isEmpty)
                #expect(allocation.predictedQuality <= optimum + 1e-6)
                #expect(allocation.upperBound >= optimum - 1e-5)
                #expect(optimum - allocation.predictedQuality <= 1.0, "gap \(optimum - allocation.predictedQuality) seed \(seed)")
                let recomputed = BudgetAllocator.totals(p, allocation.choices)
                #expect(recomputed.cost <= budget)
                if optimum - allocation.predictedQuality < 1e-5 { exact += 1 }
                cases += 1
            }
        }
        #expect(cases > 100)
        #expect(Double(exact) / Double(cases) > 0.6, "exact on \(exact) of \(cases)")
    }

    @Test("generous budget gives every query its best model; λ = 0")
    func generousBudget() throws {
        let p = try randomProblem(queries: 50, models: 5, seed: 7)
        let allocation = BudgetAllocator().allocate(p, budgetUSD: 1e9)
        #expect(allocation.lambda == 0)
        for i in 0..<p.queries {
            let row = (0..<p.models).map { p.quality[i * p.models + $0] }
            let choice = try #require(allocation.choices[i])
            #expect(row[choice] == row.max())
        }
    }

    @Test("with a λ floor a budget is a cap: room to spare buys nothing the floor's λ would not; a tight budget binds above it")
    func lambdaFloor() throws {
        let p = try randomProblem(queries: 300, models: 5, seed: 13)
        let frontier = EfficientFrontier(p)
        // The router's λ: about where a third of the way from the cheapest choices to quality-first is spent
        // (×1.5 keeps it off the breakpoint the bisection lands next to).
        let floor = 1.5 * BudgetAllocator().calibrateLambda(
            frontier, budgetUSD: frontier.cheapestTotal + (frontier.totalCost(lambda: 0) - frontier.cheapestTotal) / 3)
        let floored = BudgetAllocator(configuration: .init(minimumLambda: floor))
        let atFloor = frontier.positions(lambda: floor).enumerated().map { $1 >= 0 ? Int(frontier.model[$1]) : nil as Int? }
        let generous = floored.allocate(p, budgetUSD: frontier.totalCost(lambda: 0) * 2)
        #expect(generous.lambda == floor)
        #expect(generous.choices == atFloor, "the repair takes no upgrade worth less than the floor per USD")
        #expect(generous.estimatedCostUSD < BudgetAllocator().allocate(p, budgetUSD: frontier.totalCost(lambda: 0) * 2).estimatedCostUSD)
        let tight = frontier.cheapestTotal + (frontier.totalCost(lambda: floor) - frontier.cheapestTotal) / 2
        let bound = floored.allocate(p, budgetUSD: tight)
        #expect(bound.lambda > floor)
        #expect(bound.estimatedCostUSD <= tight)
        #expect(bound.unassigned.isEmpty)
    }

    @Test("a budget below the cheapest assignment serves what fits and marks the rest budget_exhausted")
    func infeasibleBudget() throws {
        let p = try randomProblem(queries: 20, models: 3, seed: 11)
        let frontier = EfficientFrontier(p)
        let budget = frontier.cheapestTotal * 0.5
        let allocation = BudgetAllocator().allocate(p, budgetUSD: budget)
        #expect(allocation.estimatedCostUSD <= budget)
        #expect(!allocation.unassigned.isEmpty)
        #expect(allocation.unassigned.values.allSatisfy { $0 == .budgetExhausted })
        #expect(allocation.choices.compactMap { $0 }.count + allocation.unassigned.count == 20)
    }

    @Test("per-line caps and allow/deny lists are respected")
    func eligibility() throws {
        var p = try BudgetProblem(
            quality: [[0.2, 0.5, 0.9], [0.2, 0.5, 0.9], [0.2, 0.5, 0.9]],
            cost: [[1e-4, 2e-4, 9e-4], [1e-4, 2e-4, 9e-4], [1e-4, 2e-4, 9e-4]])
        p.restrict(query: 0, maxCostUSD: 2.5e-4)
        p.restrict(query: 1, allowed: [0])
        p.restrict(query: 2, denied: [0, 1, 2])
        let allocation = BudgetAllocator().allocate(p, budgetUSD: 1)
        #expect(allocation.choices == [1, 0, nil])
        #expect(allocation.unassigned == [2: .noEligibleModel])
    }

    @Test("the frontier keeps only models that can win for some λ")
    func frontier() throws {
        // model 1 is dominated (dearer, worse); model 2 lies under the hull between 0 and 3.
        let p = try BudgetProblem(quality: [[0.1, 0.05, 0.3, 0.9]], cost: [[1, 2, 3, 4]])
        let f = EfficientFrontier(p)
        #expect(f.model == [0, 3])
        #expect(f.positions(lambda: 0) == [1])
        #expect(f.positions(lambda: 1) == [0])
    }
}
