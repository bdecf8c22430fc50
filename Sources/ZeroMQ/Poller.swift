import CZeroMQ

/// Events to wait for, or that happened, on a polled socket or file descriptor.
public struct PollEvents: OptionSet, Sendable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    /// A message (or bytes, for a file descriptor) can be read without blocking.
    public static let readable = PollEvents(rawValue: Int16(ZMQ_POLLIN))
    /// A message can be sent without blocking.
    public static let writable = PollEvents(rawValue: Int16(ZMQ_POLLOUT))
    /// File descriptors only: an error condition.
    public static let error = PollEvents(rawValue: Int16(ZMQ_POLLERR))
}

/// Waits on several sockets (and plain file descriptors) at once with `zmq_poll`: the core of
/// an event loop such as a ROUTER coordinator serving workers while watching a timer pipe.
///
/// Polls only sockets owned by the calling thread (see `Socket`); keeps them alive while
/// registered. Register once, then call `poll` in the loop: no allocation per poll.
public final class Poller {
    private var items: [zmq_pollitem_t] = []
    private var sockets: [Socket?] = []

    public init() {}

    /// Adds a socket; returns its index for `events(at:)`.
    @discardableResult
    public func register(_ socket: Socket, for events: PollEvents = .readable) throws(ZeroMQError) -> Int {
        let handle = try socket.owned()
        items.append(zmq_pollitem_t(socket: handle, fd: 0, events: events.rawValue, revents: 0))
        sockets.append(socket)
        return items.count - 1
    }

    /// Adds a file descriptor (e.g. a pipe used to wake the loop); returns its index.
    @discardableResult
    public func register(fileDescriptor: Int32, for events: PollEvents = .readable) -> Int {
        items.append(zmq_pollitem_t(socket: nil, fd: fileDescriptor, events: events.rawValue, revents: 0))
        sockets.append(nil)
        return items.count - 1
    }

    /// Stops polling `socket` and lets the poller release it. Indices of items registered
    /// after it move down by one.
    public func unregister(_ socket: Socket) {
        while let index = sockets.firstIndex(where: { $0 === socket }) {
            sockets.remove(at: index)
            items.remove(at: index)
        }
    }

    /// Changes the events watched at `index` (e.g. stop watching `.writable`).
    public func update(at index: Int, events: PollEvents) {
        items[index].events = events.rawValue
    }

    /// Number of registered items.
    public var count: Int { items.count }

    /// Waits until at least one item is ready or `timeout` passes (`nil`: forever; `.zero`:
    /// just look). Returns how many items are ready; read them with `events(at:)`.
    @discardableResult
    public func poll(timeout: Duration?) throws(ZeroMQError) -> Int {
        for socket in sockets {
            if let socket { _ = try socket.owned() }
        }
        for index in items.indices { items[index].revents = 0 }
        let count = Int32(items.count)
        let ready = try items.withUnsafeMutableBufferPointer { (buffer) throws(ZeroMQError) -> Int32 in
            guard let base = buffer.baseAddress else { return 0 }
            return try pollRetryingEINTR(base, count: count, timeout: timeout, operation: "zmq_poll")
        }
        return Int(ready)
    }

    /// Events ready at `index` after the last `poll`.
    public func events(at index: Int) -> PollEvents {
        PollEvents(rawValue: items[index].revents)
    }

    /// Whether `socket` (registered) was readable at the last `poll`.
    public func isReadable(_ socket: Socket) -> Bool {
        for index in sockets.indices where sockets[index] === socket {
            if events(at: index).contains(.readable) { return true }
        }
        return false
    }
}
