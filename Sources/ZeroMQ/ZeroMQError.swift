import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every failure of the ZeroMQ wrapper. The common, expected outcomes get their own case so
/// callers can `switch` on them (a receive that timed out is not a crash); everything else
/// carries libzmq's errno and `zmq_strerror` text.
public enum ZeroMQError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `EAGAIN`: nothing arrived (or could be queued) within the timeout, or a `.dontWait`
    /// operation would have blocked. Retry later or poll.
    case timeout
    /// `ETERM`: the context was shut down. Close the socket and stop the loop that uses it.
    case contextTerminated
    /// `EHOSTUNREACH`: a ROUTER with `routerMandatory` was asked to send to a routing id
    /// that is not connected (or has gone). The message was not queued.
    case unroutable
    /// The socket was already closed by `Socket.close()`; create a new socket.
    case socketClosed
    /// An argument was rejected before reaching libzmq (e.g. a routing id longer than 255 bytes).
    case invalidArgument(String)
    /// This libzmq was built without CURVE (libsodium), so links cannot be authenticated or
    /// encrypted (`zmq_has("curve")` is false).
    case curveUnavailable
    /// Any other libzmq failure: `operation` says what was attempted (with the endpoint when
    /// there is one), `errno` and `message` are libzmq's.
    case system(operation: String, errno: Int32, message: String)

    /// The errno this error stands for (`EAGAIN` for `.timeout`, ...).
    public var errno: Int32 {
        switch self {
        case .timeout: return EAGAIN
        case .contextTerminated: return ETERM
        case .unroutable: return EHOSTUNREACH
        case .socketClosed: return ENOTSOCK
        case .invalidArgument, .curveUnavailable: return EINVAL
        case .system(_, let code, _): return code
        }
    }

    /// libzmq's `zmq_strerror` text for `errno`.
    public var message: String {
        if case .system(_, _, let text) = self { return text }
        return ZeroMQError.strerror(errno)
    }

    public var description: String {
        switch self {
        case .timeout:
            return "zmq: timed out (EAGAIN): nothing to receive or no room to send; retry or poll"
        case .contextTerminated:
            return "zmq: context terminated (ETERM): close this socket and stop using it"
        case .unroutable:
            return "zmq: unroutable (EHOSTUNREACH): no connected peer has that routing id; drop or requeue the message"
        case .socketClosed:
            return "zmq: socket already closed: create a new socket"
        case .invalidArgument(let why):
            return "zmq: invalid argument: \(why)"
        case .curveUnavailable:
            return "zmq: this libzmq has no CURVE support (zmq_has(\"curve\") is false): install a libzmq built with libsodium "
                + "(Debian's libzmq5 is; scripts/setup installs it)"
        case .system(let operation, let code, let text):
            return "zmq: \(operation) failed: \(text) (errno \(code))\(ZeroMQError.hint(for: code))"
        }
    }

    static func strerror(_ code: Int32) -> String {
        guard let text = zmq_strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }

    private static func hint(for code: Int32) -> String {
        switch code {
        case EADDRINUSE: return "; another process holds that address: pick another port or use tcp://127.0.0.1:* and read lastEndpoint"
        case EPROTONOSUPPORT, EINVAL: return "; check the endpoint (tcp://host:port, ipc:///path, inproc://name) and option values"
        case ENOENT: return "; for ipc:// the directory must exist; for inproc:// bind before connect in the same context"
        case EMFILE: return "; too many open sockets or files: close unused sockets or raise the limit"
        default: return ""
        }
    }

    /// Maps the current `zmq_errno()` to a typed error.
    static func current(_ operation: @autoclosure () -> String) -> ZeroMQError {
        from(errno: zmq_errno(), operation: operation())
    }

    static func from(errno code: Int32, operation: @autoclosure () -> String) -> ZeroMQError {
        switch code {
        case EAGAIN: return .timeout
        case ETERM: return .contextTerminated
        case EHOSTUNREACH: return .unroutable
        case ENOTSOCK: return .socketClosed
        default: return .system(operation: operation(), errno: code, message: strerror(code))
        }
    }
}
