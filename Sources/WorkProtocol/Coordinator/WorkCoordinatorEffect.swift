import Foundation
import Wire

/// What the coordinator state machine asks its transport to do, in order, as values
/// (`WorkCoordinatorEffectList` collects them; tests compare them).
public enum WorkCoordinatorEffect<Peer: Hashable & Sendable>: Sendable, Equatable {
    /// Send `message` to `peer`.
    case send(Peer, WireMessage)
    /// Append "accepted `requestID`" to the journal.
    case journalAccepted(String)
    /// Append "completed `requestID`" to the journal (the consumer acknowledged its durable write).
    case journalCompleted(String)
    /// Something worth a log line (a protocol violation or a peer presumed dead).
    case warning(String)
}

/// Where a `WorkCoordinatorMachine` puts its effects, in order, as they happen. The transport's
/// implementation (`CoordinatorServer`) encodes sends straight into per-peer frames and appends
/// journal records at once: no `WireMessage` or effect value is built per send, which the protocol
/// benchmark's profile showed as a large part of the coordinator's CPU (retains, copies, releases).
/// TASK and RESULT, the messages sent for every request, have their own requirements whose fields
/// are borrowed from the machine's tables.
public protocol WorkCoordinatorEffects<Peer> {
    associatedtype Peer: Hashable & Sendable
    /// Send `message` to `peer`.
    mutating func send(_ message: WireMessage, to peer: Peer)
    /// Send a TASK (the fields of `WireTask`) to `peer`. `payload` is valid only during the call.
    mutating func sendTask(to peer: Peer, taskID: UInt64, requestID: String, stage: String, attempt: UInt16,
                           leaseMillis: UInt32, payload: UnsafeRawBufferPointer)
    /// Send a RESULT (the fields of `WireResult`) to `peer`.
    mutating func sendResult(to peer: Peer, requestID: String, status: WireResult.Status, stage: String, attempts: UInt16,
                             reason: String, payload: Data)
    /// Append "accepted `requestID`" to the journal.
    mutating func journalAccepted(_ requestID: String)
    /// Append "completed `requestID`" to the journal.
    mutating func journalCompleted(_ requestID: String)
    /// Log `text` as a warning.
    mutating func warning(_ text: String)
}

/// A sink that keeps effects as values, for `WorkCoordinator.takeEffects()`.
public protocol CollectingWorkCoordinatorEffects: WorkCoordinatorEffects {
    init()
    /// Returns and clears the effects collected so far.
    mutating func take() -> [WorkCoordinatorEffect<Peer>]
}

/// Collects effects as `WorkCoordinatorEffect` values, in order: the sink of `WorkCoordinator`
/// (tests and simulations read them with `takeEffects()`).
public struct WorkCoordinatorEffectList<Peer: Hashable & Sendable>: CollectingWorkCoordinatorEffects {
    public private(set) var effects: [WorkCoordinatorEffect<Peer>] = []

    public init() {}

    /// Returns and clears the effects collected so far.
    public mutating func take() -> [WorkCoordinatorEffect<Peer>] {
        defer { effects = [] }
        return effects
    }

    public mutating func send(_ message: WireMessage, to peer: Peer) { effects.append(.send(peer, message)) }

    public mutating func sendTask(to peer: Peer, taskID: UInt64, requestID: String, stage: String, attempt: UInt16,
                                  leaseMillis: UInt32, payload: UnsafeRawBufferPointer) {
        let task = WireTask(taskID: taskID, requestID: requestID, stage: stage, attempt: attempt, leaseMillis: leaseMillis,
                            payload: Data(payload))
        effects.append(.send(peer, .task(task)))
    }

    public mutating func sendResult(to peer: Peer, requestID: String, status: WireResult.Status, stage: String, attempts: UInt16,
                                    reason: String, payload: Data) {
        let result = WireResult(requestID: requestID, status: status, stage: stage, attempts: attempts, reason: reason, payload: payload)
        effects.append(.send(peer, .result(result)))
    }
    public mutating func journalAccepted(_ requestID: String) { effects.append(.journalAccepted(requestID)) }
    public mutating func journalCompleted(_ requestID: String) { effects.append(.journalCompleted(requestID)) }
    public mutating func warning(_ text: String) { effects.append(.warning(text)) }
}
