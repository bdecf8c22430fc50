import DequeModule
import Foundation
import Wire

/// The coordinator of the work protocol with its effects kept as values: `takeEffects()` returns them.
/// What tests and simulations drive; see `WorkCoordinatorMachine`.
public typealias WorkCoordinator<Peer: Hashable & Sendable> = WorkCoordinatorMachine<WorkCoordinatorEffectList<Peer>>

extension WorkCoordinatorMachine where Effects: CollectingWorkCoordinatorEffects {
    /// - Parameters:
    ///   - completed: request IDs finished in earlier runs (from `WorkJournal`): their submits are answered `alreadyDone`.
    public init(configuration: WorkCoordinatorConfiguration, completed: Set<String> = []) {
        self.init(configuration: configuration, completed: completed, effects: Effects())
    }

    /// Returns and clears the effects produced so far. Call after `receive`/`tick` and apply them in order.
    public mutating func takeEffects() -> [WorkCoordinatorEffect<Peer>] { effects.take() }
}

/// The coordinator of the work protocol as a plain value type: messages and clock ticks in,
/// effects out, into `effects` as they happen (`WorkCoordinatorEffects`). It knows nothing of sockets
/// or files, so every rule (credit, leases, requeue, attempts, deduplication, drain, window) is
/// unit-tested deterministically (`WorkCoordinator`, whose effects are values); `CoordinatorServer`
/// runs it over ZeroMQ with a sink that encodes sends straight into frames.
///
/// Guarantees: every accepted request yields exactly one `result` to the consumer (completed,
/// failed or exhausted), redelivered until acknowledged; an answer for a lease that is no longer
/// current is ignored; the producer is granted credit only while `accepted − acknowledged < window`.
/// One producer and one consumer at a time (a new `hello` replaces the previous one).
public struct WorkCoordinatorMachine<Effects: WorkCoordinatorEffects> {
    public typealias Peer = Effects.Peer

    struct TaskState {
        /// The request's slot in `requests` (its ID is interned there: no string per task).
        var request: Int
        var stage: Int
        var attempt: UInt16
        /// The stage's input, in storage of its own (see `TaskInput`).
        var payload: TaskInput
        /// The slot in `workers` of the worker holding the lease; nil while pending.
        var worker: Int?
        var deadline: UInt64 = 0
    }

    struct WorkerState {
        let peer: Peer
        var stage: Int
        var capacity: Int
        /// Tasks leased to this worker now (the tasks themselves say whose they are).
        var leased = 0
        var lastSeen: UInt64
        var draining = false

        var hasFreeCredit: Bool { !draining && leased < capacity }
    }

    /// One accepted request, from SUBMIT until the consumer's ACK. Requests live in a slot array
    /// indexed by an integer that tasks and the delivery queue carry, so the hot path hashes the
    /// request ID twice per request (SUBMIT, ACK), from the frame's bytes, instead of at every step.
    struct RequestState {
        var requestID: String
        /// The outcome, once the request ended: waiting in `deliveries` or sent and awaiting its ACK.
        /// Kept as fields and encoded from here at each (re)delivery: no `WireResult` is built or copied.
        var outcome: Outcome?
        /// Sent to the consumer and not yet acknowledged.
        var awaitingAck = false
    }

    /// The fields of a request's RESULT other than its ID.
    struct Outcome {
        var status: WireResult.Status
        /// Index in `configuration.stages`; nil when no stage ran (no stages configured).
        var stage: Int?
        var attempts: UInt16
        var reason: String
        var payload: Data
    }

    public let configuration: WorkCoordinatorConfiguration
    public private(set) var stats = WorkCoordinatorStats()
    /// Per stage, in `configuration.stages` order.
    public private(set) var stageCounters: [StageCounters]

    /// Live tasks by task ID (a slot array with generations: no hashing per message).
    private var tasks = TaskSlab<TaskState>()
    private var pending: [Deque<UInt64>]
    /// Workers in slots (nil: free), found by peer through `workerSlots` once per frame; tasks and
    /// the per-stage round robin refer to slots, so leasing a task hashes nothing.
    private var workers: [WorkerState?] = []
    private var freeWorkerSlots: [Int] = []
    private var workerSlots: [Peer: Int] = [:]
    private var stageWorkers: [[Int]]
    /// The slot of the frame's sender, so each DONE of a batch skips hashing its worker.
    /// Cleared whenever a worker is added or removed.
    private var frameWorker: (peer: Peer, slot: Int)?
    private var roundRobin: [Int]
    private var stageIndex: [String: Int] = [:]

    /// Accepted, not yet acknowledged requests, in slots (see `RequestState`), and their slot by ID.
    /// Free slots hold an empty `RequestState` (listed in `freeRequestSlots`).
    private var requests: [RequestState] = []
    private var freeRequestSlots: [Int] = []
    private var requestSlots = RequestIndex()
    private var completed: CompletedIDs
    private var producer: Peer?
    private var producerOutstanding = 0
    private var consumer: Peer?
    private var consumerCapacity = 0
    /// ACK/REOPEN from peers that have not yet said HELLO as consumer (see `hold`), oldest peer first.
    private var heldAnnouncements: [(peer: Peer, items: [HeldAnnouncement])] = []
    private enum HeldAnnouncement { case written(String), reopened(String) }
    private static var heldPeersLimit: Int { 4 }
    private static var heldAnnouncementsLimit: Int { 16_000_000 }
    /// Request slots whose result waits for consumer credit, in order.
    private var deliveries = Deque<Int>()
    private var awaitingAckCount = 0
    private var inputEnded = false
    private var finishedSent = false
    /// Set by `drainAll()`: workers that show themselves from now on are sent DRAIN (heartbeat from an
    /// unknown worker, READY), so none is left waiting for a coordinator that is leaving.
    public private(set) var isClosing = false
    private var lastHeartbeat: UInt64 = 0
    /// Where effects go, in order, as they happen; the owner applies or flushes them after each
    /// `receive`/`tick` (see `WorkCoordinatorEffects`).
    public var effects: Effects

    /// - Parameters:
    ///   - completed: request IDs finished in earlier runs (from `WorkJournal`): their submits are answered `alreadyDone`.
    ///   - effects: the sink of the machine's effects.
    public init(configuration: WorkCoordinatorConfiguration, completed: Set<String> = [], effects: Effects) {
        self.effects = effects
        self.configuration = configuration
        self.completed = CompletedIDs(completed)
        pending = Array(repeating: Deque<UInt64>(), count: configuration.stages.count)
        stageCounters = Array(repeating: StageCounters(), count: configuration.stages.count)
        stageWorkers = Array(repeating: [], count: configuration.stages.count)
        roundRobin = Array(repeating: 0, count: configuration.stages.count)
        for (index, stage) in configuration.stages.enumerated() { stageIndex[stage] = index }
    }

    // MARK: Queries

    /// Requests accepted and not yet acknowledged by the consumer (bounded by `window`).
    public var inFlightCount: Int { requestSlots.count }
    /// Workers currently known (alive and not left).
    public var workerCount: Int { workerSlots.count }
    /// Tasks waiting for a worker, per stage (in `configuration.stages` order).
    public var pendingCounts: [Int] { pending.map(\.count) }
    /// Workers serving each stage (in `configuration.stages` order).
    public var workerCounts: [Int] { stageWorkers.map(\.count) }
    /// True once input ended, every accepted request is acknowledged and a consumer has been sent FINISHED.
    /// (A rerun whose lines were all done earlier ends before any result flows: it must still wait for the
    /// consumer to join, or the sink would wait forever for a coordinator that has gone.)
    public var isFinished: Bool { finishedSent && allDone }
    private var allDone: Bool { inputEnded && requestSlots.isEmpty }
    /// Whether `requestID` was completed (this run or an earlier one).
    public func isCompleted(_ requestID: String) -> Bool { completed.contains(requestID) }
    /// Tasks currently leased to `peer`.
    public func leasedCount(_ peer: Peer) -> Int {
        guard let slot = workerSlots[peer] else { return 0 }
        return workers[slot]?.leased ?? 0
    }

    // MARK: Input

    /// Handles one decoded message from `peer` at time `now` (milliseconds, monotonic).
    public mutating func receive(_ message: WireMessage, from peer: Peer, now: UInt64) {
        touch(peer, now: now)
        handle(message, from: peer, now: now)
    }

    /// Handles every message of one frame (a batch) from `peer`, in order: the same as `receive`
    /// for each, with the peer's liveness noted once per frame instead of once per message.
    public mutating func receive(contentsOf messages: [WireMessage], from peer: Peer, now: UInt64) {
        touch(peer, now: now)
        for message in messages { handle(message, from: peer, now: now) }
    }

    /// Handles every message of `frame` as decoded by `WireCodec.decodeInbound` (`messages`), in
    /// order: the same as `receive(contentsOf:)`, with SUBMIT and ACK read straight from the frame's
    /// bytes (request IDs hashed and compared in place, a `String` built only for a new request; a
    /// SUBMIT payload copied once, into the task's own storage) and DONE payloads passed on as slices of `frame`.
    public mutating func receive(frame: Data, messages: [WireInboundMessage], from peer: Peer, now: UInt64) {
        touch(peer, now: now)
        frame.withUnsafeBytes { raw in
            for message in messages {
                switch message {
                case .submit(let requestID, let payload):
                    submit(peer, requestID: UnsafeRawBufferPointer(rebasing: raw[requestID]),
                           payload: UnsafeRawBufferPointer(rebasing: raw[payload]), now: now)
                case .done(let taskID, let payload):
                    workerDone(peer, taskID: taskID,
                               payload: frame[(frame.startIndex + payload.lowerBound)..<(frame.startIndex + payload.upperBound)], now: now)
                case .ack(let requestID):
                    acknowledge(peer, requestID: UnsafeRawBufferPointer(rebasing: raw[requestID]))
                case .other(let message):
                    handle(message, from: peer, now: now)
                }
            }
        }
    }

    private mutating func touch(_ peer: Peer, now: UInt64) {
        if let slot = workerSlots[peer] {
            workers[slot]?.lastSeen = now
            frameWorker = (peer, slot)
        } else {
            frameWorker = nil
        }
    }

    /// `peer`'s worker slot, from the frame's cached lookup when it is the frame's sender.
    private func workerSlot(_ peer: Peer) -> Int? {
        if let frameWorker, frameWorker.peer == peer { return frameWorker.slot }
        return workerSlots[peer]
    }

    private mutating func handle(_ message: WireMessage, from peer: Peer, now: UInt64) {
        switch message {
        case .ready(let stage, let credit):
            // Closing: a worker that (re)announces itself is told to leave, not given work.
            if isClosing { return send(peer, .drain) }
            var granted = Int(credit)
            if granted > configuration.maxWorkerCredit {
                effects.warning("worker announced credit \(credit), more than the \(configuration.maxWorkerCredit) one worker may hold; capped")
                granted = configuration.maxWorkerCredit
            }
            workerReady(peer, stage: stage, credit: granted, now: now)
        case .done(let taskID, let payload): workerDone(peer, taskID: taskID, payload: payload, now: now)
        case .fail(let taskID, let permanent, let reason):
            workerFailed(peer, taskID: taskID, permanent: permanent, reason: reason, now: now)
        case .heartbeat:
            if workerSlot(peer) == nil && peer != producer && peer != consumer { send(peer, isClosing ? .drain : .reset) }
        case .extend(let taskID): extend(peer, taskID: taskID, now: now)
        case .drain:
            guard let slot = workerSlot(peer) else { return send(peer, .reset) }
            workers[slot]?.draining = true
        case .bye: removeWorker(peer, reason: nil, now: now)
        case .hello(.producer, _): producerHello(peer)
        case .hello(.consumer, let credit): consumerHello(peer, credit: Int(credit))
        case .submit(let requestID, let payload):
            var id = requestID
            id.withUTF8 { utf8 in
                payload.withUnsafeBytes { submit(peer, requestID: UnsafeRawBufferPointer(utf8), payload: $0, now: now) }
            }
        case .endOfInput:
            guard peer == producer else { return refuse(peer, "END_OF_INPUT from a peer that is not the producer") }
            inputEnded = true
            checkFinished()
        case .ack(let requestID):
            var id = requestID
            id.withUTF8 { acknowledge(peer, requestID: UnsafeRawBufferPointer($0)) }
        case .reopen(let requestID): reopen(peer, requestID)
        case .task, .grant, .alreadyDone, .result, .finished, .reset:
            stats.refused += 1
            effects.warning("peer sent \(message.kindName), which only the coordinator sends; ignored")
        }
    }

    /// Advances timers: presumes silent workers dead, expires leases, sends heartbeats. Call at least
    /// every `heartbeatIntervalMillis / 2`.
    public mutating func tick(now: UInt64) {
        let timeout = configuration.workerTimeoutMillis
        let silent = workers.compactMap { worker -> (Peer, UInt64)? in
            guard let worker, now > worker.lastSeen && now - worker.lastSeen > timeout else { return nil }
            return (worker.peer, now - worker.lastSeen)
        }
        for (peer, silence) in silent {
            stats.workersLost += 1
            removeWorker(peer, reason: "worker silent for \(silence) ms (timeout \(timeout) ms)", now: now)
        }
        // One scan of the slab (as many slots as tasks alive at once), a few times a second.
        for taskID in tasks.ids(where: { $0.worker != nil && $0.deadline <= now }) {
            guard let task = tasks.remove(taskID) else { continue }
            if let slot = task.worker { workers[slot]?.leased -= 1 }
            stageCounters[task.stage].leasesExpired += 1
            retry(task, reason: "lease of \(configuration.leaseMillis) ms expired at stage \(configuration.stages[task.stage])", now: now)
        }
        if now >= lastHeartbeat + configuration.heartbeatIntervalMillis {
            lastHeartbeat = now
            for case let worker? in workers { send(worker.peer, .heartbeat) }
        }
        for stage in pending.indices { pump(stage, now: now) }
    }

    /// Asks every worker to finish its leases and leave (coordinator shutdown).
    public mutating func drainAll() {
        isClosing = true
        for case let worker? in workers { send(worker.peer, .drain) }
    }

    // MARK: Workers

    private mutating func workerReady(_ peer: Peer, stage name: String, credit: Int, now: UInt64) {
        frameWorker = nil  // the table may change below
        guard let stage = stageIndex[name] else {
            stats.refused += 1
            effects.warning("worker announced unknown stage \(name); known: \(configuration.stages.joined(separator: ", "))")
            return
        }
        if let slot = workerSlots[peer], workers[slot]?.stage == stage {
            workers[slot]?.capacity = credit
            workers[slot]?.lastSeen = now
            workers[slot]?.draining = false
        } else {
            if workerSlots[peer] != nil { removeWorker(peer, reason: nil, now: now) }
            let slot = Self.place(WorkerState(peer: peer, stage: stage, capacity: credit, lastSeen: now), in: &workers, reusing: &freeWorkerSlots)
            workerSlots[peer] = slot
            stageWorkers[stage].append(slot)
        }
        pump(stage, now: now)
    }

    /// The current task for `taskID` if `peer` holds its lease; counts and ignores stale answers.
    private mutating func currentLease(_ peer: Peer, taskID: UInt64) -> TaskState? {
        guard let slot = workerSlot(peer) else {
            stats.staleIgnored += 1
            send(peer, .reset)
            return nil
        }
        guard let task = tasks[taskID], task.worker == slot else {
            stats.staleIgnored += 1
            return nil
        }
        return task
    }

    /// Ends `peer`'s lease `taskID` and returns its task (DONE is the hottest message: no hashing
    /// when `peer` sent the frame). Nil, counted, for a stale answer.
    private mutating func takeLease(_ peer: Peer, taskID: UInt64) -> TaskState? {
        guard let slot = workerSlot(peer) else {
            stats.staleIgnored += 1
            send(peer, .reset)
            return nil
        }
        guard let task = tasks.remove(taskID, if: { $0.worker == slot }) else {
            stats.staleIgnored += 1
            return nil
        }
        workers[slot]?.leased -= 1
        return task
    }

    private mutating func workerDone(_ peer: Peer, taskID: UInt64, payload: Data, now: UInt64) {
        guard let task = takeLease(peer, taskID: taskID) else { return }
        stageCounters[task.stage].completed += 1
        let next = task.stage + 1
        if next < configuration.stages.count {
            let input = payload.withUnsafeBytes { TaskInput.copying($0) }
            enqueue(TaskState(request: task.request, stage: next, attempt: 1, payload: input), front: false)
            pump(next, now: now)
        } else {
            deliver(task.request, status: .completed, stage: task.stage, attempts: task.attempt, reason: "", payload: payload)
        }
        pump(task.stage, now: now)
    }

    private mutating func workerFailed(_ peer: Peer, taskID: UInt64, permanent: Bool, reason: String, now: UInt64) {
        guard let task = takeLease(peer, taskID: taskID) else { return }
        if permanent {
            stats.failed += 1
            deliver(task.request, status: .failed, stage: task.stage, attempts: task.attempt, reason: reason, payload: Self.data(task.payload))
        } else {
            retry(task, reason: reason, now: now)
        }
        pump(task.stage, now: now)
    }

    private mutating func extend(_ peer: Peer, taskID: UInt64, now: UInt64) {
        guard currentLease(peer, taskID: taskID) != nil else { return }
        let deadline = now + UInt64(configuration.leaseMillis)
        tasks.modify(taskID) { $0.deadline = deadline }
    }

    /// Forgets `peer`; its leases are requeued: with attempt+1 when it was lost (`reason`), as they were when it left.
    private mutating func removeWorker(_ peer: Peer, reason: String?, now: UInt64) {
        frameWorker = nil
        guard let slot = workerSlots.removeValue(forKey: peer), let worker = workers[slot] else { return }
        stageWorkers[worker.stage].removeAll { $0 == slot }
        if let reason { effects.warning("\(reason); requeueing \(worker.leased) tasks") }
        // A scan of the slab: rare (a worker left or died), and cheaper than a lease set per worker on every task.
        // The slot is freed only after the scan, so no task can name a later worker that reuses it.
        for taskID in tasks.ids(where: { $0.worker == slot }) {
            guard var task = tasks.remove(taskID) else { continue }
            if let reason {
                retry(task, reason: reason, now: now)
            } else {
                task.worker = nil
                stats.requeued += 1
                stageCounters[task.stage].requeued += 1
                enqueue(task, front: true)
            }
        }
        workers[slot] = nil
        freeWorkerSlots.append(slot)
        pump(worker.stage, now: now)
    }

    /// Requeues `task` (already removed: its lease is over) with attempt+1, or ends it as exhausted.
    private mutating func retry(_ task: TaskState, reason: String, now: UInt64) {
        guard task.attempt < configuration.maxAttempts else {
            stats.exhausted += 1
            deliver(task.request, status: .exhausted, stage: task.stage, attempts: task.attempt,
                    reason: "gave up after \(task.attempt) attempts: \(reason)", payload: Self.data(task.payload))
            return
        }
        stats.requeued += 1
        stageCounters[task.stage].requeued += 1
        var again = task
        again.attempt += 1
        again.worker = nil
        enqueue(again, front: true)
        pump(task.stage, now: now)
    }

    /// A failed task's input as the error result's payload (rare: not on the hot path).
    private static func data(_ input: TaskInput) -> Data {
        input.withUnsafeBytes { Data($0) }
    }

    private mutating func enqueue(_ task: TaskState, front: Bool) {
        let taskID = tasks.insert(task)
        if front { pending[task.stage].prepend(taskID) } else { pending[task.stage].append(taskID) }
    }

    /// Leases pending tasks of `stage` to its workers with free credit, round robin.
    private mutating func pump(_ stage: Int, now: UInt64) {
        let slots = stageWorkers[stage]
        guard !slots.isEmpty else { return }
        var idle = 0
        while !pending[stage].isEmpty && idle < slots.count {
            let index = roundRobin[stage] % slots.count
            roundRobin[stage] = index + 1
            let slot = slots[index]
            guard let worker = workers[slot], worker.hasFreeCredit else {
                idle += 1
                continue
            }
            idle = 0
            guard let taskID = pending[stage].popFirst() else { continue }
            let deadline = now + UInt64(configuration.leaseMillis)
            guard case let (request, attempt, payload)? = tasks.modify(taskID, { task in
                task.worker = slot
                task.deadline = deadline
                return (task.request, task.attempt, task.payload)
            }) else { continue }
            workers[slot]?.leased += 1
            payload.withUnsafeBytes { bytes in
                effects.sendTask(to: worker.peer, taskID: taskID, requestID: requests[request].requestID, stage: configuration.stages[stage],
                                 attempt: attempt, leaseMillis: configuration.leaseMillis, payload: bytes)
            }
        }
    }

    // MARK: Producer

    private mutating func producerHello(_ peer: Peer) {
        producer = peer
        producerOutstanding = 0
        if inputEnded || finishedSent {
            inputEnded = false
            finishedSent = false
        }
        grant()
    }

    /// `requestID`, `payload`: borrowed bytes (from the received frame on the server's path).
    private mutating func submit(_ peer: Peer, requestID: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, now: UInt64) {
        guard peer == producer else { return refuse(peer, "SUBMIT from a peer that is not the producer") }
        producerOutstanding = max(0, producerOutstanding - 1)
        if completed.contains(utf8: requestID.assumingMemoryBound(to: UInt8.self)) {
            stats.alreadyDone += 1
            send(peer, .alreadyDone(requestID: String(decoding: requestID, as: UTF8.self)))
        } else if let request = claimRequestSlot(requestID) {
            stats.accepted += 1
            effects.journalAccepted(requests[request].requestID)
            if configuration.stages.isEmpty {
                deliver(request, status: .completed, stage: nil, attempts: 0, reason: "", payload: Data(payload))
            } else {
                enqueue(TaskState(request: request, stage: 0, attempt: 1, payload: TaskInput.copying(payload)), front: false)
                pump(0, now: now)
            }
        } else {
            stats.duplicateSubmits += 1
        }
        grant()
    }

    /// The new slot of `requestID`, or nil when it is already in flight (one hash of its bytes either way).
    /// Puts `value` in a freed slot of `table` when there is one, else at its end; returns the slot.
    private static func place<Element>(_ value: Element, in table: inout [Element], reusing free: inout [Int]) -> Int {
        if let slot = free.popLast() {
            table[slot] = value
            return slot
        }
        table.append(value)
        return table.count - 1
    }

    private mutating func claimRequestSlot(_ requestID: UnsafeRawBufferPointer) -> Int? {
        let hash = requestSlots.hash(requestID)
        guard requestSlots.find(hash: hash, matches: { slot in Self.equal(requests[slot].requestID, requestID) }) == nil else {
            return nil
        }
        let slot = Self.place(RequestState(requestID: String(decoding: requestID, as: UTF8.self)), in: &requests, reusing: &freeRequestSlots)
        requestSlots.insert(hash: hash, slot: slot)
        return slot
    }

    /// Whether `id`'s UTF-8 bytes are `bytes` (a small `id` is compared from the stack, a large one in place).
    private static func equal(_ id: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard id.utf8.count == bytes.count else { return false }
        var id = id
        return id.withUTF8 { utf8 in
            guard let base = utf8.baseAddress, let other = bytes.baseAddress else { return true }
            return memcmp(base, other, bytes.count) == 0
        }
    }

    /// Grants the producer what the window allows, in batches of at least a tenth of the window
    /// (fewer messages) unless the producer has nothing left to spend.
    private mutating func grant() {
        guard let producer, consumer != nil || !configuration.inputWaitsForConsumer else { return }
        let available = configuration.window - requestSlots.count - producerOutstanding
        guard available > 0 else { return }
        let batch = max(1, configuration.window / 10)
        guard available >= batch || producerOutstanding == 0 else { return }
        producerOutstanding += available
        send(producer, .grant(credit: UInt32(clamping: available)))
    }

    // MARK: Consumer

    private mutating func consumerHello(_ peer: Peer, credit: Int) {
        applyHeldAnnouncements(of: peer)
        consumer = peer
        consumerCapacity = max(1, credit)
        // Results sent to an earlier consumer and not acknowledged go first, in request ID order.
        var unacknowledged: [(String, Int)] = []
        for slot in requests.indices where requests[slot].awaitingAck {
            requests[slot].awaitingAck = false
            unacknowledged.append((requests[slot].requestID, slot))
        }
        for (_, slot) in unacknowledged.sorted(by: { $0.0 > $1.0 }) { deliveries.prepend(slot) }
        awaitingAckCount = 0
        pumpDeliveries()
        grant()
        if finishedSent && allDone { send(peer, .finished) } else { checkFinished() }
    }

    /// Ends request `request` with a result for the consumer. `stage` nil: no stage ran (no stages configured).
    private mutating func deliver(_ request: Int, status: WireResult.Status, stage: Int?, attempts: UInt16,
                                  reason: String, payload: Data) {
        requests[request].outcome = Outcome(status: status, stage: stage, attempts: attempts, reason: reason, payload: payload)
        deliveries.append(request)
        pumpDeliveries()
    }

    private mutating func pumpDeliveries() {
        guard let consumer else { return }
        while awaitingAckCount < consumerCapacity, let slot = deliveries.popFirst() {
            guard requests[slot].outcome != nil else { continue }
            requests[slot].awaitingAck = true
            awaitingAckCount += 1
            sendResult(slot, to: consumer)
        }
    }

    /// Encodes request `slot`'s RESULT from its fields in the table (no `WireResult` is built).
    private mutating func sendResult(_ slot: Int, to consumer: Peer) {
        guard let outcome = requests[slot].outcome else { return }
        effects.sendResult(to: consumer, requestID: requests[slot].requestID, status: outcome.status,
                           stage: outcome.stage.map { configuration.stages[$0] } ?? "", attempts: outcome.attempts,
                           reason: outcome.reason, payload: outcome.payload)
    }

    /// `requestID`: the ID's UTF-8 bytes, borrowed (from the received frame on the server's path).
    private mutating func acknowledge(_ peer: Peer, requestID: UnsafeRawBufferPointer) {
        let hash = requestSlots.hash(requestID)
        let slot = requestSlots.find(hash: hash, matches: { slot in Self.equal(requests[slot].requestID, requestID) })
        guard peer == consumer else {
            // In flight: only the consumer it was delivered to settles it (an old consumer is told to reset).
            guard isStranger(peer), slot == nil else { return refuse(peer, "ACK from a peer that is not the consumer") }
            return hold(.written(String(decoding: requestID, as: UTF8.self)), from: peer)
        }
        guard let slot else { return announceWritten(requestID) }
        guard requests[slot].awaitingAck else {
            stats.staleIgnored += 1
            return
        }
        requestSlots.remove(hash: hash, matches: { $0 == slot })
        awaitingAckCount -= 1
        completed.insert(utf8: requestID.assumingMemoryBound(to: UInt8.self))
        stats.completed += 1
        effects.journalCompleted(requests[slot].requestID)
        requests[slot] = RequestState(requestID: "")
        freeRequestSlots.append(slot)
        pumpDeliveries()
        grant()
        checkFinished()
    }

    /// A request the consumer holds durably and that is not in flight (a sink saying what an earlier run
    /// wrote): it is completed, and a submit of it is answered `alreadyDone`. In flight: it is
    /// delivered again and the consumer's ACK settles it.
    private mutating func announceWritten(_ requestID: UnsafeRawBufferPointer) {
        let hash = requestSlots.hash(requestID)
        let utf8 = requestID.assumingMemoryBound(to: UInt8.self)
        guard requestSlots.find(hash: hash, matches: { slot in Self.equal(requests[slot].requestID, requestID) }) == nil,
              !completed.contains(utf8: utf8) else {
            stats.staleIgnored += 1
            return
        }
        completed.insert(utf8: utf8)
        stats.announcedCompleted += 1
        effects.journalCompleted(String(decoding: requestID, as: UTF8.self))
    }

    /// The consumer will replace its record of `requestID` (a failed line retried): a later submit of it is
    /// accepted again. Not journaled: the consumer says it again whenever it joins, until replaced.
    private mutating func reopen(_ peer: Peer, _ requestID: String) {
        guard peer == consumer else {
            guard isStranger(peer) else { return refuse(peer, "REOPEN from a peer that is not the consumer") }
            return hold(.reopened(requestID), from: peer)
        }
        reopenNow(requestID)
    }

    private mutating func reopenNow(_ requestID: String) {
        guard completed.contains(requestID) else { return }
        completed.remove(requestID)
        stats.reopened += 1
    }

    /// Neither a worker nor the producer nor the consumer: a sink about to join, or an admitted peer that
    /// has not said what it is.
    private func isStranger(_ peer: Peer) -> Bool {
        workerSlot(peer) == nil && peer != producer && peer != consumer
    }

    /// Keeps what a peer that has not joined says it holds until its HELLO as consumer (a sink sends them
    /// just before it): nothing a peer says counts before it is the consumer, so an admitted peer that
    /// never joins cannot mark lines done. Bounded: the oldest peer's are dropped past `heldPeersLimit`
    /// peers, and a peer past `heldAnnouncementsLimit` is refused.
    private mutating func hold(_ announcement: HeldAnnouncement, from peer: Peer) {
        if let index = heldAnnouncements.firstIndex(where: { $0.peer == peer }) {
            guard heldAnnouncements[index].items.count < Self.heldAnnouncementsLimit else {
                return refuse(peer, "more than \(Self.heldAnnouncementsLimit) ACK/REOPEN before a HELLO")
            }
            heldAnnouncements[index].items.append(announcement)
        } else {
            if heldAnnouncements.count >= Self.heldPeersLimit {
                let dropped = heldAnnouncements.removeFirst()
                effects.warning("dropped \(dropped.items.count) ACK/REOPEN of a peer that never joined as consumer")
            }
            heldAnnouncements.append((peer, [announcement]))
        }
        stats.announcementsHeld += 1
    }

    /// Applies what `peer` said before its HELLO as consumer, in order.
    private mutating func applyHeldAnnouncements(of peer: Peer) {
        guard let index = heldAnnouncements.firstIndex(where: { $0.peer == peer }) else { return }
        for announcement in heldAnnouncements.remove(at: index).items {
            stats.announcementsHeld -= 1
            switch announcement {
            case .written(var requestID): requestID.withUTF8 { announceWritten(UnsafeRawBufferPointer($0)) }
            case .reopened(let requestID): reopenNow(requestID)
            }
        }
    }

    private mutating func checkFinished() {
        guard allDone, !finishedSent, let consumer else { return }
        finishedSent = true
        send(consumer, .finished)
        if let producer, producer != consumer { send(producer, .finished) }
    }

    private mutating func send(_ peer: Peer, _ message: WireMessage) {
        effects.send(message, to: peer)
    }

    /// An out-of-order message: not acted on, logged with why, and the peer told RESET (a producer or
    /// consumer that outlived a coordinator restart announces itself again; anyone else learns nothing).
    private mutating func refuse(_ peer: Peer, _ why: String) {
        stats.refused += 1
        effects.warning("refused: \(why) (told RESET)")
        send(peer, .reset)
    }
}
