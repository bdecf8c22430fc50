import Foundation

/// Accumulates messages for one peer and hands them out as one frame: a single-message frame when
/// it holds one message (so a lone message, e.g. at credit 1, costs nothing extra), a batch frame
/// otherwise. Reused across sends (`reset()` keeps the buffer), so batching allocates nothing per
/// message. Not thread-safe: owned by one socket loop.
public struct WireFrameEncoder {
    /// Bytes before the first message: `version, batch tag, count:u32`.
    private static let headerSize = 6
    /// Buffers grown past this by a large frame are released by `reset()`.
    private static let retainedCapacity = 512 << 10

    private var writer: ByteWriter
    /// Messages appended since the last `reset()`.
    public private(set) var count = 0

    public init(capacity: Int = 4_096) {
        writer = ByteWriter(capacity: Swift.max(capacity, Self.headerSize))
        writeHeader()
    }

    /// Encoded bytes so far: flush before this grows past what one ZeroMQ message should carry.
    public var byteCount: Int { writer.bytes.count }
    public var isEmpty: Bool { count == 0 }

    public mutating func append(_ message: WireMessage) {
        WireCodec.appendFields(message, to: &writer)
        count += 1
    }

    /// Appends a TASK from its fields: the same bytes as `append(.task(...))`, without building the
    /// message (no retain or copy of its strings and payload). For the coordinator's hot path.
    public mutating func appendTask(taskID: UInt64, requestID: String, stage: String, attempt: UInt16, leaseMillis: UInt32,
                                    payload: Data) {
        WireCodec.appendTask(taskID: taskID, requestID: requestID, stage: stage, attempt: attempt, leaseMillis: leaseMillis,
                             payload: payload, to: &writer)
        count += 1
    }

    /// `appendTask` with the payload as raw bytes (the coordinator keeps task inputs in storage of its own).
    public mutating func appendTask(taskID: UInt64, requestID: String, stage: String, attempt: UInt16, leaseMillis: UInt32,
                                    payload: UnsafeRawBufferPointer) {
        WireCodec.appendTask(taskID: taskID, requestID: requestID, stage: stage, attempt: attempt, leaseMillis: leaseMillis,
                             payload: payload, to: &writer)
        count += 1
    }

    /// Appends a RESULT: the same bytes as `append(.result(result))`, without wrapping it in a message.
    public mutating func appendResult(_ result: WireResult) {
        WireCodec.appendResult(result, to: &writer)
        count += 1
    }

    /// Appends a RESULT from its fields: the same bytes as `append(.result(...))`, with the fields
    /// borrowed from the caller (the coordinator's request table) instead of copied into a `WireResult`.
    public mutating func appendResult(requestID: String, status: WireResult.Status, stage: String, attempts: UInt16,
                                      reason: String, payload: Data) {
        WireCodec.appendResult(requestID: requestID, status: status, stage: stage, attempts: attempts, reason: reason,
                               payload: payload, to: &writer)
        count += 1
    }

    /// Passes the frame's bytes to `body` (e.g. a ZeroMQ send, which copies them). Call only when
    /// not empty; the encoder keeps its messages until `reset()`.
    public mutating func withFrame<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        precondition(count > 0, "an empty encoder has no frame")
        if count == 1 {
            // [version, tag, fields...] is the tail of the buffer from the count's last byte on.
            writer.bytes[Self.headerSize - 1] = WireFormat.version
            return writer.bytes.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[(Self.headerSize - 1)...])) }
        }
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: count).littleEndian) { raw in
            for index in 0..<4 { writer.bytes[2 + index] = raw[index] }
        }
        return writer.bytes.withUnsafeBytes(body)
    }

    /// The frame as an array (a copy; prefer `withFrame` on hot paths).
    public mutating func frame() -> [UInt8] { withFrame { Array($0) } }

    /// Forgets the messages, keeping the buffer's capacity.
    public mutating func reset() {
        // One huge frame must not pin its buffer for the rest of the run.
        if writer.bytes.capacity > Self.retainedCapacity { writer = ByteWriter(capacity: 4_096) }
        writer.removeAll()
        writeHeader()
        count = 0
    }

    private mutating func writeHeader() {
        writer.u8(WireFormat.version)
        writer.u8(WireCodec.Tag.batch.rawValue)
        writer.u32(0)
    }
}
