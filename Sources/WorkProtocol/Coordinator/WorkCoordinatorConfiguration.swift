/// How the coordinator runs the work protocol. All times are milliseconds of the injected clock.
public struct WorkCoordinatorConfiguration: Sendable, Equatable {
    /// The stage chain, in order: a request runs stage 0, its DONE payload feeds stage 1, and so on;
    /// after the last stage the outcome goes to the consumer. Example: `["profile", "score", "dispatch"]`.
    public var stages: [String]
    /// Tries per stage before a request becomes an error result (`WireResult.Status.exhausted`). Default 3.
    public var maxAttempts: UInt16
    /// A task's lease: without DONE, FAIL or EXTEND within this time it is requeued. Default 60 s.
    public var leaseMillis: UInt32
    /// A worker silent (no message at all) for this long is presumed dead; its tasks are requeued. Default 3 s.
    public var workerTimeoutMillis: UInt64
    /// How often the coordinator sends HEARTBEAT to each worker. Default 500 ms.
    public var heartbeatIntervalMillis: UInt64
    /// Most requests accepted but not yet acknowledged by the consumer; bounds memory and slows the
    /// producer when a stage is slow. Default 1000.
    public var window: Int
    /// Most tasks leased to one worker at once, whatever credit its READY claims: a worker (or a peer
    /// posing as one) cannot hoard the queue. Default 1024.
    public var maxWorkerCredit: Int
    /// Grant the producer no credit before a consumer has joined. A consumer announces the records an
    /// earlier run wrote (ACKs before its HELLO), so with this set no line it already holds is ever
    /// accepted, sent and paid for again, whichever process wrote it. Default false.
    public var inputWaitsForConsumer: Bool

    public init(
        stages: [String], maxAttempts: UInt16 = 3, leaseMillis: UInt32 = 60_000,
        workerTimeoutMillis: UInt64 = 3_000, heartbeatIntervalMillis: UInt64 = 500, window: Int = 1_000,
        maxWorkerCredit: Int = 1_024,
        inputWaitsForConsumer: Bool = false
    ) {
        self.stages = stages
        self.maxAttempts = maxAttempts
        self.leaseMillis = leaseMillis
        self.workerTimeoutMillis = workerTimeoutMillis
        self.heartbeatIntervalMillis = heartbeatIntervalMillis
        self.window = window
        self.maxWorkerCredit = maxWorkerCredit
        self.inputWaitsForConsumer = inputWaitsForConsumer
    }
}
