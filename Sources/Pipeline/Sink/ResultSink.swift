import Foundation
import Payloads
import SwitchyardCore

/// Writes `results.jsonl` and `errors.jsonl`, each request exactly once, and `summary.json` at the end.
///
/// Delivery upstream is at-least-once, so the sink deduplicates by request ID. On start it reads any
/// existing output files and rebuilds the completion set, so a restarted run appends only what is
/// missing. With `ordered`, records are held back until every earlier line is written, giving a
/// deterministic file order. Not thread-safe: one sink task owns it.
public final class ResultSink {
    public let directory: String
    public let ordered: Bool
    public let resultsPath: String
    public let errorsPath: String
    public let summaryPath: String

    private let results: JSONLinesWriter
    private let errors: JSONLinesWriter
    /// The record being written, reused line after line.
    private var lineBuffer = JSONWriter(capacity: 2_048)
    private var completed: Set<String> = []
    private var completedLines: Set<Int> = []
    private var pending: [Int: OutputRecord] = [:]
    private var nextLine = 1
    private var unflushed = 0
    public private(set) var statistics = RunStatistics()
    /// Records found in the files when the sink opened (an earlier run's work).
    public private(set) var resumedRecords = 0
    /// Records dropped because their request was already written.
    public private(set) var duplicatesDropped = 0

    public init(directory: String, ordered: Bool) throws(SwitchyardError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .unreadableFile(file: directory, reason: "cannot create the output directory: \(error.localizedDescription)")
        }
        self.directory = directory
        self.ordered = ordered
        resultsPath = (directory as NSString).appendingPathComponent("results.jsonl")
        errorsPath = (directory as NSString).appendingPathComponent("errors.jsonl")
        summaryPath = (directory as NSString).appendingPathComponent("summary.json")
        for path in [resultsPath, errorsPath] { try Self.rebuild(from: path, into: &completed, lines: &completedLines, statistics: &statistics) }
        resumedRecords = completed.count
        results = try JSONLinesWriter(path: resultsPath, append: true)
        errors = try JSONLinesWriter(path: errorsPath, append: true)
        advance()
    }

    /// Number of distinct requests written so far (including resumed ones).
    public var completedCount: Int { completed.count }

    /// True when `id` (a `RequestID` description) was already written: upstream may skip it.
    public func isCompleted(_ id: String) -> Bool { completed.contains(id) }

    /// Accepts one record; returns false when its request was already written (the record is dropped).
    @discardableResult
    public func write(_ record: OutputRecord) throws -> Bool {
        guard !completed.contains(record.id), pending[record.line] == nil || !ordered else {
            duplicatesDropped += 1
            return false
        }
        if ordered {
            guard !completedLines.contains(record.line) else { duplicatesDropped += 1; return false }
            pending[record.line] = record
            try drainPending()
        } else {
            try emit(record)
        }
        return true
    }

    /// Writes what `ordered` still holds back (lines that never came, if any, are skipped), flushes,
    /// fsyncs and writes `summary.json`.
    @discardableResult
    /// `ledger`: the score stage's budget state when it ran in this process (`summary.json` `budget`).
    public func finish(input: String?, inputLines: Int?, budgetUSD: Double?, wallSeconds: Double, dryRun: Bool,
                       ledger: BudgetReport? = nil) throws -> RunSummary {
        for line in pending.keys.sorted() {
            if let record = pending.removeValue(forKey: line) { try emit(record) }
        }
        results.sync()
        errors.sync()
        let summary = RunSummary(
            statistics: statistics, input: input, inputLines: inputLines, budgetUSD: budgetUSD, wallSeconds: wallSeconds,
            ordered: ordered, dryRun: dryRun, resumedRecords: resumedRecords, ledger: ledger)
        let summaryEncoder = JSONEncoder()
        summaryEncoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try summaryEncoder.encode(summary).write(to: URL(fileURLWithPath: summaryPath), options: .atomic)
        return summary
    }

    /// Makes every record written so far durable (fflush + fsync): the work-protocol consumer calls
    /// it before acknowledging a batch, so an acknowledged record is never lost.
    public func sync() {
        results.sync()
        errors.sync()
        unflushed = 0
    }

    /// Rewrites both files sorted by input line (for `--ordered` when records arrive acknowledged and
    /// cannot be held back, as in `stage sink`). Loads one file at a time into memory.
    public func sortFilesByLine() throws {
        sync()
        let decoder = JSONDecoder()
        for path in [resultsPath, errorsPath] {
            var entries: [(line: Int, bytes: Data)] = []
            for line in try JSONLinesReader(path: path) {
                let record = try decoder.decode(OutputRecord.self, from: line.bytes)
                entries.append((record.line, line.bytes))
            }
            entries.sort { $0.line < $1.line }
            var data = Data()
            for entry in entries { data.append(entry.bytes); data.append(0x0A) }
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        }
    }

    private func drainPending() throws {
        while let record = pending.removeValue(forKey: nextLine) {
            try emit(record)
        }
    }

    private func emit(_ record: OutputRecord) throws {
        lineBuffer.bytes.removeAll(keepingCapacity: true)
        record.jsonLine(into: &lineBuffer)
        try (record.isError ? errors : results).writeRaw(lineBuffer.bytes)
        completed.insert(record.id)
        completedLines.insert(record.line)
        statistics.add(record)
        advance()
        unflushed += 1
        if unflushed >= 256 {
            results.flush()
            errors.flush()
            unflushed = 0
        }
    }

    private func advance() {
        while completedLines.contains(nextLine) { nextLine += 1 }
    }

    private static func rebuild(from path: String, into completed: inout Set<String>, lines: inout Set<Int>,
                                statistics: inout RunStatistics) throws(SwitchyardError) {
        guard FileManager.default.fileExists(atPath: path) else { return }
        let decoder = JSONDecoder()
        var validBytes = 0
        for line in try JSONLinesReader(path: path) {
            // A line cut by a crash ends the usable part: everything after it is rewritten.
            guard let record = try? decoder.decode(OutputRecord.self, from: line.bytes) else { break }
            validBytes = line.offset + line.bytes.count + 1
            guard completed.insert(record.id).inserted else { continue }
            lines.insert(record.line)
            statistics.add(record)
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? validBytes
        if validBytes < size {
            truncate(path, off_t(validBytes))
        } else if validBytes == size + 1, let handle = FileHandle(forWritingAtPath: path) {
            // The last record lacks its newline: add it so appended records start on their own line.
            _ = try? handle.seekToEnd()
            try? handle.write(contentsOf: Data([0x0A]))
            try? handle.close()
        }
    }
}
