import Wire
import WorkProtocol
import ZeroMQ

/// What a DEALER (worker, producer, consumer) has to tell the coordinator in one loop turn, sent
/// as one frame (a batch frame for several messages) by `flush`, or earlier when the frame is full.
///
/// A plain value with mutating methods, so the loops keep it in a local variable: a variable
/// captured by local functions is boxed and pays a dynamic exclusivity check on every access,
/// which the protocol benchmark's profile showed at a fifth of the producer's time.
/// Not thread-safe: owned by the socket's loop.
struct DealerOutbox {
    private var encoder = WireFrameEncoder()
    /// Most messages in one frame.
    let maxMessages: Int
    /// `.dontWait` for loops that must never block on a coordinator that has gone.
    let flags: SendFlags

    init(maxMessages: Int = OutgoingFrames.maxMessagesPerFrame, flags: SendFlags = []) {
        self.maxMessages = maxMessages
        self.flags = flags
    }

    var isEmpty: Bool { encoder.isEmpty }

    /// Queues `message`, sending the frame at once if it is full.
    mutating func send(_ message: WireMessage, on socket: Socket) throws(WorkRuntimeError) {
        encoder.append(message)
        if encoder.byteCount >= OutgoingFrames.maxBytesPerFrame || encoder.count >= maxMessages { try flush(on: socket) }
    }

    /// Sends what is queued as one frame (nothing when empty).
    mutating func flush(on socket: Socket) throws(WorkRuntimeError) {
        guard !encoder.isEmpty else { return }
        defer { encoder.reset() }
        let flags = self.flags
        let result = encoder.withFrame { frame in
            Result { () throws(ZeroMQError) in try socket.send(bytes: frame, flags: flags) }
        }
        if case .failure(let error) = result { throw .zeroMQ(operation: "send to coordinator", error) }
    }
}
