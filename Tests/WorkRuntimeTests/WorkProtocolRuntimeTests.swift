import Foundation
import Logging
import Testing
import Wire
import WorkProtocol
import WorkRuntime
import ZeroMQ

/// The transport runtime in one process: the same code over `inproc://` and `tcp://`.
@Suite("Work protocol: runtime over ZeroMQ", .serialized)
struct WorkProtocolRuntimeTests {
    final class Collected: @unchecked Sendable {
        let lock = NSLock()
        var results: [String: [WireResult]] = [:]
        var flushes = 0
        func add(_ result: WireResult) { lock.withLock { results[result.requestID, default: []].append(result) } }
        func flushed() { lock.withLock { flushes += 1 } }
    }

    @Test("coordinator, two stages of workers, producer and consumer: every request once, in stage order",
          arguments: ["inproc://work-runtime-test", "tcp://127.0.0.1:*"])
    func endToEnd(endpoint: String) async throws {
        var logger = Logger(label: "test.work")
        logger.logLevel = .warning
        let context = try Context()
        let work = WorkCoordinatorConfiguration(stages: ["profile", "dispatch"], heartbeatIntervalMillis: 100, window: 200)
        let server = try CoordinatorServer(configuration: .init(endpoint: endpoint, work: work), context: context, logger: logger)
        async let served = server.run()
        let bound = try #require(await Task.detached { server.waitUntilBound() }.value)
        let workers = try ["profile", "profile", "dispatch"].map { stage in
            try StageWorker(configuration: .init(endpoint: bound, stage: stage, credit: 8, heartbeatIntervalMillis: 100),
                            context: context, logger: logger) { task, payload in
                if task.requestID == "r-13" && task.stage == "dispatch" { throw StageFailure.permanent("no model fits") }
                return payload + Data("|\(task.stage)".utf8)
            }
        }
        let collected = Collected()
        let producer = WorkProducer(configuration: .init(endpoint: bound, heartbeatIntervalMillis: 100), context: context, logger: logger)
        let consumer = WorkConsumer(configuration: .init(endpoint: bound, credit: 32, heartbeatIntervalMillis: 100), context: context, logger: logger)
        let count = 2_000
        async let consumed = consumer.run(write: { collected.add($0) }, flush: { collected.flushed() })
        async let produced = producer.run {
            var index = 0
            return AnyIterator<WorkItem> {
                guard index < count else { return nil }
                defer { index += 1 }
                return WorkItem(requestID: "r-\(index)", payload: Data("in".utf8))
            }
        }
        let running = workers.map { worker in Task { try await worker.run() } }
        let (_, stats) = try await served
        let producerStats = try await produced
        _ = try await consumed
        for task in running { try await task.value }  // the coordinator drains its workers when the run is finished
        #expect(stats.completed == count && stats.failed == 1)
        #expect(producerStats.submitted == count)
        #expect(collected.results.count == count)
        #expect(collected.results.values.allSatisfy { $0.count == 1 })
        let ok = try #require(collected.results["r-0"]?.first)
        #expect(ok.status == .completed && ok.payload == Data("in|profile|dispatch".utf8))
        let failed = try #require(collected.results["r-13"]?.first)
        #expect(failed.status == .failed && failed.reason == "no model fits" && failed.payload == Data("in|profile".utf8))
        #expect(workers.map(\.stats.done).reduce(0, +) == 2 * count - 1)
    }

    @Test("producer and consumer leave when the coordinator's inproc socket closes under them, instead of blocking in a send",
          .timeLimit(.minutes(1)))
    func clientsLeaveWhenTheCoordinatorCloses() async throws {
        var logger = Logger(label: "test.closed-coordinator")
        logger.logLevel = .warning
        let context = try Context()
        let endpoint = "inproc://closed-coordinator-test"
        // A bare ROUTER stands for a coordinator that takes the HELLOs and then closes without a word (as
        // the embedded run's coordinator does once it has ended the run).
        let router = try context.socket(.router)
        try router.bind(endpoint)
        router.transfer(to: .nextUser)  // closed after an await, on whichever thread the test resumes
        let producer = WorkProducer(configuration: .init(endpoint: endpoint, heartbeatIntervalMillis: 50), context: context, logger: logger)
        let consumer = WorkConsumer(configuration: .init(endpoint: endpoint, credit: 8, heartbeatIntervalMillis: 50),
                                    context: context, logger: logger)
        async let produced = producer.run { AnyIterator<WorkItem> { nil } }
        async let consumed = consumer.run(write: { _ in }, flush: {})
        try await Task.sleep(for: .milliseconds(300))  // both connected and heartbeating
        router.close()
        // Before the fix, each blocked forever in zmq_send on its next heartbeat (the time limit fails it).
        let producerStats = try await produced
        let consumerStats = try await consumed
        #expect(producerStats.submitted == 0)
        #expect(consumerStats.received == 0)
    }
}
