import Foundation

/// What the coordinator delivers to the consumer (sink) for one request: exactly one per accepted request.
public struct WireResult: Sendable, Equatable {
    /// How the request ended.
    public enum Status: UInt8, Sendable, Equatable {
        /// Every stage answered DONE; `payload` is the last stage's output.
        case completed = 0
        /// A worker answered FAIL(permanent); `payload` is the failing stage's input.
        case failed = 1
        /// The request ran out of attempts (workers lost, leases expired, retryable FAILs); `payload` is the failing stage's input.
        case exhausted = 2
    }

    public var requestID: String
    public var status: Status
    /// The last stage that ran (the failing one for errors).
    public var stage: String
    /// Attempts used in `stage`.
    public var attempts: UInt16
    /// Why it failed; empty when completed.
    public var reason: String
    public var payload: Data

    public init(requestID: String, status: Status, stage: String, attempts: UInt16, reason: String, payload: Data) {
        self.requestID = requestID
        self.status = status
        self.stage = stage
        self.attempts = attempts
        self.reason = reason
        self.payload = payload
    }
}
