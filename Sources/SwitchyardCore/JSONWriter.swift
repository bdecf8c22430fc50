/// Appends JSON text to a byte buffer: quoted strings, numbers, literals and raw JSON the caller
/// already holds (a request or response body), with no intermediate tree and no `Encoder`.
///
/// Why: the per-request records (`results.jsonl`, request bodies) are a few fixed fields around bytes
/// that are already JSON; writing them by hand is an order of magnitude cheaper than `JSONEncoder` and
/// keeps the embedded bytes exactly as they came.
public struct JSONWriter: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Text that is already JSON (punctuation, a key with its colon, a validated value).
    @inline(__always)
    public mutating func raw(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Bytes that are already JSON.
    public mutating func raw(_ json: some Collection<UInt8>) {
        bytes.append(contentsOf: json)
    }

    /// A string, quoted and escaped (`"`, `\` and control characters; `/` and non-ASCII kept as they are).
    public mutating func string(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in string(utf8: utf8) }
    }

    /// UTF-8 text, quoted and escaped.
    public mutating func string(utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        for (i, c) in utf8.enumerated() where c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
            if runStart < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
            runStart = i + 1
            switch c {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            default:
                raw("\\u00")
                bytes.append(Self.hexDigits[Int(c >> 4)])
                bytes.append(Self.hexDigits[Int(c & 0xF)])
            }
        }
        if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// A number in Swift's shortest round-trip form (`1e-07`, `0.25`, `3.0`); `null` when not finite.
    public mutating func number(_ value: Double) {
        guard value.isFinite else { return raw("null") }
        // The description of a finite Double is valid JSON number text.
        var text = value.description
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// A whole number.
    public mutating func integer(_ value: Int) {
        if value >= 0 && value < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var text = String(value)
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    public mutating func bool(_ value: Bool) {
        value ? raw("true") : raw("false")
    }

    /// `null`, or the value written by `write`.
    public mutating func optional<T>(_ value: T?, _ write: (inout JSONWriter, T) -> Void) {
        guard let value else { return raw("null") }
        write(&self, value)
    }
}
