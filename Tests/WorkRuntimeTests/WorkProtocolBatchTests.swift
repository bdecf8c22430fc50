import Foundation
import Logging
import Testing
import Wire
@testable import WorkProtocol
import WorkProtocolTestSupport
import WorkRuntime
import ZeroMQ

/// Batch frames (wire version 2) through the coordinator: the rules hold per task, not per frame.
@Suite("Work protocol: batch frames")
struct WorkProtocolBatchTests {
    func started(_ configuration: WorkCoordinatorConfiguration) -> CoordinatorHarness {
        var harness = CoordinatorHarness(configuration)
        harness.send(.hello(role: .consumer, credit: 1_000), from: "sink")
        harness.send(.hello(role: .producer, credit: 0), from: "ingest")
        return harness
    }

    @Test("lease expiry of one task in a batch requeues only that task; a late DONE inside a batch is ignored")
    func leaseExpiryInsideBatch() throws {
        var h = started(WorkCoordinatorConfiguration(stages: ["profile"], maxAttempts: 3, leaseMillis: 1_000,
                                                     workerTimeoutMillis: 100_000, window: 10))
        h.send(.ready(stage: "profile", credit: 3), from: "p")
        let submits = (1...3).map { WireMessage.submit(requestID: "r\($0)", payload: payload("in\($0)")) }
        let leased = try h.sendFrame(WireCodec.encode(batch: submits), from: "ingest").tasks(to: "p")
        #expect(leased.map(\.requestID) == ["r1", "r2", "r3"])
        h.advance(by: 900)
        // One frame renews two of the three leases.
        try h.sendFrame(WireCodec.encode(batch: [.extend(taskID: leased[0].taskID), .extend(taskID: leased[1].taskID)]), from: "p")
        let expired = h.advance(by: 200).tasks(to: "p")
        #expect(expired.map(\.requestID) == ["r3"] && expired.first?.attempt == 2)
        #expect(h.coordinator.stats.requeued == 1 && h.coordinator.leasedCount("p") == 3)
        let again = try #require(expired.first)
        // The worker answers everything in one frame, the expired lease included: that DONE is stale.
        let answers: [WireMessage] = [
            .done(taskID: leased[0].taskID, payload: payload("out1")),
            .done(taskID: leased[2].taskID, payload: payload("late")),
            .done(taskID: leased[1].taskID, payload: payload("out2")),
            .done(taskID: again.taskID, payload: payload("out3")),
        ]
        let results = try h.sendFrame(WireCodec.encode(batch: answers), from: "p").results
        #expect(results.map(\.requestID) == ["r1", "r2", "r3"])
        #expect(results.map(\.payload) == [payload("out1"), payload("out2"), payload("out3")])
        #expect(results.last?.attempts == 2)
        #expect(h.coordinator.stats.staleIgnored == 1 && h.coordinator.leasedCount("p") == 0)
    }

    @Test("ACKs in one frame complete each request once; a repeated ACK inside the frame is stale")
    func ackBatch() throws {
        var h = started(WorkCoordinatorConfiguration(stages: [], window: 10))
        let delivered = try h.sendFrame(WireCodec.encode(batch: (0..<4).map { .submit(requestID: "r\($0)", payload: Data()) }), from: "ingest")
        #expect(delivered.results.count == 4)
        try h.sendFrame(WireCodec.encode(batch: [.ack(requestID: "r0"), .ack(requestID: "r1"), .ack(requestID: "r0"), .ack(requestID: "r2")]), from: "sink")
        #expect(h.coordinator.stats.completed == 3 && h.coordinator.stats.staleIgnored == 1)
        #expect(h.journaledCompleted == ["r0", "r1", "r2"])
    }

    @Test("SUBMIT and ACK read from frame bytes: long and non-numeric IDs, duplicates in flight, IDs done earlier, slots reused")
    func submitAndAckFromFrameBytes() throws {
        let long = String(repeating: "9f3b", count: 16) + ":17"  // not a small string: stored on the heap
        var h = CoordinatorHarness(WorkCoordinatorConfiguration(stages: [], window: 100), completed: ["old:5", "plain"])
        h.send(.hello(role: .consumer, credit: 1_000), from: "sink")
        h.send(.hello(role: .producer, credit: 0), from: "ingest")
        let ids = [long, "plain", "old:5", "no-digits", long, "old:6", "ü:1"]
        let sent = try h.sendFrame(WireCodec.encode(batch: ids.map { .submit(requestID: $0, payload: payload($0)) }), from: "ingest")
        #expect(sent.results.map(\.requestID) == [long, "no-digits", "old:6", "ü:1"])
        #expect(sent.results.map(\.payload) == [payload(long), payload("no-digits"), payload("old:6"), payload("ü:1")])
        let skipped = sent.compactMap { _, message -> String? in
            if case .alreadyDone(let id) = message { return id }
            return nil
        }
        #expect(skipped == ["plain", "old:5"])
        #expect(h.coordinator.stats.duplicateSubmits == 1 && h.coordinator.inFlightCount == 4)
        // An ACK for a request never submitted here is the sink saying it holds it (an earlier run wrote it).
        try h.sendFrame(WireCodec.encode(batch: [.ack(requestID: "no-digits"), .ack(requestID: long), .ack(requestID: "never")]), from: "sink")
        #expect(h.coordinator.stats.completed == 2 && h.coordinator.stats.announcedCompleted == 1 && h.coordinator.inFlightCount == 2)
        #expect(h.journaledCompleted == ["no-digits", long, "never"])
        #expect(h.coordinator.isCompleted(long) && h.coordinator.isCompleted("no-digits") && !h.coordinator.isCompleted("old:6"))
        // Freed slots are reused by new requests; the finished IDs are answered alreadyDone from bytes.
        let again = try h.sendFrame(WireCodec.encode(batch: [.submit(requestID: long, payload: Data()), .submit(requestID: "x:1", payload: Data()),
                                                             .submit(requestID: "x:2", payload: Data())]), from: "ingest")
        #expect(again.results.map(\.requestID) == ["x:1", "x:2"] && h.coordinator.stats.alreadyDone == 3)
        try h.sendFrame(WireCodec.encode(batch: ["old:6", "ü:1", "x:1", "x:2"].map { .ack(requestID: $0) }), from: "sink")
        #expect(h.coordinator.inFlightCount == 0 && h.coordinator.stats.completed == 6)
    }

    @Test("outgoing messages are grouped into one frame per peer, in order, and capped")
    func outgoingGrouping() throws {
        var frames = OutgoingFrames()
        let a = PeerKey(raw: 1)
        let b = PeerKey(raw: 2)
        let full1 = frames.append(.heartbeat, to: b)
        let full2 = frames.append(.grant(credit: 5), to: a)
        let full3 = frames.append(.drain, to: b)
        #expect(!full1 && !full2 && !full3)
        #expect(frames.waitingPeers == [b, a])
        let bFrame = frames.withFrame(for: b, empty: [UInt8]()) { Array($0) }
        let aFrame = frames.withFrame(for: a, empty: [UInt8]()) { Array($0) }
        #expect(try WireCodec.decodeAll(bFrame) == [.heartbeat, .drain])
        #expect(aFrame == WireCodec.encode(.grant(credit: 5)))  // a lone message stays a plain frame
        let nothingLeft = frames.withFrame(for: a, empty: [UInt8]()) { Array($0) }
        #expect(nothingLeft.isEmpty)
        frames.clearWaiting()
        #expect(frames.waitingPeers.isEmpty)
        var full = false
        for _ in 0..<OutgoingFrames.maxMessagesPerFrame { full = frames.append(.heartbeat, to: a) }
        #expect(full)
    }

    @Test("peer keys: libzmq's 5-byte identities pack into the key; long routing IDs use the table; both round-trip")
    func peerKeys() {
        var keys = PeerKeys()
        let short: [UInt8] = [0, 0x12, 0x34, 0x56, 0x78]
        let long = Array("a-worker-with-a-long-id".utf8)
        let shortKey = short.withUnsafeBytes { keys.key(for: $0) }
        let longKey = long.withUnsafeBytes { keys.key(for: $0) }
        let shortAgain = short.withUnsafeBytes { keys.key(for: $0) }
        let longAgain = long.withUnsafeBytes { keys.key(for: $0) }
        #expect(shortAgain == shortKey && longAgain == longKey && shortKey != longKey)
        let one = [UInt8(1)].withUnsafeBytes { keys.key(for: $0) }
        let oneZero = [UInt8(1), 0].withUnsafeBytes { keys.key(for: $0) }
        #expect(one != oneZero)
        #expect(keys.withIdentity(shortKey) { $0.map(Array.init) } == short)
        #expect(keys.withIdentity(longKey) { $0.map(Array.init) } == long)
        #expect(keys.withIdentity(PeerKey(raw: 1 << 63 | 99)) { $0 == nil })
    }

    @Test("over ZeroMQ, a worker with credit for many tasks gets them in few frames and may answer in one",
          .timeLimit(.minutes(2)))
    func batchesOverZeroMQ() async throws {
        var logger = Logger(label: "test.batch")
        logger.logLevel = .warning
        let context = try Context()
        let work = WorkCoordinatorConfiguration(stages: ["work"], heartbeatIntervalMillis: 100, window: 100)
        let server = try CoordinatorServer(configuration: .init(endpoint: "inproc://batch-frames-test", work: work),
                                           context: context, logger: logger)
        async let served = server.run()
        let bound = try #require(await Task.detached { server.waitUntilBound() }.value)
        let count = 20
        // A hand-written worker with a long routing ID (the coordinator's table path for identities), on
        // its own thread (a socket belongs to one thread).
        let rawWorker: Task<Result<(tasks: Int, frames: Int), any Error>, Never> = Task {
            await withCheckedContinuation { continuation in
                Thread {
                    continuation.resume(returning: Result { try Self.rawWorker(context: context, endpoint: bound, expecting: count) })
                }.start()
            }
        }
        let producer = WorkProducer(configuration: .init(endpoint: bound, heartbeatIntervalMillis: 100), context: context, logger: logger)
        let consumer = WorkConsumer(configuration: .init(endpoint: bound, credit: 64, heartbeatIntervalMillis: 100), context: context, logger: logger)
        let received = ReceivedIDs()
        async let consumed = consumer.run(write: { received.add($0.requestID) }, flush: {})
        async let produced = producer.run {
            var index = 0
            return AnyIterator<WorkItem> {
                guard index < count else { return nil }
                defer { index += 1 }
                return WorkItem(requestID: "b-\(index)", payload: Data("x".utf8))
            }
        }
        let (tasks, frames) = try await rawWorker.value.get()
        #expect(tasks == count)
        #expect(frames < count)  // typically 1: the producer's submits arrive as one frame
        let (_, stats) = try await served
        _ = try await produced
        _ = try await consumed
        #expect(stats.completed == count)
        #expect(received.sorted == (0..<count).map { "b-\($0)" }.sorted())
    }

    @Test("inline handlers (started on the worker's loop thread), quick or suspending: every request once",
          .timeLimit(.minutes(2)))
    func inlineHandlers() async throws {
        var logger = Logger(label: "test.inline")
        logger.logLevel = .warning
        let context = try Context()
        let work = WorkCoordinatorConfiguration(stages: ["quick", "suspending"], heartbeatIntervalMillis: 100, window: 200)
        let server = try CoordinatorServer(configuration: .init(endpoint: "inproc://inline-handlers-test", work: work),
                                           context: context, logger: logger)
        async let served = server.run()
        let bound = try #require(await Task.detached { server.waitUntilBound() }.value)
        let quick = try StageWorker(configuration: .init(endpoint: bound, stage: "quick", credit: 64, heartbeatIntervalMillis: 100,
                                                         inlineHandlers: true), context: context, logger: logger) { _, payload in
            payload + Data("|q".utf8)
        }
        let suspending = try StageWorker(configuration: .init(endpoint: bound, stage: "suspending", credit: 64, heartbeatIntervalMillis: 100,
                                                              inlineHandlers: true), context: context, logger: logger) { task, payload in
            try await Task.sleep(for: .milliseconds(1))
            if task.requestID == "i-7" { throw StageFailure.permanent("seven") }
            return payload + Data("|s".utf8)
        }
        let count = 500
        let producer = WorkProducer(configuration: .init(endpoint: bound, heartbeatIntervalMillis: 100), context: context, logger: logger)
        let consumer = WorkConsumer(configuration: .init(endpoint: bound, credit: 64, heartbeatIntervalMillis: 100), context: context, logger: logger)
        let received = ReceivedIDs()
        async let consumed = consumer.run(write: { result in
            let expected = result.requestID == "i-7" ? Data("x|q".utf8) : Data("x|q|s".utf8)
            if result.payload == expected { received.add(result.requestID) }
        }, flush: {})
        async let produced = producer.run {
            var index = 0
            return AnyIterator<WorkItem> {
                guard index < count else { return nil }
                defer { index += 1 }
                return WorkItem(requestID: "i-\(index)", payload: Data("x".utf8))
            }
        }
        let running = [quick, suspending].map { worker in Task { try await worker.run() } }
        let (_, stats) = try await served
        _ = try await produced
        _ = try await consumed
        for task in running { try await task.value }
        #expect(stats.completed == count && stats.failed == 1)
        #expect(received.sorted == (0..<count).map { "i-\($0)" }.sorted())
        #expect(quick.stats.done == count && suspending.stats.done == count - 1 && suspending.stats.failed == 1)
    }

    @Test("synchronous handlers (called on the worker's loop, no task per call): every request once; permanent FAIL ends it, a retryable error is retried",
          .timeLimit(.minutes(2)))
    func synchronousHandlers() async throws {
        var logger = Logger(label: "test.synchronous")
        logger.logLevel = .warning
        let context = try Context()
        let work = WorkCoordinatorConfiguration(stages: ["first", "second"], heartbeatIntervalMillis: 100, window: 100)
        let server = try CoordinatorServer(configuration: .init(endpoint: "tcp://127.0.0.1:*", work: work), context: context, logger: logger)
        async let served = server.run()
        let bound = try #require(await Task.detached { server.waitUntilBound() }.value)
        struct Flaky: Error {}
        let workers = try ["first", "first", "second"].map { stage in
            try StageWorker(configuration: .init(endpoint: bound, stage: stage, credit: 16, heartbeatIntervalMillis: 100),
                            context: context, logger: logger, synchronousHandler: { task, payload in
                if task.stage == "second" && task.requestID == "s-3" { throw StageFailure.permanent("three") }
                if task.stage == "first" && task.requestID == "s-5" && task.attempt == 1 { throw Flaky() }
                return payload + Data("|\(task.stage)".utf8)
            })
        }
        let count = 1_000
        let producer = WorkProducer(configuration: .init(endpoint: bound, heartbeatIntervalMillis: 100), context: context, logger: logger)
        let consumer = WorkConsumer(configuration: .init(endpoint: bound, credit: 64, heartbeatIntervalMillis: 100), context: context, logger: logger)
        let received = ReceivedIDs()
        async let consumed = consumer.run(write: { result in
            let expected = result.requestID == "s-3" ? Data("x|first".utf8) : Data("x|first|second".utf8)
            let status: WireResult.Status = result.requestID == "s-3" ? .failed : .completed
            if result.payload == expected && result.status == status { received.add(result.requestID) }
        }, flush: {})
        async let produced = producer.run {
            var index = 0
            return AnyIterator<WorkItem> {
                guard index < count else { return nil }
                defer { index += 1 }
                return WorkItem(requestID: "s-\(index)", payload: Data("x".utf8))
            }
        }
        let running = workers.map { worker in Task { try await worker.run() } }
        let (_, stats) = try await served
        _ = try await produced
        _ = try await consumed
        for task in running { try await task.value }
        #expect(stats.completed == count && stats.failed == 1 && stats.requeued == 1)
        #expect(received.sorted == (0..<count).map { "s-\($0)" }.sorted())
        #expect(workers[0].stats.done + workers[1].stats.done == count)
        #expect(workers[0].stats.failed + workers[1].stats.failed == 1)
        #expect(workers[2].stats.done == count - 1 && workers[2].stats.failed == 1)
    }

    /// Joins with credit for `count` tasks, collects them, answers all DONEs in one batch frame.
    /// Returns the tasks received and how many frames carried them.
    static func rawWorker(context: Context, endpoint: String, expecting count: Int) throws -> (tasks: Int, frames: Int) {
        let worker = try context.socket(.dealer, options: SocketOptions(routingID: Array("raw-worker-with-long-id".utf8)))
        defer { worker.close() }
        try worker.connect(endpoint)
        try worker.send(WireCodec.encode(.ready(stage: "work", credit: UInt32(count))))
        var tasks: [WireTask] = []
        var frames = 0
        let message = Message()
        while tasks.count < count {
            try worker.receive(into: message, timeout: .seconds(30))
            var decoded: [WireMessage] = []
            try message.withUnsafeBytes { (raw) throws(WireError) in try WireCodec.decodeAll(raw, into: &decoded) }
            let leased = decoded.compactMap { message -> WireTask? in
                if case .task(let task) = message { return task }
                return nil
            }
            if !leased.isEmpty { frames += 1 }
            tasks += leased
        }
        try worker.send(WireCodec.encode(batch: tasks.map { .done(taskID: $0.taskID, payload: $0.payload) }))
        return (tasks.count, frames)
    }
}

final class ReceivedIDs: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [String] = []
    func add(_ id: String) { lock.withLock { ids.append(id) } }
    var sorted: [String] { lock.withLock { ids.sorted() } }
}

extension WireCodec {
    static func decodeAll(_ frame: [UInt8]) throws -> [WireMessage] {
        var messages: [WireMessage] = []
        try decodeAll(frame, into: &messages)
        return messages
    }
}
