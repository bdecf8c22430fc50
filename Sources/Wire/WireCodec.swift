import Foundation

/// Encodes and decodes `WireMessage` frames (layout in `WireFormat`).
///
/// Stateless and thread-safe. Decoding never traps on malformed input: it throws `WireError`.
public enum WireCodec {
    enum Tag: UInt8 {
        case ready = 1, task, done, fail, heartbeat, extend, drain, bye, reset
        case hello, submit, grant, alreadyDone, endOfInput, result, ack, finished
        case batch
        case reopen
    }

    /// The frame bytes for `message` alone.
    public static func encode(_ message: WireMessage) -> [UInt8] {
        var writer = ByteWriter(capacity: 32 + payloadSize(message))
        writer.u8(WireFormat.version)
        appendFields(message, to: &writer)
        return writer.bytes
    }

    /// One frame carrying every message of `messages` in order: a single-message frame when there is
    /// one (so a lone message costs nothing extra), a batch frame otherwise. Batching is what lets a
    /// worker with credit for many tasks, or a busy worker's answers, cross ZeroMQ as one message.
    /// `messages` must not be empty.
    public static func encode(batch messages: some Collection<WireMessage>) -> [UInt8] {
        precondition(!messages.isEmpty, "a batch frame needs at least one message")
        var capacity = 8
        for message in messages { capacity += 24 + payloadSize(message) }
        var encoder = WireFrameEncoder(capacity: capacity)
        for message in messages { encoder.append(message) }
        return encoder.frame()
    }

    /// Decodes a frame holding exactly one message. A batch frame of several messages throws
    /// `WireError.unexpectedBatch`: receivers that accept batches use `decodeAll`.
    public static func decode(_ frame: some ContiguousBytes) throws(WireError) -> WireMessage {
        let result: Result<WireMessage, WireError> = frame.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            do throws(WireError) {
                let version = try reader.u8()
                guard version == WireFormat.version else { throw .unsupportedVersion(version) }
                let rawTag = try reader.u8()
                guard rawTag != Tag.batch.rawValue else { throw .unexpectedBatch(count: Int(try reader.u32())) }
                let message = try decodeFields(tag: rawTag, &reader)
                guard reader.remaining == 0 else { throw .trailingBytes(reader.remaining) }
                return .success(message)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Appends every message of `frame` (a single message or a batch) to `messages`, in order.
    /// All or nothing: on any malformed byte nothing is appended and `WireError` is thrown, so a
    /// receiver never acts on half a batch. Reuse `messages` across frames to avoid allocating.
    public static func decodeAll(_ frame: some ContiguousBytes, into messages: inout [WireMessage]) throws(WireError) {
        let failure: WireError? = frame.withUnsafeBytes { raw in decodeAll(ByteReader(raw), into: &messages) }
        if let failure { throw failure }
    }

    /// `decodeAll`, with every payload a slice of `frame` instead of a copy: no allocation per message.
    /// For receivers that pass payloads on without reading them (the coordinator). A slice's indices
    /// do not start at 0, and it keeps all of `frame` alive: copy a payload that is kept for long.
    public static func decodeAll(sharing frame: Data, into messages: inout [WireMessage]) throws(WireError) {
        let failure: WireError? = frame.withUnsafeBytes { raw in decodeAll(ByteReader(raw, sharing: frame), into: &messages) }
        if let failure { throw failure }
    }

    private static func decodeAll(_ reader: ByteReader, into messages: inout [WireMessage]) -> WireError? {
        decodeFrame(reader, into: &messages) { (tag: UInt8, reader: inout ByteReader) throws(WireError) in try decodeFields(tag: tag, &reader) }
    }

    /// The frame walk both decoders share: version, then one message or a batch of them, each decoded
    /// by `decode` from its type byte; all or nothing (on an error nothing stays appended and the error
    /// is returned).
    @inline(__always)
    private static func decodeFrame<Message>(
        _ reader: ByteReader, into messages: inout [Message],
        decode: (UInt8, inout ByteReader) throws(WireError) -> Message
    ) -> WireError? {
        var reader = reader
        let start = messages.count
        do throws(WireError) {
            let version = try reader.u8()
            guard version == WireFormat.version else { throw .unsupportedVersion(version) }
            let rawTag = try reader.u8()
            if rawTag == Tag.batch.rawValue {
                let count = Int(try reader.u32())
                // Every message is at least its one type byte: a count beyond that is a lie.
                guard count >= 2 else { throw .invalidValue(field: "batch count", value: UInt64(count)) }
                guard count <= reader.remaining else { throw .truncated(needed: count, available: reader.remaining) }
                messages.reserveCapacity(start + count)
                for _ in 0..<count {
                    let innerTag = try reader.u8()
                    guard innerTag != Tag.batch.rawValue else {
                        throw .invalidValue(field: "type inside a batch", value: UInt64(innerTag))
                    }
                    messages.append(try decode(innerTag, &reader))
                }
            } else {
                messages.append(try decode(rawTag, &reader))
            }
            guard reader.remaining == 0 else { throw .trailingBytes(reader.remaining) }
            return nil
        } catch {
            messages.removeSubrange(start...)
            return error
        }
    }

    /// Decodes every message of `frame` for a receiver that reads SUBMIT, DONE and ACK in place
    /// (`WireInboundMessage`): no `String` or `Data` is built for those, so a batch of them costs no
    /// allocation at all. All or nothing, as `decodeAll`: on any malformed byte (including a request
    /// ID that is not UTF-8) nothing is appended and `WireError` is thrown.
    public static func decodeInbound(_ frame: Data, into messages: inout [WireInboundMessage]) throws(WireError) {
        let failure: WireError? = frame.withUnsafeBytes { raw in
            decodeFrame(ByteReader(raw, sharing: frame), into: &messages) { (tag: UInt8, reader: inout ByteReader) throws(WireError) in
                try decodeInboundFields(tag: tag, &reader)
            }
        }
        if let failure { throw failure }
    }

    private static func decodeInboundFields(tag rawTag: UInt8, _ reader: inout ByteReader) throws(WireError) -> WireInboundMessage {
        switch rawTag {
        case Tag.submit.rawValue:
            return .submit(requestID: try reader.stringSpan("requestID"), payload: try reader.span("payload"))
        case Tag.done.rawValue:
            return .done(taskID: try reader.u64(), payload: try reader.span("payload"))
        case Tag.ack.rawValue:
            return .ack(requestID: try reader.stringSpan("requestID"))
        default:
            return .other(try decodeFields(tag: rawTag, &reader))
        }
    }

    static func appendFields(_ message: WireMessage, to writer: inout ByteWriter) {
        switch message {
        case .ready(let stage, let credit):
            writer.u8(Tag.ready.rawValue); writer.string(stage); writer.u32(credit)
        case .task(let task):
            appendTask(taskID: task.taskID, requestID: task.requestID, stage: task.stage, attempt: task.attempt,
                       leaseMillis: task.leaseMillis, payload: task.payload, to: &writer)
        case .done(let taskID, let payload):
            writer.u8(Tag.done.rawValue); writer.u64(taskID); writer.data(payload)
        case .fail(let taskID, let permanent, let reason):
            writer.u8(Tag.fail.rawValue); writer.u64(taskID); writer.u8(permanent ? 1 : 0); writer.string(reason)
        case .heartbeat: writer.u8(Tag.heartbeat.rawValue)
        case .extend(let taskID): writer.u8(Tag.extend.rawValue); writer.u64(taskID)
        case .drain: writer.u8(Tag.drain.rawValue)
        case .bye: writer.u8(Tag.bye.rawValue)
        case .reset: writer.u8(Tag.reset.rawValue)
        case .hello(let role, let credit):
            writer.u8(Tag.hello.rawValue); writer.u8(role.rawValue); writer.u32(credit)
        case .submit(let requestID, let payload):
            writer.u8(Tag.submit.rawValue); writer.string(requestID); writer.data(payload)
        case .grant(let credit): writer.u8(Tag.grant.rawValue); writer.u32(credit)
        case .alreadyDone(let requestID): writer.u8(Tag.alreadyDone.rawValue); writer.string(requestID)
        case .endOfInput: writer.u8(Tag.endOfInput.rawValue)
        case .result(let result): appendResult(result, to: &writer)
        case .ack(let requestID): writer.u8(Tag.ack.rawValue); writer.string(requestID)
        case .finished: writer.u8(Tag.finished.rawValue)
        case .reopen(let requestID): writer.u8(Tag.reopen.rawValue); writer.string(requestID)
        }
    }

    /// TASK from its fields, sized up front and written in one pass (`ByteWriter.append(exactly:_:)`).
    static func appendTask(taskID: UInt64, requestID: String, stage: String, attempt: UInt16, leaseMillis: UInt32,
                           payload: Data, to writer: inout ByteWriter) {
        payload.withUnsafeBytes { body in
            appendTask(taskID: taskID, requestID: requestID, stage: stage, attempt: attempt, leaseMillis: leaseMillis, payload: body, to: &writer)
        }
    }

    static func appendTask(taskID: UInt64, requestID: String, stage: String, attempt: UInt16, leaseMillis: UInt32,
                           payload body: UnsafeRawBufferPointer, to writer: inout ByteWriter) {
        withUTF8(requestID) { id in
            withUTF8(stage) { stageName in
                writer.append(exactly: 1 + 8 + 4 + id.count + 4 + stageName.count + 2 + 4 + 4 + body.count) { out in
                    out.u8(Tag.task.rawValue)
                    out.u64(taskID); out.field(id); out.field(stageName)
                    out.u16(attempt); out.u32(leaseMillis); out.field(body)
                }
            }
        }
    }

    static func appendResult(_ result: WireResult, to writer: inout ByteWriter) {
        appendResult(requestID: result.requestID, status: result.status, stage: result.stage, attempts: result.attempts,
                     reason: result.reason, payload: result.payload, to: &writer)
    }

    /// RESULT from its fields, sized up front and written in one pass.
    static func appendResult(requestID: String, status: WireResult.Status, stage: String, attempts: UInt16, reason: String,
                             payload: Data, to writer: inout ByteWriter) {
        withUTF8(requestID) { id in
            withUTF8(stage) { stageName in
                withUTF8(reason) { why in
                    payload.withUnsafeBytes { body in
                        writer.append(exactly: 1 + 4 + id.count + 1 + 4 + stageName.count + 2 + 4 + why.count + 4 + body.count) { out in
                            out.u8(Tag.result.rawValue)
                            out.field(id); out.u8(status.rawValue); out.field(stageName)
                            out.u16(attempts); out.field(why); out.field(body)
                        }
                    }
                }
            }
        }
    }

    /// `value`'s UTF-8 bytes (a small string is copied to the stack; a native one is read in place).
    @inline(__always)
    private static func withUTF8<Result>(_ value: String, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        var value = value
        return value.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    private static func decodeFields(tag rawTag: UInt8, _ reader: inout ByteReader) throws(WireError) -> WireMessage {
        guard let tag = Tag(rawValue: rawTag), tag != .batch else { throw .unknownType(rawTag) }
        switch tag {
        case .ready:
            return .ready(stage: try reader.string("stage"), credit: try reader.u32())
        case .task:
            let taskID = try reader.u64()
            let requestID = try reader.string("requestID")
            let stage = try reader.string("stage")
            let attempt = try reader.u16()
            let lease = try reader.u32()
            let payload = try reader.data("payload")
            return .task(WireTask(taskID: taskID, requestID: requestID, stage: stage, attempt: attempt, leaseMillis: lease, payload: payload))
        case .done:
            return .done(taskID: try reader.u64(), payload: try reader.data("payload"))
        case .fail:
            return .fail(taskID: try reader.u64(), permanent: try reader.bool("permanent"), reason: try reader.string("reason"))
        case .heartbeat: return .heartbeat
        case .extend: return .extend(taskID: try reader.u64())
        case .drain: return .drain
        case .bye: return .bye
        case .reset: return .reset
        case .hello:
            let rawRole = try reader.u8()
            guard let role = PeerRole(rawValue: rawRole) else { throw .invalidValue(field: "role", value: UInt64(rawRole)) }
            return .hello(role: role, credit: try reader.u32())
        case .submit:
            return .submit(requestID: try reader.string("requestID"), payload: try reader.data("payload"))
        case .grant: return .grant(credit: try reader.u32())
        case .alreadyDone: return .alreadyDone(requestID: try reader.string("requestID"))
        case .endOfInput: return .endOfInput
        case .result:
            let requestID = try reader.string("requestID")
            let rawStatus = try reader.u8()
            guard let status = WireResult.Status(rawValue: rawStatus) else {
                throw .invalidValue(field: "status", value: UInt64(rawStatus))
            }
            let stage = try reader.string("stage")
            let attempts = try reader.u16()
            let reason = try reader.string("reason")
            let payload = try reader.data("payload")
            return .result(WireResult(requestID: requestID, status: status, stage: stage, attempts: attempts, reason: reason, payload: payload))
        case .ack: return .ack(requestID: try reader.string("requestID"))
        case .finished: return .finished
        case .reopen: return .reopen(requestID: try reader.string("requestID"))
        case .batch: throw .unknownType(rawTag)  // handled by `decodeAll`
        }
    }

    private static func payloadSize(_ message: WireMessage) -> Int {
        switch message {
        case .task(let task): return task.payload.count + task.requestID.utf8.count + task.stage.utf8.count
        case .done(_, let payload), .submit(_, let payload): return payload.count + 16
        case .result(let result): return result.payload.count + result.requestID.utf8.count + result.reason.utf8.count + 16
        default: return 16
        }
    }
}
