import ZeroMQ

/// How one socket of the work protocol (or the spend feed) guards its link: CURVE or plain text, and
/// the largest message it accepts from a peer.
///
/// `inproc://` links inside one process are plain; tcp links between processes use CURVE, or plain
/// text only where `pipeline.yaml` allows it (loopback, or `security.insecure: true`), which
/// `TransportSecurity` decides. A server role carries the context's `ZAPHandler`, so a CURVE server
/// socket can never be bound without the handler that admits its clients.
public struct LinkSecurity: Sendable {
    public enum Role: Sendable {
        /// No authentication or encryption (the NULL mechanism).
        case plain
        /// Connects: proves `keyPair` and talks only to the server holding `serverKey`.
        case curveClient(keyPair: CurveKeyPair, serverKey: CurvePublicKey)
        /// Binds: proves `keyPair`; `authenticator` (a ZAP handler in the same context) admits clients.
        case curveServer(keyPair: CurveKeyPair, authenticator: ZAPHandler)
    }

    /// Default `maxMessageBytes`: 64 MiB, well above the largest frame the protocol sends (a batch
    /// frame is cut at 256 KiB plus one message; a result carries at most a 16 MiB response body).
    public static let defaultMaxMessageBytes: Int64 = 64 << 20

    public var role: Role
    /// `ZMQ_MAXMSGSIZE`: a peer sending a larger message is disconnected before it is allocated.
    public var maxMessageBytes: Int64

    public init(role: Role = .plain, maxMessageBytes: Int64 = LinkSecurity.defaultMaxMessageBytes) {
        self.role = role
        self.maxMessageBytes = maxMessageBytes
    }

    /// Plain text with the default message limit (inproc links, tests, loopback benchmarks).
    public static var plain: LinkSecurity { LinkSecurity() }

    public var isCurve: Bool {
        if case .plain = role { return false }
        return true
    }

    /// The security mechanism's name for logs: `CURVE` or `NULL`.
    public var mechanismName: String { isCurve ? "CURVE" : "NULL" }

    /// `options` with this link's security added, for a socket of `context` (a server's ZAP handler
    /// must live in that context, or its clients would be admitted unchecked).
    package func applied(to options: SocketOptions, context: Context, zapDomain: String) throws(WorkRuntimeError) -> SocketOptions {
        var options = options
        options.maxMessageSize = maxMessageBytes
        switch role {
        case .plain: break
        case .curveClient(let keyPair, let serverKey):
            options.curve = .client(keyPair, serverKey: serverKey)
        case .curveServer(let keyPair, let authenticator):
            guard authenticator.context === context else {
                throw .zeroMQ(operation: "CURVE server setup",
                              .invalidArgument("the ZAP handler belongs to another context: start it on the socket's context"))
            }
            options.curve = .server(keyPair)
            options.zapDomain = zapDomain
        }
        return options
    }
}
