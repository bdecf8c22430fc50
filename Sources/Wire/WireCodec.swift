import Foundation

/// Encodes and decodes `WireMessage` frames (layout in `WireFormat`).
///
/// Stateless and thread-safe. `decode` never traps on malformed input: it throws `WireError`.
public enum WireCodec {
    enum Tag: UInt8 {
        case ready = 1, task, done, fail, heartbeat, extend, drain, bye, reset
        case hello, submit, grant, alreadyDone, endOfInput, result, ack, finished
    }

    /// The frame bytes for `message`.
    public static func encode(_ message: WireMessage) -> [UInt8] {
        var writer = ByteWriter(capacity: 32 + payloadSize(message))
        writer.u8(WireFormat.version)
        switch message {
        case .ready(let stage, let credit):
            writer.u8(Tag.ready.rawValue); writer.string(stage); writer.u32(credit)
        case .task(let task):
            writer.u8(Tag.task.rawValue)
            writer.u64(task.taskID); writer.string(task.requestID); writer.string(task.stage)
            writer.u16(task.attempt); writer.u32(task.leaseMillis); writer.data(task.payload)
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
        case .result(let result):
            writer.u8(Tag.result.rawValue)
            writer.string(result.requestID); writer.u8(result.status.rawValue); writer.string(result.stage)
            writer.u16(result.attempts); writer.string(result.reason); writer.data(result.payload)
        case .ack(let requestID): writer.u8(Tag.ack.rawValue); writer.string(requestID)
        case .finished: writer.u8(Tag.finished.rawValue)
        }
        return writer.bytes
    }

    /// Decodes one frame; throws `WireError` on anything malformed (never traps).
    public static func decode(_ frame: some ContiguousBytes) throws(WireError) -> WireMessage {
        let result: Result<WireMessage, WireError> = frame.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            do throws(WireError) {
                let message = try decodeFields(&reader)
                guard reader.remaining == 0 else { throw .trailingBytes(reader.remaining) }
                return .success(message)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private static func decodeFields(_ reader: inout ByteReader) throws(WireError) -> WireMessage {
        let version = try reader.u8()
        guard version == WireFormat.version else { throw .unsupportedVersion(version) }
        let rawTag = try reader.u8()
        guard let tag = Tag(rawValue: rawTag) else { throw .unknownType(rawTag) }
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
