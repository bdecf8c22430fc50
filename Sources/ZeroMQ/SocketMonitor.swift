import CZeroMQ
import Foundation
import Synchronization

/// Connection events of a monitored socket (`zmq_socket_monitor`), the way to learn why a peer
/// never shows up: a handshake refused by the server's ZAP handler, a peer with the wrong key
/// or mechanism, a disconnect.
public struct SocketEvent: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case connected, disconnected, accepted, closed
        case handshakeSucceeded
        /// The peer refused this socket's credentials (ZAP said no): `value` is the status code, e.g. 400.
        case handshakeFailedAuth
        /// The handshake broke the protocol (wrong server key, mechanism mismatch, garbage): `value` is
        /// libzmq's `ZMQ_PROTOCOL_ERROR_*` code.
        case handshakeFailedProtocol
        /// The handshake failed for a reason libzmq does not say (often the peer closed it).
        case handshakeFailedNoDetail
        case other(UInt16)
    }

    public var kind: Kind
    /// Event-specific: a status code, protocol error code, file descriptor or errno.
    public var value: UInt32
    /// The endpoint of the connection, e.g. `tcp://127.0.0.1:5555`.
    public var address: String

    public var description: String { "\(kind) \(value) \(address)" }

    /// The events a monitor watches by default: connection life cycle and every handshake outcome.
    public static let defaultMask: Int32 = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_CLOSED
        | ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
        | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL

    static func kind(_ raw: UInt16) -> Kind {
        switch Int32(raw) {
        case ZMQ_EVENT_CONNECTED: return .connected
        case ZMQ_EVENT_DISCONNECTED: return .disconnected
        case ZMQ_EVENT_ACCEPTED: return .accepted
        case ZMQ_EVENT_CLOSED: return .closed
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: return .handshakeSucceeded
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: return .handshakeFailedAuth
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: return .handshakeFailedProtocol
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: return .handshakeFailedNoDetail
        default: return .other(raw)
        }
    }
}

/// Reads the events of one socket. Create it on the thread that owns the monitored socket; its own
/// PAIR socket (`socket`, for a `Poller`) belongs to that thread too. Close it before the monitored socket.
public final class SocketMonitor {
    private static let counter = Atomic<Int>(0)

    /// The PAIR socket the events arrive on (register it with a `Poller` to wake on events).
    public let socket: Socket
    private let monitored: Socket

    public init(_ monitored: Socket, events: Int32 = SocketEvent.defaultMask) throws(ZeroMQError) {
        let handle = try monitored.owned()
        let endpoint = "inproc://switchyard.monitor.\(getpid()).\(Self.counter.add(1, ordering: .relaxed).newValue)"
        try monitored.retrying("zmq_socket_monitor \(endpoint)") { zmq_socket_monitor(handle, endpoint, events) }
        let pair: Socket
        do {
            pair = try monitored.context.socket(.pair, options: SocketOptions(linger: .zero))
            try pair.connect(endpoint)
        } catch {
            _ = zmq_socket_monitor(handle, nil, 0)
            throw error
        }
        self.socket = pair
        self.monitored = monitored
    }

    /// The next event, waiting up to `timeout` (`.zero`: only what is already there); nil when none came.
    public func next(timeout: Duration? = .zero) throws(ZeroMQError) -> SocketEvent? {
        let frames: [Message]
        do {
            frames = try socket.receiveMultipart(timeout: timeout)
        } catch .timeout {
            return nil
        }
        guard frames.count >= 2, frames[0].count >= 6 else { return nil }
        let (event, value) = frames[0].withUnsafeBytes { raw in
            (raw.loadUnaligned(fromByteOffset: 0, as: UInt16.self), raw.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        }
        return SocketEvent(kind: SocketEvent.kind(event), value: value, address: frames[1].string)
    }

    /// Whether an event is waiting (`ZMQ_EVENTS`): no allocation, so a loop may ask on every turn.
    public var hasEvents: Bool {
        ((try? socket.getInt32(ZMQ_EVENTS, "ZMQ_EVENTS")) ?? 0) & ZMQ_POLLIN != 0
    }

    /// Every event already queued.
    public func drain() throws(ZeroMQError) -> [SocketEvent] {
        guard hasEvents else { return [] }
        var events: [SocketEvent] = []
        while let event = try next(timeout: .zero) { events.append(event) }
        return events
    }

    /// Stops monitoring and closes the PAIR socket. Call on the owning thread, before closing the monitored socket.
    public func close() {
        if monitored.isOpen, let handle = try? monitored.owned() { _ = zmq_socket_monitor(handle, nil, 0) }
        socket.close()
    }
}
