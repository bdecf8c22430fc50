import Foundation

/// One unit of work leased to a stage worker.
///
/// `taskID` is unique per lease: a requeued request gets a new `taskID`, so an answer for an
/// old lease (from a worker presumed dead) is recognised and ignored.
public struct WireTask: Sendable, Equatable {
    /// Unique per lease; echo it in DONE / FAIL / EXTEND.
    public var taskID: UInt64
    /// The stable request identity (input digest + line), for logs and deduplication.
    public var requestID: String
    /// The stage this task belongs to (a worker serves one stage).
    public var stage: String
    /// 1 for the first try of this stage, +1 for every requeue.
    public var attempt: UInt16
    /// How long the lease lasts without EXTEND, in milliseconds.
    public var leaseMillis: UInt32
    /// The stage's input (opaque bytes: the previous stage's DONE payload or the producer's SUBMIT payload).
    public var payload: Data

    public init(taskID: UInt64, requestID: String, stage: String, attempt: UInt16, leaseMillis: UInt32, payload: Data) {
        self.taskID = taskID
        self.requestID = requestID
        self.stage = stage
        self.attempt = attempt
        self.leaseMillis = leaseMillis
        self.payload = payload
    }
}
