import Logging
import WorkProtocol
import ZeroMQ

/// Watches the handshakes of one tcp socket of the work protocol, so a link that can never work says
/// why instead of waiting in silence: a client whose key the server refused stops with `.refused`, a
/// handshake that breaks (wrong server key, plain text against CURVE) is logged with the peer's
/// address, and the first handshake that succeeds is logged with the mechanism in use.
///
/// Owned by the socket's loop thread (as the socket is). `inproc://` links need none (no handshake
/// can fail there): `make` returns nil for them.
package struct LinkWatch {
    private let monitor: SocketMonitor
    private let socket: Socket
    private let peerName: String
    private let logger: Logger
    private let isClient: Bool
    private var limiter = LogLimiter(burst: 5, intervalMillis: 5_000)
    private var announced = false

    /// A watch on `socket` (just created, before `connect`/`bind`) when `endpoint` is not inproc.
    /// `peerName` names the other end in logs ("coordinator", "dispatch process").
    package static func make(_ socket: Socket, endpoint: String, peerName: String, isClient: Bool, logger: Logger) throws(WorkRuntimeError) -> LinkWatch? {
        guard !endpoint.hasPrefix("inproc://") else { return nil }
        let monitor = try zmq("monitor \(endpoint)") { () throws(ZeroMQError) in try SocketMonitor(socket) }
        return LinkWatch(monitor: monitor, socket: socket, peerName: peerName, logger: logger, isClient: isClient)
    }

    private init(monitor: SocketMonitor, socket: Socket, peerName: String, logger: Logger, isClient: Bool) {
        self.monitor = monitor
        self.socket = socket
        self.peerName = peerName
        self.logger = logger
        self.isClient = isClient
    }

    /// The monitor's socket, to wake a `Poller` on events.
    package var eventSocket: Socket { monitor.socket }

    /// Handles the events queued so far. Throws `.refused` when the server refused this client's key.
    package mutating func check() throws(WorkRuntimeError) {
        let events: [SocketEvent]
        do {
            events = try monitor.drain()
        } catch {
            return  // the context is ending; the socket's own loop sees that next
        }
        for event in events {
            switch event.kind {
            case .handshakeSucceeded:
                guard !announced else { continue }
                announced = true
                let mechanism = (try? socket.mechanism)?.description ?? "?"
                logger.info("\(isClient ? "connected to" : "handshake with") \(peerName)", metadata: [
                    "address": "\(event.address)", "mechanism": "\(mechanism)",
                ])
            case .handshakeFailedAuth where isClient:
                throw .refused(endpoint: event.address, peer: peerName, status: event.value)
            case .handshakeFailedAuth:
                break  // the ZAP handler logged the refusal with the client's key
            case .handshakeFailedProtocol, .handshakeFailedNoDetail:
                let (log, suppressed) = limiter.admit(now: monotonicMillis())
                guard log else { continue }
                var metadata: Logger.Metadata = ["address": "\(event.address)", "mechanism": "\((try? socket.mechanism)?.description ?? "?")"]
                if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
                if event.kind == .handshakeFailedProtocol { metadata["protocol_error"] = "0x\(String(event.value, radix: 16))" }
                logger.warning("handshake with \(peerName) failed: \(Self.advice(isClient: isClient))", metadata: metadata)
            default:
                break
            }
        }
    }

    private static func advice(isClient: Bool) -> String {
        isClient
            ? "the other end does not hold the secret of security.curve.coordinator_key (or spend_feed_key), or one side has CURVE and the other not"
            : "the peer does not know this process's public key, or speaks plain text to a CURVE socket (or the reverse)"
    }

    /// Hands the monitor to `owner` along with its socket (see `Socket.transfer(to:)`).
    package func transfer(to owner: SocketOwner) { monitor.socket.transfer(to: owner) }

    /// Stops watching; call on the loop thread before closing the socket.
    package func close() { monitor.close() }
}
