import CZeroMQ

extension Socket {
    func apply(_ options: SocketOptions) throws(ZeroMQError) {
        try setLinger(options.linger ?? context.configuration.defaultLinger)
        if let value = options.sendHighWaterMark { try setSendHighWaterMark(value) }
        if let value = options.receiveHighWaterMark { try setReceiveHighWaterMark(value) }
        if let value = options.immediate { try setImmediate(value) }
        if let value = options.routerMandatory { try setRouterMandatory(value) }
        if let value = options.routingID { try setRoutingID(value) }
        if let value = options.heartbeat { try setHeartbeat(value) }
        if let value = options.tcpKeepalive { try setTCPKeepalive(value) }
        if let value = options.receiveTimeout { try setReceiveTimeout(value) }
        if let value = options.sendTimeout { try setSendTimeout(value) }
        if let value = options.reconnectInterval { try setReconnectInterval(value) }
        if let value = options.reconnectIntervalMax { try setReconnectIntervalMax(value) }
        if let value = options.maxMessageSize { try setMaxMessageSize(value) }
        if let value = options.zapDomain { try setZAPDomain(value) }
        if let value = options.curve { try setCurve(value) }
        for prefix in options.subscriptions { try subscribe(prefix) }
    }

    // MARK: Setters

    /// How long closing waits to deliver queued messages; `nil` waits forever (can hang exit).
    public func setLinger(_ value: Duration?) throws(ZeroMQError) {
        try setInt32(ZMQ_LINGER, Duration.zmqMilliseconds(value), "ZMQ_LINGER")
    }

    public func setSendHighWaterMark(_ messages: Int32) throws(ZeroMQError) {
        try setInt32(ZMQ_SNDHWM, messages, "ZMQ_SNDHWM")
    }

    public func setReceiveHighWaterMark(_ messages: Int32) throws(ZeroMQError) {
        try setInt32(ZMQ_RCVHWM, messages, "ZMQ_RCVHWM")
    }

    /// Queue only to completed connections (see `SocketOptions.immediate`).
    public func setImmediate(_ enabled: Bool) throws(ZeroMQError) {
        try setInt32(ZMQ_IMMEDIATE, enabled ? 1 : 0, "ZMQ_IMMEDIATE")
    }

    /// ROUTER: unknown routing ids throw `.unroutable` instead of being dropped.
    public func setRouterMandatory(_ enabled: Bool) throws(ZeroMQError) {
        try setInt32(ZMQ_ROUTER_MANDATORY, enabled ? 1 : 0, "ZMQ_ROUTER_MANDATORY")
    }

    /// The identity presented to a ROUTER; set it before `connect`. 1-255 bytes, not starting with 0.
    public func setRoutingID(_ id: [UInt8]) throws(ZeroMQError) {
        guard (1...255).contains(id.count), id.first != 0 else {
            throw ZeroMQError.invalidArgument("a routing id must be 1-255 bytes and not start with a zero byte (got \(id.count) bytes)")
        }
        try setBytes(ZMQ_ROUTING_ID, id, "ZMQ_ROUTING_ID")
    }

    /// SUB: receive messages whose first frame starts with `prefix` (empty: everything).
    public func subscribe(_ prefix: [UInt8] = []) throws(ZeroMQError) {
        try setBytes(ZMQ_SUBSCRIBE, prefix, "ZMQ_SUBSCRIBE")
    }

    /// SUB: receive messages whose first frame starts with the UTF-8 of `prefix`.
    public func subscribe(_ prefix: String) throws(ZeroMQError) {
        try subscribe(Array(prefix.utf8))
    }

    public func unsubscribe(_ prefix: [UInt8] = []) throws(ZeroMQError) {
        try setBytes(ZMQ_UNSUBSCRIBE, prefix, "ZMQ_UNSUBSCRIBE")
    }

    /// ZMTP heartbeats (set before `connect`/`bind`; they apply to new connections).
    public func setHeartbeat(_ heartbeat: Heartbeat) throws(ZeroMQError) {
        try setInt32(ZMQ_HEARTBEAT_IVL, heartbeat.interval.zmqMilliseconds, "ZMQ_HEARTBEAT_IVL")
        if let ttl = heartbeat.ttl {
            try setInt32(ZMQ_HEARTBEAT_TTL, ttl.zmqMilliseconds, "ZMQ_HEARTBEAT_TTL")
        }
        if let timeout = heartbeat.timeout {
            try setInt32(ZMQ_HEARTBEAT_TIMEOUT, timeout.zmqMilliseconds, "ZMQ_HEARTBEAT_TIMEOUT")
        }
    }

    /// Operating-system TCP keepalive (set before `connect`/`bind`).
    public func setTCPKeepalive(_ keepalive: TCPKeepalive) throws(ZeroMQError) {
        try setInt32(ZMQ_TCP_KEEPALIVE, keepalive.enabled ? 1 : 0, "ZMQ_TCP_KEEPALIVE")
        if let idle = keepalive.idle {
            try setInt32(ZMQ_TCP_KEEPALIVE_IDLE, Int32(clamping: idle.components.seconds), "ZMQ_TCP_KEEPALIVE_IDLE")
        }
        if let interval = keepalive.interval {
            try setInt32(ZMQ_TCP_KEEPALIVE_INTVL, Int32(clamping: interval.components.seconds), "ZMQ_TCP_KEEPALIVE_INTVL")
        }
        if let count = keepalive.count {
            try setInt32(ZMQ_TCP_KEEPALIVE_CNT, count, "ZMQ_TCP_KEEPALIVE_CNT")
        }
    }

    /// Default timeout of receives given no explicit timeout; `nil`: block forever.
    public func setReceiveTimeout(_ value: Duration?) throws(ZeroMQError) {
        try setInt32(ZMQ_RCVTIMEO, Duration.zmqMilliseconds(value), "ZMQ_RCVTIMEO")
    }

    /// Sends block at most this long, then throw `.timeout`; `nil`: block forever.
    public func setSendTimeout(_ value: Duration?) throws(ZeroMQError) {
        try setInt32(ZMQ_SNDTIMEO, Duration.zmqMilliseconds(value), "ZMQ_SNDTIMEO")
    }

    public func setReconnectInterval(_ value: Duration) throws(ZeroMQError) {
        try setInt32(ZMQ_RECONNECT_IVL, value.zmqMilliseconds, "ZMQ_RECONNECT_IVL")
    }

    /// Grows the reconnect delay exponentially from `reconnectInterval` up to this.
    public func setReconnectIntervalMax(_ value: Duration) throws(ZeroMQError) {
        try setInt32(ZMQ_RECONNECT_IVL_MAX, value.zmqMilliseconds, "ZMQ_RECONNECT_IVL_MAX")
    }

    /// Disconnects a peer that sends a message larger than `bytes` (network transports; set before
    /// `bind`/`connect`). Negative: no limit.
    public func setMaxMessageSize(_ bytes: Int64) throws(ZeroMQError) {
        let socket = try owned()
        var value = bytes
        try retrying("set ZMQ_MAXMSGSIZE=\(bytes)") { zmq_setsockopt(socket, ZMQ_MAXMSGSIZE, &value, MemoryLayout<Int64>.size) }
    }

    /// The ZAP domain of a server socket (set before `bind`).
    public func setZAPDomain(_ domain: String) throws(ZeroMQError) {
        try setBytes(ZMQ_ZAP_DOMAIN, Array(domain.utf8), "ZMQ_ZAP_DOMAIN")
    }

    /// Makes the socket a CURVE server or client (set before `bind`/`connect`). Throws
    /// `.curveUnavailable` when this libzmq has no CURVE.
    public func setCurve(_ curve: CurveSecurity) throws(ZeroMQError) {
        guard Curve.isAvailable else { throw ZeroMQError.curveUnavailable }
        switch curve {
        case .server(let pair):
            try setInt32(ZMQ_CURVE_SERVER, 1, "ZMQ_CURVE_SERVER")
            try setBytes(ZMQ_CURVE_SECRETKEY, pair.secretKey.bytes, "ZMQ_CURVE_SECRETKEY")
        case .client(let pair, let serverKey):
            try setBytes(ZMQ_CURVE_SERVERKEY, serverKey.bytes, "ZMQ_CURVE_SERVERKEY")
            try setBytes(ZMQ_CURVE_PUBLICKEY, pair.publicKey.bytes, "ZMQ_CURVE_PUBLICKEY")
            try setBytes(ZMQ_CURVE_SECRETKEY, pair.secretKey.bytes, "ZMQ_CURVE_SECRETKEY")
        }
    }

    // MARK: Getters

    /// The security mechanism the socket is configured with: `.curve` once `setCurve` ran.
    public var mechanism: SecurityMechanism {
        get throws(ZeroMQError) { SecurityMechanism(rawValue: try getInt32(ZMQ_MECHANISM, "ZMQ_MECHANISM")) }
    }

    /// `ZMQ_MAXMSGSIZE`; -1 when unlimited.
    public var maxMessageSize: Int64 {
        get throws(ZeroMQError) {
            let socket = try owned()
            var value: Int64 = 0
            var size = MemoryLayout<Int64>.size
            try retrying("get ZMQ_MAXMSGSIZE") { zmq_getsockopt(socket, ZMQ_MAXMSGSIZE, &value, &size) }
            return value
        }
    }

    /// The endpoint last bound or connected, with `*` resolved (e.g. `tcp://127.0.0.1:41234`).
    public var lastEndpoint: String {
        get throws(ZeroMQError) {
            let bytes = try getBytes(ZMQ_LAST_ENDPOINT, capacity: 1024, "ZMQ_LAST_ENDPOINT")
            // libzmq returns a NUL-terminated string.
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// The port of `lastEndpoint` for tcp endpoints, nil otherwise.
    public var lastPort: Int? {
        get throws(ZeroMQError) {
            let endpoint = try lastEndpoint
            guard endpoint.hasPrefix("tcp://"), let colon = endpoint.lastIndex(of: ":") else { return nil }
            return Int(endpoint[endpoint.index(after: colon)...])
        }
    }

    public var routingID: [UInt8] {
        get throws(ZeroMQError) { try getBytes(ZMQ_ROUTING_ID, capacity: 256, "ZMQ_ROUTING_ID") }
    }

    public var linger: Duration? {
        get throws(ZeroMQError) { Duration.fromZMQMilliseconds(try getInt32(ZMQ_LINGER, "ZMQ_LINGER")) }
    }

    public var sendHighWaterMark: Int32 {
        get throws(ZeroMQError) { try getInt32(ZMQ_SNDHWM, "ZMQ_SNDHWM") }
    }

    public var receiveHighWaterMark: Int32 {
        get throws(ZeroMQError) { try getInt32(ZMQ_RCVHWM, "ZMQ_RCVHWM") }
    }

    public var receiveTimeout: Duration? {
        get throws(ZeroMQError) { Duration.fromZMQMilliseconds(try getInt32(ZMQ_RCVTIMEO, "ZMQ_RCVTIMEO")) }
    }

    // MARK: Raw access

    func setInt32(_ option: Int32, _ value: Int32, _ name: String) throws(ZeroMQError) {
        let socket = try owned()
        var value = value
        try retrying("set \(name)=\(value)") { zmq_setsockopt(socket, option, &value, MemoryLayout<Int32>.size) }
    }

    func setBytes(_ option: Int32, _ value: [UInt8], _ name: String) throws(ZeroMQError) {
        let socket = try owned()
        try value.withUnsafeBytes { buffer in
            Result { () throws(ZeroMQError) in
                try retrying("set \(name)") { zmq_setsockopt(socket, option, buffer.baseAddress, buffer.count) }
            }
        }.get()
    }

    func getInt32(_ option: Int32, _ name: String) throws(ZeroMQError) -> Int32 {
        let socket = try owned()
        var value: Int32 = 0
        var size = MemoryLayout<Int32>.size
        try retrying("get \(name)") { zmq_getsockopt(socket, option, &value, &size) }
        return value
    }

    func getBytes(_ option: Int32, capacity: Int, _ name: String) throws(ZeroMQError) -> [UInt8] {
        let socket = try owned()
        var buffer = [UInt8](repeating: 0, count: capacity)
        var size = capacity
        try buffer.withUnsafeMutableBytes { raw in
            Result { () throws(ZeroMQError) in
                try retrying("get \(name)") { zmq_getsockopt(socket, option, raw.baseAddress, &size) }
            }
        }.get()
        return Array(buffer.prefix(size))
    }
}
