import Foundation
import Grading
import Logging
import Synchronization
import SwitchyardCore

/// The output directory of `switchyard collect`:
///
/// - `replies.jsonl`: one `ReplyRecord` per graded pair, appended (and flushed) as each pair finishes:
///   the raw replies, and the journal a rerun resumes from;
/// - `errors.jsonl`: the pairs that got no outcome in the latest run (`PairErrorRecord`);
/// - `routing.jsonl` + `models.json`: routing data in the shared format, for `profile build`;
/// - `summary.json`.
final class CollectStore: Sendable {
    static let repliesFile = "replies.jsonl"
    static let errorsFile = "errors.jsonl"
    static let routingFile = "routing.jsonl"
    static let modelsFile = "models.json"
    static let summaryFile = "summary.json"

    let directory: URL
    private let writers: Mutex<Writers?>

    private struct Writers {
        var replies: JSONLinesWriter
        var errors: JSONLinesWriter
    }

    init(directory: URL) throws(SwitchyardError) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .unreadableFile(file: directory.path, reason: "cannot create the output directory: \(error)")
        }
        writers = Mutex(nil)
    }

    func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// The replies of earlier runs. A torn last line (the process died mid-write) is cut off and
    /// reported; a bad line before it is an error naming the line.
    func loadReplies(logger: Logger) throws(SwitchyardError) -> [ReplyRecord] {
        let path = url(Self.repliesFile).path
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return [] }
        var records: [ReplyRecord] = []
        var seen: Set<PairKey> = []
        let decoder = JSONDecoder()
        var offset = 0
        var lineNumber = 0
        var goodEnd = 0
        while offset < data.count {
            lineNumber += 1
            let newline = data[offset...].firstIndex(of: 0x0A)
            let end = newline ?? data.count
            let line = data[offset..<end]
            let isLast = newline == nil || end + 1 >= data.count
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                offset = end + 1
                goodEnd = newline == nil ? goodEnd : offset
                continue
            }
            do {
                let record = try decoder.decode(ReplyRecord.self, from: line)
                guard newline != nil else { throw SwitchyardError.badLine(file: path, line: lineNumber, reason: "no newline: torn write") }
                if seen.insert(record.key).inserted { records.append(record) }
                offset = end + 1
                goodEnd = offset
            } catch {
                guard isLast else {
                    throw .badLine(file: path, line: lineNumber, reason: "not a reply record (\(DecodingErrorDescription.describe(error))): fix or delete the line, then rerun")
                }
                logger.warning("cutting a torn last line off the replies (the previous run stopped mid-write)", metadata: [
                    "file": "\(path)", "line": "\(lineNumber)",
                ])
                do {
                    let handle = try FileHandle(forWritingTo: url(Self.repliesFile))
                    try handle.truncate(atOffset: UInt64(goodEnd))
                    try handle.close()
                } catch {
                    throw .unreadableFile(file: path, reason: "cannot cut its torn last line: \(error)")
                }
                break
            }
        }
        return records
    }

    /// Opens `replies.jsonl` for appending and starts a fresh `errors.jsonl`.
    func open() throws {
        let repliesPath = url(Self.repliesFile).path
        let errorsPath = url(Self.errorsFile).path
        try writers.withLock { writers in
            writers = Writers(
                replies: try JSONLinesWriter(path: repliesPath, append: true),
                errors: try JSONLinesWriter(path: errorsPath, append: false))
        }
    }

    func close() {
        writers.withLock { writers in
            writers?.replies.sync()
            writers?.errors.sync()
            writers = nil
        }
    }

    func append(_ record: ReplyRecord) throws {
        try writers.withLock { writers in
            guard let w = writers else { return }
            try w.replies.write(record)
            w.replies.flush()
        }
    }

    func append(_ record: PairErrorRecord) throws {
        try writers.withLock { writers in
            guard let w = writers else { return }
            try w.errors.write(record)
            w.errors.flush()
        }
    }

    /// Writes `routing.jsonl` (in prompt order) and `models.json`: a prompt is written only when every
    /// model of `models` has an outcome for it, so the file is a full table `profile build` can use.
    /// Returns the prompts written and those left out.
    func writeRoutingData(
        prompts: [LabelledPrompt], replies: [ReplyRecord], models: [String], prices: [String: ModelPrice]
    ) throws -> (written: Int, incomplete: Int) {
        var byPrompt: [String: [String: ReplyRecord]] = [:]
        for reply in replies { byPrompt[reply.id, default: [:]][reply.model] = reply }
        let writer = try JSONLinesWriter(path: url(Self.routingFile).path + ".tmp")
        var written = 0, incomplete = 0
        for prompt in prompts {
            let got = byPrompt[prompt.id] ?? [:]
            guard models.allSatisfy({ got[$0] != nil }) else {
                incomplete += 1
                continue
            }
            var outcomes: [String: Double] = [:]
            var costs: [String: Double] = [:]
            var outputTokens: [String: Int] = [:]
            for model in models {
                guard let reply = got[model] else { continue }
                outcomes[model] = reply.outcome
                costs[model] = reply.costUSD
                outputTokens[model] = reply.completionTokens ?? 0
            }
            // One input length per prompt: the first model (by name) that reported usage.
            let inputTokens = models.lazy.compactMap { got[$0]?.promptTokens }.first
            try writer.write(RoutingRecord(
                id: prompt.id, prompt: prompt.prompt, task: prompt.task, outcomes: outcomes, costs: costs,
                inputTokens: inputTokens, outputTokens: outputTokens))
            written += 1
        }
        writer.sync()
        try replaceFile(url(Self.routingFile), with: url(Self.routingFile).path + ".tmp")
        let catalog = models.compactMap { name in prices[name].map { ModelInfo(name: name, provider: "collect", price: $0) } }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(catalog).write(to: url(Self.modelsFile), options: .atomic)
        return (written, incomplete)
    }

    func writeSummary(_ summary: CollectSummary) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(summary).write(to: url(Self.summaryFile), options: .atomic)
    }

    private func replaceFile(_ target: URL, with temporary: String) throws {
        if FileManager.default.fileExists(atPath: target.path) { try FileManager.default.removeItem(at: target) }
        try FileManager.default.moveItem(atPath: temporary, toPath: target.path)
    }
}
