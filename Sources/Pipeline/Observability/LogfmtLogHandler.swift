import Foundation
import Logging
import Synchronization
import SwitchyardCore

/// A swift-log handler writing one logfmt line per event to stderr:
/// `ts=2026-11-23T13:00:00.000Z level=info stage=score request_id=ab12:7 msg="..."`.
///
/// Greppable by people and parseable by log shippers; metadata (request ID, stage, worker) becomes
/// key=value pairs so one request can be followed across processes. Never give it secrets; as a last
/// guard, every secret registered with its `redactor` is replaced in the finished line.
public struct LogfmtLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let redactor: Redactor?
    private static let lock = Mutex(())

    public init(label: String, level: Logger.Level, redactor: Redactor? = nil) {
        self.label = label
        self.logLevel = level
        self.redactor = redactor
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "ts=\(Self.timestamp()) level=\(event.level.rawValue) logger=\(label)"
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            line += " \(Self.key(key))=\(Self.quote("\(value)"))"
        }
        line += " msg=\(Self.quote("\(event.message)"))\n"
        if let redactor { line = redactor.redact(line) }
        Self.lock.withLock { _ in
            FileHandle.standardError.write(Data(line.utf8))
        }
    }

    static func key(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." ? $0 : "_" })
    }

    static func quote(_ text: String) -> String {
        let needsQuotes = text.isEmpty || text.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "\n" }
        guard needsQuotes else { return text }
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}
