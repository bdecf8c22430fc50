import DequeModule
import Dispatch
import Foundation
import Logging
import Synchronization
import Wire
import WorkProtocol
import ZeroMQ

/// A stage worker: connects a DEALER to the coordinator, announces `READY(stage, credit)` and
/// runs leased tasks through its handler, at most `credit` at once.
///
/// Threads: one serial `DispatchQueue` owns the socket and runs the poll loop. An async
/// `StageHandler` runs as a Swift task (the concurrent cooperative pool, or started on the loop
/// thread with `inlineHandlers`) and hands its answer back through a mailbox that wakes the loop;
/// a `SynchronousStageHandler` is called on the loop thread itself, one task after another, with no
/// task, mailbox or wake at all. The loop sends a turn's answers as one batch frame. Heartbeats every `heartbeatIntervalMillis`; if the coordinator is silent
/// past `coordinatorTimeoutMillis` (it restarted) or says RESET, the worker announces itself again.
/// `drain()` (`StageWorkerService` calls it on graceful shutdown: SIGTERM/SIGINT) stops new work, finishes the leases,
/// says BYE and returns from `run()`.
public final class StageWorker: LeaseRenewer {
    public struct Configuration: Sendable {
        /// The coordinator's endpoint, e.g. `tcp://127.0.0.1:5555`.
        public var endpoint: String
        /// The stage this worker serves (must be one of the coordinator's stages).
        public var stage: String
        /// Tasks held at once (credit-based flow control). Default 16.
        public var credit: UInt32
        /// Default 500 ms; keep it well under the coordinator's `workerTimeoutMillis`.
        public var heartbeatIntervalMillis: UInt64
        /// Coordinator silence after which READY is sent again. Default 3 s.
        public var coordinatorTimeoutMillis: UInt64
        /// Start each handler on the worker's loop thread, where it runs until its first suspension
        /// (`Task.immediate`), instead of on the cooperative pool: saves a thread hop per task, which
        /// the protocol benchmark measured as up to 1.5–2 × tasks/s for quick handlers. Only for handlers
        /// that finish in microseconds or suspend at once (I/O): CPU-heavy work would hold up the
        /// worker's socket loop, its heartbeats and its other tasks. Default false.
        public var inlineHandlers: Bool
        /// CURVE (client role) or plain, and the largest frame accepted. Default plain.
        public var security: LinkSecurity

        public init(endpoint: String, stage: String, credit: UInt32 = 16, heartbeatIntervalMillis: UInt64 = 500,
                    coordinatorTimeoutMillis: UInt64 = 3_000, inlineHandlers: Bool = false, security: LinkSecurity = .plain) {
            self.endpoint = endpoint
            self.stage = stage
            self.credit = credit
            self.heartbeatIntervalMillis = heartbeatIntervalMillis
            self.coordinatorTimeoutMillis = coordinatorTimeoutMillis
            self.inlineHandlers = inlineHandlers
            self.security = security
        }

        /// Tasks a worker holds before it refuses more: twice its credit, since after a RESET the coordinator
        /// leases a full credit again while the tasks of the old lease may still be running.
        var maxHeldTasks: Int { 2 * max(1, Int(credit)) }
    }

    /// Counters of one worker.
    public struct Stats: Sendable, Equatable {
        public var done = 0
        public var failed = 0
        public var resets = 0
        /// Tasks refused because the worker already held `2 × credit` (a coordinator over-leasing).
        public var refused = 0
    }

    enum Outgoing: Sendable {
        case done(UInt64, Data)
        case fail(UInt64, permanent: Bool, reason: String)
        case extend(UInt64)
    }

    /// How the worker runs its handler.
    enum Handler {
        /// As a Swift task per call (`inlineHandlers` picks where it starts).
        case async(StageHandler)
        /// Called directly on the loop thread.
        case synchronous(SynchronousStageHandler)
    }

    public let configuration: Configuration
    private let context: Context
    private let logger: Logger
    private let handler: Handler
    private let queue: DispatchQueue
    private let wake: WakePipe
    private let mailbox = Mutex<[Outgoing]>([])
    private let drainRequested = Atomic<Bool>(false)
    private let counters = Mutex(Stats())

    public convenience init(configuration: Configuration, context: Context, logger: Logger, handler: @escaping StageHandler) throws(WorkRuntimeError) {
        try self.init(configuration: configuration, context: context, logger: logger, running: .async(handler))
    }

    /// A worker whose handler is called on its loop thread, task after task: no Swift task, mailbox or
    /// wake per call, which the protocol benchmark measured as the largest part of a quick worker's CPU.
    /// Only for handlers that finish in microseconds (a lookup, a small transform): while one runs, the
    /// worker neither reads its socket nor sends heartbeats, and its other tasks wait. `inlineHandlers`
    /// does not apply; `credit` still bounds the tasks leased to it (they queue in the worker).
    public convenience init(configuration: Configuration, context: Context, logger: Logger,
                synchronousHandler: @escaping SynchronousStageHandler) throws(WorkRuntimeError) {
        try self.init(configuration: configuration, context: context, logger: logger, running: .synchronous(synchronousHandler))
    }

    /// A worker running `work` as it says (`StageWork`).
    public convenience init(configuration: Configuration, context: Context, logger: Logger, work: StageWork) throws(WorkRuntimeError) {
        switch work {
        case .async(let handler): try self.init(configuration: configuration, context: context, logger: logger, running: .async(handler))
        case .synchronous(let handler): try self.init(configuration: configuration, context: context, logger: logger, running: .synchronous(handler))
        }
    }

    private init(configuration: Configuration, context: Context, logger: Logger, running handler: Handler) throws(WorkRuntimeError) {
        self.configuration = configuration
        self.context = context
        self.logger = logger
        self.handler = handler
        self.queue = DispatchQueue(label: "switchyard.worker.\(configuration.stage)")
        self.wake = try WakePipe()
    }

    public var stats: Stats { counters.withLock { $0 } }

    /// Graceful stop: no new tasks, finish the leased ones, BYE, then `run()` returns. Any thread.
    public func drain() {
        drainRequested.store(true, ordering: .releasing)
        wake.wake()
    }

    /// Serves tasks until drained (by `drain()` or the coordinator's DRAIN).
    /// The coordinator gone for good ends it too (it requeues the leases if it returns).
    public func run() async throws(WorkRuntimeError) {
        try await ClientLoop.run(on: queue, stats: (), logger: logger) { _ throws(WorkRuntimeError) in try self.loop() }
    }

    package func renewLease(_ taskID: UInt64) { post(.extend(taskID)) }

    private func post(_ item: Outgoing) {
        mailbox.withLock { $0.append(item) }
        wake.wake()
    }

    /// What the loop keeps from one turn to the next. A plain value in a local variable, passed `inout`
    /// to the steps (a variable captured by closures would be boxed: see `DealerOutbox`).
    private struct LoopState {
        /// Everything a loop turn has to say goes out as one frame (a batch frame when there is more
        /// than one message: a busy worker's DONEs), sent just before the loop waits, so a lone
        /// answer (credit 1) leaves as soon as it is posted.
        /// Never blocks: a DEALER with no peer at all (an inproc coordinator that has ended) would block a
        /// plain send forever. With unlimited HWM a send only fails that way, so `.timeout` means "gone".
        var outbox = DealerOutbox(flags: .dontWait)
        /// Tasks leased and not yet started.
        var waiting = Deque<WireTask>()
        /// Async handlers started and not yet answered.
        var running = 0
        var draining = false
        var lastHeard: UInt64
        var nextHeartbeat: UInt64
        /// Counters of this turn, added to the worker's `stats` at the next turn's start.
        var stats = Stats()
        var refusals = LogLimiter()
        /// Reused buffers: the frame received, its messages, the answers taken from the mailbox.
        let frame = Message()
        var decoded: [WireMessage] = []
        var posted: [Outgoing] = []

        var held: Int { running + waiting.count }
    }

    private func loop() throws(WorkRuntimeError) {
        let socket = try makeSocket()
        defer { socket.close() }
        var watch = try LinkWatch.make(socket, endpoint: configuration.endpoint, peerName: "coordinator", isClient: true, logger: logger)
        defer { watch?.close() }
        try zmq("connect \(configuration.endpoint)") { () throws(ZeroMQError) in try socket.connect(configuration.endpoint) }
        let poller = Poller()
        try zmq("poll register") { () throws(ZeroMQError) in try poller.register(socket) }
        let wakeItem = poller.register(fileDescriptor: wake.readEnd)
        if let events = watch?.eventSocket { try zmq("poll register") { () throws(ZeroMQError) in try poller.register(events) } }

        let ready = WireMessage.ready(stage: configuration.stage, credit: configuration.credit)
        var state = LoopState(lastHeard: 0, nextHeartbeat: 0)
        try state.outbox.send(ready, on: socket)
        try state.outbox.flush(on: socket)
        state.lastHeard = monotonicMillis()
        state.nextHeartbeat = state.lastHeard + configuration.heartbeatIntervalMillis

        while true {
            if drainRequested.load(ordering: .acquiring) && !state.draining {
                state.draining = true
                try state.outbox.send(.drain, on: socket)
                logger.info("draining: finishing leased tasks", metadata: ["running": "\(state.held)"])
            }
            try state.outbox.flush(on: socket)
            publish(&state.stats)
            try wait(on: poller, wakeItem: wakeItem, until: state.nextHeartbeat)
            try watch?.check()
            try collectAnswers(&state, socket: socket)
            guard try receiveFrames(&state, socket: socket, ready: ready) else { return }
            try runWaiting(&state, socket: socket)
            try heartbeatIfDue(&state, socket: socket, ready: ready)
            if state.draining && state.running == 0 && state.waiting.isEmpty {
                try state.outbox.send(.bye, on: socket)
                try state.outbox.flush(on: socket)
                logger.info("drained; leaving")
                return
            }
        }
    }

    /// The DEALER socket with the link's security (CURVE client or plain); reconnects within 2 s.
    private func makeSocket() throws(WorkRuntimeError) -> Socket {
        let options = try configuration.security.applied(
            to: SocketOptions(sendHighWaterMark: 0, receiveHighWaterMark: 0, reconnectInterval: .milliseconds(100),
                              reconnectIntervalMax: .seconds(2)),
            context: context, zapDomain: "")
        return try zmq("create DEALER") { () throws(ZeroMQError) in try context.socket(.dealer, options: options) }
    }

    /// Adds the last turn's counters to the worker's `stats`.
    private func publish(_ stats: inout Stats) {
        guard stats != Stats() else { return }
        let turn = stats
        counters.withLock { total in
            total.done += turn.done
            total.failed += turn.failed
            total.refused += turn.refused
        }
        stats = Stats()
    }

    /// Waits until a frame or an answer arrives, `drain()` wakes the loop, or the heartbeat is due.
    private func wait(on poller: Poller, wakeItem: Int, until nextHeartbeat: UInt64) throws(WorkRuntimeError) {
        let now = monotonicMillis()
        let timeout = nextHeartbeat > now ? nextHeartbeat - now : 0
        _ = try zmq("poll") { () throws(ZeroMQError) in try poller.poll(timeout: .milliseconds(Int64(timeout))) }
        if poller.events(at: wakeItem).contains(.readable) { wake.drain() }
    }

    /// Reads every frame waiting from the coordinator: tasks queue (or are handed back past the bound),
    /// RESET joins again, DRAIN starts draining. False when the worker is to leave now (RESET while draining).
    private func receiveFrames(_ state: inout LoopState, socket: Socket, ready: WireMessage) throws(WorkRuntimeError) -> Bool {
        while true {
            do {
                try socket.receive(into: state.frame, timeout: .zero)
            } catch .timeout {
                return true
            } catch {
                throw .zeroMQ(operation: "receive on DEALER", error)
            }
            state.lastHeard = monotonicMillis()
            state.decoded.removeAll(keepingCapacity: true)
            do {
                // One copy of the frame; its tasks' payloads are slices of it (no allocation per task).
                let shared = state.frame.withUnsafeBytes { Data($0) }
                try WireCodec.decodeAll(sharing: shared, into: &state.decoded)
            } catch {
                logger.warning("dropped malformed frame from coordinator", metadata: ["error": "\(error)"])
                continue
            }
            for message in state.decoded {
                switch message {
                case .task(let task) where state.held >= configuration.maxHeldTasks:
                    // A coordinator leasing past the bound: hand the task back (it is requeued, not lost).
                    state.stats.refused += 1
                    if state.refusals.admit(now: monotonicMillis()).log {
                        logger.warning("refused a task beyond this worker's bound (2 × credit held); the coordinator requeues it",
                                       metadata: ["held": "\(state.held)", "credit": "\(configuration.credit)"])
                    }
                    try state.outbox.send(.fail(taskID: task.taskID, permanent: false, reason: "worker holds 2 × its credit already"), on: socket)
                case .task(let task): state.waiting.append(task)
                case .reset:
                    counters.withLock { $0.resets += 1 }
                    logger.info("coordinator does not know this worker (restarted or presumed it dead): joining again")
                    try state.outbox.send(state.draining ? .bye : ready, on: socket)
                    if state.draining {
                        try state.outbox.flush(on: socket)
                        return false
                    }
                case .drain:
                    if !state.draining {
                        state.draining = true
                        try state.outbox.send(.drain, on: socket)
                    }
                case .heartbeat: break
                default:
                    logger.warning("unexpected message from coordinator", metadata: ["type": "\(message.kindName)"])
                }
            }
        }
    }

    /// Runs the waiting tasks: a synchronous handler on each, one after another, here; async handlers
    /// started as Swift tasks while credit lasts.
    private func runWaiting(_ state: inout LoopState, socket: Socket) throws(WorkRuntimeError) {
        if case .synchronous(let handler) = self.handler {
            // Each task is answered before the next starts: nothing is left running.
            while let task = state.waiting.popFirst() {
                let answer = Self.answer(task, handler: handler, context: taskContext(task))
                switch answer {
                case .done: state.stats.done += 1
                case .fail: state.stats.failed += 1
                case .extend: break
                }
                try state.outbox.send(Self.message(answer), on: socket)
                // A long turn (a slow embedder, a loaded machine) must still show the worker alive: the
                // answers so far leave with a heartbeat when one is due, or the coordinator would take
                // the worker for dead and requeue what it is working on.
                let now = monotonicMillis()
                if now >= state.nextHeartbeat {
                    try state.outbox.send(.heartbeat, on: socket)
                    try state.outbox.flush(on: socket)
                    state.nextHeartbeat = now + configuration.heartbeatIntervalMillis
                }
            }
        } else if state.running < Int(configuration.credit) && !state.waiting.isEmpty {
            // Inline handlers that finish at once post their answers while we are here: they need
            // no wake (the answers are collected right after), which saves two system calls a turn.
            wake.holdWakes()
            while state.running < Int(configuration.credit), let task = state.waiting.popFirst() {
                state.running += 1
                start(task)
            }
            wake.resumeWakes()
            try collectAnswers(&state, socket: socket)
        }
    }

    /// Sends a heartbeat when one is due, and READY again when the coordinator has been silent past
    /// `coordinatorTimeoutMillis` (it restarted and does not know this worker).
    private func heartbeatIfDue(_ state: inout LoopState, socket: Socket, ready: WireMessage) throws(WorkRuntimeError) {
        let now = monotonicMillis()
        guard now >= state.nextHeartbeat else { return }
        try state.outbox.send(.heartbeat, on: socket)
        state.nextHeartbeat = now + configuration.heartbeatIntervalMillis
        if now - state.lastHeard > configuration.coordinatorTimeoutMillis && !state.draining {
            try state.outbox.send(ready, on: socket)
            state.lastHeard = now
        }
    }

    /// Moves the handlers' answers from the mailbox into the outbox.
    private func collectAnswers(_ state: inout LoopState, socket: Socket) throws(WorkRuntimeError) {
        mailbox.withLock { box in swap(&box, &state.posted) }
        guard !state.posted.isEmpty else { return }
        defer { state.posted.removeAll(keepingCapacity: true) }
        for item in state.posted {
            switch item {
            case .done:
                state.running -= 1
                state.stats.done += 1
            case .fail:
                state.running -= 1
                state.stats.failed += 1
            case .extend: break
            }
            try state.outbox.send(Self.message(item), on: socket)
        }
    }

    private static func message(_ item: Outgoing) -> WireMessage {
        switch item {
        case .done(let taskID, let payload): return .done(taskID: taskID, payload: payload)
        case .fail(let taskID, let permanent, let reason): return .fail(taskID: taskID, permanent: permanent, reason: reason)
        case .extend(let taskID): return .extend(taskID: taskID)
        }
    }

    private func taskContext(_ task: WireTask) -> TaskContext {
        TaskContext(taskID: task.taskID, requestID: task.requestID, stage: task.stage, attempt: task.attempt,
                    leaseMillis: task.leaseMillis, workerLogger: logger, lease: self)
    }

    /// Runs a synchronous handler on `task` and says how it ended (a thrown `StageFailure` as it says,
    /// any other error as retryable).
    private static func answer(_ task: WireTask, handler: SynchronousStageHandler, context: TaskContext) -> Outgoing {
        do {
            return .done(task.taskID, try handler(context, task.payload))
        } catch let failure as StageFailure {
            switch failure {
            case .permanent(let reason): return .fail(task.taskID, permanent: true, reason: reason)
            case .retryable(let reason): return .fail(task.taskID, permanent: false, reason: reason)
            }
        } catch {
            return .fail(task.taskID, permanent: false, reason: "\(error)")
        }
    }

    private func start(_ task: WireTask) {
        guard case .async(let handler) = self.handler else { return }
        let taskID = task.taskID
        let context = taskContext(task)
        let payload = task.payload
        let run: @Sendable () async -> Void = {
            do {
                let output = try await handler(context, payload)
                self.post(.done(taskID, output))
            } catch let failure as StageFailure {
                switch failure {
                case .permanent(let reason): self.post(.fail(taskID, permanent: true, reason: reason))
                case .retryable(let reason): self.post(.fail(taskID, permanent: false, reason: reason))
                }
            } catch {
                self.post(.fail(taskID, permanent: false, reason: "\(error)"))
            }
        }
        if configuration.inlineHandlers {
            Task.immediate { await run() }
        } else {
            Task { await run() }
        }
    }
}
