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
        var tasks: Set<UInt64> = []
        var lastSeen: UInt64
        var draining = false
    }

    public let configuration: WorkCoordinatorConfiguration
    public private(set) var stats = WorkCoordinatorStats()

    private var tasks: [UInt64: TaskState] = [:]
    private var pending: [RingBuffer<UInt64>]
    private var workers: [Peer: WorkerState] = [:]
    private var stageWorkers: [[Peer]]
    private var roundRobin: [Int]
    private var stageIndex: [String: Int] = [:]
    private var nextTaskID: UInt64 = 1

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
    public func leasedCount(_ peer: Peer) -> Int { workers[peer]?.tasks.count ?? 0 }

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
        if let index = workers.index(forKey: peer) { workers.values[index].lastSeen = now }
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
            guard var worker = workers[peer] else { return send(peer, .reset) }
            worker.draining = true
            workers[peer] = worker
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
        for (peer, worker) in workers {
            for taskID in worker.tasks {
                guard let task = tasks[taskID], task.deadline <= now else { continue }
                workers[peer]?.tasks.remove(taskID)
                retry(taskID, task, reason: "lease of \(configuration.leaseMillis) ms expired at stage \(configuration.stages[task.stage])", now: now)
            }
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

    /// Ends `peer`'s lease `taskID` and returns its task: `currentLease` + `release` with one
    /// lookup per table (DONE is the hottest message). Nil, counted, for a stale answer.
    private mutating func takeLease(_ peer: Peer, taskID: UInt64) -> TaskState? {
        guard let slot = workers.index(forKey: peer) else {
            stats.staleIgnored += 1
            send(peer, .reset)
            return nil
        }
        guard let index = tasks.index(forKey: taskID), tasks.values[index].worker == peer else {
            stats.staleIgnored += 1
            return nil
        }
        workers.values[slot].tasks.remove(taskID)
        return tasks.remove(at: index).value
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
        guard let task = currentLease(peer, taskID: taskID) else { return }
        release(peer, taskID: taskID)
        if permanent {
            stats.failed += 1
            deliver(WireResult(requestID: task.requestID, status: .failed, stage: configuration.stages[task.stage],
                               attempts: task.attempt, reason: reason, payload: task.payload))
        } else {
            retry(taskID, task, reason: reason, now: now)
        }
        pump(task.stage, now: now)
    }

    private mutating func extend(_ peer: Peer, taskID: UInt64, now: UInt64) {
        guard currentLease(peer, taskID: taskID) != nil else { return }
        let deadline = now + UInt64(configuration.leaseMillis)
        tasks[taskID]?.deadline = deadline
    }

    private mutating func release(_ peer: Peer, taskID: UInt64) {
        tasks[taskID] = nil
        workers[peer]?.tasks.remove(taskID)
    }

    /// Forgets `peer`; its leases are requeued: with attempt+1 when it was lost (`reason`), as they were when it left.
    private mutating func removeWorker(_ peer: Peer, reason: String?, now: UInt64) {
        guard let worker = workers.removeValue(forKey: peer) else { return }
        stageWorkers[worker.stage].removeAll { $0 == peer }
        if let reason { outbox.append(.warning("\(reason); requeueing \(worker.tasks.count) tasks")) }
        for taskID in worker.tasks.sorted() {
            guard var task = tasks.removeValue(forKey: taskID) else { continue }
            if let reason {
                retry(taskID, task, reason: reason, now: now)
            } else {
                task.worker = nil
                stats.requeued += 1
                enqueue(task, front: true)
            }
        }
        pump(worker.stage, now: now)
    }

    /// Requeues `task` (whose lease `taskID` is over) with attempt+1, or ends it as exhausted.
    private mutating func retry(_ taskID: UInt64, _ task: TaskState, reason: String, now: UInt64) {
        tasks[taskID] = nil
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
        let taskID = nextTaskID
        nextTaskID += 1
        tasks[taskID] = task
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
            // Mutated in place through the index: copying `WorkerState` out and back would copy its
            // `tasks` set (O(credit)) for every lease.
            guard let slot = workers.index(forKey: peer), !workers.values[slot].draining,
                  workers.values[slot].tasks.count < workers.values[slot].capacity else {
                idle += 1
                continue
            }
            idle = 0
            guard let taskID = pending[stage].popFirst(), let taskSlot = tasks.index(forKey: taskID) else { continue }
            tasks.values[taskSlot].worker = peer
            tasks.values[taskSlot].deadline = now + UInt64(configuration.leaseMillis)
            let task = tasks.values[taskSlot]
            workers.values[slot].tasks.insert(taskID)
            send(peer, .task(WireTask(taskID: taskID, requestID: task.requestID, stage: configuration.stages[stage],
                                      attempt: task.attempt, leaseMillis: configuration.leaseMillis, payload: task.payload)))
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
