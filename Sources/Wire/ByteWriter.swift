import Foundation

/// Appends fields in wire layout. A value type, reused frame after frame by `WireFrameEncoder`.
struct ByteWriter {
    var bytes: [UInt8]

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    /// Empties the buffer, keeping its capacity for the next frame.
    mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value))
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    mutating func u32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { append($0) }
    }

    mutating func u64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { append($0) }
    }

    /// Appends raw bytes with one memcpy (as typed bytes: appending a raw buffer goes element by element).
    private mutating func append(_ raw: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: raw.assumingMemoryBound(to: UInt8.self))
    }

    mutating func string(_ value: String) {
        var copy = value
        copy.withUTF8 { utf8 in
            u32(UInt32(truncatingIfNeeded: utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func data(_ value: Data) {
        u32(UInt32(truncatingIfNeeded: value.count))
        // Through the raw buffer: one memcpy (appending the `Data` itself walks it byte by byte).
        value.withUnsafeBytes { append($0) }
    }
}
