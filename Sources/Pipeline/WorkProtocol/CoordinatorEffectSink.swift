import Foundation
import Logging
import Wire
import ZeroMQ

/// The coordinator's effects applied as they happen (`WorkCoordinatorEffects`): sends are encoded
/// straight into the peer's frame of this pass (`OutgoingFrames`; no `WireMessage` or effect value
/// per send), journal records are appended at once, warnings logged.
///
/// Each peer gets one frame per pass, sent by `flushAll()` (or earlier when it is full), in the
/// order its messages were due, as before. A send cannot throw inside the state machine, so a fatal
/// ZeroMQ error is kept and thrown by `flushAll()`. Not thread-safe: owned by the coordinator's
/// loop, with the socket it sends on.
struct CoordinatorEffectSink: WorkCoordinatorEffects {
    let socket: Socket
    let journal: WorkJournal?
    let logger: Logger
    /// Identities of the peers (filled by the loop as frames arrive).
    var peers = PeerKeys()
    private var outgoing = OutgoingFrames()
    /// The first fatal send error since the last `flushAll()`.
    private var failure: WorkRuntimeError?
    /// Protocol warnings (out-of-order messages) are logged at most ten a second.
    private var warnings = LogLimiter()

    init(socket: Socket, journal: WorkJournal?, logger: Logger) {
        self.socket = socket
        self.journal = journal
        self.logger = logger
    }

    mutating func send(_ message: WireMessage, to peer: PeerKey) {
        if outgoing.append(message, to: peer) { flush(peer) }
    }

    mutating func sendTask(to peer: PeerKey, taskID: UInt64, requestID: String, stage: String, attempt: UInt16,
                           leaseMillis: UInt32, payload: UnsafeRawBufferPointer) {
        let full = outgoing.append(to: peer) { encoder in
            encoder.appendTask(taskID: taskID, requestID: requestID, stage: stage, attempt: attempt, leaseMillis: leaseMillis, payload: payload)
        }
        if full { flush(peer) }
    }

    mutating func sendResult(to peer: PeerKey, requestID: String, status: WireResult.Status, stage: String, attempts: UInt16,
                             reason: String, payload: Data) {
        let full = outgoing.append(to: peer) { encoder in
            encoder.appendResult(requestID: requestID, status: status, stage: stage, attempts: attempts, reason: reason, payload: payload)
        }
        if full { flush(peer) }
    }

    func journalAccepted(_ requestID: String) { journal?.appendAccepted(requestID) }
    func journalCompleted(_ requestID: String) { journal?.appendCompleted(requestID) }
    mutating func warning(_ text: String) {
        let (log, suppressed) = warnings.admit(now: monotonicMillis())
        guard log else { return }
        if suppressed > 0 {
            logger.warning("\(text)", metadata: ["suppressed_since_last": "\(suppressed)"])
        } else {
            logger.warning("\(text)")
        }
    }

    /// Reports the warnings the last window held back (call on the loop's timer).
    mutating func tick(now: UInt64) {
        if let count = warnings.flush(now: now) {
            logger.warning("more protocol warnings than were logged", metadata: ["suppressed_since_last": "\(count)"])
        }
    }

    /// Sends every peer's frame of this pass; throws the pass's fatal send error, if any.
    mutating func flushAll() throws(WorkRuntimeError) {
        for peer in outgoing.waitingPeers { flush(peer) }
        outgoing.clearWaiting()
        if let failure {
            self.failure = nil
            throw failure
        }
    }

    private mutating func flush(_ peer: PeerKey) {
        let socket = self.socket
        let peers = self.peers
        let result: Result<Void, ZeroMQError> = outgoing.withFrame(for: peer, empty: .success(())) { frame in
            peers.withIdentity(peer) { identity in
                guard let identity else { return .success(()) }
                return Result { () throws(ZeroMQError) in
                    try socket.send(bytes: identity, flags: [.more, .dontWait])
                    try socket.send(bytes: frame, flags: .dontWait)
                }
            }
        }
        switch result {
        case .success, .failure(.unroutable): break
        case .failure(.timeout):
            logger.warning("peer not accepting messages; dropped a frame (leases recover it)", metadata: ["peer": "\(peer)"])
        case .failure(let error):
            if failure == nil { failure = .zeroMQ(operation: "send on ROUTER", error) }
        }
    }
}
