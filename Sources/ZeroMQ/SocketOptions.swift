/// Options applied to a socket when it is created. Every `nil` keeps libzmq's default, except
/// `linger`, which falls back to the context's finite `defaultLinger` so closing never hangs.
/// All of them can also be changed later with the `Socket.set...` methods.
public struct SocketOptions: Sendable {
    /// How long `close()` waits to deliver queued messages; `nil`: the context's `defaultLinger`.
    public var linger: Duration?
    /// Most messages queued for sending per peer before send blocks or drops (libzmq: 1000).
    public var sendHighWaterMark: Int32?
    /// Most messages queued on receive per peer (libzmq: 1000).
    public var receiveHighWaterMark: Int32?
    /// Queue messages only to completed connections, so nothing waits on a peer that is not
    /// there yet (libzmq: false).
    public var immediate: Bool?
    /// ROUTER only: fail sends to unknown routing ids with `.unroutable` instead of dropping
    /// them silently (libzmq: false).
    public var routerMandatory: Bool?
    /// The identity a DEALER/REQ presents to a ROUTER (1-255 bytes, not starting with 0).
    public var routingID: [UInt8]?
    /// ZMTP heartbeats, so dead TCP peers are noticed without traffic (libzmq: off).
    public var heartbeat: Heartbeat?
    /// Operating-system TCP keepalive (libzmq: system default).
    public var tcpKeepalive: TCPKeepalive?
    /// Receive timeout for calls with no explicit timeout; `nil` keeps infinite.
    public var receiveTimeout: Duration?
    /// Send timeout, after which send throws `.timeout`; `nil` keeps infinite.
    public var sendTimeout: Duration?
    /// Delay before reconnecting a dropped connection (libzmq: 100 ms).
    public var reconnectInterval: Duration?
    /// Upper bound of the delay between reconnect attempts, which then grows exponentially from
    /// `reconnectInterval` (libzmq: 0, no growth).
    public var reconnectIntervalMax: Duration?
    /// SUB only: prefixes to subscribe to (an empty prefix receives everything).
    public var subscriptions: [[UInt8]]
    /// Largest message accepted from a peer over the network (`ZMQ_MAXMSGSIZE`): a peer that sends
    /// a bigger one is disconnected before the message is allocated. `nil` keeps libzmq's
    /// unlimited default, which lets anyone who can connect make the process allocate without bound.
    public var maxMessageSize: Int64?
    /// CURVE authentication and encryption of tcp links (`nil`: none, the NULL mechanism). Set
    /// before `bind`/`connect`, which `Context.socket(_:options:)` does.
    public var curve: CurveSecurity?
    /// The ZAP domain a server socket's clients are authenticated in (`ZMQ_ZAP_DOMAIN`): lets one
    /// `ZAPHandler` tell the sockets of a process apart. `nil` keeps the empty domain.
    public var zapDomain: String?

    public init(
        linger: Duration? = nil,
        sendHighWaterMark: Int32? = nil,
        receiveHighWaterMark: Int32? = nil,
        immediate: Bool? = nil,
        routerMandatory: Bool? = nil,
        routingID: [UInt8]? = nil,
        heartbeat: Heartbeat? = nil,
        tcpKeepalive: TCPKeepalive? = nil,
        receiveTimeout: Duration? = nil,
        sendTimeout: Duration? = nil,
        reconnectInterval: Duration? = nil,
        reconnectIntervalMax: Duration? = nil,
        subscriptions: [[UInt8]] = [],
        maxMessageSize: Int64? = nil,
        curve: CurveSecurity? = nil,
        zapDomain: String? = nil
    ) {
        self.linger = linger
        self.sendHighWaterMark = sendHighWaterMark
        self.receiveHighWaterMark = receiveHighWaterMark
        self.immediate = immediate
        self.routerMandatory = routerMandatory
        self.routingID = routingID
        self.heartbeat = heartbeat
        self.tcpKeepalive = tcpKeepalive
        self.receiveTimeout = receiveTimeout
        self.sendTimeout = sendTimeout
        self.reconnectInterval = reconnectInterval
        self.reconnectIntervalMax = reconnectIntervalMax
        self.subscriptions = subscriptions
        self.maxMessageSize = maxMessageSize
        self.curve = curve
        self.zapDomain = zapDomain
    }
}

/// ZMTP heartbeat settings (ZMQ_HEARTBEAT_IVL/TTL/TIMEOUT).
public struct Heartbeat: Sendable, Equatable {
    /// How often to send a PING on an otherwise quiet connection.
    public var interval: Duration
    /// Asks the peer to drop the connection if it hears nothing for this long (`nil`: off).
    public var ttl: Duration?
    /// Drops the connection if no traffic follows a PING within this (`nil`: `interval`).
    public var timeout: Duration?

    public init(interval: Duration, ttl: Duration? = nil, timeout: Duration? = nil) {
        self.interval = interval
        self.ttl = ttl
        self.timeout = timeout
    }
}

/// Operating-system TCP keepalive settings (ZMQ_TCP_KEEPALIVE*). `nil` fields keep the
/// system default.
public struct TCPKeepalive: Sendable, Equatable {
    public var enabled: Bool
    /// Quiet time before the first probe (whole seconds).
    public var idle: Duration?
    /// Time between probes (whole seconds).
    public var interval: Duration?
    /// Unanswered probes before the connection is dropped.
    public var count: Int32?

    public init(enabled: Bool = true, idle: Duration? = nil, interval: Duration? = nil, count: Int32? = nil) {
        self.enabled = enabled
        self.idle = idle
        self.interval = interval
        self.count = count
    }
}
