import Foundation
import SwitchyardCore

/// A JSON value kept as the bytes it came in: a request body as the caller wrote it, a response body
/// as the backend sent it. Key order and number text survive (`1e-7` stays `1e-7`), and writing it
/// into a record is a copy, not an encode.
///
/// Made by `init(validating:)`, which checks the bytes once; a value decoded from a stage payload is
/// trusted (the stage that made it validated it). Always one line: line breaks between tokens (the
/// only place valid JSON can hold them) are turned into spaces, so a record stays one JSON Lines line.
public struct RawJSON: Sendable, Hashable {
    public let bytes: [UInt8]

    /// Bytes known to be one valid JSON value on one line.
    public init(trusted bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Checks `bytes` (one JSON value, whitespace around it allowed) and keeps them.
    public init(validating bytes: some Collection<UInt8>) throws(JSONSyntaxError) {
        var copy = Array(bytes)
        let checked = copy.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONSyntaxError) in _ = try JSONTape(buffer) }
        }
        try checked.get()
        Self.joinLines(&copy)
        self.bytes = copy
    }

    /// Bytes validated elsewhere (a tape was built on them), made one line.
    public init(validated bytes: some Collection<UInt8>) {
        var copy = Array(bytes)
        Self.joinLines(&copy)
        self.bytes = copy
    }

    /// `text` as a JSON string value.
    public init(string text: String) {
        var writer = JSONWriter(capacity: text.utf8.count + 2)
        writer.string(text)
        bytes = writer.bytes
    }

    /// Replaces CR and LF (whitespace between tokens: inside strings they are escaped) with spaces.
    static func joinLines(_ bytes: inout [UInt8]) {
        guard bytes.contains(where: { $0 == 0x0A || $0 == 0x0D }) else { return }
        for i in bytes.indices where bytes[i] == 0x0A || bytes[i] == 0x0D { bytes[i] = 0x20 }
    }

    /// The text.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// The value as a tree (for tests and tools; the pipeline never builds one).
    public var value: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) }
}

/// Records are read back (resume, tools, tests) with `JSONDecoder`: a raw value then round-trips through
/// `JSONValue`, off the per-request path.
extension RawJSON: Codable {
    public init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        bytes = Array(try encoder.encode(value))
    }

    public func encode(to encoder: any Encoder) throws {
        guard let value else { throw EncodingError.invalidValue(bytes, .init(codingPath: encoder.codingPath, debugDescription: "not valid JSON")) }
        try value.encode(to: encoder)
    }
}
