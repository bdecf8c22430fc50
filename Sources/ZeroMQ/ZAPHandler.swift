import Dispatch
import Foundation
import Synchronization

/// One authentication request from libzmq (ZAP, RFC 27): a client is completing its handshake with
/// a server socket of this context.
public struct ZAPRequest: Sendable {
    /// The server socket's `zapDomain` (empty when it set none).
    public var domain: String
    /// The client's IP address, as libzmq saw the connection.
    public var address: String
    /// The routing id the client presented (often empty).
    public var routingID: [UInt8]
    /// `CURVE`, `PLAIN` or `NULL`.
    public var mechanism: String
    /// The client's long-term public key (CURVE only): what the handler admits or refuses.
    public var clientKey: CurvePublicKey?

    public init(domain: String, address: String, routingID: [UInt8], mechanism: String, clientKey: CurvePublicKey?) {
        self.domain = domain
        self.address = address
        self.routingID = routingID
        self.mechanism = mechanism
        self.clientKey = clientKey
    }
}

/// What the handler answers a `ZAPRequest`.
public enum ZAPDecision: Sendable, Equatable {
    /// Admit the client; `userID` becomes the `"User-Id"` property of its messages (`Message.property`).
    case allow(userID: String)
    /// Refuse the handshake (status 400): the client's connection is closed before any message passes.
    case deny(reason: String)
}

/// The ZAP handler of one `Context`: a REP socket bound to `inproc://zeromq.zap.01` on a thread of
/// its own, which libzmq asks about every client of every CURVE server socket in that context.
///
/// Start it before binding a CURVE server socket: while no handler is bound, libzmq admits every
/// client that knows the server's public key. A context holds at most one (a second bind fails
/// with "address in use"). `authorize` runs on the handler's thread, one request at a time; it
/// must not block for long, since handshakes wait for it. `stop()` ends the thread, and so does
/// `Context.shutdown()`; the thread keeps the handler alive until then.
public final class ZAPHandler: Sendable {
    /// The endpoint libzmq sends ZAP requests to (fixed by RFC 27).
    public static let endpoint = "inproc://zeromq.zap.01"

    public let context: Context
    private let stopRequested = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let decisions = Mutex<(allowed: Int, denied: Int)>((0, 0))

    /// Binds the handler's socket in `context` now (so a failure is thrown here) and starts its thread.
    public init(context: Context, authorize: @escaping @Sendable (ZAPRequest) -> ZAPDecision) throws(ZeroMQError) {
        self.context = context
        let socket = try context.socket(.rep, options: SocketOptions(linger: .zero))
        do {
            try socket.bind(Self.endpoint)
        } catch {
            socket.close()
            throw error
        }
        socket.transfer(to: .nextUser)
        let thread = Thread { [self] in
            serve(socket, authorize: authorize)
            finished.signal()
        }
        thread.name = "switchyard.zap"
        thread.start()
    }

    /// Clients admitted and refused so far.
    public var counts: (allowed: Int, denied: Int) { decisions.withLock { $0 } }

    /// Ends the handler's thread (within 100 ms) and closes its socket. Idempotent; any thread.
    public func stop() {
        guard !stopRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        finished.wait()
    }

    private func serve(_ socket: Socket, authorize: @Sendable (ZAPRequest) -> ZAPDecision) {
        defer { socket.close() }
        while !stopRequested.load(ordering: .acquiring) {
            let frames: [[UInt8]]
            do {
                frames = try socket.receiveMultipartBytes(timeout: .milliseconds(100))
            } catch .timeout {
                continue
            } catch {
                return  // context terminated or socket closed: the process is ending
            }
            let reply = Self.answer(frames, authorize: authorize)
            decisions.withLock { counts in
                if reply[2] == Array("200".utf8) { counts.allowed += 1 } else { counts.denied += 1 }
            }
            do {
                try socket.send(reply)
            } catch {
                return
            }
        }
    }

    /// The reply frames for one request: version, request id, status code, status text, user id, metadata.
    static func answer(_ frames: [[UInt8]], authorize: (ZAPRequest) -> ZAPDecision) -> [[UInt8]] {
        let version = Array("1.0".utf8)
        let requestID = frames.count > 1 ? frames[1] : []
        guard frames.count >= 6, frames[0] == version else {
            return [version, requestID, Array("500".utf8), Array("malformed ZAP request".utf8), [], []]
        }
        let mechanism = String(decoding: frames[5], as: UTF8.self)
        let request = ZAPRequest(
            domain: String(decoding: frames[2], as: UTF8.self),
            address: String(decoding: frames[3], as: UTF8.self),
            routingID: frames[4],
            mechanism: mechanism,
            clientKey: mechanism == "CURVE" && frames.count > 6 ? CurvePublicKey(bytes: frames[6]) : nil)
        switch authorize(request) {
        case .allow(let userID):
            return [version, requestID, Array("200".utf8), Array("OK".utf8), Array(userID.utf8), []]
        case .deny(let reason):
            return [version, requestID, Array("400".utf8), Array(reason.utf8), [], []]
        }
    }
}
