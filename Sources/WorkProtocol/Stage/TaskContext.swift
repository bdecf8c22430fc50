import Foundation
import Logging

/// What a stage handler knows about the task it runs.
public struct TaskContext: Sendable {
    /// The lease's ID (new for every attempt).
    public let taskID: UInt64
    /// The stable request ID (input digest + line): put it in logs, use it for idempotency.
    public let requestID: String
    public let stage: String
    /// 1 on the first try; > 1 when an earlier worker died or failed retryably.
    public let attempt: UInt16
    /// The lease length: finish, or call `extendLease()`, within it.
    public let leaseMillis: UInt32
    /// The worker's logger with `requestID` and `stage` metadata. Built on access: setting
    /// metadata re-renders the handler's metadata, too costly to pay for every task up front.
    public var logger: Logger {
        var taskLogger = workerLogger
        taskLogger[metadataKey: "requestID"] = "\(requestID)"
        taskLogger[metadataKey: "stage"] = "\(stage)"
        return taskLogger
    }
    let workerLogger: Logger
    /// The worker holding the lease (a reference, not a closure: nothing allocated per task).
    let lease: any LeaseRenewer

    package init(taskID: UInt64, requestID: String, stage: String, attempt: UInt16, leaseMillis: UInt32,
                 workerLogger: Logger, lease: any LeaseRenewer) {
        self.taskID = taskID
        self.requestID = requestID
        self.stage = stage
        self.attempt = attempt
        self.leaseMillis = leaseMillis
        self.workerLogger = workerLogger
        self.lease = lease
    }

    /// Renews the lease for a task that legitimately runs long (a slow backend); safe from any thread.
    public func extendLease() { lease.renewLease(taskID) }
}

/// Who renews a task's lease: the `StageWorker` that runs it (sends EXTEND).
package protocol LeaseRenewer: AnyObject, Sendable {
    func renewLease(_ taskID: UInt64)
}

/// Throw from a stage handler to say how the task failed. Any other error counts as `retryable`.
public enum StageFailure: Error, Sendable, Equatable {
    /// Retrying cannot help (invalid input): the request becomes an error result at once.
    case permanent(String)
    /// Another attempt (possibly on another worker) may succeed.
    case retryable(String)
}

/// A stage's work: input payload in, output payload out. `async` so the dispatch stage can await
/// an HTTP client; CPU-bound work (embedding) simply runs synchronously inside it. Called
/// concurrently, up to the worker's credit at once. `payload` is a slice of the frame the task came in
/// (its indices need not start at 0: use `startIndex`, or `Data(payload)` for a zero-based copy).
public typealias StageHandler = @Sendable (TaskContext, _ payload: Data) async throws -> Data

/// A stage's work done synchronously, for `StageWorker(configuration:context:logger:synchronousHandler:)`:
/// called on the worker's loop thread, so it must finish in microseconds (see there). Throw
/// `StageFailure` to say how a task failed. `payload` is a slice, as for `StageHandler`.
public typealias SynchronousStageHandler = @Sendable (TaskContext, _ payload: Data) throws -> Data

/// A stage's handler and how a worker runs it: `.async` as a Swift task per call (work that suspends:
/// HTTP), `.synchronous` on the worker's loop thread, task after task, with no task, mailbox or wake per
/// call (CPU work: the profile and score stages, a dry dispatch).
public enum StageWork: Sendable {
    case async(StageHandler)
    case synchronous(SynchronousStageHandler)
}

