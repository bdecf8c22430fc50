import CZeroMQ

/// CurveZMQ: elliptic-curve authentication and encryption of tcp links (RFC 26), built into libzmq
/// when it is compiled with libsodium (Debian's is).
///
/// A server socket proves itself with its key pair and learns each client's public key, which a
/// `ZAPHandler` in the same context admits or refuses; a client must know the server's public key
/// in advance (that is what stops a man in the middle) and proves itself with its own key pair.
public enum Curve {
    /// Whether this libzmq supports CURVE (`zmq_has("curve")`). Check it before configuring keys:
    /// without it setting a key fails with `EINVAL`, which says nothing about why.
    public static var isAvailable: Bool { zmq_has("curve") == 1 }

    /// Length of a key in bytes.
    public static let keyBytes = 32
    /// Length of a key in Z85 text (ZeroMQ's base-85 encoding): 40 printable characters.
    public static let z85Length = 40

    /// Z85 text of 32 bytes.
    static func z85(_ bytes: [UInt8]) -> String {
        var text = [CChar](repeating: 0, count: z85Length + 1)
        _ = bytes.withUnsafeBufferPointer { zmq_z85_encode(&text, $0.baseAddress, $0.count) }
        return String(decoding: text.prefix(z85Length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The 32 bytes of a 40-character Z85 key, or nil when `text` is not one.
    static func decodeZ85(_ text: String) -> [UInt8]? {
        guard text.utf8.count == z85Length, text.utf8.allSatisfy(isZ85) else { return nil }
        var bytes = [UInt8](repeating: 0, count: keyBytes)
        let decoded = bytes.withUnsafeMutableBufferPointer { buffer in
            text.withCString { zmq_z85_decode(buffer.baseAddress, $0) }
        }
        return decoded == nil ? nil : bytes
    }

    /// The characters of the Z85 alphabet.
    private static func isZ85(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
            return true
        default:
            return Array(".-:+=^!/*?&<>()[]{}@%$#".utf8).contains(byte)
        }
    }
}

/// A CURVE public key. Safe to print, log and share: it is what servers list as admitted and
/// clients configure as the server they trust.
public struct CurvePublicKey: Sendable, Hashable, CustomStringConvertible {
    /// The 32 key bytes.
    public let bytes: [UInt8]

    /// From its 40-character Z85 text; nil when `z85` is not a Z85 key.
    public init?(z85: String) {
        guard let bytes = Curve.decodeZ85(z85) else { return nil }
        self.bytes = bytes
    }

    /// From 32 raw bytes (as a ZAP request carries it); nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Curve.keyBytes else { return nil }
        self.bytes = bytes
    }

    /// The key as 40 Z85 characters.
    public var z85: String { Curve.z85(bytes) }
    public var description: String { z85 }
}

/// A CURVE secret key. Its description is always redacted, so it cannot leak through string
/// interpolation into a log line or an error message; read it only to configure a socket.
public struct CurveSecretKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    let bytes: [UInt8]

    /// From its 40-character Z85 text; nil when `z85` is not a Z85 key.
    public init?(z85: String) {
        guard let bytes = Curve.decodeZ85(z85) else { return nil }
        self.bytes = bytes
    }

    /// The key as 40 Z85 characters: only for writing it to an owner-only file.
    public var z85: String { Curve.z85(bytes) }
    public var description: String { "<redacted CURVE secret key>" }
    public var debugDescription: String { description }
}

/// A process's CURVE identity: the public key others admit and the secret key that proves it.
public struct CurveKeyPair: Sendable, CustomStringConvertible {
    public let publicKey: CurvePublicKey
    public let secretKey: CurveSecretKey

    /// Pairs `publicKey` with `secretKey` after checking that the public key is the one derived
    /// from the secret key (a mismatched pair fails every handshake with no useful error).
    public init(publicKey: CurvePublicKey, secretKey: CurveSecretKey) throws(ZeroMQError) {
        guard Curve.isAvailable else { throw ZeroMQError.curveUnavailable }
        var derived = [CChar](repeating: 0, count: Curve.z85Length + 1)
        let secretText = secretKey.z85
        let rc = secretText.withCString { zmq_curve_public(&derived, $0) }
        guard rc == 0 else { throw ZeroMQError.current("zmq_curve_public") }
        let derivedText = String(decoding: derived.prefix(Curve.z85Length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard derivedText == publicKey.z85 else {
            throw ZeroMQError.invalidArgument("the public key \(publicKey.z85) does not belong to this secret key: use the public key written beside it")
        }
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// A new random key pair (`zmq_curve_keypair`, from libsodium's random source).
    public static func generate() throws(ZeroMQError) -> CurveKeyPair {
        guard Curve.isAvailable else { throw ZeroMQError.curveUnavailable }
        var publicText = [CChar](repeating: 0, count: Curve.z85Length + 1)
        var secretText = [CChar](repeating: 0, count: Curve.z85Length + 1)
        guard zmq_curve_keypair(&publicText, &secretText) == 0 else { throw ZeroMQError.current("zmq_curve_keypair") }
        func string(_ text: [CChar]) -> String {
            String(decoding: text.prefix(Curve.z85Length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        guard let publicKey = CurvePublicKey(z85: string(publicText)), let secretKey = CurveSecretKey(z85: string(secretText)) else {
            throw ZeroMQError.invalidArgument("libzmq made a key that is not Z85")
        }
        return CurveKeyPair(unchecked: publicKey, secretKey)
    }

    private init(unchecked publicKey: CurvePublicKey, _ secretKey: CurveSecretKey) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    public var description: String { "CurveKeyPair(public: \(publicKey.z85), secret: <redacted>)" }
}

/// The CURVE role of a socket (`SocketOptions.curve`).
public enum CurveSecurity: Sendable {
    /// The bind side: proves `keyPair`; clients are admitted by the context's `ZAPHandler` (without
    /// one, libzmq admits every client that knows the server key: run a handler).
    case server(CurveKeyPair)
    /// The connect side: proves `keyPair` and talks only to the server holding `serverKey`'s secret.
    case client(CurveKeyPair, serverKey: CurvePublicKey)
}

/// The security mechanism a socket is configured with (`ZMQ_MECHANISM`).
public enum SecurityMechanism: Sendable, Equatable, CustomStringConvertible {
    case null, plain, curve, gssapi
    case unknown(Int32)

    init(rawValue: Int32) {
        switch rawValue {
        case ZMQ_NULL: self = .null
        case ZMQ_PLAIN: self = .plain
        case ZMQ_CURVE: self = .curve
        case ZMQ_GSSAPI: self = .gssapi
        default: self = .unknown(rawValue)
        }
    }

    public var description: String {
        switch self {
        case .null: return "NULL"
        case .plain: return "PLAIN"
        case .curve: return "CURVE"
        case .gssapi: return "GSSAPI"
        case .unknown(let value): return "mechanism-\(value)"
        }
    }
}
