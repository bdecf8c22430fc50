import CZeroMQ
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A ZeroMQ socket.
///
/// **Ownership.** libzmq sockets are not thread-safe. A `Socket` belongs to the thread that
/// created it (or to the owner given with `transfer(to:)`: another thread, or a serial
/// `DispatchQueue`); debug builds trap when any other thread touches it. It is
/// `@unchecked Sendable` only so it can be *moved* to its owner, never to share it.
///
/// ```swift
/// let context = try Context()
/// let router = try context.socket(.router, options: SocketOptions(routerMandatory: true))
/// try router.bind("tcp://127.0.0.1:*")
/// let endpoint = try router.lastEndpoint          // tcp://127.0.0.1:<port>
/// let frames = try router.receiveMultipart(timeout: .seconds(1))  // [routing id, payload...]
/// try router.send([frames[0].bytes, Array("reply".utf8)])
/// ```
///
/// **Lifetime.** The socket keeps its `Context` alive. `close()` (or deinit) closes it with the
/// socket's finite linger, so process exit never hangs on undelivered messages.
public final class Socket: @unchecked Sendable {
    public let context: Context
    public let type: SocketType
    /// The libzmq socket; valid until `closed` is set. A `let` plus an atomic flag (rather than
    /// an optional `var`) keeps the per-message path free of exclusivity checks.
    let handle: UnsafeMutableRawPointer
    private let closed = Atomic<Bool>(false)
    let ownership = OwnershipCheck()

    /// Creates a socket owned by the calling thread and applies `options`.
    public init(context: Context, type: SocketType, options: SocketOptions = SocketOptions()) throws(ZeroMQError) {
        guard let handle = zmq_socket(context.handle, type.rawValue) else {
            throw ZeroMQError.current("zmq_socket(\(type))")
        }
        self.context = context
        self.type = type
        self.handle = handle
        do {
            try apply(options)
        } catch {
            close()
            throw error
        }
    }

    deinit {
        if !closed.load(ordering: .acquiring) {
            // Nobody else can hold the socket now, so closing from this thread is safe.
            _ = zmq_close(handle)
        }
    }

    /// Hands the socket to a new owner. Call it from the current owner, then stop using the
    /// socket there.
    public func transfer(to owner: SocketOwner) {
        ownership.transfer(to: owner, socket: "\(type) socket")
    }

    /// Closes the socket now (waiting at most its linger to deliver queued messages).
    /// Idempotent; later calls on the socket throw `.socketClosed`.
    public func close() {
        guard !closed.load(ordering: .relaxed) else { return }
        ownership.check("\(type) socket")
        closed.store(true, ordering: .releasing)
        _ = zmq_close(handle)
    }

    /// Whether `close()` has not been called yet.
    public var isOpen: Bool { !closed.load(ordering: .relaxed) }

    /// The live handle after the debug ownership check.
    @inline(__always)
    func owned() throws(ZeroMQError) -> UnsafeMutableRawPointer {
        ownership.check("\(type) socket")
        guard !closed.load(ordering: .relaxed) else { throw ZeroMQError.socketClosed }
        return handle
    }

    // MARK: Endpoints

    /// Binds to `endpoint` (`tcp://127.0.0.1:*` picks a free port: read it back from
    /// `lastEndpoint`; `ipc:///path`; `inproc://name`).
    public func bind(_ endpoint: String) throws(ZeroMQError) {
        let socket = try owned()
        try retrying("bind \(endpoint)") { zmq_bind(socket, endpoint) }
    }

    /// Connects to `endpoint`; returns at once, libzmq connects (and reconnects) in the background.
    public func connect(_ endpoint: String) throws(ZeroMQError) {
        let socket = try owned()
        try retrying("connect \(endpoint)") { zmq_connect(socket, endpoint) }
    }

    /// Stops listening on an endpoint given to `bind` (use the resolved `lastEndpoint` for `*` ports).
    public func unbind(_ endpoint: String) throws(ZeroMQError) {
        let socket = try owned()
        try retrying("unbind \(endpoint)") { zmq_unbind(socket, endpoint) }
    }

    /// Drops a connection made with `connect`.
    public func disconnect(_ endpoint: String) throws(ZeroMQError) {
        let socket = try owned()
        try retrying("disconnect \(endpoint)") { zmq_disconnect(socket, endpoint) }
    }

    /// Runs a libzmq call returning -1 on error, retrying on EINTR.
    @inline(__always)
    func retrying(_ operation: @autoclosure () -> String, _ call: () -> Int32) throws(ZeroMQError) {
        while call() == -1 {
            let code = zmq_errno()
            if code != EINTR { throw ZeroMQError.from(errno: code, operation: operation()) }
        }
    }
}
