import Dispatch
import Foundation
import Logging
import Synchronization
import Wire
import WorkProtocol
import ZeroMQ

/// The consumer side (sink): receives each request's final outcome, writes it durably through
/// the caller's callbacks, then acknowledges it so the coordinator journals it as completed.
///
/// Delivery is at least once (a result can come again after a coordinator or consumer restart);
/// the `write` callback must skip request IDs it already wrote, which makes the output exactly once.
public final class WorkConsumer: Sendable {
    public struct Configuration: Sendable {
        public var endpoint: String
        /// Results held unacknowledged at once; bigger batches mean fewer flushes. Default 256.
        public var credit: UInt32
        /// Idle heartbeat period, by which a restarted coordinator is noticed. Default 500 ms.
        public var heartbeatIntervalMillis: UInt64
        /// Results are held up to this long for more to share their flush (a group commit: one fsync and
        /// one ACK frame for them all, instead of one per loop pass); a full batch (`credit`) or the end
        /// of the run flushes at once. 0: flush every pass. Default 10 ms.
        public var flushDelayMillis: UInt64
        /// What the consumer holds from earlier runs, said before every HELLO (first join and after a
        /// coordinator restart): records it has (ACK, never sent again) and failed ones it will replace
        /// (REOPEN, sent again). Default: nothing.
        public var announce: @Sendable () -> Announcement

        /// CURVE (client role) or plain, and the largest frame accepted. Default plain.
        public var security: LinkSecurity

        public init(endpoint: String, credit: UInt32 = 256, heartbeatIntervalMillis: UInt64 = 500, flushDelayMillis: UInt64 = 10,
                    security: LinkSecurity = .plain,
                    announce: @escaping @Sendable () -> Announcement = { Announcement() }) {
            self.endpoint = endpoint
            self.credit = credit
            self.heartbeatIntervalMillis = heartbeatIntervalMillis
            self.flushDelayMillis = flushDelayMillis
            self.security = security
            self.announce = announce
        }
    }

    /// Request IDs a consumer holds records for from earlier runs.
    public struct Announcement: Sendable, Equatable {
        /// Written durably: done, whichever process wrote them.
        public var written: [String]
        /// Written as failures to be retried: their new records will replace them.
        public var reopened: [String]

        public init(written: [String] = [], reopened: [String] = []) {
            self.written = written
            self.reopened = reopened
        }
    }

    public struct Stats: Sendable, Equatable {
        /// Results received (including redeliveries).
        public var received = 0
        /// Flushes (each followed by the batch's ACKs).
        public var batches = 0
    }

    /// Called once per received result, on the consumer's queue. `payload` is a slice of the frame
    /// the result came in (its indices need not start at 0).
    public typealias Write = @Sendable (WireResult) throws -> Void
    /// Makes the writes so far durable (fsync); called before their ACKs are sent.
    public typealias Flush = @Sendable () throws -> Void

    public let configuration: Configuration
    private let context: Context
    private let logger: Logger
    private let queue = DispatchQueue(label: "switchyard.consumer")
    private let stopRequested = Atomic<Bool>(false)
    private let stopWhenIdle = Atomic<Bool>(false)

    public init(configuration: Configuration, context: Context, logger: Logger) {
        self.configuration = configuration
        self.context = context
        self.logger = logger
    }

    /// Stops `run` at its next loop turn. Any thread.
    public func stop() { stopRequested.store(true, ordering: .releasing) }

    /// Stops `run` once a heartbeat period passes with no result arriving (graceful shutdown: what
    /// workers finished while draining is still written and acknowledged). Any thread.
    public func stopWhenQuiet() { stopWhenIdle.store(true, ordering: .releasing) }

    /// Receives results until the coordinator reports the run FINISHED.
    public func run(write: @escaping Write, flush: @escaping Flush) async throws(WorkRuntimeError) -> Stats {
        let result: Result<Stats, WorkRuntimeError> = await withCheckedContinuation { continuation in
            queue.async {
                var stats = Stats()
                do throws(WorkRuntimeError) {
                    try self.loop(write: write, flush: flush, stats: &stats)
                    continuation.resume(returning: .success(stats))
                } catch .zeroMQ(_, .timeout) {
                    // Nothing to send to: the coordinator has closed (it ended the run, or is gone for good). A
                    // blocking send would wait forever there and keep the process from exiting; what was not
                    // acknowledged is announced again by the next consumer (it reads the output).
                    self.logger.info("coordinator unreachable (no peer to send to); leaving", metadata: ["received": "\(stats.received)"])
                    continuation.resume(returning: .success(stats))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    /// Says what the consumer already holds, then HELLO: on one connection the coordinator reads them in
    /// order, so they are known before the HELLO that lets ingest submit (`inputWaitsForConsumer`).
    private func join(_ outbox: inout DealerOutbox, on socket: Socket) throws(WorkRuntimeError) {
        let announcement = configuration.announce()
        for requestID in announcement.written { try outbox.send(.ack(requestID: requestID), on: socket) }
        for requestID in announcement.reopened { try outbox.send(.reopen(requestID: requestID), on: socket) }
        if !announcement.written.isEmpty || !announcement.reopened.isEmpty {
            logger.info("told the coordinator what the output already holds", metadata: [
                "written": "\(announcement.written.count)", "retrying": "\(announcement.reopened.count)",
            ])
        }
        try outbox.send(.hello(role: .consumer, credit: configuration.credit), on: socket)
        try outbox.flush(on: socket)
    }

    private func loop(write: Write, flush: Flush, stats: inout Stats) throws(WorkRuntimeError) {
        let options = try configuration.security.applied(
            to: SocketOptions(sendHighWaterMark: 0, receiveHighWaterMark: 0, reconnectInterval: .milliseconds(100),
                              reconnectIntervalMax: .seconds(2)),
            context: context, zapDomain: "")
        let socket = try zmq("create DEALER") { () throws(ZeroMQError) in try context.socket(.dealer, options: options) }
        defer { socket.close() }
        var watch = try LinkWatch.make(socket, endpoint: configuration.endpoint, peerName: "coordinator", isClient: true, logger: logger)
        defer { watch?.close() }
        try zmq("connect \(configuration.endpoint)") { () throws(ZeroMQError) in try socket.connect(configuration.endpoint) }
        // A flushed batch's ACKs leave as one frame. Never blocks: HWM is unlimited, so a send fails only
        // when the DEALER has no peer at all (`.timeout`, handled in `run`).
        var outbox = DealerOutbox(flags: .dontWait)
        try join(&outbox, on: socket)
        var inbox = CoordinatorInbox()
        var batch: [String] = []
        var lastSent = monotonicMillis()
        var batchStarted = lastSent

        while !stopRequested.load(ordering: .acquiring) {
            var waited = true  // messages of an already received batch frame wait: do not block on the socket
            do {
                if !inbox.hasBuffered {
                    // Wait for the heartbeat, or only until a held batch is due for its flush.
                    var wait = configuration.heartbeatIntervalMillis
                    if !batch.isEmpty {
                        let due = batchStarted + configuration.flushDelayMillis
                        let now = monotonicMillis()
                        wait = min(wait, due > now ? due - now : 0)
                    }
                    waited = try socket.waitReadable(timeout: .milliseconds(Int64(wait)))
                }
            } catch {
                throw .zeroMQ(operation: "poll DEALER", error)
            }
            try watch?.check()
            // Quiet (no message within the wait) and nothing held back for its flush.
            let idle = !waited && batch.isEmpty
            if idle && stopWhenIdle.load(ordering: .acquiring) {
                logger.info("stopped before the run finished", metadata: ["received": "\(stats.received)"])
                return
            }
            if idle || monotonicMillis() - lastSent >= configuration.heartbeatIntervalMillis {
                try outbox.send(.heartbeat, on: socket)
                try outbox.flush(on: socket)
                lastSent = monotonicMillis()
            }
            var finished = false
            while batch.count < Int(configuration.credit),
                  let message = try inbox.next(from: socket, logger: logger) {
                switch message {
                case .result(let result):
                    stats.received += 1
                    do { try write(result) } catch { throw .consumerWrite("\(error)") }
                    if batch.isEmpty { batchStarted = monotonicMillis() }
                    batch.append(result.requestID)
                case .finished: finished = true
                case .reset:
                    logger.info("coordinator restarted: joining again (unacknowledged results come again)")
                    batch.removeAll()
                    try join(&outbox, on: socket)
                default: break
                }
            }
            let due = finished || batch.count >= Int(configuration.credit)
                || monotonicMillis() >= batchStarted + configuration.flushDelayMillis
            if !batch.isEmpty && due {
                do { try flush() } catch { throw .consumerWrite("\(error)") }
                for requestID in batch { try outbox.send(.ack(requestID: requestID), on: socket) }
                try outbox.flush(on: socket)
                stats.batches += 1
                batch.removeAll(keepingCapacity: true)
                lastSent = monotonicMillis()
            }
            if finished {
                logger.debug("consumer received the end of the run", metadata: ["received": "\(stats.received)"])
                return
            }
        }
        // Stopped with results held for their flush: make them durable and acknowledge them now.
        if !batch.isEmpty {
            do { try flush() } catch { throw .consumerWrite("\(error)") }
            for requestID in batch { try outbox.send(.ack(requestID: requestID), on: socket) }
            try outbox.flush(on: socket)
            stats.batches += 1
        }
        return
    }
}
