import Foundation
import SwitchyardCore
import Testing
@testable import Wire

@Suite("Wire frames")
struct WireCodecTests {
    static let samples: [WireMessage] = [
        .ready(stage: "profile", credit: 100),
        .task(WireTask(taskID: .max, requestID: "abc:17", stage: "dispatch", attempt: 2, leaseMillis: 30_000,
                       payload: Data("{\"x\":1}".utf8))),
        .done(taskID: 42, payload: Data([0, 1, 2, 255])),
        .done(taskID: 0, payload: Data()),
        .fail(taskID: 7, permanent: true, reason: "bad input: ünïcode"),
        .fail(taskID: 8, permanent: false, reason: ""),
        .heartbeat, .extend(taskID: 9), .drain, .bye, .reset,
        .hello(role: .producer, credit: 0), .hello(role: .consumer, credit: 64),
        .submit(requestID: "digest:1", payload: Data("{}".utf8)),
        .grant(credit: 1000), .alreadyDone(requestID: "digest:2"), .endOfInput,
        .result(WireResult(requestID: "d:3", status: .exhausted, stage: "score", attempts: 3, reason: "lost", payload: Data("p".utf8))),
        .result(WireResult(requestID: "d:4", status: .completed, stage: "dispatch", attempts: 1, reason: "", payload: Data())),
        .ack(requestID: "d:3"), .finished, .reopen(requestID: "d:5"),
    ]

    @Test("every message round-trips", arguments: samples)
    func roundTrip(message: WireMessage) throws {
        let frame = WireCodec.encode(message)
        #expect(frame[0] == WireFormat.version)
        #expect(try WireCodec.decode(frame) == message)
    }

    @Test("every strict prefix of a frame is rejected as truncated, never crashes")
    func truncatedPrefixes() {
        for message in Self.samples {
            let frame = WireCodec.encode(message)
            for length in 0..<frame.count {
                #expect(throws: WireError.self) { try WireCodec.decode(Array(frame[0..<length])) }
            }
        }
    }

    @Test("wrong version, unknown type, trailing bytes and bad enum values are typed errors")
    func malformed() {
        #expect(throws: WireError.unsupportedVersion(9)) { try WireCodec.decode([9, 1]) }
        #expect(throws: WireError.unknownType(200)) { try WireCodec.decode([WireFormat.version, 200]) }
        #expect(throws: WireError.trailingBytes(1)) { try WireCodec.decode(WireCodec.encode(.heartbeat) + [0]) }
        #expect(throws: WireError.invalidValue(field: "role", value: 9)) {
            try WireCodec.decode([WireFormat.version, 10, 9, 0, 0, 0, 0])
        }
        var fail = WireCodec.encode(.fail(taskID: 1, permanent: true, reason: ""))
        fail[10] = 5
        #expect(throws: WireError.invalidValue(field: "permanent", value: 5)) { try WireCodec.decode(fail) }
        // A string field that is not UTF-8.
        var ack = WireCodec.encode(.ack(requestID: "ab"))
        ack[ack.count - 1] = 0xFF
        #expect(throws: WireError.invalidUTF8(field: "requestID")) { try WireCodec.decode(ack) }
        // A length far beyond the frame and beyond the field limit.
        let huge: [UInt8] = [WireFormat.version, 16, 0xFF, 0xFF, 0xFF, 0x7F]
        #expect(throws: WireError.fieldTooLong(field: "requestID", length: 0x7FFF_FFFF)) { try WireCodec.decode(huge) }
    }

    @Test("random garbage and bit flips never crash the decoder")
    func fuzz() {
        var generator = SplitMix64(seed: 0x5EED)
        var decodedOK = 0
        for _ in 0..<20_000 {
            let count = Int(generator.next() % 64)
            var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            if count > 1, generator.next() % 2 == 0 { bytes[0] = WireFormat.version }
            if (try? WireCodec.decode(bytes)) != nil { decodedOK += 1 }
        }
        for message in Self.samples {
            var frame = WireCodec.encode(message)
            for _ in 0..<200 {
                let index = Int(generator.next() % UInt64(frame.count))
                frame[index] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
                _ = try? WireCodec.decode(frame)
            }
        }
        #expect(decodedOK >= 0)  // reaching here without a trap is the test
    }
}

