import Logging
import Wire
import ZeroMQ

/// The next message the coordinator sent to a DEALER, without blocking: nil when none is waiting.
/// A malformed frame is logged and skipped, never fatal (the producer and the consumer share this).
func nextCoordinatorMessage(_ socket: Socket, frame: Message, logger: Logger) throws(WorkRuntimeError) -> WireMessage? {
    while true {
        do {
            try socket.receive(into: frame, timeout: .zero)
        } catch .timeout {
            return nil
        } catch {
            throw .zeroMQ(operation: "receive on DEALER", error)
        }
        do {
            return try frame.withUnsafeBytes { (raw) throws(WireError) in try WireCodec.decode(raw) }
        } catch {
            logger.warning("dropped malformed frame from coordinator", metadata: ["error": "\(error)"])
        }
    }
}
