import Wire

/// What the coordinator state machine asks its transport to do, in order.
public enum WorkCoordinatorEffect<Peer: Hashable & Sendable>: Sendable, Equatable {
    /// Send `message` to `peer`.
    case send(Peer, WireMessage)
    /// Append "accepted `requestID`" to the journal.
    case journalAccepted(String)
    /// Append "completed `requestID`" to the journal (the consumer acknowledged its durable write).
    case journalCompleted(String)
    /// Something worth a log line (a protocol violation or a peer presumed dead).
    case warning(String)
}
