import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A libzmq context: the I/O threads and the registry of `inproc://` endpoints.
///
/// Thread-safe (libzmq contexts are), so one `Context` is shared by every socket of a process.
/// Every `Socket` keeps its context alive, so the context is terminated (`zmq_ctx_term`) only
/// after its last socket is gone; because every socket gets a finite linger by default
/// (`Configuration.defaultLinger`), that termination never hangs on undelivered messages.
public final class Context: @unchecked Sendable {
    /// Context settings; the defaults suit one process of the pipeline.
    public struct Configuration: Sendable {
        /// libzmq I/O threads. Default 1: enough for about a gigabyte a second of TCP traffic;
        /// `inproc://` uses none.
        public var ioThreads: Int32
        /// Most sockets the context may hold. Default 1023 (libzmq's default).
        public var maxSockets: Int32
        /// Linger given to every socket at creation: how long `close()`/context termination
        /// waits to deliver messages still queued. Default 250 ms: long enough for a loopback or
        /// LAN peer to get a final reply, short enough that exit never hangs. `nil` means wait
        /// forever (libzmq's own default, which can hang at exit: avoid).
        public var defaultLinger: Duration?

        public init(ioThreads: Int32 = 1, maxSockets: Int32 = 1023, defaultLinger: Duration? = .milliseconds(250)) {
            self.ioThreads = ioThreads
            self.maxSockets = maxSockets
            self.defaultLinger = defaultLinger
        }
    }

    /// The libzmq context handle, valid for the life of this object.
    let handle: UnsafeMutableRawPointer
    public let configuration: Configuration

    public init(configuration: Configuration = Configuration()) throws(ZeroMQError) {
        guard let handle = zmq_ctx_new() else { throw ZeroMQError.current("zmq_ctx_new") }
        self.handle = handle
        self.configuration = configuration
        if zmq_ctx_set(handle, ZMQ_IO_THREADS, configuration.ioThreads) != 0 {
            let error = ZeroMQError.current("set ZMQ_IO_THREADS=\(configuration.ioThreads)")
            zmq_ctx_term(handle)
            throw error
        }
        if zmq_ctx_set(handle, ZMQ_MAX_SOCKETS, configuration.maxSockets) != 0 {
            let error = ZeroMQError.current("set ZMQ_MAX_SOCKETS=\(configuration.maxSockets)")
            zmq_ctx_term(handle)
            throw error
        }
    }

    /// Makes every blocking call on every socket of this context return `.contextTerminated`
    /// at once, and every later call fail the same way. Use it to stop worker threads that
    /// block in `receive`; they should then close their sockets. Safe from any thread, any
    /// number of times. The context itself is freed when the last socket and reference go.
    public func shutdown() {
        _ = zmq_ctx_shutdown(handle)
    }

    /// A new socket of `type` owned by the calling thread (see `Socket`).
    public func socket(_ type: SocketType, options: SocketOptions = SocketOptions()) throws(ZeroMQError) -> Socket {
        try Socket(context: self, type: type, options: options)
    }

    deinit {
        // All sockets hold a strong reference, so they are all closed by now; linger is finite
        // unless a caller explicitly asked for infinite, so this returns promptly.
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }
}
