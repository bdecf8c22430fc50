import Dispatch
import Foundation
import Logging
import Synchronization
import Wire
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
        var journal: WorkJournal?
        var recovery = JournalRecovery()
        if let path = configuration.journalPath {
            do {
                (journal, recovery) = try WorkJournal.open(path: path, logger: logger)
            } catch {
                throw .journal(error)
            }
            logger.info("journal replayed", metadata: [
                "path": "\(path)", "completed": "\(recovery.completed.count)", "unfinished": "\(recovery.unfinished)",
                "truncated_bytes": "\(recovery.truncatedBytes)",
            ])
        }
        let options = try configuration.security.applied(
            to: SocketOptions(sendHighWaterMark: 0, receiveHighWaterMark: 0), context: context, zapDomain: "coordinator")
        let socket = try zmq("create ROUTER") { () throws(ZeroMQError) in try context.socket(.router, options: options) }
        defer { socket.close() }
        var watch = try LinkWatch.make(socket, endpoint: configuration.endpoint, peerName: "peer", isClient: false, logger: logger)
        defer { watch?.close() }
        // Effects are applied as they happen: sends go into per-peer frames, sent by `flushAll()` after each pass.
        var machine = WorkCoordinatorMachine(configuration: configuration.work, completed: recovery.completed,
                                             effects: CoordinatorEffectSink(socket: socket, journal: journal, logger: logger))
        recovery.completed = []  // the machine owns the set now; do not keep a second copy
        try zmq("bind \(configuration.endpoint)") { () throws(ZeroMQError) in try socket.bind(configuration.endpoint) }
        let resolved = try zmq("read bound endpoint") { () throws(ZeroMQError) in try socket.lastEndpoint }
        let bound = resolved.isEmpty ? configuration.endpoint : resolved  // inproc reports no last endpoint
        boundEndpoint.withLock { $0 = bound }
        bindSignal.signal()
        let mechanism = try zmq("read ZMQ_MECHANISM") { () throws(ZeroMQError) in try socket.mechanism }
        logger.info("coordinator listening", metadata: [
            "endpoint": "\(bound)", "stages": "\(configuration.work.stages.joined(separator: ","))", "mechanism": "\(mechanism)",
        ])

        let poller = Poller()
        try zmq("poll register") { () throws(ZeroMQError) in try poller.register(socket) }
        let wakeItem = poller.register(fileDescriptor: wake.readEnd)
        if let events = watch?.eventSocket { try zmq("poll register") { () throws(ZeroMQError) in try poller.register(events) } }
        var refusals = FrameRefusals(logger: logger)
        let frame = Message()
        let identity = Message()
        var decoded: [WireInboundMessage] = []
        let tickInterval = max(1, min(configuration.work.heartbeatIntervalMillis / 2, 100))
        var nextTick = monotonicMillis()
        let gauges = CoordinatorMetrics(stages: configuration.work.stages)
        var draining = false
        var closingSince: UInt64? = nil
        var lastSync = monotonicMillis()

        while true {
            if stopRequested.load(ordering: .acquiring) && !draining {
                draining = true
                machine.drainAll()
                try machine.effects.flushAll()
                break
            }
            let before = monotonicMillis()
            // Wake for the tick, or sooner for a journal sync that is due.
            let wakeAt = (journal?.pendingBytes ?? 0) > 0 ? min(nextTick, lastSync + configuration.journalSyncMillis) : nextTick
            let timeout = wakeAt > before ? wakeAt - before : 0
            _ = try zmq("poll") { () throws(ZeroMQError) in try poller.poll(timeout: .milliseconds(Int64(timeout))) }
            if poller.events(at: wakeItem).contains(.readable) { wake.drain() }
            try watch?.check()
            let now = monotonicMillis()  // one clock read per batch: the batch is handled within a few ms
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
                let peer = identity.withUnsafeBytes { machine.effects.peers.key(for: $0) }
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
                machine.receive(frame: shared, messages: decoded, from: peer, now: now)
            }
            // Each peer's messages of the batch leave as one frame.
            try machine.effects.flushAll()
            let after = monotonicMillis()
            if after >= nextTick {
                refusals.tick(now: after)
                machine.effects.tick(now: after)
                machine.tick(now: after)
                try machine.effects.flushAll()
                nextTick = after + tickInterval
                latestStats.withLock { $0 = machine.stats; $0.refusedFrames = refusals.total }
                gauges.record(pending: machine.pendingCounts, stageWorkers: machine.workerCounts, counters: machine.stageCounters,
                              inFlight: machine.inFlightCount, workers: machine.workerCount)
            }
            if let journal, journal.pendingBytes > 0, after >= lastSync + configuration.journalSyncMillis {
                do {
                    try journal.sync()
                } catch {
                    throw .journal(error)
                }
                lastSync = after
            }
            if configuration.stopWhenFinished && machine.isFinished && closingSince == nil {
                logger.debug("every request acknowledged: draining workers", metadata: ["completed": "\(machine.stats.completed)"])
                machine.drainAll()
                try machine.effects.flushAll()
                guard configuration.closingGraceMillis > 0 else { break }
                closingSince = monotonicMillis()
            }
            if let closingSince, monotonicMillis() >= closingSince + configuration.closingGraceMillis { break }
        }
        do {
            try journal?.sync()
        } catch {
            throw .journal(error)
        }
        var stats = machine.stats
        stats.refusedFrames = refusals.total
        latestStats.withLock { $0 = stats }
        return (recovery, stats)
    }
}
