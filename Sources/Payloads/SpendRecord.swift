/// One message of the spend feed (stage mode): dispatch tells the score process that reserved a request
/// what it really cost, or that it was never sent.
///
/// Two ZeroMQ frames: the owner ID (the PUB/SUB topic, so each score process receives only its own) and a
/// fixed 18-byte body in the wire layout of `Sources/Wire` (little-endian): version u8, kind u8,
/// reservation ID u64, actual USD as IEEE-754 bits u64.
public struct SpendRecord: Sendable, Hashable {
    public enum Kind: UInt8, Sendable {
        /// The request was sent: swap the reservation for `actualUSD` (0 when it failed before billing).
        case settle = 1
        /// The request was never sent: give the reservation back.
        case release = 2
    }

    public static let version: UInt8 = 1
    public static let bodySize = 18

    public var owner: String
    public var kind: Kind
    public var reservationID: UInt64
    public var actualUSD: Double

    public init(owner: String, kind: Kind, reservationID: UInt64, actualUSD: Double) {
        self.owner = owner
        self.kind = kind
        self.reservationID = reservationID
        self.actualUSD = actualUSD
    }

    /// Frame 0: the topic.
    public var topic: [UInt8] { Array(owner.utf8) }

    /// Frame 1: the body.
    public var body: [UInt8] {
        var bytes: [UInt8] = [Self.version, kind.rawValue]
        bytes.reserveCapacity(Self.bodySize)
        for value in [reservationID, actualUSD.bitPattern] {
            for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
        }
        return bytes
    }

    /// Decodes the two frames of a feed message (untrusted bytes: every field is checked).
    public init(topic: [UInt8], body: [UInt8]) throws(SpendRecordError) {
        guard body.count == Self.bodySize else { throw .badSize(body.count) }
        guard body[0] == Self.version else { throw .unknownVersion(body[0]) }
        guard let kind = Kind(rawValue: body[1]) else { throw .unknownKind(body[1]) }
        func u64(at offset: Int) -> UInt64 {
            var value: UInt64 = 0
            for index in 0..<8 { value |= UInt64(body[offset + index]) << UInt64(8 * index) }
            return value
        }
        let actual = Double(bitPattern: u64(at: 10))
        guard actual.isFinite, actual >= 0 else { throw .badAmount(actual) }
        self.init(owner: String(decoding: topic, as: UTF8.self), kind: kind, reservationID: u64(at: 2), actualUSD: actual)
    }
}

/// Why a spend-feed message was dropped (its reservation then stays held: conservative).
public enum SpendRecordError: Error, Equatable, CustomStringConvertible {
    case badSize(Int)
    case unknownVersion(UInt8)
    case unknownKind(UInt8)
    case badAmount(Double)

    public var description: String {
        switch self {
        case .badSize(let size): return "spend record of \(size) bytes (expected \(SpendRecord.bodySize)): run the same switchyard version in every stage"
        case .unknownVersion(let version): return "spend record version \(version) (expected \(SpendRecord.version)): run the same switchyard version in every stage"
        case .unknownKind(let kind): return "spend record kind \(kind) is neither settle nor release: run the same switchyard version in every stage"
        case .badAmount(let amount): return "spend record amount \(amount) is not a finite USD amount ≥ 0: check the dispatcher's prices"
        }
    }
}
