import Foundation
import Synchronization

/// Replaces known secrets with `<redacted>` wherever they would leave the process: log lines, error
/// messages, response bodies that a backend echoed back. Register each secret once, when it is read.
///
/// Thread-safe. Costs nothing while no secret is registered; otherwise one substring search per secret.
public final class Redactor: Sendable {
    public static let placeholder = "<redacted>"
    /// Shorter values are not registered: redacting every "abc" would mangle outputs and protect nothing.
    public static let minimumLength = 6

    private let secrets = Mutex<[String]>([])

    public init() {}

    /// Adds `secret` (and its JSON-escaped form, when that differs) to what is redacted.
    public func register(_ secret: String) {
        guard secret.utf8.count >= Self.minimumLength else { return }
        let escaped = Self.jsonEscaped(secret)
        secrets.withLock { list in
            for value in Set([secret, escaped]) where !list.contains(value) { list.append(value) }
            // The longest first, so a secret that contains another is replaced whole.
            list.sort { $0.utf8.count > $1.utf8.count }
        }
    }

    /// Whether any secret is registered.
    public var isEmpty: Bool { secrets.withLock { $0.isEmpty } }

    /// `text` with every registered secret replaced.
    public func redact(_ text: String) -> String {
        let list = secrets.withLock { $0 }
        guard !list.isEmpty else { return text }
        var result = text
        for secret in list where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: Self.placeholder)
        }
        return result
    }

    /// `data` with every registered secret replaced (bytes compared; the data need not be UTF-8).
    public func redact(_ data: Data) -> Data {
        let list = secrets.withLock { $0 }
        guard !list.isEmpty else { return data }
        var result = data
        let placeholder = Data(Self.placeholder.utf8)
        for secret in list {
            let needle = Data(secret.utf8)
            var searchStart = result.startIndex
            while let range = result.range(of: needle, in: searchStart..<result.endIndex) {
                result.replaceSubrange(range, with: placeholder)
                searchStart = range.lowerBound + placeholder.count
            }
        }
        return result
    }

    /// Whether `data` holds a registered secret.
    public func contains(in data: Data) -> Bool {
        let list = secrets.withLock { $0 }
        return list.contains { data.range(of: Data($0.utf8)) != nil }
    }

    static func jsonEscaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "/": out += "\\/"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
