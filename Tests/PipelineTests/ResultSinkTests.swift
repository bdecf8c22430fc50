import Foundation
import Payloads
import Pipeline
import SwitchyardCore
import Testing

@Suite("sink: exactly once, ordered, resumable")
struct ResultSinkTests {
    static func record(line: Int, error: Bool = false, model: String = "small") -> OutputRecord {
        let id = RequestID(fileDigest: "abcd", line: line)
        let routing = OutputRecord.Routing(
            model: model, strategy: "cheapest", predictedQuality: 0.5, estimatedCostUSD: 0.001,
            actualCostUSD: 0.002, attempts: 1, fallbacks: [], line: line, latencyMS: Double(line))
        if error {
            return .failure(requestID: id, customID: "c\(line)", code: .backendError, message: "boom", routing: routing)
        }
        return OutputRecord(id: id.description, customID: "c\(line)",
                            response: .init(statusCode: 200, body: RawJSON(trusted: Array(#"{"ok":true,"n":1e-7}"#.utf8))), error: nil, routing: routing)
    }

    static func lines(_ path: String) throws -> [OutputRecord] {
        try JSONLinesReader(path: path).map { try JSONDecoder().decode(OutputRecord.self, from: $0.bytes) }
    }

    /// The hand-written record line says what `JSONEncoder` would, and carries the response body as the
    /// backend sent it.
    @Test func recordLinesReadBackAsTheRecords() throws {
        var downgraded = Self.record(line: 7)
        downgraded.routing?.budgetDowngraded = true
        downgraded.routing?.fallbacks = ["a\"b", "é"]
        downgraded.routing?.predictedQuality = nil
        let failed = OutputRecord.failure(requestID: RequestID(fileDigest: "ff", line: 9), customID: nil, code: .invalidJSON,
                                          message: "bad \u{1}\n\"line\" \\ ü", field: "body.messages[0]",
                                          metadata: RawJSON(trusted: Array(#"{"team":"a","n":[1,2.5e-3]}"#.utf8)))
        for record in [Self.record(line: 1), Self.record(line: 2, error: true), downgraded, failed] {
            var writer = JSONWriter()
            record.jsonLine(into: &writer)
            #expect(writer.bytes.last == 0x0A)
            #expect(writer.bytes.dropLast().allSatisfy { $0 != 0x0A })
            let read = try JSONDecoder().decode(OutputRecord.self, from: Data(writer.bytes.dropLast()))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let viaEncoder = try JSONDecoder().decode(OutputRecord.self, from: encoder.encode(record))
            #expect(read == viaEncoder)
            #expect(read.id == record.id && read.error == record.error && read.routing == record.routing)
            #expect(read.metadata == record.metadata.flatMap { try? JSONDecoder().decode(RawJSON.self, from: Data($0.bytes)) })
        }
        var withMetadata = JSONWriter()
        failed.jsonLine(into: &withMetadata)
        #expect(String(decoding: withMetadata.bytes, as: UTF8.self).contains(#""metadata":{"team":"a","n":[1,2.5e-3]}"#))
        var writer = JSONWriter()
        Self.record(line: 1).jsonLine(into: &writer)
        #expect(String(decoding: writer.bytes, as: UTF8.self).contains(#""response":{"body":{"ok":true,"n":1e-7},"status_code":200}"#))
    }

    @Test func duplicatesAreWrittenOnce() throws {
        let directory = try TemporaryDirectory()
        let sink = try ResultSink(directory: directory.url.path, ordered: false)
        #expect(try sink.write(Self.record(line: 1)))
        #expect(try !sink.write(Self.record(line: 1)))
        #expect(try sink.write(Self.record(line: 2, error: true)))
        #expect(try !sink.write(Self.record(line: 2)))
        let summary = try sink.finish(input: nil, inputLines: 2, budgetUSD: nil, wallSeconds: 1, dryRun: false)
        #expect(summary.results == 1 && summary.errors == 1)
        #expect(summary.errorsByCode == ["backend_error": 1])
        #expect(sink.duplicatesDropped == 2)
        #expect(try Self.lines(sink.resultsPath).map(\.line) == [1])
        #expect(try Self.lines(sink.errorsPath).map(\.line) == [2])
    }

    @Test func orderedModeWritesInLineOrder() throws {
        let directory = try TemporaryDirectory()
        let sink = try ResultSink(directory: directory.url.path, ordered: true)
        for line in [3, 1, 5, 2, 4, 2] { try sink.write(Self.record(line: line)) }
        try sink.finish(input: nil, inputLines: 5, budgetUSD: nil, wallSeconds: 1, dryRun: false)
        #expect(try Self.lines(sink.resultsPath).map(\.line) == [1, 2, 3, 4, 5])
    }

    @Test func restartRebuildsTheCompletionSet() throws {
        let directory = try TemporaryDirectory()
        do {
            let sink = try ResultSink(directory: directory.url.path, ordered: false)
            try sink.write(Self.record(line: 1))
            try sink.write(Self.record(line: 2, error: true))
            try sink.finish(input: nil, inputLines: 4, budgetUSD: nil, wallSeconds: 1, dryRun: false)
        }
        // A crash left half a line at the end of results.jsonl.
        let results = directory.url.appendingPathComponent("results.jsonl")
        let handle = try FileHandle(forWritingTo: results)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"id": "abcd:3", "cus"#.utf8))
        try handle.close()

        let sink = try ResultSink(directory: directory.url.path, ordered: true)
        #expect(sink.resumedRecords == 2)
        #expect(sink.isCompleted(RequestID(fileDigest: "abcd", line: 1).description))
        #expect(try !sink.write(Self.record(line: 1)))
        #expect(try !sink.write(Self.record(line: 2)))
        try sink.write(Self.record(line: 4))
        try sink.write(Self.record(line: 3))
        let summary = try sink.finish(input: nil, inputLines: 4, budgetUSD: nil, wallSeconds: 1, dryRun: false)
        #expect(summary.results + summary.errors == 4)
        #expect(summary.resumedRecords == 2)
        #expect(try Self.lines(sink.resultsPath).map(\.line) == [1, 3, 4])
    }

    /// A dry run's decision for `line`: routing, no response, no error.
    static func decision(line: Int) -> OutputRecord {
        var record = record(line: line)
        record.response = nil
        return record
    }

    @Test("a directory holds one kind: a real run refuses dry-run decisions, a dry run refuses answers")
    func dryRunAndRealRunNeverShareADirectory() throws {
        let dry = try TemporaryDirectory()
        do {
            let sink = try ResultSink(directory: dry.url.path, ordered: false, dryRun: true)
            try sink.write(Self.decision(line: 1))
            try sink.finish(input: nil, inputLines: 1, budgetUSD: nil, wallSeconds: 1, dryRun: true)
        }
        // A dry run may resume its own directory; a real run must not take its decisions as answers.
        #expect(try ResultSink(directory: dry.url.path, ordered: false, dryRun: true).resumedRecords == 1)
        let refusal = #expect(throws: SwitchyardError.self) { try ResultSink(directory: dry.url.path, ordered: false) }
        #expect(refusal?.description.contains("dry run") == true)
        #expect(refusal?.description.contains(dry.url.path) == true)

        let real = try TemporaryDirectory()
        do {
            let sink = try ResultSink(directory: real.url.path, ordered: false)
            try sink.write(Self.record(line: 1))
            try sink.write(Self.record(line: 2, error: true))
            try sink.finish(input: nil, inputLines: 2, budgetUSD: nil, wallSeconds: 1, dryRun: false)
        }
        #expect(throws: SwitchyardError.self) { try ResultSink(directory: real.url.path, ordered: false, dryRun: true) }
        #expect(try ResultSink(directory: real.url.path, ordered: false).resumedRecords == 2)
    }

    @Test("an output path under a file is refused with the path and what to do, never a raw Foundation error")
    func outputUnderAFileSaysWhy() throws {
        let directory = try TemporaryDirectory()
        let file = directory.url.appendingPathComponent("plain-file")
        try Data("x".utf8).write(to: file)
        let error = #expect(throws: SwitchyardError.self) {
            try ResultSink(directory: file.appendingPathComponent("out").path, ordered: false)
        }
        let text = error?.description ?? ""
        #expect(text.contains("\(file.path) is a file, not a folder"), "\(text)")
        #expect(text.contains("--output"))
        #expect(!text.contains("NSCocoaErrorDomain") && !text.contains("(null)"))
    }

    static func failure(line: Int, code: ErrorCode) -> OutputRecord {
        .failure(requestID: RequestID(fileDigest: "abcd", line: line), customID: "c\(line)", code: code, message: "no")
    }

    @Test("retrying failed lines: retryable error records are reopened and replaced in place, one record per line")
    func retriedLinesAreReplacedInPlace() throws {
        let directory = try TemporaryDirectory()
        do {
            let sink = try ResultSink(directory: directory.url.path, ordered: false)
            try sink.write(Self.record(line: 1))
            try sink.write(Self.failure(line: 2, code: .backendUnavailable))
            try sink.write(Self.failure(line: 3, code: .invalidJSON))
            try sink.write(Self.failure(line: 4, code: .timeout))
            try sink.finish(input: nil, inputLines: 4, budgetUSD: nil, wallSeconds: 1, dryRun: false)
        }
        let sink = try ResultSink(directory: directory.url.path, ordered: false, retry: { $0.code.isRetryable })
        #expect(sink.reopenedAtStart == 2 && sink.resumedRecords == 2)
        #expect(Set(sink.announcement.reopened) == ["abcd:2", "abcd:4"] && Set(sink.announcement.written) == ["abcd:1", "abcd:3"])
        #expect(try sink.write(Self.record(line: 2)))           // the retry answered
        #expect(try sink.write(Self.failure(line: 4, code: .maxAttemptsExceeded)))  // failed again: the new error replaces the old
        #expect(try !sink.write(Self.record(line: 3)))          // an input error is not retried
        let summary = try sink.finish(input: nil, inputLines: 4, budgetUSD: nil, wallSeconds: 1, dryRun: false)
        #expect(summary.results == 2 && summary.errors == 2 && summary.retriedRecords == 2)
        #expect(summary.errorsByCode == ["invalid_json": 1, "max_attempts_exceeded": 1])
        #expect(try Self.lines(sink.resultsPath).map(\.line).sorted() == [1, 2])
        #expect(try Self.lines(sink.errorsPath).map { $0.error?.code } == [.invalidJSON, .maxAttemptsExceeded])
    }

    @Test("a crash before the replaced records were dropped: reading back keeps the newer record of each line")
    func twoRecordsOfALineResolveToTheNewer() throws {
        let directory = try TemporaryDirectory()
        do {
            let sink = try ResultSink(directory: directory.url.path, ordered: false)
            try sink.write(Self.failure(line: 1, code: .backendUnavailable))
            try sink.write(Self.failure(line: 2, code: .backendUnavailable))
            sink.sync()
        }
        // What a crashed retry leaves: line 1 answered, line 2 failed again, the old errors still there.
        let encoder = JSONEncoder()
        let results = try FileHandle(forWritingTo: directory.url.appendingPathComponent("results.jsonl"))
        try results.seekToEnd()
        try results.write(contentsOf: try encoder.encode(Self.record(line: 1)) + Data([0x0A]))
        try results.close()
        let errors = try FileHandle(forWritingTo: directory.url.appendingPathComponent("errors.jsonl"))
        try errors.seekToEnd()
        try errors.write(contentsOf: try encoder.encode(Self.failure(line: 2, code: .timeout)) + Data([0x0A]))
        try errors.close()

        let sink = try ResultSink(directory: directory.url.path, ordered: false)
        #expect(sink.resumedRecords == 2 && sink.statistics.results == 1 && sink.statistics.errorsByCode == ["timeout": 1])
        #expect(try Self.lines(sink.errorsPath).map { $0.error?.code } == [.timeout])
        #expect(try Self.lines(sink.resultsPath).map(\.line) == [1])
    }

    @Test func recordsFollowTheContractShape() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let error = try JSONSerialization.jsonObject(with: encoder.encode(Self.record(line: 7, error: true))) as? [String: Any]
        let object = try #require(error)
        #expect(object["response"] is NSNull)
        let body = try #require(object["error"] as? [String: Any])
        #expect(body["code"] as? String == "backend_error")
        #expect(body["line"] as? Int == 7)
        let routing = try #require(object["routing"] as? [String: Any])
        for key in ["model", "strategy", "predicted_quality", "estimated_cost_usd", "actual_cost_usd", "attempts", "fallbacks", "line"] {
            #expect(routing[key] != nil, "routing.\(key) missing")
        }
        let ok = try JSONSerialization.jsonObject(with: encoder.encode(Self.record(line: 8))) as? [String: Any]
        #expect(ok?["error"] is NSNull)
        #expect((ok?["response"] as? [String: Any])?["status_code"] as? Int == 200)
        #expect(ok?["custom_id"] as? String == "c8")
    }

    @Test func summaryHasSpendAndLatency() throws {
        let directory = try TemporaryDirectory()
        let sink = try ResultSink(directory: directory.url.path, ordered: false)
        for line in 1...100 { try sink.write(Self.record(line: line, model: line % 2 == 0 ? "small" : "large")) }
        let summary = try sink.finish(input: "in.jsonl", inputLines: 100, budgetUSD: 1, wallSeconds: 2, dryRun: false)
        #expect(summary.models["small"]?.requests == 50)
        #expect(abs(summary.spend.actualUSD - 0.2) < 1e-9)
        #expect(summary.latencyMS.p50 == 50)
        #expect(summary.latencyMS.p99 == 99)
        #expect(summary.requestsPerSecond == 50)
        let data = try Data(contentsOf: URL(fileURLWithPath: sink.summaryPath))
        #expect(try JSONSerialization.jsonObject(with: data) is [String: Any])
    }
}
