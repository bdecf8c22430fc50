import Foundation
import Wire

/// The coordinator of the work protocol as a plain value type: messages and clock ticks in,
/// `WorkCoordinatorEffect`s out. It knows nothing of sockets or files, so every rule (credit, leases,
/// requeue, attempts, deduplication, drain, window) is unit-tested deterministically;
/// `CoordinatorServer` runs it over ZeroMQ.
///
/// Guarantees: every accepted request yields exactly one `result` to the consumer (completed,
/// failed or exhausted), redelivered until acknowledged; an answer for a lease that is no longer
/// current is ignored; the producer is granted credit only while `accepted − acknowledged < window`.
/// One producer and one consumer at a time (a new `hello` replaces the previous one).
public struct WorkCoordinator<Peer: Hashable & Sendable> {
    struct TaskState {
        var requestID: String
        var stage: Int
        var attempt: UInt16
        var payload: Data
        var worker: Peer?
        var deadline: UInt64 = 0
    }

    struct WorkerState {
        var stage: Int
        var capacity: Int
        /// Tasks leased to this worker now (the tasks themselves say whose they are).
        var leased = 0
        var lastSeen: UInt64
        var draining = false
    }

    public let configuration: WorkCoordinatorConfiguration
    public private(set) var stats = WorkCoordinatorStats()

    /// Live tasks by task ID (a slot array with generations: no hashing per message).
    private var tasks = TaskSlab<TaskState>()
    private var pending: [RingBuffer<UInt64>]
    private var workers: [Peer: WorkerState] = [:]
    private var stageWorkers: [[Peer]]
    /// The worker table's index for the sender of the frame being handled, so each DONE of a batch
    /// skips hashing its worker. Cleared whenever a worker is added or removed (indices go stale).
    private var frameWorker: (peer: Peer, slot: Dictionary<Peer, WorkerState>.Index)?
    private var roundRobin: [Int]
    private var stageIndex: [String: Int] = [:]

    private var inFlight: Set<String> = []
    private var completed: CompletedIDs
    private var producer: Peer?
    private var producerOutstanding = 0
    private var consumer: Peer?
    private var consumerCapacity = 0
    private var deliveries = RingBuffer<WireResult>()
    private var awaitingAck: [String: WireResult] = [:]
    private var inputEnded = false
    private var finishedSent = false
    private var lastHeartbeat: UInt64 = 0
    private var outbox: [WorkCoordinatorEffect<Peer>] = []

    /// - Parameters:
    ///   - completed: request IDs finished in earlier runs (from `WorkJournal`): their submits are answered `alreadyDone`.
    public init(configuration: WorkCoordinatorConfiguration, completed: Set<String> = []) {
        self.configuration = configuration
        self.completed = CompletedIDs(completed)
        pending = Array(repeating: RingBuffer<UInt64>(), count: configuration.stages.count)
        stageWorkers = Array(repeating: [], count: configuration.stages.count)
        roundRobin = Array(repeating: 0, count: configuration.stages.count)
        for (index, stage) in configuration.stages.enumerated() { stageIndex[stage] = index }
    }

    // MARK: Queries

    /// Requests accepted and not yet acknowledged by the consumer (bounded by `window`).
    public var inFlightCount: Int { inFlight.count }
    /// Workers currently known (alive and not left).
    public var workerCount: Int { workers.count }
    /// Tasks waiting for a worker, per stage (in `configuration.stages` order).
    public var pendingCounts: [Int] { pending.map(\.count) }
    /// True once input ended, every accepted request is acknowledged and a consumer has been sent FINISHED.
    /// (A rerun whose lines were all done earlier ends before any result flows: it must still wait for the
    /// consumer to join, or the sink would wait forever for a coordinator that has gone.)
    public var isFinished: Bool { finishedSent && allDone }
    private var allDone: Bool { inputEnded && inFlight.isEmpty }
    /// Whether `requestID` was completed (this run or an earlier one).
    public func isCompleted(_ requestID: String) -> Bool { completed.contains(requestID) }
    /// Tasks currently leased to `peer`.
    public func leasedCount(_ peer: Peer) -> Int { workers[peer]?.leased ?? 0 }

    /// Returns and clears the effects produced so far. Call after `receive`/`tick` and apply them in order.
    public mutating func takeEffects() -> [WorkCoordinatorEffect<Peer>] {
        defer { outbox.removeAll(keepingCapacity: true) }
        return outbox
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

    private mutating func touch(_ peer: Peer, now: UInt64) {
        if let index = workers.index(forKey: peer) {
            workers.values[index].lastSeen = now
            frameWorker = (peer, index)
        } else {
            frameWorker = nil
        }
    }

    /// `peer`'s index in `workers`, from the frame's cached lookup when it is the frame's sender.
    private func workerSlot(_ peer: Peer) -> Dictionary<Peer, WorkerState>.Index? {
        if let frameWorker, frameWorker.peer == peer { return frameWorker.slot }
        return workers.index(forKey: peer)
    }

    private mutating func handle(_ message: WireMessage, from peer: Peer, now: UInt64) {
        switch message {
        case .ready(let stage, let credit): workerReady(peer, stage: stage, credit: Int(credit), now: now)
        case .done(let taskID, let payload): workerDone(peer, taskID: taskID, payload: payload, now: now)
        case .fail(let taskID, let permanent, let reason):
            workerFailed(peer, taskID: taskID, permanent: permanent, reason: reason, now: now)
        case .heartbeat:
            if workers[peer] == nil && peer != producer && peer != consumer { send(peer, .reset) }
        case .extend(let taskID): extend(peer, taskID: taskID, now: now)
        case .drain:
            guard let slot = workerSlot(peer) else { return send(peer, .reset) }
            workers.values[slot].draining = true
        case .bye: removeWorker(peer, reason: nil, now: now)
        case .hello(.producer, _): producerHello(peer)
        case .hello(.consumer, let credit): consumerHello(peer, credit: Int(credit))
        case .submit(let requestID, let payload): submit(peer, requestID: requestID, payload: payload, now: now)
        case .endOfInput:
            guard peer == producer else { return send(peer, .reset) }
            inputEnded = true
            checkFinished()
        case .ack(let requestID): acknowledge(peer, requestID: requestID)
        case .task, .grant, .alreadyDone, .result, .finished, .reset:
            outbox.append(.warning("peer sent \(message.kindName), which only the coordinator sends; ignored"))
        }
    }

    /// Advances timers: presumes silent workers dead, expires leases, sends heartbeats. Call at least
    /// every `heartbeatIntervalMillis / 2`.
    public mutating func tick(now: UInt64) {
        let timeout = configuration.workerTimeoutMillis
        for (peer, worker) in workers where now > worker.lastSeen && now - worker.lastSeen > timeout {
            stats.workersLost += 1
            removeWorker(peer, reason: "worker silent for \(now - worker.lastSeen) ms (timeout \(timeout) ms)", now: now)
        }
        // One scan of the slab (as many slots as tasks alive at once), a few times a second.
        for taskID in tasks.ids(where: { $0.worker != nil && $0.deadline <= now }) {
            guard let task = tasks.remove(taskID) else { continue }
            if let peer = task.worker, let slot = workers.index(forKey: peer) { workers.values[slot].leased -= 1 }
            retry(task, reason: "lease of \(configuration.leaseMillis) ms expired at stage \(configuration.stages[task.stage])", now: now)
        }
        if now >= lastHeartbeat + configuration.heartbeatIntervalMillis {
            lastHeartbeat = now
            for peer in workers.keys { send(peer, .heartbeat) }
        }
        for stage in pending.indices { pump(stage, now: now) }
    }

    /// Asks every worker to finish its leases and leave (coordinator shutdown).
    public mutating func drainAll() {
        for peer in workers.keys { send(peer, .drain) }
    }

    // MARK: Workers

    private mutating func workerReady(_ peer: Peer, stage name: String, credit: Int, now: UInt64) {
        frameWorker = nil  // the table may change below
        guard let stage = stageIndex[name] else {
            outbox.append(.warning("worker announced unknown stage \(name); known: \(configuration.stages.joined(separator: ", "))"))
            return
        }
        if var worker = workers[peer], worker.stage == stage {
            worker.capacity = credit
            worker.lastSeen = now
            worker.draining = false
            workers[peer] = worker
        } else {
            if workers[peer] != nil { removeWorker(peer, reason: nil, now: now) }
            workers[peer] = WorkerState(stage: stage, capacity: credit, lastSeen: now)
            stageWorkers[stage].append(peer)
        }
        pump(stage, now: now)
    }

    /// The current task for `taskID` if `peer` holds its lease; counts and ignores stale answers.
    private mutating func currentLease(_ peer: Peer, taskID: UInt64) -> TaskState? {
        guard workers[peer] != nil else {
            stats.staleIgnored += 1
            send(peer, .reset)
            return nil
        }
        guard let task = tasks[taskID], task.worker == peer else {
            stats.staleIgnored += 1
            return nil
        }
        return task
    }

    /// Ends `peer`'s lease `taskID` and returns its task (DONE is the hottest message: one hashed
    /// lookup, the worker's). Nil, counted, for a stale answer.
    private mutating func takeLease(_ peer: Peer, taskID: UInt64) -> TaskState? {
        guard let slot = workerSlot(peer) else {
            stats.staleIgnored += 1
            send(peer, .reset)
            return nil
        }
        // `modify` reads the task in place (a plain lookup would copy and release its strings and payload).
        guard tasks.modify(taskID, { $0.worker == peer }) == true, let task = tasks.remove(taskID) else {
            stats.staleIgnored += 1
            return nil
        }
        workers.values[slot].leased -= 1
        return task
    }

    private mutating func workerDone(_ peer: Peer, taskID: UInt64, payload: Data, now: UInt64) {
        guard let task = takeLease(peer, taskID: taskID) else { return }
        let next = task.stage + 1
        if next < configuration.stages.count {
            enqueue(TaskState(requestID: task.requestID, stage: next, attempt: 1, payload: payload), front: false)
            pump(next, now: now)
        } else {
            deliver(WireResult(requestID: task.requestID, status: .completed, stage: configuration.stages[task.stage],
                               attempts: task.attempt, reason: "", payload: payload))
        }
        pump(task.stage, now: now)
    }

    private mutating func workerFailed(_ peer: Peer, taskID: UInt64, permanent: Bool, reason: String, now: UInt64) {
        guard let task = takeLease(peer, taskID: taskID) else { return }
        if permanent {
            stats.failed += 1
            deliver(WireResult(requestID: task.requestID, status: .failed, stage: configuration.stages[task.stage],
                               attempts: task.attempt, reason: reason, payload: task.payload))
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
        guard let worker = workers.removeValue(forKey: peer) else { return }
        stageWorkers[worker.stage].removeAll { $0 == peer }
        if let reason { outbox.append(.warning("\(reason); requeueing \(worker.leased) tasks")) }
        // A scan of the slab: rare (a worker left or died), and cheaper than a lease set per worker on every task.
        for taskID in tasks.ids(where: { $0.worker == peer }) {
            guard var task = tasks.remove(taskID) else { continue }
            if let reason {
                retry(task, reason: reason, now: now)
            } else {
                task.worker = nil
                stats.requeued += 1
                enqueue(task, front: true)
            }
        }
        pump(worker.stage, now: now)
    }

    /// Requeues `task` (already removed: its lease is over) with attempt+1, or ends it as exhausted.
    private mutating func retry(_ task: TaskState, reason: String, now: UInt64) {
        guard task.attempt < configuration.maxAttempts else {
            stats.exhausted += 1
            deliver(WireResult(requestID: task.requestID, status: .exhausted, stage: configuration.stages[task.stage],
                               attempts: task.attempt, reason: "gave up after \(task.attempt) attempts: \(reason)",
                               payload: task.payload))
            return
        }
        stats.requeued += 1
        var again = task
        again.attempt += 1
        again.worker = nil
        enqueue(again, front: true)
        pump(task.stage, now: now)
    }

    private mutating func enqueue(_ task: TaskState, front: Bool) {
        let taskID = tasks.insert(task)
        if front { pending[task.stage].prepend(taskID) } else { pending[task.stage].append(taskID) }
    }

    /// Leases pending tasks of `stage` to its workers with free credit, round robin.
    private mutating func pump(_ stage: Int, now: UInt64) {
        let peers = stageWorkers[stage]
        guard !peers.isEmpty else { return }
        var idle = 0
        while !pending[stage].isEmpty && idle < peers.count {
            let index = roundRobin[stage] % peers.count
            roundRobin[stage] = index + 1
            let peer = peers[index]
            guard let slot = workers.index(forKey: peer), !workers.values[slot].draining,
                  workers.values[slot].leased < workers.values[slot].capacity else {
                idle += 1
                continue
            }
            idle = 0
            guard let taskID = pending[stage].popFirst() else { continue }
            let deadline = now + UInt64(configuration.leaseMillis)
            let stageName = configuration.stages[stage]
            let leaseMillis = configuration.leaseMillis
            guard let message = tasks.modify(taskID, { task -> WireMessage in
                task.worker = peer
                task.deadline = deadline
                return .task(WireTask(taskID: taskID, requestID: task.requestID, stage: stageName,
                                      attempt: task.attempt, leaseMillis: leaseMillis, payload: task.payload))
            }) else { continue }
            workers.values[slot].leased += 1
            send(peer, message)
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

    private mutating func submit(_ peer: Peer, requestID: String, payload: Data, now: UInt64) {
        guard peer == producer else { return send(peer, .reset) }
        producerOutstanding = max(0, producerOutstanding - 1)
        if completed.contains(requestID) {
            stats.alreadyDone += 1
            send(peer, .alreadyDone(requestID: requestID))
        } else if !inFlight.insert(requestID).inserted {
            stats.duplicateSubmits += 1
        } else {
            stats.accepted += 1
            outbox.append(.journalAccepted(requestID))
            if configuration.stages.isEmpty {
                deliver(WireResult(requestID: requestID, status: .completed, stage: "", attempts: 0, reason: "", payload: payload))
            } else {
                enqueue(TaskState(requestID: requestID, stage: 0, attempt: 1, payload: payload), front: false)
                pump(0, now: now)
            }
        }
        grant()
    }

    /// Grants the producer what the window allows, in batches of at least a tenth of the window
    /// (fewer messages) unless the producer has nothing left to spend.
    private mutating func grant() {
        guard let producer else { return }
        let available = configuration.window - inFlight.count - producerOutstanding
        guard available > 0 else { return }
        let batch = max(1, configuration.window / 10)
        guard available >= batch || producerOutstanding == 0 else { return }
        producerOutstanding += available
        send(producer, .grant(credit: UInt32(clamping: available)))
    }

    // MARK: Consumer

    private mutating func consumerHello(_ peer: Peer, credit: Int) {
        consumer = peer
        consumerCapacity = max(1, credit)
        for requestID in awaitingAck.keys.sorted().reversed() {
            if let result = awaitingAck[requestID] { deliveries.prepend(result) }
        }
        awaitingAck.removeAll()
        pumpDeliveries()
        if finishedSent && allDone { send(peer, .finished) } else { checkFinished() }
    }

    private mutating func deliver(_ result: WireResult) {
        deliveries.append(result)
        pumpDeliveries()
    }

    private mutating func pumpDeliveries() {
        guard let consumer else { return }
        while awaitingAck.count < consumerCapacity, let result = deliveries.popFirst() {
            awaitingAck[result.requestID] = result
            send(consumer, .result(result))
        }
    }

    private mutating func acknowledge(_ peer: Peer, requestID: String) {
        guard peer == consumer else { return send(peer, .reset) }
        guard awaitingAck.removeValue(forKey: requestID) != nil else {
            stats.staleIgnored += 1
            return
        }
        inFlight.remove(requestID)
        completed.insert(requestID)
        stats.completed += 1
        outbox.append(.journalCompleted(requestID))
        pumpDeliveries()
        grant()
        checkFinished()
    }

    private mutating func checkFinished() {
        guard allDone, !finishedSent, let consumer else { return }
        finishedSent = true
        send(consumer, .finished)
        if let producer, producer != consumer { send(producer, .finished) }
    }

    private mutating func send(_ peer: Peer, _ message: WireMessage) {
        outbox.append(.send(peer, message))
    }
}
