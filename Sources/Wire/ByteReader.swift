import Foundation

/// Reads fields in wire layout from untrusted bytes; every read is bounds-checked and throws `WireError`.
/// Used by the work protocol's frames and by the stage payloads (`Payloads`).
public struct ByteReader {
    private let bytes: UnsafeRawBufferPointer
    /// When set, `bytes` are this `Data`'s bytes and `data` fields are returned as slices of it (no copy).
    private let shared: Data?
    public private(set) var offset = 0

    public init(_ bytes: UnsafeRawBufferPointer, sharing shared: Data? = nil) {
        self.bytes = bytes
        self.shared = shared
    }

    public var remaining: Int { bytes.count - offset }

    private mutating func take(_ count: Int) throws(WireError) -> UnsafeRawBufferPointer {
        guard count <= remaining else { throw .truncated(needed: count, available: remaining) }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
        offset += count
        return slice
    }

    public mutating func u8() throws(WireError) -> UInt8 { try take(1)[0] }

    public mutating func u16() throws(WireError) -> UInt16 {
        let raw = try take(2)
        return UInt16(raw[0]) | UInt16(raw[1]) << 8
    }

    public mutating func u32() throws(WireError) -> UInt32 {
        UInt32(littleEndian: try take(4).loadUnaligned(as: UInt32.self))
    }

    public mutating func u64() throws(WireError) -> UInt64 {
        UInt64(littleEndian: try take(8).loadUnaligned(as: UInt64.self))
    }

    public mutating func bool(_ field: String) throws(WireError) -> Bool {
        let value = try u8()
        guard value <= 1 else { throw .invalidValue(field: field, value: UInt64(value)) }
        return value == 1
    }

    private mutating func length(_ field: String) throws(WireError) -> Int {
        let length = Int(try u32())
        guard length <= WireFormat.maxFieldLength else { throw .fieldTooLong(field: field, length: length) }
        return length
    }

    public mutating func string(_ field: String) throws(WireError) -> String {
        let raw = try take(try length(field)).assumingMemoryBound(to: UInt8.self)
        // IDs and stage names are nearly always ASCII, which is valid UTF-8 as it stands: decoding
        // it directly skips the generic validating initializer (a third of a frame's decode time).
        if raw.allSatisfy({ $0 < 0x80 }) { return String(decoding: raw, as: UTF8.self) }
        guard let text = String(validating: raw, as: UTF8.self) else { throw .invalidUTF8(field: field) }
        return text
    }

    /// The byte range (offsets into the reader's bytes) of a length-prefixed field, not copied.
    public mutating func span(_ field: String) throws(WireError) -> Range<Int> {
        let count = try length(field)
        let start = offset
        _ = try take(count)
        return start..<(start + count)
    }

    /// `span` of a string field, validated as UTF-8 (as `string` does) without building a `String`.
    public mutating func stringSpan(_ field: String) throws(WireError) -> Range<Int> {
        let range = try span(field)
        let raw = UnsafeRawBufferPointer(rebasing: bytes[range]).assumingMemoryBound(to: UInt8.self)
        if !raw.allSatisfy({ $0 < 0x80 }) && String(validating: raw, as: UTF8.self) == nil { throw .invalidUTF8(field: field) }
        return range
    }

    public mutating func data(_ field: String) throws(WireError) -> Data {
        let count = try length(field)
        if let shared {
            let start = offset
            _ = try take(count)
            // A slice shares the frame's storage: a retain, no allocation, no copy.
            return shared[(shared.startIndex + start)..<(shared.startIndex + start + count)]
        }
        let raw = try take(count)
        guard let base = raw.baseAddress, !raw.isEmpty else { return Data() }
        return Data(bytes: base, count: raw.count)  // one memcpy
    }

    /// A 32-bit IEEE-754 float.
    public mutating func f32() throws(WireError) -> Float { Float(bitPattern: try u32()) }

    /// A 64-bit IEEE-754 float.
    public mutating func f64() throws(WireError) -> Double { Double(bitPattern: try u64()) }

    /// The next `count` bytes, not copied (valid while the reader's buffer is).
    public mutating func bytes(_ count: Int) throws(WireError) -> UnsafeRawBufferPointer { try take(count) }

    /// A length-prefixed field's bytes, not copied (valid while the reader's buffer is).
    public mutating func lengthPrefixed(_ field: String) throws(WireError) -> UnsafeRawBufferPointer {
        try take(try length(field))
    }

    /// Throws `trailingBytes` unless every byte was read.
    public func expectEnd() throws(WireError) {
        guard remaining == 0 else { throw .trailingBytes(remaining) }
    }
}
