import Foundation

/// Every message of the work protocol (README, "The work protocol").
///
/// Roles: stage workers (DEALER) send `ready`, `done`, `fail`, `heartbeat`, `extend`, `drain`, `bye`;
/// the producer (ingest) sends `hello(.producer)`, `submit`, `endOfInput`; the consumer (sink) sends
/// `hello(.consumer)` and `ack`; the coordinator (ROUTER) sends `task`, `grant`, `alreadyDone`,
/// `result`, `heartbeat`, `drain`, `reset`, `finished`.
public enum WireMessage: Sendable, Equatable {
    /// Worker joins (or rejoins) `stage` and can hold `credit` tasks at once.
    case ready(stage: String, credit: UInt32)
    /// Coordinator leases a task to a worker.
    case task(WireTask)
    /// Worker finished a task; `payload` becomes the next stage's input (or the result).
    case done(taskID: UInt64, payload: Data)
    /// Worker could not do a task. `permanent`: retrying cannot help (bad input) → error at once.
    case fail(taskID: UInt64, permanent: Bool, reason: String)
    /// Liveness, both ways.
    case heartbeat
    /// Worker still works on `taskID`: renew its lease.
    case extend(taskID: UInt64)
    /// Worker → coordinator: send me no more tasks. Coordinator → worker: finish your leases and leave.
    case drain
    /// Worker has drained and leaves now; anything it still holds is requeued.
    case bye
    /// Coordinator does not know this peer (it restarted, or presumed the peer dead): say `ready`/`hello` again.
    case reset
    /// Producer or consumer joins. A consumer's `credit` bounds results sent but not yet acknowledged.
    case hello(role: PeerRole, credit: UInt32)
    /// Producer offers a request. Allowed only within granted credit.
    case submit(requestID: String, payload: Data)
    /// Coordinator lets the producer submit `credit` more requests (window flow control).
    case grant(credit: UInt32)
    /// The request was completed in an earlier run (journal): skip it.
    case alreadyDone(requestID: String)
    /// Producer has submitted everything.
    case endOfInput
    /// Coordinator delivers one request's final outcome to the consumer.
    case result(WireResult)
    /// Consumer has durably written `requestID`'s outcome; the coordinator journals it as completed.
    /// Sent for a request the coordinator does not hold (before `hello`: records an earlier run wrote),
    /// it marks the request completed, so it is never sent again, whichever process wrote it.
    case ack(requestID: String)
    /// Consumer: the record it holds for `requestID` failed and will be replaced (a retry of failed lines):
    /// forget that it was completed, so the producer's submit is accepted again.
    case reopen(requestID: String)
    /// Input ended and every accepted request is acknowledged: the run is over.
    case finished
}

/// Who sent `hello`.
public enum PeerRole: UInt8, Sendable, Equatable {
    case producer = 1
    case consumer = 2
}

extension WireMessage {
    /// The message's name for logs (never its payload, which may hold user data).
    public var kindName: String {
        switch self {
        case .ready: return "READY"
        case .task: return "TASK"
        case .done: return "DONE"
        case .fail: return "FAIL"
        case .heartbeat: return "HEARTBEAT"
        case .extend: return "EXTEND"
        case .drain: return "DRAIN"
        case .bye: return "BYE"
        case .reset: return "RESET"
        case .hello: return "HELLO"
        case .submit: return "SUBMIT"
        case .grant: return "GRANT"
        case .alreadyDone: return "ALREADY_DONE"
        case .endOfInput: return "END_OF_INPUT"
        case .result: return "RESULT"
        case .ack: return "ACK"
        case .finished: return "FINISHED"
        case .reopen: return "REOPEN"
        }
    }
}
