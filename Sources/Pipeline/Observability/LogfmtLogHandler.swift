import Foundation
import Logging
import SwitchyardCore

/// How log lines are written: logfmt (people and `grep`) or one JSON object a line (log shippers).
public enum LogFormat: String, CaseIterable, Sendable {
    case logfmt, json
}

/// A swift-log handler writing one line per event to the process's `Console` (stderr):
/// `ts=2026-11-23T13:00:00.000Z level=info logger=switchyard.run stage=score request_id=ab12:7 msg="..."`,
/// or the same fields as one JSON object a line (`--log-format json`).
///
/// Metadata (request ID, stage, worker) becomes flat fields so one request can be followed across
/// processes: keys are snake_case, a nested dictionary becomes `key_subkey` fields and a list a comma-separated
/// value, never a nested `key="k=v ..."`. Never give it secrets; as a last
/// guard, every secret registered with its `redactor` is replaced in the finished line.
public struct LogfmtLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let format: LogFormat
    private let console: Console
    private let redactor: Redactor?

    public init(label: String, level: Logger.Level, format: LogFormat = .logfmt, console: Console = Console(),
                redactor: Redactor? = nil) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.console = console
        self.redactor = redactor
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var fields: [(String, String)] = []
        for (key, value) in merged { Self.flatten(Self.key(key), value, into: &fields) }
        fields.sort { $0.0 < $1.0 }
        let line = Self.line(timestamp: Self.timestamp(), level: event.level.rawValue, logger: label,
                             fields: fields, message: "\(event.message)", format: format)
        console.writeLine(redactor.map { $0.redact(line) } ?? line)
    }

    /// One rendered line, newline included.
    static func line(timestamp: String, level: String, logger: String, fields: [(String, String)], message: String,
                     format: LogFormat) -> String {
        switch format {
        case .logfmt:
            var line = "ts=\(timestamp) level=\(level) logger=\(logger)"
            for (key, value) in fields { line += " \(key)=\(quote(value))" }
            return line + " msg=\(quote(message))\n"
        case .json:
            var line = "{\"ts\":\(json(timestamp)),\"level\":\(json(level)),\"logger\":\(json(logger))"
            for (key, value) in fields where !["ts", "level", "logger", "msg"].contains(key) { line += ",\(json(key)):\(json(value))" }
            return line + ",\"msg\":\(json(message))}\n"
        }
    }

    static func flatten(_ key: String, _ value: Logger.Metadata.Value, into fields: inout [(String, String)]) {
        switch value {
        case .dictionary(let dictionary):
            for (sub, inner) in dictionary { flatten(key + "_" + Self.key(sub), inner, into: &fields) }
        case .array(let values):
            fields.append((key, values.map { "\($0)" }.joined(separator: ",")))
        case .string(let text):
            fields.append((key, text))
        case .stringConvertible(let convertible):
            fields.append((key, convertible.description))
        }
    }

    /// A snake_case key: `requestID` → `request_id`; anything but letters, digits, `_` and `.` becomes `_`.
    static func key(_ text: String) -> String {
        var out = ""
        var previousLower = false
        for character in text {
            if character.isUppercase {
                if previousLower { out.append("_") }
                out += character.lowercased()
                previousLower = false
            } else if character.isLetter || character.isNumber || character == "_" || character == "." {
                out.append(character)
                previousLower = character.isLowercase || character.isNumber
            } else {
                out.append("_")
                previousLower = false
            }
        }
        return out
    }

    static func quote(_ text: String) -> String {
        let needsQuotes = text.isEmpty || text.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "\n" }
        guard needsQuotes else { return text }
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }

    static func json(_ text: String) -> String { JSONText.quote(text) }

    static func timestamp() -> String {
        Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
