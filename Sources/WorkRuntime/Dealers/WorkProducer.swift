import Dispatch
import Foundation
import Logging
import Synchronization
import Wire
import WorkProtocol
import ZeroMQ

/// The producer side (ingest): submits requests to the coordinator within the credit it is
/// granted, so a slow stage slows reading the input instead of growing memory.
///
/// Resume rule: whenever the coordinator answers RESET (it restarted and lost its state), the
/// producer starts again from the first item of `source`; the coordinator answers `alreadyDone`
/// for requests its journal has completed and ignores those still in flight, so nothing is lost
/// or written twice. `run` returns when the coordinator reports the run FINISHED.
public final class WorkProducer: Sendable {
    public struct Configuration: Sendable {
        /// The coordinator's endpoint.
        public var endpoint: String
        /// Idle heartbeat period, by which a restarted coordinator is noticed. Default 500 ms.
        public var heartbeatIntervalMillis: UInt64
        /// CURVE (client role) or plain, and the largest frame accepted. Default plain.
        public var security: LinkSecurity

        public init(endpoint: String, heartbeatIntervalMillis: UInt64 = 500, security: LinkSecurity = .plain) {
            self.endpoint = endpoint
            self.heartbeatIntervalMillis = heartbeatIntervalMillis
            self.security = security
        }
    }

    public struct Stats: Sendable, Equatable {
        /// SUBMITs sent (including resubmissions after a restart).
        public var submitted = 0
        /// Requests the coordinator reported done in an earlier run.
        public var alreadyDone = 0
        /// Times the producer started over after a RESET.
        public var restarts = 0
    }

    /// Makes a fresh iterator over the input from its start; called again after each RESET.
    public typealias Source = @Sendable () throws -> any IteratorProtocol<WorkItem>

    /// Most SUBMITs in one frame: big enough to amortise a ZeroMQ message, small enough that the
    /// coordinator starts leasing the first ones early.
    static let maxSubmitsPerFrame = 128

    public let configuration: Configuration
    private let context: Context
    private let logger: Logger
    private let queue = DispatchQueue(label: "switchyard.producer")
    private let stopRequested = Atomic<Bool>(false)

    public init(configuration: Configuration, context: Context, logger: Logger) {
        self.configuration = configuration
        self.context = context
        self.logger = logger
    }

    /// Stops `run` at its next loop turn (within a heartbeat period). Any thread.
    public func stop() { stopRequested.store(true, ordering: .releasing) }

    /// Submits everything `source` yields; returns when the run is finished.
    public func run(source: @escaping Source) async throws(WorkRuntimeError) -> Stats {
        let result: Result<Stats, WorkRuntimeError> = await withCheckedContinuation { continuation in
            queue.async {
                var stats = Stats()
                do throws(WorkRuntimeError) {
                    try self.loop(source, stats: &stats)
                    continuation.resume(returning: .success(stats))
                } catch .zeroMQ(_, .timeout) {
                    // Nothing to send to: the coordinator has closed (it ended the run, or is gone for good). A
                    // blocking send would wait forever there and keep the process from exiting.
                    self.logger.info("coordinator unreachable (no peer to send to); leaving")
                    continuation.resume(returning: .success(stats))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    private func loop(_ source: Source, stats: inout Stats) throws(WorkRuntimeError) {
        let options = try configuration.security.applied(
            to: SocketOptions(sendHighWaterMark: 0, receiveHighWaterMark: 0, reconnectInterval: .milliseconds(100),
                              reconnectIntervalMax: .seconds(2)),
            context: context, zapDomain: "")
        let socket = try zmq("create DEALER") { () throws(ZeroMQError) in try context.socket(.dealer, options: options) }
        defer { socket.close() }
        var watch = try LinkWatch.make(socket, endpoint: configuration.endpoint, peerName: "coordinator", isClient: true, logger: logger)
        defer { watch?.close() }
        try zmq("connect \(configuration.endpoint)") { () throws(ZeroMQError) in try socket.connect(configuration.endpoint) }
        // Submits of one turn leave as batch frames (a lone message as a plain frame). Never blocks: HWM is
        // unlimited, so a send fails only when the DEALER has no peer at all (`.timeout`, handled in `run`).
        var outbox = DealerOutbox(maxMessages: Self.maxSubmitsPerFrame, flags: .dontWait)
        func makeIterator() throws(WorkRuntimeError) -> any IteratorProtocol<WorkItem> {
            do { return try source() } catch { throw .producerInput("\(error)") }
        }

        var iterator = try makeIterator()
        var credit = 0
        var ended = false
        try outbox.send(.hello(role: .producer, credit: 0), on: socket)
        try outbox.flush(on: socket)
        var inbox = CoordinatorInbox()
        var lastSent = monotonicMillis()

        while !stopRequested.load(ordering: .acquiring) {
            if credit > 0 && !ended { lastSent = monotonicMillis() }
            while credit > 0 && !ended {
                if let item = iterator.next() {
                    try outbox.send(.submit(requestID: item.requestID, payload: item.payload), on: socket)
                    stats.submitted += 1
                    credit -= 1
                } else {
                    ended = true
                    try outbox.send(.endOfInput, on: socket)
                }
            }
            try outbox.flush(on: socket)
            var waited = true  // messages of an already received batch frame wait: do not block on the socket
            do {
                if !inbox.hasBuffered {
                    waited = try socket.waitReadable(timeout: .milliseconds(Int64(configuration.heartbeatIntervalMillis)))
                }
            } catch {
                throw .zeroMQ(operation: "poll DEALER", error)
            }
            try watch?.check()
            if !waited || monotonicMillis() - lastSent >= configuration.heartbeatIntervalMillis {
                try outbox.send(.heartbeat, on: socket)
                try outbox.flush(on: socket)
                lastSent = monotonicMillis()
            }
            while let message = try inbox.next(from: socket, logger: logger) {
                switch message {
                case .grant(let more): credit += Int(more)
                case .alreadyDone: stats.alreadyDone += 1
                case .finished:
                    logger.debug("producer received the end of the run", metadata: ["submitted": "\(stats.submitted)", "already_done": "\(stats.alreadyDone)"])
                    return
                case .reset:
                    stats.restarts += 1
                    logger.info("coordinator restarted: submitting again from the start of the input")
                    iterator = try makeIterator()
                    credit = 0
                    ended = false
                    try outbox.send(.hello(role: .producer, credit: 0), on: socket)
                    try outbox.flush(on: socket)
                default: break
                }
            }
        }
    }
}
