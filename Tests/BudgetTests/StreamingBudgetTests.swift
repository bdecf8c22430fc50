import Testing
@testable import Budget

@Suite("Streaming budget and spend ledger")
struct StreamingBudgetTests {
    /// Simulates a dispatcher with `window` requests in flight whose real cost is `ratio` × the estimate.
    func simulate(
        lines n: Int, budgetFraction: Double, window: Int, ratio: Double, caps: [Int: Double] = [:],
        cheapestFraction: Double? = nil
    ) throws -> (ledger: SpendLedger, decisions: [StreamingBudgetController.Decision], problem: BudgetProblem, maxCost: Double, budget: Double) {
        var problem = try randomProblem(queries: n, models: 5, seed: 42)
        for (line, cap) in caps { problem.restrict(query: line, maxCostUSD: cap) }
        let frontier = EfficientFrontier(problem)
        let budget = cheapestFraction.map { frontier.cheapestTotal * $0 }
            ?? frontier.cheapestTotal + (frontier.totalCost(lambda: 0) - frontier.cheapestTotal) * budgetFraction
        let ledger = SpendLedger(budgetUSD: budget)
        let controller = StreamingBudgetController(
            ledger: ledger, totalLines: n, models: 5, configuration: .init(windowSize: 128, recalibrateEvery: 32))
        var inFlight: [SpendLedger.Reservation] = []
        var decisions: [StreamingBudgetController.Decision] = []
        for i in 0..<n {
            let decision = controller.decide(problem, line: i)
            decisions.append(decision)
            if case .route(_, _, let reservation, _) = decision { inFlight.append(reservation) }
            while inFlight.count > window {
                let done = inFlight.removeFirst()
                ledger.settle(done, actualUSD: done.estimateUSD * ratio)
            }
        }
        for done in inFlight { ledger.settle(done, actualUSD: done.estimateUSD * ratio) }
        let maxCost = Double(problem.cost.max() ?? 0)
        return (ledger, decisions, problem, maxCost, budget)
    }

    @Test("real costs 30 % above estimates: overspend stays within one in-flight window")
    func overspendBounded() throws {
        let window = 32
        let run = try simulate(lines: 3000, budgetFraction: 0.4, window: window, ratio: 1.3)
        let snapshot = run.ledger.snapshot()
        let overspend = snapshot.actualUSD - run.budget
        #expect(overspend <= 0.3 * Double(window) * run.maxCost, "overspend \(overspend)")
        #expect(snapshot.actualUSD >= 0.85 * run.budget, "used only \(snapshot.actualUSD / run.budget) of the budget")
        #expect(snapshot.inFlight == 0)
        #expect(abs(snapshot.costRatio - 1.3) < 1e-6)
    }

    @Test("accurate estimates: never over budget, most lines routed")
    func withinBudget() throws {
        let run = try simulate(lines: 2000, budgetFraction: 0.3, window: 16, ratio: 1.0)
        let snapshot = run.ledger.snapshot()
        #expect(snapshot.actualUSD <= run.budget * (1 + 1e-9))
        let routed = run.decisions.filter { if case .route = $0 { return true } else { return false } }.count
        #expect(routed >= 1990)
    }

    @Test("a budget that covers every line at its cheapest model routes every line", arguments: [1.02, 1.2])
    func budgetCoveringTheCheapestPlanRoutesEveryLine(cheapestFraction: Double) throws {
        let run = try simulate(lines: 3000, budgetFraction: 0, window: 16, ratio: 1.0, cheapestFraction: cheapestFraction)
        #expect(run.ledger.snapshot().actualUSD <= run.budget * (1 + 1e-9))
        let exhausted = run.decisions.filter { $0 == .budgetExhausted }.count
        #expect(exhausted == 0, "\(exhausted) lines budget_exhausted with \(cheapestFraction) × the cheapest plan")
        // The room is spent, not hoarded: most of what is above the cheapest plan goes to better models.
        #expect(run.ledger.snapshot().actualUSD >= run.budget * 0.97)
    }

    @Test("a budget is a cap, not a target: with room to spare, the caller's own λ decides")
    func budgetNeverRaisesSpend() throws {
        let problem = try randomProblem(queries: 600, models: 5, seed: 7)
        let frontier = EfficientFrontier(problem)
        // The caller's λ: the one that spends a third of the way from the cheapest choice to quality-first.
        let floor = BudgetAllocator().calibrateLambda(
            frontier, budgetUSD: frontier.cheapestTotal + (frontier.totalCost(lambda: 0) - frontier.cheapestTotal) / 3)
        func spend(budget: Double, minimumLambda: Double) -> (Double, Double?) {
            let ledger = SpendLedger(budgetUSD: budget)
            let controller = StreamingBudgetController(
                ledger: ledger, totalLines: 600, models: 5,
                configuration: .init(windowSize: 128, recalibrateEvery: 32, minimumLambda: minimumLambda))
            for i in 0..<600 {
                if case .route(_, _, let reservation, _) = controller.decide(problem, line: i) {
                    ledger.settle(reservation, actualUSD: reservation.estimateUSD)
                }
            }
            return (ledger.snapshot().actualUSD, controller.lambda)
        }
        let generous = frontier.totalCost(lambda: 0) * 2
        let (unfloored, unflooredLambda) = spend(budget: generous, minimumLambda: 0)
        let (floored, flooredLambda) = spend(budget: generous, minimumLambda: floor)
        #expect(flooredLambda == floor)
        #expect(unflooredLambda ?? 1 < floor)
        #expect(abs(floored - frontier.totalCost(lambda: floor)) <= 1e-6 * max(1, floored))
        #expect(floored < unfloored)
        // A tight budget still binds above the floor: it spends (nearly) the budget, well under what the caller's
        // λ alone would. (The final λ may sink back to the floor: the last window holds room for the dearest
        // lines, and what that leaves unspent lowers the per-line target.)
        let tight = frontier.cheapestTotal + (frontier.totalCost(lambda: floor) - frontier.cheapestTotal) / 2
        let (tightSpend, _) = spend(budget: tight, minimumLambda: floor)
        #expect(tightSpend <= tight * (1 + 1e-9))
        #expect(tightSpend >= tight * 0.9, "spent \(tightSpend / tight) of a tight budget")
        #expect(tightSpend < frontier.totalCost(lambda: floor) * 0.9)
    }

    @Test("a budget that runs out turns later lines into budget_exhausted, never overspends")
    func exhaustion() throws {
        let run = try simulate(lines: 500, budgetFraction: 0, window: 1, ratio: 1.0, cheapestFraction: 0.5)
        #expect(run.ledger.snapshot().actualUSD <= run.budget * (1 + 1e-9))
        #expect(run.decisions.contains(.budgetExhausted))
    }

    @Test("per-line cost caps are honoured")
    func caps() throws {
        var caps: [Int: Double] = [:]
        for line in stride(from: 0, to: 400, by: 3) { caps[line] = 2.2e-4 }
        caps[7] = 1e-9  // nothing fits this one
        let run = try simulate(lines: 400, budgetFraction: 0.9, window: 8, ratio: 1.0, caps: caps)
        for (line, cap) in caps {
            switch run.decisions[line] {
            case .route(let model, _, _, _):
                #expect(Double(run.problem.cost[line * 5 + model]) <= cap)
            case .noEligibleModel:
                #expect(line == 7)
            case .budgetExhausted:
                Issue.record("line \(line) exhausted with 90 % budget")
            }
        }
    }

    @Test("concurrent reservations never exceed the budget")
    func concurrentLedger() async throws {
        let unit = 1.0 / 1024  // exact in binary, so 1000 units fill the budget exactly
        let ledger = SpendLedger(budgetUSD: 1000 * unit)
        let granted = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var count = 0
                    for _ in 0..<1000 where ledger.reserve(unit) != nil { count += 1 }
                    return count
                }
            }
            return await group.reduce(0, +)
        }
        #expect(granted == 1000)
        #expect(ledger.snapshot().reservedUSD <= 1000 * unit)
        #expect(!ledger.canAfford(unit))
    }

    @Test("settle and release are idempotent")
    func idempotent() throws {
        let ledger = SpendLedger(budgetUSD: 1)
        let r = try #require(ledger.reserve(0.5))
        #expect(ledger.settle(r, actualUSD: 0.6))
        #expect(!ledger.settle(r, actualUSD: 0.6))
        #expect(!ledger.release(r))
        #expect(ledger.snapshot() == SpendLedger.Snapshot(budgetUSD: 1, actualUSD: 0.6, settledEstimateUSD: 0.5, reservedUSD: 0, inFlight: 0, settled: 1))
    }
}
