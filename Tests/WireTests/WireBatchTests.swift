import Foundation
import SwitchyardCore
import Testing
@testable import Wire

@Suite("Wire batch frames")
struct WireBatchTests {
    static let batch: [WireMessage] = [
        .task(WireTask(taskID: 1, requestID: "d:1", stage: "profile", attempt: 1, leaseMillis: 60_000, payload: Data("a".utf8))),
        .task(WireTask(taskID: 2, requestID: "d:2", stage: "profile", attempt: 3, leaseMillis: 60_000, payload: Data())),
        .heartbeat,
        .done(taskID: 9, payload: Data([0, 255])),
        .fail(taskID: 10, permanent: false, reason: "busy"),
        .ack(requestID: "d:ü"),
        .result(WireResult(requestID: "d:3", status: .failed, stage: "score", attempts: 2, reason: "bad", payload: Data("p".utf8))),
    ]

    func decodeAll(_ frame: [UInt8]) throws(WireError) -> [WireMessage] {
        var messages: [WireMessage] = []
        try WireCodec.decodeAll(frame, into: &messages)
        return messages
    }

    @Test("decoding with shared payloads gives the same messages, payloads as slices of the frame; all or nothing")
    func sharedPayloads() throws {
        let frame = Data(WireCodec.encode(batch: Self.batch))
        var messages: [WireMessage] = []
        try WireCodec.decodeAll(sharing: frame, into: &messages)
        #expect(messages == Self.batch)
        guard case .done(_, let payload) = messages[3] else {
            Issue.record("expected DONE, got \(messages[3].kindName)")
            return
        }
        #expect(payload.startIndex > frame.startIndex && payload.endIndex <= frame.endIndex && Array(payload) == [0, 255])
        // A slice of a larger buffer decodes the same (indices need not start at 0).
        let padded = Data([7, 7, 7]) + frame
        var fromSlice: [WireMessage] = []
        try WireCodec.decodeAll(sharing: padded[3...], into: &fromSlice)
        #expect(fromSlice == Self.batch)
        // A truncated frame appends nothing.
        var kept: [WireMessage] = [.heartbeat]
        #expect(throws: WireError.self) { try WireCodec.decodeAll(sharing: frame.dropLast(), into: &kept) }
        #expect(kept == [.heartbeat])
    }

    @Test("a batch round-trips in order; one message is a plain frame, identical to encode(message)")
    func roundTrip() throws {
        let frame = WireCodec.encode(batch: Self.batch)
        #expect(frame[0] == WireFormat.version && frame[1] == WireCodec.Tag.batch.rawValue)
        #expect(try decodeAll(frame) == Self.batch)
        for message in Self.batch {
            #expect(WireCodec.encode(batch: [message]) == WireCodec.encode(message))
            #expect(try decodeAll(WireCodec.encode(message)) == [message])
        }
    }

    @Test("the reusable encoder gives the same frames after reset, and appends to a caller's buffer")
    func encoderReuse() throws {
        var encoder = WireFrameEncoder(capacity: 8)
        for message in Self.batch { encoder.append(message) }
        let first = encoder.frame()
        encoder.reset()
        #expect(encoder.isEmpty && encoder.count == 0)
        encoder.append(.heartbeat)
        #expect(encoder.frame() == WireCodec.encode(.heartbeat))
        encoder.reset()
        for message in Self.batch { encoder.append(message) }
        #expect(encoder.frame() == first)
        var messages: [WireMessage] = [.bye]
        try WireCodec.decodeAll(first, into: &messages)
        #expect(messages == [.bye] + Self.batch)
    }

    @Test("appendTask and appendResult write the same bytes as appending the messages")
    func fieldEncodersMatchMessages() throws {
        let task = WireTask(taskID: 7, requestID: "d:ü7", stage: "score", attempt: 2, leaseMillis: 1_000, payload: Data("in".utf8)[1...])
        let result = WireResult(requestID: "d:8", status: .exhausted, stage: "dispatch", attempts: 3, reason: "gave up", payload: Data([1, 2]))
        var viaMessages = WireFrameEncoder()
        viaMessages.append(.task(task))
        viaMessages.append(.result(result))
        var viaFields = WireFrameEncoder()
        viaFields.appendTask(taskID: task.taskID, requestID: task.requestID, stage: task.stage, attempt: task.attempt,
                             leaseMillis: task.leaseMillis, payload: task.payload)
        viaFields.appendResult(result)
        #expect(viaFields.frame() == viaMessages.frame())
        #expect(try decodeAll(viaFields.frame()) == [.task(task), .result(result)])
        var one = WireFrameEncoder()
        one.appendResult(result)
        #expect(one.frame() == WireCodec.encode(.result(result)))
    }

    @Test("decodeInbound: SUBMIT, DONE and ACK as ranges of the frame, the rest decoded; same messages as decodeAll; all or nothing")
    func inbound() throws {
        let messages: [WireMessage] = Self.batch + [.submit(requestID: "d:ä9", payload: Data([3, 4, 5])), .ack(requestID: "d:10"), .bye]
        let frame = Data([9, 9]) + Data(WireCodec.encode(batch: messages))
        let body = frame[2...]  // indices need not start at 0; ranges are offsets from the frame's start
        var inbound: [WireInboundMessage] = [.other(.drain)]
        try WireCodec.decodeInbound(body, into: &inbound)
        #expect(inbound.count == messages.count + 1 && inbound[0] == .other(.drain))
        let bytes = Array(body)
        func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
        let rebuilt: [WireMessage] = inbound.dropFirst().map { message in
            switch message {
            case .submit(let id, let payload): return .submit(requestID: text(id), payload: Data(bytes[payload]))
            case .done(let taskID, let payload): return .done(taskID: taskID, payload: Data(bytes[payload]))
            case .ack(let id): return .ack(requestID: text(id))
            case .other(let message): return message
            }
        }
        #expect(rebuilt == messages)
        for length in 0..<(body.count - 1) {
            var kept: [WireInboundMessage] = [.other(.drain)]
            #expect(throws: WireError.self) { try WireCodec.decodeInbound(body.prefix(length), into: &kept) }
            #expect(kept == [.other(.drain)])
        }
        // A request ID that is not UTF-8 is refused like `decodeAll` refuses it.
        var bad = Array(WireCodec.encode(.ack(requestID: "ab")))
        bad[bad.count - 1] = 0xFF
        var none: [WireInboundMessage] = []
        #expect(throws: WireError.invalidUTF8(field: "requestID")) { try WireCodec.decodeInbound(Data(bad), into: &none) }
        #expect(throws: WireError.invalidUTF8(field: "requestID")) { try decodeAll(bad) }
        #expect(none.isEmpty)
    }

    @Test("appendResult from fields writes the same bytes as the message")
    func resultFieldsMatchMessage() throws {
        let result = WireResult(requestID: "d:ü8", status: .failed, stage: "", attempts: 0, reason: "", payload: Data([9, 8, 7])[1...])
        var viaFields = WireFrameEncoder()
        viaFields.appendResult(requestID: result.requestID, status: result.status, stage: result.stage, attempts: result.attempts,
                               reason: result.reason, payload: result.payload)
        #expect(viaFields.frame() == WireCodec.encode(.result(result)))
    }

    @Test("decode (one message) refuses a batch with a typed error that says what to do")
    func singleDecodeRefusesBatch() {
        let frame = WireCodec.encode(batch: Self.batch)
        #expect(throws: WireError.unexpectedBatch(count: Self.batch.count)) { try WireCodec.decode(frame) }
        #expect(WireError.unexpectedBatch(count: 2).description.contains("decodeAll"))
    }

    @Test("every truncation of a batch is a typed error and appends nothing")
    func truncated() {
        let frame = WireCodec.encode(batch: Self.batch)
        for length in 0..<frame.count {
            var messages: [WireMessage] = [.drain]
            #expect(throws: WireError.self) { try WireCodec.decodeAll(Array(frame[0..<length]), into: &messages) }
            #expect(messages == [.drain])
        }
    }

    @Test("bad counts, nested batches, trailing bytes and old versions are typed errors")
    func malformed() {
        let batchTag = WireCodec.Tag.batch.rawValue
        let v = WireFormat.version
        #expect(throws: WireError.invalidValue(field: "batch count", value: 0)) { try decodeAll([v, batchTag, 0, 0, 0, 0]) }
        #expect(throws: WireError.invalidValue(field: "batch count", value: 1)) { try decodeAll([v, batchTag, 1, 0, 0, 0, 5]) }
        // A count far beyond the bytes present: refused before any allocation.
        #expect(throws: WireError.truncated(needed: 0x7FFF_FFFF, available: 2)) { try decodeAll([v, batchTag, 0xFF, 0xFF, 0xFF, 0x7F, 5, 5]) }
        #expect(throws: WireError.invalidValue(field: "type inside a batch", value: UInt64(batchTag))) {
            try decodeAll([v, batchTag, 2, 0, 0, 0, 5, batchTag])
        }
        #expect(throws: WireError.unknownType(99)) { try decodeAll([v, batchTag, 2, 0, 0, 0, 5, 99]) }
        #expect(throws: WireError.trailingBytes(1)) { try decodeAll(WireCodec.encode(batch: [.heartbeat, .bye]) + [7]) }
        // A frame of the previous wire version (no batches) is refused with the upgrade hint.
        var old = WireCodec.encode(.heartbeat)
        old[0] = 1
        #expect(throws: WireError.unsupportedVersion(1)) { try decodeAll(old) }
        #expect(WireError.unsupportedVersion(1).description.contains("same switchyard version"))
    }

    @Test("random bit flips in batch frames never crash the decoder and never half-decode")
    func fuzz() {
        var generator = SplitMix64(seed: 0xBA7C4)
        let frame = WireCodec.encode(batch: Self.batch)
        for _ in 0..<5_000 {
            var bytes = frame
            let flips = 1 + Int(generator.next() % 3)
            for _ in 0..<flips {
                let index = Int(generator.next() % UInt64(bytes.count))
                bytes[index] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
            }
            var messages: [WireMessage] = []
            do {
                try WireCodec.decodeAll(bytes, into: &messages)
            } catch {
                #expect(messages.isEmpty)
            }
        }
    }
}
