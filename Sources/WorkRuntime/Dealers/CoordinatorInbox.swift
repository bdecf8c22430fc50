import Foundation
import Logging
import Wire
import ZeroMQ

/// The messages the coordinator sent to a DEALER (producer or consumer), one at a time and without
/// blocking: a batch frame is decoded once and handed out message by message. A malformed frame is
/// logged and skipped, never fatal. Not thread-safe: owned by one socket loop.
struct CoordinatorInbox {
    private let frame = Message()
    private var decoded: [WireMessage] = []
    private var position = 0

    /// True while messages of an already received frame wait: do not block on the socket then.
    var hasBuffered: Bool { position < decoded.count }

    /// The next message, or nil when none is waiting.
    mutating func next(from socket: Socket, logger: Logger) throws(WorkRuntimeError) -> WireMessage? {
        while true {
            if position < decoded.count {
                defer { position += 1 }
                return decoded[position]
            }
            decoded.removeAll(keepingCapacity: true)
            position = 0
            do {
                try socket.receive(into: frame, timeout: .zero)
            } catch .timeout {
                return nil
            } catch {
                throw .zeroMQ(operation: "receive on DEALER", error)
            }
            do {
                // One copy of the frame; result payloads are slices of it (no allocation per result).
                let shared = frame.withUnsafeBytes { Data($0) }
                try WireCodec.decodeAll(sharing: shared, into: &decoded)
            } catch {
                logger.warning("dropped malformed frame from coordinator", metadata: ["error": "\(error)"])
            }
        }
    }
}
