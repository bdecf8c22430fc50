import Budget
import Foundation
import Logging
import Payloads
import Pipeline
import Routing
import SwitchyardCore
import Testing
import ZeroMQ

/// A router with fixed models: quality rises with price, costs scale with the prompt's tokens; it decides
/// by the rule every path uses (`DecisionRule`) at `lambda`.
struct LadderRouter: RequestRouter {
    /// (name, quality, USD per input token)
    var ladder: [(String, Double, Double)] = [
        ("nano", 0.40, 1e-7), ("mini", 0.60, 4e-7), ("mid", 0.75, 1.5e-6), ("large", 0.85, 6e-6), ("huge", 0.90, 2e-5),
    ]
    var lambda = 0.0
    var strategyName: String { "ladder" }
    var models: [String] { ladder.map(\.0) }
    var predictsQuality: Bool { true }

    func decide(id: String, features: QueryFeatures, constraints: RoutingConstraints) throws(RoutingError) -> RoutingDecision {
        // A per-line wobble so lines differ (deterministic from the token count).
        let wobble = Double((features.inputTokens * 7919) % 13) / 100
        let quality = ladder.map { name, quality, _ in min(1, quality + (name == "nano" ? 0 : wobble)) }
        let cost = ladder.map { $0.2 * Double(features.inputTokens) }
        return try DecisionRule.decide(id: id, strategy: strategyName, models: models, quality: quality, cost: cost,
                                       constraints: constraints, order: .quality(lambda: lambda))
    }
}

/// Drives a score stage line by line with a dispatch that keeps `window` requests in flight and bills
/// `ratio` × estimate when each completes (oldest first).
struct BudgetDrive {
    var routed: [(line: Int, model: String, estimate: Double, hold: BudgetHold)] = []
    var exhaustedLines: [Int] = []
    var downgradedLines: [Int] = []
    var actualUSD = 0.0
    var maxInFlightActualUSD = 0.0

    static func run(budget: ScoreBudget, lines: Int, ratio: Double, window: Int, lambda: Double = 0) -> BudgetDrive {
        let stage = ScoreStage(router: LadderRouter(lambda: lambda), budget: budget)
        var drive = BudgetDrive()
        var inFlight: [BudgetHold] = []
        func complete(_ hold: BudgetHold) {
            let cost = hold.reservation.estimateUSD * ratio
            drive.actualUSD += cost
            budget.settle(hold, actualUSD: cost)
        }
        for line in 1...lines {
            let request = PipelineRequest(
                requestID: RequestID(fileDigest: "budgettest", line: line), format: .plain, customID: "l\(line)", prompt: "q\(line)")
            let features = QueryFeatures(vector: [], inputTokens: 200 + (line * 37) % 400)
            switch stage.process(ProfiledRequest(request: request, features: features), logger: Logger(label: "test")) {
            case .next(let item):
                guard let hold = item.budgetHold else {
                    Issue.record("line \(line) was routed without holding budget")
                    continue
                }
                drive.routed.append((line, item.decision.model, item.decision.estimatedCostUSD, hold))
                if hold.downgraded { drive.downgradedLines.append(line) }
                inFlight.append(hold)
                let inFlightActual = inFlight.reduce(0) { $0 + $1.reservation.estimateUSD * ratio }
                drive.maxInFlightActualUSD = max(drive.maxInFlightActualUSD, inFlightActual)
                if inFlight.count >= window { complete(inFlight.removeFirst()) }
            case .finished(let record):
                #expect(record.error?.code == .budgetExhausted)
                drive.exhaustedLines.append(line)
            }
        }
        for hold in inFlight { complete(hold) }
        return drive
    }
}

@Suite("score stage spends the batch budget through the ledger")
struct ScoreBudgetTests {
    static let models = LadderRouter().models

    @Test("estimates never exceed the budget, streamed or fixed λ", arguments: [true, false])
    func neverOverBudgetInEstimates(streaming: Bool) {
        let budget = ScoreBudget(
            configuration: .init(budgetUSD: 0.05, expectedLines: streaming ? 2_000 : nil, ledger: .init(learnsCostRatio: false)),
            models: Self.models)
        // Nothing is settled until the end: only reservations limit the spend.
        let drive = BudgetDrive.run(budget: budget, lines: 2_000, ratio: 1, window: .max)
        let estimated = drive.routed.reduce(0) { $0 + $1.estimate }
        #expect(estimated <= 0.05 + 1e-9)
        #expect(!drive.routed.isEmpty)
        #expect(budget.ledger.snapshot().actualUSD <= 0.05 + 1e-9)
    }

    @Test("the streamed λ spreads the budget over the whole batch")
    func streamingSpreadsTheBudget() {
        let budget = ScoreBudget(configuration: .init(budgetUSD: 0.3, expectedLines: 2_000), models: Self.models)
        let drive = BudgetDrive.run(budget: budget, lines: 2_000, ratio: 1, window: 16)
        // Every line got a model, the budget was mostly used, and λ was calibrated.
        #expect(drive.exhaustedLines.count < 20)
        #expect(drive.actualUSD <= 0.3 + 1e-9)
        #expect(drive.actualUSD >= 0.3 * 0.7)
        let report = budget.report()
        #expect(report.finalLambda ?? 0 > 0)
        #expect(report.streamingLambda == true)
        // Lines late in the batch still get more than the cheapest model.
        #expect(drive.routed.suffix(200).contains { $0.model != "nano" })
    }

    @Test("a line takes a cheaper model that fits before it is budget_exhausted")
    func downgradesBeforeExhaustion() throws {
        // Fixed λ = 0 (quality first): the first choice is always `huge`; the budget runs low quickly.
        let budget = ScoreBudget(configuration: .init(budgetUSD: 0.02), models: Self.models)
        let drive = BudgetDrive.run(budget: budget, lines: 600, ratio: 1, window: 4)
        let firstDowngrade = try #require(drive.downgradedLines.first)
        let firstExhausted = try #require(drive.exhaustedLines.first)
        #expect(firstDowngrade < firstExhausted)
        // Downgraded lines went to models cheaper than the first choice.
        #expect(drive.routed.filter { $0.hold.downgraded }.allSatisfy { $0.model != "huge" })
        // Once exhausted, not even the cheapest model fitted (the ledger is nearly spent).
        let snapshot = budget.ledger.snapshot()
        #expect(snapshot.availableUSD < 1e-7 * 600 + 1e-12)
        let report = budget.report()
        #expect(report.downgraded == drive.downgradedLines.count)
        #expect(report.budgetExhausted == drive.exhaustedLines.count)
        #expect(drive.actualUSD <= 0.02 + 1e-9)
    }

    @Test("actual costs 30 % above estimates overspend by at most one in-flight window", arguments: [true, false])
    func overspendBoundedByInFlight(streaming: Bool) {
        let window = 16
        let budget = ScoreBudget(configuration: .init(budgetUSD: 0.1, expectedLines: streaming ? 3_000 : nil), models: Self.models)
        let drive = BudgetDrive.run(budget: budget, lines: 3_000, ratio: 1.3, window: window)
        let overspend = max(0, drive.actualUSD - 0.1)
        // At most what the requests in flight cost above their reservations: < the window's actual cost.
        #expect(overspend <= drive.maxInFlightActualUSD + 1e-12)
        // The ledger learned the ratio, so reservations grew to match.
        #expect(abs(budget.ledger.snapshot().costRatio - 1.3) < 0.01)
        #expect(abs(budget.ledger.reservationScale - 1.3) < 0.01)
        #expect(budget.ledger.snapshot().actualUSD == drive.actualUSD || abs(budget.ledger.snapshot().actualUSD - drive.actualUSD) < 1e-12)
    }

    @Test("pacing: a line waits while reservations in flight hold over a quarter of the unspent budget")
    func pacingWaitsForSettles() async {
        let budget = ScoreBudget(configuration: .init(budgetUSD: 1), models: Self.models)
        #expect(!budget.shouldWaitForSettles)
        let first = budget.ledger.reserve(0.2)
        #expect(!budget.shouldWaitForSettles)
        let second = budget.ledger.reserve(0.1)
        #expect(budget.shouldWaitForSettles)
        // A settle arriving while the stage waits lets it go on.
        let stage = ScoreStage(router: LadderRouter(), budget: budget)
        Task {
            try? await Task.sleep(for: .milliseconds(50))
            if let second { budget.ledger.settle(second, actualUSD: 0.1) }
        }
        await stage.waitForBudget(maxWait: .seconds(30))
        #expect(!budget.shouldWaitForSettles)
        if let first { budget.ledger.release(first) }
        // Without pacing nothing ever waits.
        let unpaced = ScoreBudget(configuration: .init(budgetUSD: 1, inFlightShare: nil), models: Self.models)
        _ = unpaced.ledger.reserve(0.9)
        #expect(!unpaced.shouldWaitForSettles)
    }

    @Test("under a budget, fallbacks never cost more than the reserved model")
    func alternativesFitTheReservation() {
        let budget = ScoreBudget(configuration: .init(budgetUSD: 10, expectedLines: 100), models: Self.models)
        let stage = ScoreStage(router: LadderRouter(), budget: budget)
        let request = PipelineRequest(requestID: RequestID(fileDigest: "alt", line: 1), format: .plain, customID: "a", prompt: "q")
        guard case .next(let item) = stage.process(ProfiledRequest(request: request, features: QueryFeatures(vector: [], inputTokens: 300)),
                                                   logger: Logger(label: "test")) else {
            Issue.record("expected a routed request")
            return
        }
        #expect(item.decision.alternatives.allSatisfy { $0.estimatedCostUSD <= item.decision.estimatedCostUSD })
    }

    @Test("dispatch settles the actual cost, releases what was never sent")
    func dispatchSettles() async throws {
        let budget = ScoreBudget(configuration: .init(budgetUSD: 1), models: Self.models)
        let stage = ScoreStage(router: LadderRouter(), budget: budget)
        let dispatch = DispatchStage(sender: RecordingSender(), settler: budget)
        let request = PipelineRequest(requestID: RequestID(fileDigest: "set", line: 1), format: .plain, customID: "s", prompt: "q")
        guard case .next(let item) = stage.process(ProfiledRequest(request: request, features: QueryFeatures(vector: [], inputTokens: 300)),
                                                   logger: Logger(label: "test")) else {
            Issue.record("expected a routed request")
            return
        }
        #expect(budget.ledger.snapshot().inFlight == 1)
        let record = await dispatch.process(item, logger: Logger(label: "test"))
        #expect(record.routing?.actualCostUSD == 0.001)
        let snapshot = budget.ledger.snapshot()
        #expect(snapshot.inFlight == 0)
        #expect(snapshot.actualUSD == 0.001)
        // Another owner's hold is not ours to settle.
        var foreign = try #require(item.budgetHold)
        foreign.owner = "someone-else"
        budget.settle(foreign, actualUSD: 5)
        #expect(budget.ledger.snapshot().actualUSD == 0.001)
    }
}

@Suite("spend feed: settle records from dispatch to score over ZeroMQ")
struct SpendFeedTests {
    @Test func recordRoundTripsAndRejectsGarbage() throws {
        let record = SpendRecord(owner: "abc", kind: .settle, reservationID: 0x0102_0304_0506_0708, actualUSD: 0.00123)
        #expect(record.body.count == SpendRecord.bodySize)
        #expect(try SpendRecord(topic: record.topic, body: record.body) == record)
        #expect(throws: SpendRecordError.badSize(3)) { try SpendRecord(topic: [], body: [1, 1, 0]) }
        var body = record.body
        body[0] = 9
        #expect(throws: SpendRecordError.unknownVersion(9)) { try SpendRecord(topic: [], body: body) }
        body = record.body
        body[1] = 7
        #expect(throws: SpendRecordError.unknownKind(7)) { try SpendRecord(topic: [], body: body) }
        let negative = SpendRecord(owner: "abc", kind: .settle, reservationID: 1, actualUSD: -1).body
        #expect(throws: SpendRecordError.badAmount(-1)) { try SpendRecord(topic: [], body: negative) }
    }

    @Test func publisherSettlesTheSubscribersLedger() async throws {
        let context = try Context()
        defer { context.shutdown() }
        let endpoint = "tcp://127.0.0.1:\(try Self.freePort())"
        let budget = ScoreBudget(configuration: .init(budgetUSD: 1), models: ["m"], owner: "score-1")
        let subscriber = try SpendFeedSubscriber(endpoint: endpoint, budget: budget, context: context, logger: Logger(label: "test"))
        subscriber.start()
        let publisher = try SpendFeedPublisher(endpoint: endpoint, context: context, logger: Logger(label: "test"))
        let holds = (0..<20).compactMap { _ in budget.ledger.reserve(0.01).map { BudgetHold(owner: "score-1", reservation: $0, downgraded: false) } }
        #expect(holds.count == 20)
        // PUB/SUB drops messages sent before the subscription reached the publisher: resend until seen
        // (settling twice is ignored), as a slow joiner would only leave estimates reserved.
        let deadline = ContinuousClock.now + .seconds(30)
        while budget.ledger.snapshot().inFlight > 0, ContinuousClock.now < deadline {
            for (i, hold) in holds.enumerated() {
                if i % 2 == 0 { publisher.settle(hold, actualUSD: 0.013) } else { publisher.release(hold) }
            }
            publisher.settle(BudgetHold(owner: "score-2", reservation: holds[0].reservation, downgraded: false), actualUSD: 9)
            try await Task.sleep(for: .milliseconds(100))
        }
        let snapshot = budget.ledger.snapshot()
        #expect(snapshot.inFlight == 0)
        #expect(snapshot.settled == 10)
        #expect(abs(snapshot.actualUSD - 0.13) < 1e-9)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                publisher.close()
                subscriber.stop()
                done.resume()
            }
        }
        #expect(subscriber.applied.settled == 10)
        #expect(subscriber.applied.released == 10)
    }

    static func freePort() throws -> Int {
        try LoopbackPort.free()
    }
}
