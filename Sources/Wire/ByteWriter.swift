import Foundation

/// Appends fields in wire layout. A value type, reused frame after frame by `WireFrameEncoder`; the
/// stage payloads (`Payloads`) are written with it too.
public struct ByteWriter {
    public var bytes: [UInt8]
    /// Room-makers for `append(exactly:_:)`: a TASK or RESULT with a payload of up to a few KiB.
    private static let zeros = [UInt8](repeating: 0, count: 8_192)

    public init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func u8(_ value: UInt8) { bytes.append(value) }

    /// Empties the buffer, keeping its capacity for the next frame.
    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    public mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    public mutating func u32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { append($0) }
    }

    public mutating func u64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { append($0) }
    }

    /// Appends raw bytes with one memcpy (as typed bytes: appending a raw buffer goes element by element).
    private mutating func append(_ raw: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: raw.assumingMemoryBound(to: UInt8.self))
    }

    public mutating func string(_ value: String) {
        var copy = value
        copy.withUTF8 { utf8 in
            u32(UInt32(truncatingIfNeeded: utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    public mutating func data(_ value: Data) {
        u32(UInt32(truncatingIfNeeded: value.count))
        // Through the raw buffer: one memcpy (appending the `Data` itself walks it byte by byte).
        value.withUnsafeBytes { append($0) }
    }

    /// A length-prefixed field of raw bytes.
    public mutating func lengthPrefixed(_ value: UnsafeRawBufferPointer) {
        u32(UInt32(truncatingIfNeeded: value.count))
        append(value)
    }

    /// Bytes as they are, with no length.
    public mutating func raw(_ value: UnsafeRawBufferPointer) { append(value) }

    /// A 32-bit IEEE-754 float.
    public mutating func f32(_ value: Float) { u32(value.bitPattern) }

    /// A 64-bit IEEE-754 float.
    public mutating func f64(_ value: Double) { u64(value.bitPattern) }

    /// Grows the buffer by exactly `count` bytes and lets `write` fill them through a cursor: one
    /// capacity check for a whole message instead of one per field (the hot TASK and RESULT
    /// encoders, whose size is known up front). `write` must write exactly `count` bytes.
    mutating func append(exactly count: Int, _ write: (inout FieldCursor) -> Void) {
        let start = bytes.count
        // Grow by copying zeros (one memcpy): appending `repeatElement(0, count:)` stores byte by byte.
        if count <= Self.zeros.count {
            bytes.append(contentsOf: Self.zeros[0..<count])
        } else {
            bytes.append(contentsOf: repeatElement(0, count: count))
        }
        bytes.withUnsafeMutableBytes { raw in
            var cursor = FieldCursor(base: raw.baseAddress! + start, limit: count)
            write(&cursor)
            precondition(cursor.offset == count, "a message wrote \(cursor.offset) bytes, sized for \(count)")
        }
    }
}

/// Writes fields in wire layout into memory already reserved (`ByteWriter.append(exactly:_:)`).
/// Bounds are checked against the reserved size, so a miscounted message traps instead of writing past it.
struct FieldCursor {
    private let base: UnsafeMutableRawPointer
    private let limit: Int
    private(set) var offset = 0

    init(base: UnsafeMutableRawPointer, limit: Int) {
        self.base = base
        self.limit = limit
    }

    private mutating func advance(_ count: Int) -> UnsafeMutableRawPointer {
        precondition(offset + count <= limit, "field past the reserved size")
        defer { offset += count }
        return base + offset
    }

    mutating func u8(_ value: UInt8) { advance(1).storeBytes(of: value, as: UInt8.self) }
    mutating func u16(_ value: UInt16) { advance(2).storeBytes(of: value.littleEndian, as: UInt16.self) }
    mutating func u32(_ value: UInt32) { advance(4).storeBytes(of: value.littleEndian, as: UInt32.self) }
    mutating func u64(_ value: UInt64) { advance(8).storeBytes(of: value.littleEndian, as: UInt64.self) }

    /// A length-prefixed string or payload field.
    mutating func field(_ value: UnsafeRawBufferPointer) {
        u32(UInt32(truncatingIfNeeded: value.count))
        guard let source = value.baseAddress, !value.isEmpty else { return }
        advance(value.count).copyMemory(from: source, byteCount: value.count)
    }
}
