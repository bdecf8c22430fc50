/// Why a frame could not be decoded. Frames come from the network, so every malformed input
/// ends here instead of crashing; the receiver logs it and drops the frame.
public enum WireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The frame is shorter than its fields claim.
    case truncated(needed: Int, available: Int)
    /// The first byte is a protocol version this build does not speak.
    case unsupportedVersion(UInt8)
    /// The second byte names no known message type.
    case unknownType(UInt8)
    /// A string field is not valid UTF-8.
    case invalidUTF8(field: String)
    /// A field holds a value outside its range (for example an unknown enum tag).
    case invalidValue(field: String, value: UInt64)
    /// Bytes remain after the last field: a sender with a different layout.
    case trailingBytes(Int)
    /// A field is longer than `WireFormat.maxFieldLength`.
    case fieldTooLong(field: String, length: Int)
    /// `WireCodec.decode` (one message) was given a batch frame of `count` messages.
    case unexpectedBatch(count: Int)

    public var description: String {
        switch self {
        case .truncated(let needed, let available):
            return "frame truncated: needed \(needed) more bytes, \(available) left; the peer sent a partial or foreign frame"
        case .unsupportedVersion(let version):
            return "wire version \(version) not supported (this build speaks \(WireFormat.version)); run the same switchyard version on every host"
        case .unknownType(let type):
            return "unknown message type \(type); run the same switchyard version on every host"
        case .invalidUTF8(let field):
            return "field \(field) is not valid UTF-8"
        case .invalidValue(let field, let value):
            return "field \(field) has invalid value \(value)"
        case .trailingBytes(let count):
            return "\(count) unexpected bytes after the last field; run the same switchyard version on every host"
        case .fieldTooLong(let field, let length):
            return "field \(field) is \(length) bytes, more than the \(WireFormat.maxFieldLength) allowed"
        case .unexpectedBatch(let count):
            return "frame carries a batch of \(count) messages where one was expected; decode it with WireCodec.decodeAll"
        }
    }
}
