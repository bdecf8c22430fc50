/// A ROUTER peer's identity as an integer, so the coordinator's tables hash a `UInt64` instead
/// of allocating and hashing a byte array for every message.
struct PeerKey: Hashable, Sendable, CustomStringConvertible {
    let raw: UInt64

    var description: String { "peer-\(String(raw, radix: 16))" }
}

/// Maps ROUTER identities to `PeerKey`s and back without allocating on the hot path.
///
/// libzmq's generated identities are 5 bytes (a zero byte and a 32-bit counter): any identity of
/// at most 7 bytes is packed into the key itself (length in the top byte), no table involved.
/// Longer identities (a peer that set its own routing ID) get a numbered key with the top bit set,
/// kept in a table for the coordinator's lifetime (one entry per distinct such peer).
/// Not thread-safe: owned by the coordinator's loop.
struct PeerKeys {
    private static let longFlag: UInt64 = 1 << 63
    private var longKeys: [[UInt8]: PeerKey] = [:]
    private var longIdentities: [PeerKey: [UInt8]] = [:]

    mutating func key(for identity: UnsafeRawBufferPointer) -> PeerKey {
        if identity.count <= 7 {
            var raw = UInt64(identity.count) << 56
            for (index, byte) in identity.enumerated() { raw |= UInt64(byte) << UInt64(8 * index) }
            return PeerKey(raw: raw)
        }
        let bytes = Array(identity)
        if let known = longKeys[bytes] { return known }
        let key = PeerKey(raw: Self.longFlag | UInt64(longKeys.count))
        longKeys[bytes] = key
        longIdentities[key] = bytes
        return key
    }

    /// Passes `key`'s identity bytes to `body` (nil for a key this table never made).
    func withIdentity<Result>(_ key: PeerKey, _ body: (UnsafeRawBufferPointer?) -> Result) -> Result {
        if key.raw & Self.longFlag != 0 {
            guard let bytes = longIdentities[key] else { return body(nil) }
            return bytes.withUnsafeBytes { body($0) }
        }
        let count = Int(key.raw >> 56)
        return withUnsafeBytes(of: key.raw.littleEndian) { raw in body(UnsafeRawBufferPointer(rebasing: raw[0..<count])) }
    }
}
