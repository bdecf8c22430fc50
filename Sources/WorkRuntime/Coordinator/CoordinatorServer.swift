import Dispatch
import Foundation
import Logging
import Synchronization
import Wire
import WorkProtocol
import ZeroMQ

/// Runs a `WorkCoordinator` on a ROUTER socket: the transport half of the coordinator.
///
/// One serial `DispatchQueue` owns the socket and the state machine; its loop polls the socket
/// with a timeout (so lease and heartbeat timers fire even when idle), handles a batch of
/// messages, applies the effects (sends, journal records) and fsyncs the journal once per batch.
/// The same code serves `inproc://` (pass the process's shared `Context`) and `tcp://`.
public final class CoordinatorServer: Sendable {
    /// Transport settings of the coordinator process.
    public struct Configuration: Sendable {
        /// Where to bind, e.g. `tcp://0.0.0.0:5555` or `inproc://switchyard`.
        public var endpoint: String
        /// The protocol rules (stages, attempts, leases, window).
        public var work: WorkCoordinatorConfiguration
        /// Journal file; nil runs without resume (tests, benchmarks). Default nil.
        public var journalPath: String?
        /// Stop the loop once input ended and every request is acknowledged. Default true.
        public var stopWhenFinished: Bool
        /// Most messages handled before the journal is synced and timers are checked. Default 512.
        public var batchSize: Int
        /// The journal is fsync'ed at most this often: the records of every message in that time share
        /// one fsync (a group commit), instead of one fsync per loop pass, which at a few thousand
        /// requests/s was the coordinator's largest system cost. A record not yet synced at a crash
        /// only means that request is redone on resume (the sink writes it once). 0: every pass. Default 20 ms.
        public var journalSyncMillis: UInt64
        /// After the run finished and DRAIN went out, keep answering for this long: a worker the
        /// coordinator had presumed dead (or that joined late) only shows itself by a heartbeat or READY,
        /// and is told DRAIN instead of being left waiting for a coordinator that is gone. Worker processes
        /// on other machines need it (stage mode: a few heartbeat intervals); in-process workers do not.
        /// Default 0.
        public var closingGraceMillis: UInt64
        /// CURVE (server role, with its ZAP handler) or plain, and the largest frame accepted. Default plain.
        public var security: LinkSecurity

        public init(endpoint: String, work: WorkCoordinatorConfiguration, journalPath: String? = nil,
                    stopWhenFinished: Bool = true, batchSize: Int = 512, closingGraceMillis: UInt64 = 0,
                    journalSyncMillis: UInt64 = 20, security: LinkSecurity = .plain) {
            self.endpoint = endpoint
            self.work = work
            self.journalPath = journalPath
            self.stopWhenFinished = stopWhenFinished
            self.batchSize = batchSize
            self.journalSyncMillis = journalSyncMillis
            self.closingGraceMillis = closingGraceMillis
            self.security = security
        }
    }

    public let configuration: Configuration
    private let context: Context
    private let logger: Logger
    private let queue = DispatchQueue(label: "switchyard.coordinator")
    private let stopRequested = Atomic<Bool>(false)
    private let wake: WakePipe
    private let latestStats = Mutex(WorkCoordinatorStats())
    private let boundEndpoint = Mutex<String?>(nil)
    private let bindSignal = DispatchSemaphore(value: 0)

    public init(configuration: Configuration, context: Context, logger: Logger) throws(WorkRuntimeError) {
        self.configuration = configuration
        self.context = context
        self.logger = logger
        self.wake = try WakePipe()
    }

    /// Counters as of the last loop turn.
    public var stats: WorkCoordinatorStats { latestStats.withLock { $0 } }

    /// Asks the loop to stop after its current turn (workers are sent DRAIN first). Any thread.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        wake.wake()
    }

    /// The endpoint actually bound (resolves `tcp://127.0.0.1:*`); waits until `run` has bound.
    public func waitUntilBound() -> String? {
        bindSignal.wait()
        bindSignal.signal()
        return boundEndpoint.withLock { $0 }
    }

    /// The endpoint actually bound, awaited off Swift's cooperative pool (the wait blocks a thread, and
    /// two threads on two cores must not be held by it); nil when `run` failed before binding.
    public func bound() async -> String? {
        await withCheckedContinuation { (done: CheckedContinuation<String?, Never>) in
            DispatchQueue.global().async { done.resume(returning: self.waitUntilBound()) }
        }
    }

    /// Binds, replays the journal and serves until `stop()` or, with `stopWhenFinished`, the
    /// end of the run. Returns the journal's recovery report and the final counters.
    public func run() async throws(WorkRuntimeError) -> (JournalRecovery, WorkCoordinatorStats) {
        let result: Result<(JournalRecovery, WorkCoordinatorStats), WorkRuntimeError> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(WorkRuntimeError) {
                    continuation.resume(returning: .success(try self.loop()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }

    private func loop() throws(WorkRuntimeError) -> (JournalRecovery, WorkCoordinatorStats) {
        defer { bindSignal.signal() }
        let journal: WorkJournal?
        var recovery: JournalRecovery
        (journal, recovery) = try openJournal()
        let socket = try makeSocket()
        defer { socket.close() }
        var watch = try LinkWatch.make(socket, endpoint: configuration.endpoint, peerName: "peer", isClient: false, logger: logger)
        defer { watch?.close() }
        var state = CoordinatorLoop(configuration: configuration, socket: socket, journal: journal, completed: recovery.completed,
                                    logger: logger)
        recovery.completed = []  // the machine owns the set now; do not keep a second copy
        try bind(socket)
        let poller = Poller()
        try zmq("poll register") { () throws(ZeroMQError) in try poller.register(socket) }
        let wakeItem = poller.register(fileDescriptor: wake.readEnd)
        if let events = watch?.eventSocket { try zmq("poll register") { () throws(ZeroMQError) in try poller.register(events) } }
        var closingSince: UInt64? = nil

        while true {
            if stopRequested.load(ordering: .acquiring) {
                try state.drainWorkers()
                break
            }
            try wait(on: poller, wakeItem: wakeItem, until: state.wakeAt)
            try watch?.check()
            try state.receiveBatch(now: monotonicMillis())  // one clock read per batch: it is handled within a few ms
            // Each peer's messages of the batch leave as one frame.
            try state.flush()
            let after = monotonicMillis()
            if let stats = try state.tickIfDue(now: after) { latestStats.withLock { $0 = stats } }
            try state.syncJournalIfDue(now: after)
            if configuration.stopWhenFinished && state.isFinished && closingSince == nil {
                logger.debug("every request acknowledged: draining workers", metadata: ["completed": "\(state.stats.completed)"])
                try state.drainWorkers()
                guard configuration.closingGraceMillis > 0 else { break }
                closingSince = monotonicMillis()
            }
            if let closingSince, monotonicMillis() >= closingSince + configuration.closingGraceMillis { break }
        }
        let stats = try state.finish()
        latestStats.withLock { $0 = stats }
        return (recovery, stats)
    }

    /// Opens and replays the journal, when there is one.
    private func openJournal() throws(WorkRuntimeError) -> (WorkJournal?, JournalRecovery) {
        guard let path = configuration.journalPath else { return (nil, JournalRecovery()) }
        let opened: (WorkJournal, JournalRecovery)
        do {
            opened = try WorkJournal.open(path: path, logger: logger)
        } catch {
            throw .journal(error)
        }
        let recovery = opened.1
        logger.info("journal replayed", metadata: [
            "path": "\(path)", "completed": "\(recovery.completed.count)", "unfinished": "\(recovery.unfinished)",
            "truncated_bytes": "\(recovery.truncatedBytes)",
        ])
        return opened
    }

    /// The ROUTER socket with the link's security (CURVE server with its ZAP handler, or plain).
    private func makeSocket() throws(WorkRuntimeError) -> Socket {
        let options = try configuration.security.applied(
            to: SocketOptions(sendHighWaterMark: 0, receiveHighWaterMark: 0), context: context, zapDomain: "coordinator")
        return try zmq("create ROUTER") { () throws(ZeroMQError) in try context.socket(.router, options: options) }
    }

    /// Binds `socket`, publishes the endpoint bound (`waitUntilBound`) and logs it.
    private func bind(_ socket: Socket) throws(WorkRuntimeError) {
        try zmq("bind \(configuration.endpoint)") { () throws(ZeroMQError) in try socket.bind(configuration.endpoint) }
        let resolved = try zmq("read bound endpoint") { () throws(ZeroMQError) in try socket.lastEndpoint }
        let bound = resolved.isEmpty ? configuration.endpoint : resolved  // inproc reports no last endpoint
        boundEndpoint.withLock { $0 = bound }
        bindSignal.signal()
        let mechanism = try zmq("read ZMQ_MECHANISM") { () throws(ZeroMQError) in try socket.mechanism }
        logger.info("coordinator listening", metadata: [
            "endpoint": "\(bound)", "stages": "\(configuration.work.stages.joined(separator: ","))", "mechanism": "\(mechanism)",
        ])
    }

    /// Waits until a frame arrives, `stop()` wakes the loop, or `wakeAt` (monotonic ms) comes.
    private func wait(on poller: Poller, wakeItem: Int, until wakeAt: UInt64) throws(WorkRuntimeError) {
        let now = monotonicMillis()
        let timeout = wakeAt > now ? wakeAt - now : 0
        _ = try zmq("poll") { () throws(ZeroMQError) in try poller.poll(timeout: .milliseconds(Int64(timeout))) }
        if poller.events(at: wakeItem).contains(.readable) { wake.drain() }
    }
}

/// The coordinator loop's state between passes, and the steps of a pass: receive a batch of frames,
/// send each peer its frame, run the timers, sync the journal. Not thread-safe: owned by the loop.
private struct CoordinatorLoop {
    private let configuration: CoordinatorServer.Configuration
    private let socket: Socket
    private let journal: WorkJournal?
    /// Effects are applied as they happen: sends go into per-peer frames, sent by `flush()` after each pass.
    private let sender: RouterFrameSender
    private var machine: FramedCoordinator
    private var refusals: FrameRefusals
    private let gauges: CoordinatorMetrics
    /// Reused for every message received.
    private let frame = Message()
    private let identity = Message()
    private var decoded: [WireInboundMessage] = []
    private let tickInterval: UInt64
    private var nextTick = monotonicMillis()
    private var lastSync = monotonicMillis()

    init(configuration: CoordinatorServer.Configuration, socket: Socket, journal: WorkJournal?, completed: Set<String>, logger: Logger) {
        self.configuration = configuration
        self.socket = socket
        self.journal = journal
        sender = RouterFrameSender(socket: socket)
        machine = FramedCoordinator(configuration: configuration.work, completed: completed, journal: journal, logger: logger, sender: sender)
        refusals = FrameRefusals(logger: logger)
        gauges = CoordinatorMetrics(stages: configuration.work.stages)
        tickInterval = max(1, min(configuration.work.heartbeatIntervalMillis / 2, 100))
    }

    var isFinished: Bool { machine.isFinished }
    var stats: WorkCoordinatorStats { machine.stats }

    /// When the loop must wake even if no frame comes: the tick, or sooner a journal sync that is due.
    var wakeAt: UInt64 {
        (journal?.pendingBytes ?? 0) > 0 ? min(nextTick, lastSync + configuration.journalSyncMillis) : nextTick
    }

    /// Hands up to `batchSize` messages waiting on the socket to the machine. A frame that is not the
    /// protocol's (multipart, undecodable) is refused whole.
    mutating func receiveBatch(now: UInt64) throws(WorkRuntimeError) {
        var handled = 0
        while handled < configuration.batchSize {
            var extraFrames = 0
            do {
                try socket.receive(into: identity, timeout: .zero)
                guard identity.hasMore else { continue }
                try socket.receive(into: frame, timeout: nil)
                while frame.hasMore {  // a multipart message: not the protocol's, refused whole below
                    try socket.receive(into: frame, timeout: nil)
                    extraFrames += 1
                }
            } catch .timeout {
                break
            } catch {
                throw .zeroMQ(operation: "receive on ROUTER", error)
            }
            guard extraFrames == 0 else {
                refusals.refuse(.multipart, detail: "\(extraFrames + 1) frames where the protocol sends one", connection: identity, now: now)
                handled += 1
                continue
            }
            decoded.removeAll(keepingCapacity: true)
            // The frame's bytes, moved out of libzmq's message (no copy for a large frame), which
            // the messages share: results are passed on to the consumer as they came, and SUBMIT/ACK
            // request IDs are read in place, with no allocation or copy per message.
            let shared = frame.takeData()
            do {
                try WireCodec.decodeInbound(shared, into: &decoded)
            } catch {
                refusals.refuse(error, bytes: shared.count, connection: identity, now: now)
                handled += 1
                continue
            }
            handled += decoded.count
            identity.withUnsafeBytes { machine.receive(frame: shared, messages: decoded, fromIdentity: $0, now: now) }
        }
    }

    /// Sends every peer's frame of the pass; throws the pass's fatal send error, if any.
    mutating func flush() throws(WorkRuntimeError) {
        machine.flushAll()
        try sender.throwIfFailed()
    }

    /// Runs the timers once the tick is due (leases, heartbeats, held-back warnings) and updates the
    /// gauges; returns the counters to publish then, nil before.
    mutating func tickIfDue(now: UInt64) throws(WorkRuntimeError) -> WorkCoordinatorStats? {
        guard now >= nextTick else { return nil }
        refusals.tick(now: now)
        machine.tick(now: now)
        try flush()
        nextTick = now + tickInterval
        gauges.record(pending: machine.pendingCounts, stageWorkers: machine.workerCounts, counters: machine.stageCounters,
                      inFlight: machine.inFlightCount, workers: machine.workerCount)
        return countersWithRefusals()
    }

    /// Fsyncs the journal when records wait and the last sync is `journalSyncMillis` old (a group commit).
    mutating func syncJournalIfDue(now: UInt64) throws(WorkRuntimeError) {
        guard let journal, journal.pendingBytes > 0, now >= lastSync + configuration.journalSyncMillis else { return }
        do {
            try journal.sync()
        } catch {
            throw .journal(error)
        }
        lastSync = now
    }

    /// Tells every worker DRAIN, at once.
    mutating func drainWorkers() throws(WorkRuntimeError) {
        machine.drainAll()
        try flush()
    }

    /// Syncs the journal a last time; the final counters.
    func finish() throws(WorkRuntimeError) -> WorkCoordinatorStats {
        do {
            try journal?.sync()
        } catch {
            throw .journal(error)
        }
        return countersWithRefusals()
    }

    private func countersWithRefusals() -> WorkCoordinatorStats {
        var stats = machine.stats
        stats.refusedFrames = refusals.total
        return stats
    }
}
