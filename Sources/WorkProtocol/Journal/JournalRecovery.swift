/// What `WorkJournal.open` found: the state to resume from and whether the tail had to be cut.
public struct JournalRecovery: Sendable, Equatable {
    /// Requests completed in earlier runs: skip them (`alreadyDone`).
    public var completed: Set<String>
    /// Requests accepted but never completed (in flight at the crash); the producer resubmits them.
    public var unfinished: Int
    /// Good records read.
    public var records: Int
    /// Bytes cut from a corrupt or truncated tail (0 when the file was clean).
    public var truncatedBytes: Int
    /// Byte offset where the first bad record started, when the tail was cut.
    public var corruptionOffset: Int?

    public init(completed: Set<String> = [], unfinished: Int = 0, records: Int = 0, truncatedBytes: Int = 0, corruptionOffset: Int? = nil) {
        self.completed = completed
        self.unfinished = unfinished
        self.records = records
        self.truncatedBytes = truncatedBytes
        self.corruptionOffset = corruptionOffset
    }
}
