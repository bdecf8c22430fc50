import Foundation
import SwitchyardCore
import Testing
import Wire
@testable import WorkProtocol
import WorkProtocolTestSupport

@Suite("Work protocol: coordinator state machine")
struct WorkProtocolCoordinatorTests {
    static let twoStages = WorkCoordinatorConfiguration(
        stages: ["profile", "dispatch"], maxAttempts: 3, leaseMillis: 10_000,
        workerTimeoutMillis: 3_000, heartbeatIntervalMillis: 500, window: 100)

    /// Producer + consumer joined; returns the harness.
    func started(_ configuration: WorkCoordinatorConfiguration = twoStages) -> CoordinatorHarness {
        var harness = CoordinatorHarness(configuration)
        harness.send(.hello(role: .consumer, credit: 1_000), from: "sink")
        harness.send(.hello(role: .producer, credit: 0), from: "ingest")
        return harness
    }

    @Test("a request runs every stage in order, the last DONE goes to the consumer, ACK completes it")
    func chain() throws {
        var h = started()
        h.send(.ready(stage: "profile", credit: 1), from: "p1")
        h.send(.ready(stage: "dispatch", credit: 1), from: "d1")
        let first = try #require(h.send(.submit(requestID: "r1", payload: payload("in")), from: "ingest").tasks(to: "p1").first)
        #expect(first.stage == "profile" && first.attempt == 1 && first.payload == payload("in"))
        let second = try #require(h.send(.done(taskID: first.taskID, payload: payload("profiled")), from: "p1").tasks(to: "d1").first)
        #expect(second.stage == "dispatch" && second.payload == payload("profiled") && second.requestID == "r1")
        let result = try #require(h.send(.done(taskID: second.taskID, payload: payload("answer")), from: "d1").results.first)
        #expect(result == WireResult(requestID: "r1", status: .completed, stage: "dispatch", attempts: 1, reason: "", payload: payload("answer")))
        #expect(h.coordinator.inFlightCount == 1)
        h.send(.endOfInput, from: "ingest")
        let finished = h.send(.ack(requestID: "r1"), from: "sink")
        #expect(h.coordinator.inFlightCount == 0 && h.coordinator.isCompleted("r1"))
        #expect(h.journaledCompleted == ["r1"])
        #expect(finished.contains(.finished, to: "sink") && finished.contains(.finished, to: "ingest"))
    }

    @Test("a worker never holds more tasks than its credit; DONE returns credit")
    func credit() {
        var h = started()
        h.send(.ready(stage: "profile", credit: 3), from: "p1")
        var sent: [WireTask] = []
        for index in 0..<10 { sent += h.send(.submit(requestID: "r\(index)", payload: Data()), from: "ingest").tasks(to: "p1") }
        #expect(sent.count == 3)
        #expect(h.coordinator.leasedCount("p1") == 3)
        #expect(h.coordinator.pendingCounts == [7, 0])
        let more = h.send(.done(taskID: sent[0].taskID, payload: Data()), from: "p1").tasks(to: "p1")
        #expect(more.count == 1)
        #expect(h.coordinator.leasedCount("p1") == 3)
    }

    @Test("work is spread round robin over the workers of a stage")
    func roundRobin() {
        var h = started()
        for name in ["a", "b", "c"] { h.send(.ready(stage: "profile", credit: 10), from: name) }
        var counts: [String: Int] = [:]
        for index in 0..<9 {
            for (peer, message) in h.send(.submit(requestID: "r\(index)", payload: Data()), from: "ingest") {
                if case .task = message { counts[peer, default: 0] += 1 }
            }
        }
        #expect(counts == ["a": 3, "b": 3, "c": 3])
    }

    @Test("a worker silent past the timeout has its tasks requeued to another worker with attempt+1")
    func requeueOnSilence() throws {
        var h = started()
        h.send(.ready(stage: "profile", credit: 5), from: "dead")
        var leased: [WireTask] = []
        for index in 0..<4 { leased += h.send(.submit(requestID: "r\(index)", payload: payload("\(index)")), from: "ingest").tasks(to: "dead") }
        #expect(leased.count == 4)
        h.advance(by: 2_000)
        h.send(.ready(stage: "profile", credit: 10), from: "alive")
        h.send(.heartbeat, from: "alive")
        h.advance(by: 1_500)  // dead silent 3.5 s > 3 s; alive heard 1.5 s ago
        let requeued = h.log.compactMap { effect -> WireTask? in
            if case .send("alive", .task(let task)) = effect { return task }
            return nil
        }
        #expect(requeued.count == 4)
        #expect(Set(requeued.map(\.requestID)) == ["r0", "r1", "r2", "r3"])
        #expect(requeued.allSatisfy { $0.attempt == 2 })
        #expect(Set(requeued.map(\.taskID)).isDisjoint(with: leased.map(\.taskID)))
        #expect(h.coordinator.stats.workersLost == 1 && h.coordinator.stats.requeued == 4)
        #expect(h.coordinator.workerCount == 1)
    }

    @Test("a late DONE from a presumed-dead worker is ignored; it is told to re-register")
    func lateDoneDeduplicated() throws {
        var h = started(WorkCoordinatorConfiguration(stages: ["profile"], workerTimeoutMillis: 3_000, window: 10))
        h.send(.ready(stage: "profile", credit: 1), from: "slow")
        let old = try #require(h.send(.submit(requestID: "r1", payload: Data()), from: "ingest").tasks(to: "slow").first)
        h.advance(by: 3_001)
        let fresh = try #require(h.send(.ready(stage: "profile", credit: 1), from: "fast").tasks(to: "fast").first)
        #expect(fresh.requestID == "r1" && fresh.attempt == 2)
        // The stopped worker wakes up and answers its old lease.
        let late = h.send(.done(taskID: old.taskID, payload: payload("late")), from: "slow")
        #expect(late.results.isEmpty)
        #expect(late.contains(.reset, to: "slow"))
        let done = h.send(.done(taskID: fresh.taskID, payload: payload("fresh")), from: "fast")
        #expect(done.results.map(\.payload) == [payload("fresh")])
        // It rejoins; the old lease is still not current even from a known worker.
        h.send(.ready(stage: "profile", credit: 1), from: "slow")
        #expect(h.send(.done(taskID: old.taskID, payload: Data()), from: "slow").results.isEmpty)
        #expect(h.send(.done(taskID: fresh.taskID, payload: Data()), from: "fast").results.isEmpty)
        #expect(h.coordinator.stats.staleIgnored == 3)
    }

    @Test("after maxAttempts the request becomes an exhausted error result, never dropped")
    func maxAttempts() throws {
        var h = started(WorkCoordinatorConfiguration(stages: ["profile", "dispatch"], maxAttempts: 2, leaseMillis: 1_000,
                                                  workerTimeoutMillis: 100_000, window: 10))
        h.send(.ready(stage: "profile", credit: 1), from: "p")
        let first = try #require(h.send(.submit(requestID: "r1", payload: payload("input")), from: "ingest").tasks(to: "p").first)
        let second = try #require(h.advance(by: 1_001).tasks(to: "p").first)  // lease expired: attempt 2
        #expect(second.attempt == 2 && second.taskID != first.taskID)
        let out = h.advance(by: 1_001)
        let result = try #require(out.results.first)
        #expect(result.status == .exhausted && result.stage == "profile" && result.attempts == 2)
        #expect(result.reason.contains("lease") && result.payload == payload("input"))
        #expect(out.tasks(to: "p").isEmpty)
        #expect(h.coordinator.stats.exhausted == 1)
    }

    @Test("per-stage counters for /metrics: tasks completed, leases expired, requeues, workers per stage")
    func stageCounters() throws {
        var h = started(WorkCoordinatorConfiguration(stages: ["profile", "dispatch"], maxAttempts: 3, leaseMillis: 1_000,
                                                  workerTimeoutMillis: 100_000, window: 10))
        h.send(.ready(stage: "profile", credit: 2), from: "p1")
        h.send(.ready(stage: "profile", credit: 2), from: "p2")
        h.send(.ready(stage: "dispatch", credit: 1), from: "d1")
        #expect(h.coordinator.workerCounts == [2, 1])
        let first = try #require(h.send(.submit(requestID: "r1", payload: payload("a")), from: "ingest").tasks(to: "p1").first)
        let second = try #require(h.send(.submit(requestID: "r2", payload: payload("b")), from: "ingest").tasks(to: "p2").first)
        // r1 finishes profile; r2's lease runs out and it is handed out again.
        let dispatch = try #require(h.send(.done(taskID: first.taskID, payload: payload("a'")), from: "p1").tasks(to: "d1").first)
        h.send(.done(taskID: dispatch.taskID, payload: payload("answer")), from: "d1")
        let expired = h.advance(by: 1_001)
        let again = try #require((expired.tasks(to: "p1") + expired.tasks(to: "p2")).first { $0.requestID == "r2" })
        #expect(again.attempt == 2 && again.taskID != second.taskID)
        #expect(h.coordinator.stageCounters == [
            StageCounters(completed: 1, leasesExpired: 1, requeued: 1),
            StageCounters(completed: 1, leasesExpired: 0, requeued: 0),
        ])
        h.send(.bye, from: "p2")
        #expect(h.coordinator.workerCounts == [1, 1])
    }

    @Test("retryable FAIL retries; permanent FAIL is an error result at once")
    func failures() throws {
        var h = started(WorkCoordinatorConfiguration(stages: ["profile"], maxAttempts: 3, window: 10))
        h.send(.ready(stage: "profile", credit: 1), from: "p")
        let task = try #require(h.send(.submit(requestID: "r1", payload: payload("x")), from: "ingest").tasks(to: "p").first)
        let retry = try #require(h.send(.fail(taskID: task.taskID, permanent: false, reason: "busy"), from: "p").tasks(to: "p").first)
        #expect(retry.attempt == 2 && retry.requestID == "r1")
        let out = h.send(.fail(taskID: retry.taskID, permanent: true, reason: "prompt too long"), from: "p")
        let result = try #require(out.results.first)
        #expect(result.status == .failed && result.reason == "prompt too long" && result.attempts == 2)
    }

    @Test("EXTEND keeps a long task's lease")
    func extend() throws {
        var h = started(WorkCoordinatorConfiguration(stages: ["profile"], leaseMillis: 1_000, workerTimeoutMillis: 100_000, window: 10))
        h.send(.ready(stage: "profile", credit: 1), from: "p")
        let task = try #require(h.send(.submit(requestID: "r1", payload: Data()), from: "ingest").tasks(to: "p").first)
        h.advance(by: 900)
        h.send(.extend(taskID: task.taskID), from: "p")
        h.advance(by: 900)
        #expect(h.coordinator.leasedCount("p") == 1 && h.coordinator.stats.requeued == 0)
        h.advance(by: 200)
        #expect(h.coordinator.stats.requeued == 1)
    }

    @Test("DRAIN: a draining worker gets no new tasks, finishes its leases, BYE requeues nothing lost")
    func drain() throws {
        var h = started(WorkCoordinatorConfiguration(stages: ["profile"], window: 10))
        h.send(.ready(stage: "profile", credit: 2), from: "leaving")
        var leased: [WireTask] = []
        for index in 0..<2 { leased += h.send(.submit(requestID: "r\(index)", payload: Data()), from: "ingest").tasks(to: "leaving") }
        h.send(.drain, from: "leaving")
        let afterDone = h.send(.done(taskID: leased[0].taskID, payload: Data()), from: "leaving")
        #expect(afterDone.results.count == 1)
        #expect(h.send(.submit(requestID: "r2", payload: Data()), from: "ingest").tasks(to: "leaving").isEmpty)
        // It leaves with one lease unfinished: that task goes to the next worker, same attempt.
        h.send(.bye, from: "leaving")
        let joined = h.send(.ready(stage: "profile", credit: 5), from: "joiner").tasks(to: "joiner")
        #expect(Set(joined.map(\.requestID)) == ["r1", "r2"])
        #expect(joined.first { $0.requestID == "r1" }?.attempt == 1)
        #expect(h.coordinator.workerCount == 1)
    }

    @Test("drainAll asks every worker to leave")
    func drainAll() {
        var h = started()
        h.send(.ready(stage: "profile", credit: 1), from: "a")
        h.send(.ready(stage: "dispatch", credit: 1), from: "b")
        h.coordinator.drainAll()
        let effects = h.coordinator.takeEffects()
        #expect(effects.contains(.send("a", .drain)) && effects.contains(.send("b", .drain)))
    }

    @Test("while closing, a worker the coordinator does not know (presumed dead, or late) is told DRAIN, not RESET or work")
    func closingDrainsStrangers() {
        var h = started()
        h.send(.ready(stage: "profile", credit: 1), from: "a")
        h.coordinator.drainAll()
        _ = h.coordinator.takeEffects()
        #expect(h.coordinator.isClosing)
        let heartbeat = h.send(.heartbeat, from: "presumed-dead")
        #expect(heartbeat.contains(.drain, to: "presumed-dead") && !heartbeat.contains(.reset, to: "presumed-dead"))
        #expect(h.send(.ready(stage: "score", credit: 4), from: "late").contains(.drain, to: "late"))
        #expect(h.coordinator.workerCount == 1)
    }

    @Test("a worker joining mid-run gets pending work")
    func joinMidRun() {
        var h = started()
        h.send(.ready(stage: "profile", credit: 2), from: "a")
        for index in 0..<6 { h.send(.submit(requestID: "r\(index)", payload: Data()), from: "ingest") }
        #expect(h.coordinator.pendingCounts[0] == 4)
        let late = h.send(.ready(stage: "profile", credit: 10), from: "late").tasks(to: "late")
        #expect(late.count == 4)
    }

    @Test("window: the producer gets credit only while accepted − acknowledged < window")
    func window() throws {
        var h = CoordinatorHarness(WorkCoordinatorConfiguration(stages: ["profile"], window: 20))
        h.send(.hello(role: .consumer, credit: 1_000), from: "sink")
        let initial = h.send(.hello(role: .producer, credit: 0), from: "ingest").granted(to: "ingest")
        #expect(initial == 20)
        h.send(.ready(stage: "profile", credit: 100), from: "w")
        var tasks: [WireTask] = []
        var granted = 0
        for index in 0..<20 {
            let out = h.send(.submit(requestID: "r\(index)", payload: Data()), from: "ingest")
            tasks += out.tasks(to: "w")
            granted += out.granted(to: "ingest")
        }
        #expect(granted == 0 && h.coordinator.inFlightCount == 20)
        // The stage finishes work but the consumer has not acknowledged: still no credit.
        for task in tasks { granted += h.send(.done(taskID: task.taskID, payload: Data()), from: "w").granted(to: "ingest") }
        #expect(granted == 0)
        // Acks free the window. A producer with no credit left gets the first free slot at once;
        // after that credit comes back in batches of window/10 = 2 (fewer messages).
        #expect(h.send(.ack(requestID: "r0"), from: "sink").granted(to: "ingest") == 1)
        #expect(h.send(.ack(requestID: "r1"), from: "sink").granted(to: "ingest") == 0)
        #expect(h.send(.ack(requestID: "r2"), from: "sink").granted(to: "ingest") == 2)
        #expect(h.coordinator.inFlightCount == 17)
    }

    @Test("submits of completed requests are answered alreadyDone; in-flight duplicates are ignored")
    func resumeDedupe() {
        var h = CoordinatorHarness(WorkCoordinatorConfiguration(stages: ["profile"], window: 10), completed: ["old"])
        h.send(.hello(role: .producer, credit: 0), from: "ingest")
        h.send(.hello(role: .consumer, credit: 10), from: "sink")
        #expect(h.send(.submit(requestID: "old", payload: Data()), from: "ingest").contains(.alreadyDone(requestID: "old"), to: "ingest"))
        h.send(.submit(requestID: "new", payload: Data()), from: "ingest")
        h.send(.submit(requestID: "new", payload: Data()), from: "ingest")
        #expect(h.coordinator.stats.accepted == 1 && h.coordinator.stats.duplicateSubmits == 1 && h.coordinator.stats.alreadyDone == 1)
        #expect(h.coordinator.inFlightCount == 1)
    }

    @Test("results are redelivered to a consumer that reconnects before acknowledging; consumer credit bounds them")
    func consumerRedelivery() {
        var h = CoordinatorHarness(WorkCoordinatorConfiguration(stages: [], window: 10))
        h.send(.hello(role: .consumer, credit: 2), from: "sink")
        h.send(.hello(role: .producer, credit: 0), from: "ingest")
        var delivered: [String] = []
        for index in 0..<3 { delivered += h.send(.submit(requestID: "r\(index)", payload: Data()), from: "ingest").results.map(\.requestID) }
        #expect(delivered == ["r0", "r1"])
        let again = h.send(.hello(role: .consumer, credit: 5), from: "sink2").results.map(\.requestID)
        #expect(again == ["r0", "r1", "r2"])
        // An ACK from the old consumer is refused (reset).
        #expect(h.send(.ack(requestID: "r0"), from: "sink").contains(.reset, to: "sink"))
        h.send(.ack(requestID: "r0"), from: "sink2")
        h.send(.ack(requestID: "r0"), from: "sink2")
        #expect(h.coordinator.stats.completed == 1)
    }

    @Test("unknown peers are told to reset; out-of-order messages are refused with a logged reason")
    func unknownPeers() {
        var h = started()
        #expect(h.send(.heartbeat, from: "stranger").contains(.reset, to: "stranger"))
        #expect(h.send(.submit(requestID: "x", payload: Data()), from: "stranger").contains(.reset, to: "stranger"))
        #expect(h.send(.endOfInput, from: "stranger").contains(.reset, to: "stranger"))
        h.send(.grant(credit: 5), from: "stranger")
        h.send(.ready(stage: "nope", credit: 1), from: "w")
        // A worker's ACK is out of order; a stranger's is held until it joins as consumer (never, here).
        h.send(.ready(stage: "profile", credit: 1), from: "p")
        #expect(h.send(.ack(requestID: "x"), from: "p").contains(.reset, to: "p"))
        h.send(.ack(requestID: "y"), from: "stranger")
        let warnings = h.log.compactMap { effect -> String? in if case .warning(let text) = effect { return text } else { return nil } }
        #expect(warnings.count == 5, "\(warnings)")
        #expect(warnings.contains { $0.contains("SUBMIT from a peer that is not the producer") })
        #expect(warnings.contains { $0.contains("ACK from a peer that is not the consumer") })
        #expect(h.coordinator.stats.refused == 5)
        #expect(!h.coordinator.isCompleted("x") && !h.coordinator.isCompleted("y"))
        #expect(h.coordinator.stats.announcementsHeld == 1)
        #expect(h.coordinator.workerCount == 1)
        h.send(.bye, from: "p")
        #expect(h.coordinator.workerCount == 0)
        #expect(h.coordinator.inFlightCount == 0, "nothing the stranger sent was accepted")
    }

    @Test("a worker claiming more credit than the bound is leased only up to it")
    func creditIsBounded() {
        var h = CoordinatorHarness(WorkCoordinatorConfiguration(stages: ["profile"], window: 100, maxWorkerCredit: 4))
        h.send(.hello(role: .consumer, credit: 10), from: "sink")
        h.send(.hello(role: .producer, credit: 0), from: "ingest")
        for index in 0..<20 { h.send(.submit(requestID: "r\(index)", payload: payload("p")), from: "ingest") }
        let leased = h.send(.ready(stage: "profile", credit: 1_000_000), from: "greedy").tasks(to: "greedy")
        #expect(leased.count == 4)
        #expect(h.coordinator.leasedCount("greedy") == 4)
        #expect(h.log.contains { if case .warning(let text) = $0 { return text.contains("capped") } else { return false } })
    }

    @Test("heartbeats go to every worker once per interval")
    func heartbeats() {
        var h = started()
        h.send(.ready(stage: "profile", credit: 1), from: "a")
        let first = h.advance(by: 500)
        #expect(first.contains(.heartbeat, to: "a"))
        #expect(!h.advance(by: 100).contains(.heartbeat, to: "a"))
        h.send(.heartbeat, from: "a")
        #expect(h.advance(by: 400).contains(.heartbeat, to: "a"))
    }

    @Test("randomised run with worker deaths: every request ends exactly once")
    func randomisedExactlyOnce() {
        var sim = Simulation(seed: 7)
        sim.run(total: 2_000)
        #expect(sim.results.count == 2_000)
        #expect(sim.results.values.allSatisfy { $0 == 1 })
        #expect(sim.h.coordinator.inFlightCount == 0)
        #expect(sim.h.coordinator.stats.workersLost > 0)
        #expect(sim.h.coordinator.stats.exhausted == 0)
    }
}

/// A deterministic in-memory pipeline: workers answer in random order, some are killed (vanish
/// with their leases) and replaced; the producer respects its grants, the consumer acknowledges.
struct Simulation {
    var generator: SplitMix64
    var h = CoordinatorHarness(WorkCoordinatorConfiguration(stages: ["a", "b", "c"], maxAttempts: 50, leaseMillis: 5_000,
                                                         workerTimeoutMillis: 1_000, window: 64))
    var workers: [String: (stage: String, held: [WireTask])] = [:]
    var nextWorker = 0
    var credit = 0
    var results: [String: Int] = [:]
    var queue: [(String, WireMessage)] = []

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    mutating func route() {
        while !queue.isEmpty {
            let (peer, message) = queue.removeFirst()
            switch message {
            case .task(let task): workers[peer]?.held.append(task)
            case .grant(let more): credit += Int(more)
            case .result(let result):
                results[result.requestID, default: 0] += 1
                queue += h.send(.ack(requestID: result.requestID), from: "sink")
            default: break
            }
        }
    }

    mutating func join(_ stage: String) {
        nextWorker += 1
        let name = "w\(nextWorker)"
        workers[name] = (stage, [])
        queue += h.send(.ready(stage: stage, credit: 4), from: name)
    }

    /// Lets time pass; live workers keep heartbeating.
    mutating func pass(_ millis: UInt64) {
        for name in workers.keys.sorted() { queue += h.send(.heartbeat, from: name) }
        queue += h.advance(by: millis)
    }

    mutating func run(total: Int) {
        queue += h.send(.hello(role: .consumer, credit: 16), from: "sink")
        queue += h.send(.hello(role: .producer, credit: 0), from: "ingest")
        for stage in ["a", "b", "c", "a", "b", "c"] { join(stage) }
        var submitted = 0
        var steps = 0
        while results.count < total && steps < 500_000 {
            steps += 1
            route()
            if submitted < total && credit > 0 {
                credit -= 1
                queue += h.send(.submit(requestID: "r\(submitted)", payload: Data()), from: "ingest")
                submitted += 1
                continue
            }
            let roll = generator.next() % 1_000
            let names = workers.keys.sorted()
            if roll < 5, let victim = names.randomElement(using: &generator), let stage = workers[victim]?.stage {
                workers[victim] = nil  // kill -9
                pass(600)
                pass(600)
                join(stage)
            } else if let name = names.randomElement(using: &generator), let task = workers[name]?.held.first {
                workers[name]?.held.removeFirst()
                queue += h.send(.done(taskID: task.taskID, payload: Data()), from: name)
            } else {
                pass(10)
            }
        }
        if submitted == total { queue += h.send(.endOfInput, from: "ingest") }
        route()
    }
}


@Suite("Work protocol: the sink's own records decide what is done (either mode, retries)")
struct WorkProtocolSinkRecordsTests {
    static let gated = WorkCoordinatorConfiguration(stages: ["profile"], window: 10, inputWaitsForConsumer: true)

    @Test("input waits for a consumer; the records it announces before its HELLO are never submitted again")
    func announcedRecordsAreNotSentAgain() throws {
        var h = CoordinatorHarness(Self.gated)
        h.send(.ready(stage: "profile", credit: 10), from: "p")
        #expect(h.send(.hello(role: .producer, credit: 0), from: "ingest").granted(to: "ingest") == 0)
        // The sink holds r0 and r1 from an earlier run (written by any process): ACKs, then HELLO.
        h.send(.ack(requestID: "r0"), from: "sink")
        h.send(.ack(requestID: "r1"), from: "sink")
        #expect(h.send(.hello(role: .consumer, credit: 10), from: "sink").granted(to: "ingest") == 10)
        #expect(h.coordinator.stats.announcedCompleted == 2 && h.journaledCompleted == ["r0", "r1"])
        var sent: [String] = []
        var skipped: [String] = []
        for id in ["r0", "r1", "r2"] {
            for (_, message) in h.send(.submit(requestID: id, payload: Data()), from: "ingest") {
                if case .task(let task) = message { sent.append(task.requestID) }
                if case .alreadyDone(let done) = message { skipped.append(done) }
            }
        }
        #expect(sent == ["r2"] && skipped == ["r0", "r1"])
    }

    @Test("what a peer announces counts only once it joins as consumer: a stranger's ACKs never skip a line")
    func announcementsWaitForTheConsumerHello() throws {
        var h = CoordinatorHarness(WorkCoordinatorConfiguration(stages: ["profile"], window: 10), completed: ["r9"])
        h.send(.ready(stage: "profile", credit: 10), from: "p")
        h.send(.hello(role: .producer, credit: 0), from: "ingest")
        h.send(.hello(role: .consumer, credit: 10), from: "sink")
        // An admitted peer that never joins says it holds r0 and reopens r9: neither counts.
        h.send(.ack(requestID: "r0"), from: "stranger")
        h.send(.reopen(requestID: "r9"), from: "stranger")
        #expect(h.coordinator.stats.announcementsHeld == 2 && h.coordinator.stats.announcedCompleted == 0)
        #expect(h.send(.submit(requestID: "r0", payload: Data()), from: "ingest").tasks(to: "p").count == 1)
        #expect(h.send(.submit(requestID: "r9", payload: Data()), from: "ingest").contains(.alreadyDone(requestID: "r9"), to: "ingest"))
        // The producer and the workers never announce: out of order.
        #expect(h.send(.reopen(requestID: "r9"), from: "ingest").contains(.reset, to: "ingest"))
        // A second sink joining applies what it said, in order, at its HELLO.
        h.send(.ack(requestID: "r5"), from: "sink2")
        #expect(!h.coordinator.isCompleted("r5"))
        h.send(.hello(role: .consumer, credit: 10), from: "sink2")
        #expect(h.coordinator.isCompleted("r5") && h.coordinator.stats.announcementsHeld == 2)
    }

    @Test("REOPEN lets a completed request be submitted again (a failed line retried)")
    func reopenedRequestsRunAgain() throws {
        var h = CoordinatorHarness(Self.gated, completed: ["r0", "r1"])
        h.send(.ready(stage: "profile", credit: 10), from: "p")
        h.send(.hello(role: .producer, credit: 0), from: "ingest")
        h.send(.reopen(requestID: "r1"), from: "sink")
        h.send(.reopen(requestID: "never-done"), from: "sink")
        h.send(.hello(role: .consumer, credit: 10), from: "sink")
        #expect(h.coordinator.stats.reopened == 1)
        #expect(h.send(.submit(requestID: "r0", payload: Data()), from: "ingest").contains(.alreadyDone(requestID: "r0"), to: "ingest"))
        let task = try #require(h.send(.submit(requestID: "r1", payload: Data()), from: "ingest").tasks(to: "p").first)
        #expect(task.requestID == "r1")
        let result = try #require(h.send(.done(taskID: task.taskID, payload: payload("new")), from: "p").results.first)
        #expect(result.requestID == "r1")
        h.send(.ack(requestID: "r1"), from: "sink")
        #expect(h.coordinator.isCompleted("r1") && h.coordinator.stats.completed == 1)
    }
}

@Suite("Work protocol: a run whose every line was done before")
struct WorkProtocolAllDoneTests {
    @Test("FINISHED waits for the consumer: a rerun with nothing left to do still ends the sink")
    func finishedWaitsForTheConsumer() {
        var h = CoordinatorHarness(WorkProtocolCoordinatorTests.twoStages)
        h.send(.hello(role: .producer, credit: 0), from: "ingest")
        h.send(.endOfInput, from: "ingest")
        // Nothing in flight and input ended, but no consumer yet: not finished (the server would stop under the sink).
        #expect(!h.coordinator.isFinished)
        let joined = h.send(.hello(role: .consumer, credit: 10), from: "sink")
        #expect(joined.contains(.finished, to: "sink") && joined.contains(.finished, to: "ingest"))
        #expect(h.coordinator.isFinished)
        // A consumer that joins again after the end is told again.
        #expect(h.send(.hello(role: .consumer, credit: 10), from: "sink").contains(.finished, to: "sink"))
    }
}
