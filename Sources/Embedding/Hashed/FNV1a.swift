/// 64-bit FNV-1a: a tiny, seedless, platform-independent hash. Used wherever a feature index must be
/// identical across processes and hosts (Swift's `Hasher` is randomly seeded per process, so it
/// cannot be used for anything that is stored or compared across runs).
public struct FNV1a: Sendable {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01b3

    public private(set) var value: UInt64

    public init(seed: UInt64 = FNV1a.offsetBasis) { value = seed }

    @inline(__always)
    public mutating func combine(byte: UInt8) {
        value = (value ^ UInt64(byte)) &* FNV1a.prime
    }

    /// Hashes the UTF-8 bytes of one Unicode scalar.
    @inline(__always)
    public mutating func combine(scalar: Unicode.Scalar) {
        let v = scalar.value
        if v < 0x80 {
            combine(byte: UInt8(v))
            return
        }
        // Variable-length UTF-8 encoding, written out to avoid allocations.
        var bytes: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
        var count = 0
        if v < 0x800 {
            bytes = (UInt8(0xC0 | (v >> 6)), UInt8(0x80 | (v & 0x3F)), 0, 0); count = 2
        } else if v < 0x10000 {
            bytes = (UInt8(0xE0 | (v >> 12)), UInt8(0x80 | ((v >> 6) & 0x3F)), UInt8(0x80 | (v & 0x3F)), 0); count = 3
        } else {
            bytes = (UInt8(0xF0 | (v >> 18)), UInt8(0x80 | ((v >> 12) & 0x3F)),
                     UInt8(0x80 | ((v >> 6) & 0x3F)), UInt8(0x80 | (v & 0x3F))); count = 4
        }
        combine(byte: bytes.0); combine(byte: bytes.1)
        if count > 2 { combine(byte: bytes.2) }
        if count > 3 { combine(byte: bytes.3) }
    }

    public mutating func combine(string: String) {
        for b in string.utf8 { combine(byte: b) }
    }

    /// Hash of a string's UTF-8 bytes.
    public static func hash(_ string: String) -> UInt64 {
        var h = FNV1a()
        h.combine(string: string)
        return h.value
    }
}
