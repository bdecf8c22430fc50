import Foundation
import Payloads
import SwitchyardCore
import WorkRuntime

/// Writes `results.jsonl` and `errors.jsonl`, each request exactly once, and `summary.json` at the end.
///
/// Delivery upstream is at-least-once, so the sink deduplicates by request ID. On start it reads any
/// existing output files and rebuilds the completion set, so a restarted run appends only what is
/// missing. With `ordered`, records are held back until every earlier line is written, giving a
/// deterministic file order. Not thread-safe: one sink task owns it.
///
/// Retrying failed lines (`retry`): error records the rule picks are reopened: not done, so their lines
/// run again, and each new record replaces the old one (errors.jsonl is rewritten without it at `finish`).
/// Until then a line may have two records on disk; reading them back keeps the newer (a result over an
/// error, the later of two errors), so a crash in between never leaves a line with two or none.
public final class ResultSink {
    /// Which error records of an earlier run to send again (`switchyard run --retry-errors`).
    public typealias RetryRule = @Sendable (OutputRecord.ErrorBody) -> Bool

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
    /// Failed records waiting for their replacement (retry): not done, still on disk.
    private var reopened: Set<String> = []
    /// Reopened records replaced by this run: their old error record goes at `finish`.
    private var replaced: Set<String> = []
    private var pending: [Int: OutputRecord] = [:]
    private var nextLine = 1
    private var unflushed = 0
    public private(set) var statistics = RunStatistics()
    /// Records found in the files when the sink opened (an earlier run's work), reopened ones not counted.
    public private(set) var resumedRecords = 0
    /// Records dropped because their request was already written.
    public private(set) var duplicatesDropped = 0

    /// Opens (or creates) the output directory and reads back what an earlier run wrote there.
    ///
    /// A dry run's records are routing decisions, not answers: a real run that resumed from them would
    /// take every decided line as done and write nothing. So one directory holds one kind: a real run
    /// refuses a directory with dry-run decisions in it, and a dry run one with answers.
    /// `retry` picks the error records whose lines run again.
    public init(directory: String, ordered: Bool, dryRun: Bool = false, retry: RetryRule? = nil) throws(SwitchyardError) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .unwritableFile(file: directory, reason: "cannot create the output directory (\(FileErrors.reason(error, path: directory))): choose another --output")
        }
        self.directory = directory
        self.ordered = ordered
        resultsPath = (directory as NSString).appendingPathComponent("results.jsonl")
        errorsPath = (directory as NSString).appendingPathComponent("errors.jsonl")
        summaryPath = (directory as NSString).appendingPathComponent("summary.json")
        let read = try Self.readBack(resultsPath: resultsPath, errorsPath: errorsPath)
        if !dryRun && read.decisions > 0 {
            throw .badFile(file: directory, reason: "holds \(read.decisions) routing decisions of a dry run (--dry-run): a real run would take those lines as done and never send them; give it another --output, or delete \(directory)")
        }
        if dryRun && read.answers > 0 {
            throw .badFile(file: directory, reason: "holds \(read.answers) answers of a real run: a dry run would mix its decisions with them; give it another --output")
        }
        for record in read.records {
            if let error = record.error, let retry, retry(error) {
                reopened.insert(record.id)
                continue
            }
            completed.insert(record.id)
            completedLines.insert(record.line)
            statistics.add(record)
        }
        if read.duplicates > 0 { try Self.compact(errorsPath: errorsPath, resultIDs: read.resultIDs) }
        resumedRecords = completed.count
        reopenedAtStart = retry == nil ? nil : reopened.count
        results = try JSONLinesWriter(path: resultsPath, append: true)
        errors = try JSONLinesWriter(path: errorsPath, append: true)
        advance()
    }

    /// Number of distinct requests written so far (including resumed ones).
    public var completedCount: Int { completed.count }

    /// True when `id` (a `RequestID` description) was already written: upstream may skip it.
    public func isCompleted(_ id: String) -> Bool { completed.contains(id) }

    /// What the output holds from earlier runs, for the coordinator: records done, and failed ones
    /// reopened for a retry that no new record has replaced yet.
    public var announcement: WorkConsumer.Announcement {
        WorkConsumer.Announcement(written: Array(completed), reopened: Array(reopened))
    }

    /// Error records reopened for a retry (their lines run again) when the sink opened; nil without `retry`.
    public private(set) var reopenedAtStart: Int?

    /// Records of this run that replaced a reopened one.
    public var replacedCount: Int { replaced.count }

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
    /// fsyncs, drops the error records replaced by retries and writes `summary.json`.
    /// `ledger`: the score stage's budget state when it ran in this process (`summary.json` `budget`).
    @discardableResult
    public func finish(input: String?, inputLines: Int?, budgetUSD: Double?, wallSeconds: Double, dryRun: Bool,
                       ledger: BudgetReport? = nil) throws -> RunSummary {
        for line in pending.keys.sorted() {
            if let record = pending.removeValue(forKey: line) { try emit(record) }
        }
        results.sync()
        errors.sync()
        if !replaced.isEmpty {
            try Self.compact(errorsPath: errorsPath, resultIDs: try Self.ids(in: resultsPath))
        }
        var summary = RunSummary(
            statistics: statistics, input: input, inputLines: inputLines, budgetUSD: budgetUSD, wallSeconds: wallSeconds,
            ordered: ordered, dryRun: dryRun, resumedRecords: resumedRecords, ledger: ledger)
        if reopenedAtStart != nil { summary.retriedRecords = replaced.count }
        let summaryEncoder = JSONEncoder()
        summaryEncoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            try summaryEncoder.encode(summary).write(to: URL(fileURLWithPath: summaryPath), options: .atomic)
        } catch {
            throw SwitchyardError.unwritableFile(file: summaryPath, reason: FileErrors.reason(error, path: summaryPath))
        }
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
            try Self.replaceFile(path, with: data)
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
        if reopened.remove(record.id) != nil { replaced.insert(record.id) }
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

    // MARK: reading back

    /// What the files of an output directory hold: one record per request (the newest, when a retry left
    /// two), and what kinds.
    struct ReadBack {
        var records: [OutputRecord] = []
        var resultIDs: Set<String> = []
        /// Records superseded by a newer one (a retry's replacement not yet compacted).
        var duplicates = 0
        /// Dry-run decisions (no response, no error) and answers (a response).
        var decisions = 0
        var answers = 0
    }

    static func readBack(resultsPath: String, errorsPath: String) throws(SwitchyardError) -> ReadBack {
        var read = ReadBack()
        let decoder = JSONDecoder()
        for record in try readRecords(resultsPath, decoder: decoder) {
            guard read.resultIDs.insert(record.id).inserted else { read.duplicates += 1; continue }
            if record.response != nil { read.answers += 1 } else if record.error == nil { read.decisions += 1 }
            read.records.append(record)
        }
        // The later of two error records of one request is the newer; a result beats both.
        var latestError: [String: OutputRecord] = [:]
        var order: [String] = []
        for record in try readRecords(errorsPath, decoder: decoder) {
            if read.resultIDs.contains(record.id) { read.duplicates += 1; continue }
            if latestError.updateValue(record, forKey: record.id) == nil { order.append(record.id) } else { read.duplicates += 1 }
        }
        for id in order { if let record = latestError[id] { read.records.append(record) } }
        return read
    }

    /// The records of one file; a line cut by a crash ends its usable part (cut off, so later records
    /// start on a line of their own).
    private static func readRecords(_ path: String, decoder: JSONDecoder) throws(SwitchyardError) -> [OutputRecord] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        var records: [OutputRecord] = []
        var validBytes = 0
        for line in try JSONLinesReader(path: path) {
            guard let record = try? decoder.decode(OutputRecord.self, from: line.bytes) else { break }
            validBytes = line.offset + line.bytes.count + 1
            records.append(record)
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
        return records
    }

    static func ids(in path: String) throws(SwitchyardError) -> Set<String> {
        Set(try readRecords(path, decoder: JSONDecoder()).map(\.id))
    }

    /// Rewrites errors.jsonl with one record per request: the last one, and none for a request with a result.
    static func compact(errorsPath: String, resultIDs: Set<String>) throws(SwitchyardError) {
        guard FileManager.default.fileExists(atPath: errorsPath) else { return }
        let decoder = JSONDecoder()
        var lines: [(id: String, bytes: Data)] = []
        for line in try JSONLinesReader(path: errorsPath) {
            guard let record = try? decoder.decode(OutputRecord.self, from: line.bytes) else { break }
            lines.append((record.id, line.bytes))
        }
        var last: [String: Int] = [:]
        for (index, line) in lines.enumerated() { last[line.id] = index }
        var data = Data()
        for (index, line) in lines.enumerated() where last[line.id] == index && !resultIDs.contains(line.id) {
            data.append(line.bytes)
            data.append(0x0A)
        }
        try replaceFile(errorsPath, with: data)
    }

    /// Replaces `path` atomically (a crash leaves the old file or the new, never half of one).
    private static func replaceFile(_ path: String, with data: Data) throws(SwitchyardError) {
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw .unwritableFile(file: path, reason: FileErrors.reason(error, path: path))
        }
    }
}
