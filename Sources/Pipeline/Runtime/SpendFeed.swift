import Dispatch
import Logging
import Payloads
import Synchronization
import WorkRuntime
import ZeroMQ

/// Dispatch's end of the spend feed (stage mode): publishes each budgeted request's actual cost to the
/// score process that reserved it. PUB connects to `router.spend_feed`, so any number of dispatch
/// processes can feed one score process.
///
/// Delivery is best effort: a record dropped by a full queue, a restart or a network cut only leaves its
/// estimate reserved in the score process's ledger, so a lost message can make the batch under-spend,
/// never over-spend. The socket belongs to a private serial queue; `settle`/`release` only enqueue, so
/// they never block the cooperative pool.
public final class SpendFeedPublisher: SpendSettler {
    private let socket: Socket
    private let queue = DispatchQueue(label: "switchyard.spend-feed.publish")
    private let logger: Logger
    private let dropped = Atomic<Int>(0)
    private let endpoint: String
    /// Handshake events of the link (touched on `queue` only).
    nonisolated(unsafe) private var watch: LinkWatch?
    nonisolated(unsafe) private var refusal: WorkRuntimeError?

    /// `security`: the client role (CURVE with the score process's public key) or plain.
    public init(endpoint: String, context: Context, logger: Logger, security: LinkSecurity = .plain) throws(WorkRuntimeError) {
        let options = try security.applied(to: SocketOptions(sendHighWaterMark: 100_000, reconnectInterval: .milliseconds(100),
                                                             reconnectIntervalMax: .seconds(2)),
                                           context: context, zapDomain: "")
        let (socket, watch) = try openFeedSocket(.pub, options: options, context: context, endpoint: endpoint,
                                                 peerName: "score process (spend feed)", isClient: true, queue: queue, logger: logger)
        self.socket = socket
        self.watch = watch
        self.logger = logger
        self.endpoint = endpoint
    }

    public func settle(_ hold: BudgetHold, actualUSD: Double) {
        publish(SpendRecord(owner: hold.owner, kind: .settle, reservationID: hold.reservation.id,
                            actualUSD: actualUSD.isFinite ? max(0, actualUSD) : 0))
    }

    public func release(_ hold: BudgetHold) {
        publish(SpendRecord(owner: hold.owner, kind: .release, reservationID: hold.reservation.id, actualUSD: 0))
    }

    /// Records that could not be queued (each left its estimate reserved).
    public var droppedCount: Int { dropped.load(ordering: .relaxed) }

    private func publish(_ record: SpendRecord) {
        queue.async { [self] in
            do throws(WorkRuntimeError) {
                try watch?.check()
            } catch {
                if refusal == nil { logger.error("spend feed refused: \(error); actual costs do not reach the budget") }
                refusal = error
                watch?.close()
                watch = nil
                try? socket.disconnect(endpoint)  // stop knocking on a door that will not open
            }
            guard refusal == nil else {
                dropped.add(1, ordering: .relaxed)
                return
            }
            do {
                try socket.send([record.topic, record.body], flags: .dontWait)
            } catch {
                dropped.add(1, ordering: .relaxed)
                logger.debug("spend record dropped", metadata: ["reason": "\(error)"])
            }
        }
    }

    /// Sends what is queued (within the socket's linger) and closes the socket. Blocks up to the linger:
    /// call it off the cooperative pool.
    public func close() {
        queue.sync {
            watch?.close()
            watch = nil
            socket.close()
        }
    }
}

/// The score process's end of the spend feed: binds SUB on `router.spend_feed`, takes only the records
/// of its own ledger (topic = `ScoreBudget.owner`) and settles or releases them there.
///
/// Its receive loop runs on a dedicated dispatch queue (the socket's owner) until `stop()`.
public final class SpendFeedSubscriber: Sendable {
    private let socket: Socket
    private let queue = DispatchQueue(label: "switchyard.spend-feed.subscribe")
    private let budget: ScoreBudget
    private let logger: Logger
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchGroup()
    private let counts = Mutex<(settled: Int, released: Int, ignored: Int)>((0, 0, 0))
    /// Handshake events of the feed (touched on `queue` only).
    nonisolated(unsafe) private var watch: LinkWatch?

    /// Most bytes of one spend-feed message: a record is under a hundred bytes.
    static let maxMessageBytes: Int64 = 64 << 10

    /// `security`: the server role (CURVE with its ZAP handler, which admits the dispatch processes' keys) or plain.
    public init(endpoint: String, budget: ScoreBudget, context: Context, logger: Logger,
                security: LinkSecurity = .plain) throws(WorkRuntimeError) {
        var limited = security
        limited.maxMessageBytes = min(security.maxMessageBytes, Self.maxMessageBytes)
        let options = try limited.applied(to: SocketOptions(receiveHighWaterMark: 100_000, subscriptions: [Array(budget.owner.utf8)]),
                                          context: context, zapDomain: "spend-feed")
        let (socket, watch) = try openFeedSocket(.sub, options: options, context: context, endpoint: endpoint,
                                                 peerName: "dispatch process", isClient: false, queue: queue, logger: logger)
        logger.info("spend feed listening", metadata: ["endpoint": "\(endpoint)", "mechanism": "\(limited.mechanismName)"])
        self.socket = socket
        self.watch = watch
        self.budget = budget
        self.logger = logger
    }

    /// Starts the receive loop.
    public func start() {
        finished.enter()
        queue.async { [self] in
            defer { finished.leave() }
            while !stopped.load(ordering: .relaxed) {
                try? watch?.check()
                let frames: [[UInt8]]
                do {
                    frames = try socket.receiveMultipartBytes(timeout: .milliseconds(200))
                } catch ZeroMQError.timeout {
                    continue
                } catch {
                    if !stopped.load(ordering: .relaxed) {
                        logger.warning("spend feed stopped", metadata: ["reason": "\(error)"])
                    }
                    break
                }
                apply(frames)
            }
            watch?.close()
            watch = nil
            socket.close()
        }
    }

    func apply(_ frames: [[UInt8]]) {
        guard frames.count == 2 else {
            logger.debug("spend feed message with \(frames.count) frames ignored")
            return
        }
        let record: SpendRecord
        do {
            record = try SpendRecord(topic: frames[0], body: frames[1])
        } catch {
            logger.warning("spend record ignored", metadata: ["reason": "\(error)"])
            return
        }
        guard record.owner == budget.owner else {
            counts.withLock { $0.ignored += 1 }
            return
        }
        switch record.kind {
        case .settle:
            let known = budget.ledger.settle(id: record.reservationID, actualUSD: record.actualUSD)
            counts.withLock { if known { $0.settled += 1 } else { $0.ignored += 1 } }
        case .release:
            let known = budget.ledger.release(id: record.reservationID)
            counts.withLock { if known { $0.released += 1 } else { $0.ignored += 1 } }
        }
    }

    /// Records applied so far: settled, released, and ignored (another owner, or already settled).
    public var applied: (settled: Int, released: Int, ignored: Int) { counts.withLock { $0 } }

    /// Ends the loop (within 200 ms) and closes the socket. Blocks: call it off the cooperative pool.
    public func stop() {
        stopped.store(true, ordering: .relaxed)
        finished.wait()
    }
}

/// One end of the spend feed: the socket with its link watch, connected (the client, dispatch's PUB) or bound (the
/// server, score's SUB), then both handed to `queue`, which alone touches them from here on.
private func openFeedSocket(
    _ type: SocketType, options: SocketOptions, context: Context, endpoint: String, peerName: String, isClient: Bool,
    queue: DispatchQueue, logger: Logger
) throws(WorkRuntimeError) -> (Socket, LinkWatch?) {
    let socket = try zmq("create \(type)") { () throws(ZeroMQError) in try context.socket(type, options: options) }
    let watch = try LinkWatch.make(socket, endpoint: endpoint, peerName: peerName, isClient: isClient, logger: logger)
    if isClient {
        try zmq("connect \(endpoint)") { () throws(ZeroMQError) in try socket.connect(endpoint) }
    } else {
        try zmq("bind \(endpoint)") { () throws(ZeroMQError) in try socket.bind(endpoint) }
    }
    socket.transfer(to: .queue(queue))
    watch?.transfer(to: .queue(queue))
    return (socket, watch)
}
