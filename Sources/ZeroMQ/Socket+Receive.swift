import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Socket {
    /// Receives one frame into `message`, replacing its content (reuse one `Message` in hot
    /// loops to avoid allocation). Check `message.hasMore` for further frames.
    ///
    /// `timeout`: `nil` blocks (bounded only by the `receiveTimeout` option), `.zero` never
    /// blocks; both throw `.timeout` when nothing arrives in time.
    public func receive(into message: Message, timeout: Duration? = nil) throws(ZeroMQError) {
        let socket = try owned()
        var flags: Int32 = 0
        if let timeout {
            if timeout > .zero, try !waitReadable(socket, timeout: timeout) { throw ZeroMQError.timeout }
            flags = ZMQ_DONTWAIT
        }
        while zmq_msg_recv(message.pointer, socket, flags) == -1 {
            let code = zmq_errno()
            if code != EINTR { throw ZeroMQError.from(errno: code, operation: "receive on \(type)") }
        }
    }

    /// Receives one frame.
    public func receive(timeout: Duration? = nil) throws(ZeroMQError) -> Message {
        let message = Message()
        try receive(into: message, timeout: timeout)
        return message
    }

    /// Receives every frame of the next message. The timeout applies to the first frame; the
    /// others are already there (libzmq delivers multipart messages whole).
    public func receiveMultipart(timeout: Duration? = nil) throws(ZeroMQError) -> [Message] {
        let first = try receive(timeout: timeout)
        var frames = [first]
        var more = first.hasMore
        while more {
            let next = try receive(timeout: nil)
            frames.append(next)
            more = next.hasMore
        }
        return frames
    }

    /// Receives every frame of the next message as byte arrays (copies).
    public func receiveMultipartBytes(timeout: Duration? = nil) throws(ZeroMQError) -> [[UInt8]] {
        try receiveMultipart(timeout: timeout).map(\.bytes)
    }

    /// Waits until the socket has a message to read, up to `timeout` (`nil`: forever).
    /// Returns false on timeout.
    public func waitReadable(timeout: Duration?) throws(ZeroMQError) -> Bool {
        try waitReadable(try owned(), timeout: timeout)
    }

    func waitReadable(_ socket: UnsafeMutableRawPointer, timeout: Duration?) throws(ZeroMQError) -> Bool {
        var item = zmq_pollitem_t(socket: socket, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        let ready = try pollRetryingEINTR(&item, count: 1, timeout: timeout, operation: "poll \(type)")
        return ready > 0
    }
}

/// `zmq_poll` with EINTR retried against the original deadline.
func pollRetryingEINTR(
    _ items: UnsafeMutablePointer<zmq_pollitem_t>,
    count: Int32,
    timeout: Duration?,
    operation: @autoclosure () -> String
) throws(ZeroMQError) -> Int32 {
    let clock = ContinuousClock()
    let deadline = timeout.map { clock.now.advanced(by: $0) }
    var milliseconds = Int(Duration.zmqMilliseconds(timeout))
    while true {
        let result = zmq_poll(items, count, milliseconds)
        if result >= 0 { return result }
        let code = zmq_errno()
        if code != EINTR { throw ZeroMQError.from(errno: code, operation: operation()) }
        if let deadline {
            milliseconds = Int(max(Duration.zero, deadline - clock.now).zmqMilliseconds)
        }
    }
}
