/// Counters of one coordinator, for logs, tests and the benchmark.
public struct WorkCoordinatorStats: Sendable, Equatable {
    /// Requests accepted from the producer (new ones, not `alreadyDone`).
    public var accepted = 0
    /// Requests whose outcome the consumer acknowledged.
    public var completed = 0
    /// Submits answered `alreadyDone` (completed in an earlier run).
    public var alreadyDone = 0
    /// Submits ignored because the same request is still in flight.
    public var duplicateSubmits = 0
    /// Tasks requeued (worker lost, lease expired, retryable FAIL).
    public var requeued = 0
    /// DONE / FAIL / EXTEND for a lease that is no longer current (late answers), ignored.
    public var staleIgnored = 0
    /// Requests that ended as errors after `maxAttempts`.
    public var exhausted = 0
    /// Requests that ended as errors after FAIL(permanent).
    public var failed = 0
    /// Workers presumed dead (silent past the timeout).
    public var workersLost = 0
    /// Well-formed messages refused as out of order (a SUBMIT not from the producer, an ACK not from
    /// the consumer, a message only the coordinator sends, a READY for an unknown stage).
    public var refused = 0
    /// Frames refused before decoding (malformed, truncated, unknown version, multipart): counted by
    /// `CoordinatorServer`, 0 in the state machine.
    public var refusedFrames = 0
    /// Requests the consumer said it already holds (ACK of a request not in flight: an earlier run wrote it).
    public var announcedCompleted = 0
    /// Completed requests the consumer reopened (REOPEN: their failed record is to be replaced).
    public var reopened = 0
    /// ACK/REOPEN held for peers that have not yet joined as consumer (applied at their HELLO).
    public var announcementsHeld = 0

    public init() {}
}

/// Counters of one stage at the coordinator, for `/metrics` (`CoordinatorMetrics`).
public struct StageCounters: Sendable, Equatable {
    /// Tasks answered DONE.
    public var completed = 0
    /// Leases that ran out before the worker answered.
    public var leasesExpired = 0
    /// Tasks handed out again: lease expired, worker lost or left, retryable FAIL.
    public var requeued = 0

    public init(completed: Int = 0, leasesExpired: Int = 0, requeued: Int = 0) {
        self.completed = completed
        self.leasesExpired = leasesExpired
        self.requeued = requeued
    }
}
