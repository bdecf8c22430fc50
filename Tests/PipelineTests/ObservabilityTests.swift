import Foundation
import Logging
import Metrics
import Prometheus
import Synchronization
import Testing
@testable import Pipeline

/// Captures what a `Console` writes.
final class ConsoleCapture: Sendable {
    private let written = Mutex("")
    var text: String { written.withLock { $0 } }
    func console(isTerminal: Bool) -> Console {
        Console(isTerminal: isTerminal) { [self] chunk in written.withLock { $0 += chunk } }
    }
}

@Suite("observability: one log format, the bar, /metrics help")
struct ObservabilityTests {
    static func handler(_ format: LogFormat, _ capture: ConsoleCapture, terminal: Bool = false) -> LogfmtLogHandler {
        LogfmtLogHandler(label: "switchyard.test", level: .debug, format: format, console: capture.console(isTerminal: terminal))
    }

    @Test("logfmt: snake_case keys, flat metadata, quoted values")
    func logfmtLine() throws {
        let capture = ConsoleCapture()
        var handler = Self.handler(.logfmt, capture)
        handler[metadataKey: "requestID"] = "ab:7"
        handler.log(event: LogEvent(level: .info, message: "run finished", metadata: [
            "wall_seconds": "1.50", "budget": .dictionary(["usd": "0.25", "ledgerActual": "0.1"]), "models": .array(["a", "b"]),
        ], source: "t", file: #fileID, function: #function, line: #line))
        let line = capture.text
        #expect(line.hasSuffix(" msg=\"run finished\"\n"), "\(line)")
        #expect(line.contains(" level=info logger=switchyard.test "))
        #expect(line.contains(" request_id=ab:7"))
        #expect(line.contains(" budget_ledger_actual=0.1 budget_usd=0.25"))
        #expect(line.contains(" models=a,b"))
        // Every field is key=value with a snake_case key; no value holds another key=value.
        for field in try Self.logfmtFields(line) {
            #expect(field.key.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" || $0 == "." }, "key \(field.key)")
            #expect(field.key == "msg" || !field.value.contains("="), "nested k=v in \(field.key)=\(field.value)")
        }
    }

    @Test("JSON lines: one object a line, the same fields")
    func jsonLine() throws {
        let capture = ConsoleCapture()
        let handler = Self.handler(.json, capture)
        handler.log(event: LogEvent(level: .warning, message: "say \"hi\"\nthere", metadata: ["stage": "score"],
                                    source: "t", file: #fileID, function: #function, line: #line))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(capture.text.utf8)) as? [String: String])
        #expect(object["level"] == "warning" && object["stage"] == "score" && object["msg"] == "say \"hi\"\nthere")
        #expect(object["logger"] == "switchyard.test" && object["ts"] != nil)
        #expect(capture.text.filter { $0 == "\n" }.count == 1)
    }

    @Test("a log line never glues onto the progress bar: the bar's line is cleared first, then redrawn")
    func logLinesAndTheBar() {
        let capture = ConsoleCapture()
        let console = capture.console(isTerminal: true)
        let handler = LogfmtLogHandler(label: "t", level: .info, console: console)
        let reporter = ProgressReporter(logger: Logger(label: "t") { _ in handler }, console: console, budgetUSD: 0.25)
        reporter.update(RunProgress(done: 1, total: 10, actualSpendUSD: 0.01, elapsedSeconds: 1))
        handler.log(event: LogEvent(level: .info, message: "hello", metadata: nil, source: "t", file: #fileID, function: #function, line: #line))
        reporter.finish()
        let text = capture.text
        let bar = "\r" + ProgressReporter.bar(RunProgress(done: 1, total: 10, actualSpendUSD: 0.01, elapsedSeconds: 1), budgetUSD: 0.25) + "\u{1B}[K"
        // bar, then: clear the line, the log line, the bar again; then the final newline.
        #expect(text.hasPrefix(bar + "\r\u{1B}[Kts="), "\(text.debugDescription)")
        #expect(text.hasSuffix("msg=hello\n" + bar + "\n"), "\(text.debugDescription)")
        #expect(ProgressReporter.bar(RunProgress(done: 1, total: 10, actualSpendUSD: 0.01, elapsedSeconds: 1), budgetUSD: 0.25)
            .contains("$0.0100 of $0.2500 budget"))
    }

    @Test("off a terminal no bar is drawn: progress is a log line")
    func noBarOffATerminal() {
        let capture = ConsoleCapture()
        let console = capture.console(isTerminal: false)
        let handler = LogfmtLogHandler(label: "t", level: .info, console: console)
        let reporter = ProgressReporter(logger: Logger(label: "t") { _ in handler }, console: console, budgetUSD: 1)
        reporter.update(RunProgress(done: 1, total: 10, elapsedSeconds: 6))
        reporter.finish()
        #expect(!capture.text.contains("\r") && capture.text.contains("msg=progress") && capture.text.contains("budget_usd=1.0000"))
    }

    @Test("/metrics: every family has # HELP and # TYPE, coordinator families per stage")
    func helpForEveryFamily() {
        let registry = PrometheusCollectorRegistry()
        let factory = HelpfulPrometheusFactory(registry: registry)
        let counter = factory.makeCounter(label: "switchyard_coordinator_requeues_total", dimensions: [("stage", "score")])
        counter.increment(by: 2)
        factory.makeMeter(label: "switchyard_stage_queue_depth", dimensions: [("stage", "profile")]).set(Int64(3))
        factory.makeTimer(label: "switchyard_stage_latency_seconds", dimensions: [("stage", "profile")]).recordNanoseconds(1_000)
        factory.makeCounter(label: "not_in_the_catalog", dimensions: []).increment(by: 1)
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        let families = Set(text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            String(line.prefix { $0 != "{" && $0 != " " }).replacingOccurrences(of: "_bucket", with: "")
                .replacingOccurrences(of: "_sum", with: "").replacingOccurrences(of: "_count", with: "")
        })
        #expect(families.count == 4, "\(families)")
        for family in families {
            #expect(text.contains("# HELP \(family) "), "no HELP for \(family):\n\(text)")
            #expect(text.contains("# TYPE \(family) "), "no TYPE for \(family):\n\(text)")
        }
        #expect(text.contains("switchyard_coordinator_requeues_total{stage=\"score\"} 2"))
        #expect(MetricsCatalog.help["switchyard_coordinator_tasks_completed_total"] != nil)
        #expect(MetricsCatalog.help["switchyard_coordinator_leases_expired_total"] != nil)
        #expect(MetricsCatalog.help["switchyard_coordinator_stage_workers"] != nil)
    }

    /// `key=value` pairs of a logfmt line (values may be quoted with \" escapes).
    static func logfmtFields(_ line: String) throws -> [(key: String, value: String)] {
        var fields: [(String, String)] = []
        var rest = Substring(line.trimmingCharacters(in: .newlines))
        while !rest.isEmpty {
            guard let equals = rest.firstIndex(of: "=") else { throw LogfmtError(line: line) }
            let key = String(rest[..<equals])
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                while let character = rest.first {
                    rest = rest.dropFirst()
                    if character == "\\", let next = rest.first { value.append(next); rest = rest.dropFirst(); continue }
                    if character == "\"" { break }
                    value.append(character)
                }
            } else {
                value = String(rest.prefix { $0 != " " })
                rest = rest.dropFirst(value.count)
            }
            fields.append((key, value))
            rest = rest.drop { $0 == " " }
        }
        return fields
    }

    struct LogfmtError: Error { var line: String }
}
