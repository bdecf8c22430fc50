import WorkProtocol
import ZeroMQ

/// Sends the coordinator's frames on its ROUTER socket without blocking. A peer that is gone or not
/// accepting loses the frame (leases recover its work); any other error is kept, since the state
/// machine's sends cannot throw, and `throwIfFailed()` throws it after the pass. Owned by the
/// coordinator's loop, with the socket.
final class RouterFrameSender: PeerFrameSender {
    private let socket: Socket
    /// The first fatal send error since the last `throwIfFailed()`.
    private var failure: ZeroMQError?

    init(socket: Socket) {
        self.socket = socket
    }

    func send(_ frame: UnsafeRawBufferPointer, to identity: UnsafeRawBufferPointer) -> PeerFrameDelivery {
        do throws(ZeroMQError) {
            try socket.send(bytes: identity, flags: [.more, .dontWait])
            try socket.send(bytes: frame, flags: .dontWait)
            return .sent
        } catch .unroutable {
            return .unroutable
        } catch .timeout {
            return .notAccepted
        } catch {
            if failure == nil { failure = error }
            return .failed
        }
    }

    /// Throws the first fatal send error since the last call, if any.
    func throwIfFailed() throws(WorkRuntimeError) {
        guard let failure else { return }
        self.failure = nil
        throw .zeroMQ(operation: "send on ROUTER", failure)
    }
}
