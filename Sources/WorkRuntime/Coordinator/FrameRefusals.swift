import Logging
import Metrics
import Wire
import WorkProtocol
import ZeroMQ

/// The coordinator's record of frames it refused: each is dropped whole (never half a batch acted on),
/// counted in `switchyard_wire_frames_refused_total{reason}` and logged with its reason and the peer's
/// address and CURVE identity, at most ten lines a second so a flood cannot fill the disk.
/// Not thread-safe: owned by the coordinator's loop.
struct FrameRefusals {
    enum Reason: String, CaseIterable {
        /// A wire version this build does not speak.
        case version
        /// Truncated, unknown type, bad field, trailing bytes...
        case malformed
        /// More than one frame after the routing id.
        case multipart
    }

    private let logger: Logger
    private var limiter = LogLimiter()
    private let counters: [Reason: Counter]
    private(set) var total = 0

    init(logger: Logger) {
        self.logger = logger
        var counters: [Reason: Counter] = [:]
        for reason in Reason.allCases {
            counters[reason] = Counter(label: "switchyard_wire_frames_refused_total", dimensions: [("reason", reason.rawValue)])
        }
        self.counters = counters
    }

    /// Reports the refusals the last window held back (call on the loop's timer).
    mutating func tick(now: UInt64) {
        if let count = limiter.flush(now: now) {
            logger.warning("refused more frames than were logged", metadata: ["suppressed_since_last": "\(count)"])
        }
    }

    /// A frame `WireCodec` could not decode.
    mutating func refuse(_ error: WireError, bytes: Int, connection: Message, now: UInt64) {
        let reason: Reason
        if case .unsupportedVersion = error { reason = .version } else { reason = .malformed }
        refuse(reason, detail: "\(error) (\(bytes) bytes)", connection: connection, now: now)
    }

    /// `connection`: any frame received on the sender's connection (its metadata names the peer).
    mutating func refuse(_ reason: Reason, detail: String, connection: Message, now: UInt64) {
        total += 1
        counters[reason]?.increment()
        let (log, suppressed) = limiter.admit(now: now)
        guard log else { return }
        var metadata: Logger.Metadata = ["reason": "\(reason.rawValue)", "detail": "\(detail)"]
        if let address = connection.property("Peer-Address") { metadata["address"] = "\(address)" }
        if let user = connection.property("User-Id"), !user.isEmpty { metadata["peer_key"] = "\(user)" }
        if suppressed > 0 { metadata["suppressed_since_last"] = "\(suppressed)" }
        logger.warning("refused a frame", metadata: metadata)
    }
}
