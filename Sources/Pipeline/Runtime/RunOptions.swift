/// What one `switchyard run` (or one ingest/sink process) was asked to do, on top of `pipeline.yaml`.
public struct RunOptions: Sendable {
    public var input: String
    public var outputDirectory: String
    /// Write records in input-line order.
    public var ordered: Bool
    /// Decide only: nothing is sent to any backend.
    public var dryRun: Bool
    /// Batch budget in USD; nil for none.
    public var budgetUSD: Double?
    /// Send again the lines whose error records may pass on a new try, replacing those records
    /// (`StageProcess.retryRule`). Default false.
    public var retryErrors: Bool = false
    /// Requests ingest may run ahead of the sink. Default 4096.
    public var window: Int
    /// The input already digested and counted (by `switchyard run`, which needs the line count for a
    /// budget): the stages reuse it instead of reading the file again. nil: they scan it themselves.
    public var scannedInput: Ingest?

    public init(input: String, outputDirectory: String, ordered: Bool = false, dryRun: Bool = false,
                budgetUSD: Double? = nil, window: Int = 4096) {
        self.input = input
        self.outputDirectory = outputDirectory
        self.ordered = ordered
        self.dryRun = dryRun
        self.budgetUSD = budgetUSD
        self.window = window
    }
}

/// A snapshot of a run for the progress bar and log lines.
public struct RunProgress: Sendable, Equatable {
    /// Records written (results + errors), resumed ones included.
    public var done: Int
    /// Lines in the input.
    public var total: Int
    public var errors: Int
    public var estimatedSpendUSD: Double
    public var actualSpendUSD: Double
    /// Seconds since the run started.
    public var elapsedSeconds: Double
    /// Records already present when the run started.
    public var resumed: Int

    public init(done: Int = 0, total: Int = 0, errors: Int = 0, estimatedSpendUSD: Double = 0, actualSpendUSD: Double = 0,
                elapsedSeconds: Double = 0, resumed: Int = 0) {
        self.done = done
        self.total = total
        self.errors = errors
        self.estimatedSpendUSD = estimatedSpendUSD
        self.actualSpendUSD = actualSpendUSD
        self.elapsedSeconds = elapsedSeconds
        self.resumed = resumed
    }

    /// Records per second written by this run (resumed ones excluded).
    public var rate: Double { elapsedSeconds > 0 ? Double(done - resumed) / elapsedSeconds : 0 }

    /// Seconds left at the current rate; nil before the first record.
    public var etaSeconds: Double? {
        let rate = rate
        return rate > 0 ? Double(max(0, total - done)) / rate : nil
    }
}
