import Foundation
import Logging
import Wire

/// Sends the coordinator's frames to its peers: its ROUTER socket (`WorkRuntime`). Called on the
/// coordinator's loop, once per frame (not per message).
package protocol PeerFrameSender: AnyObject {
    /// Sends `frame` to the peer whose routing identity is `identity`, without blocking.
    func send(_ frame: UnsafeRawBufferPointer, to identity: UnsafeRawBufferPointer) -> PeerFrameDelivery
}

/// How sending one frame ended.
package enum PeerFrameDelivery {
    case sent
    /// The peer is gone: nothing to do (leases recover its work).
    case unroutable
    /// The peer is not accepting messages: the frame is dropped (leases recover it) and a warning logged.
    case notAccepted
    /// A fatal error: the sender keeps it, and the loop throws it after the pass.
    case failed
}

/// The coordinator's effects applied as they happen (`WorkCoordinatorEffects`): sends are encoded
/// straight into the peer's frame of this pass (`OutgoingFrames`; no `WireMessage` or effect value
/// per send), journal records are appended at once, warnings logged.
///
/// Each peer gets one frame per pass, sent by `flushAll()` (or earlier when it is full), in the
/// order its messages were due, as before. A send cannot throw inside the state machine, so the
/// sender keeps a fatal error for the loop to throw after `flushAll()`. Not thread-safe: owned by the
/// coordinator's loop, with the sender.
struct CoordinatorEffectSink: WorkCoordinatorEffects {
    let sender: any PeerFrameSender
    let journal: WorkJournal?
    let logger: Logger
    /// Identities of the peers (filled by the loop as frames arrive).
    var peers = PeerKeys()
    private var outgoing = OutgoingFrames()
    /// Protocol warnings (out-of-order messages) are logged at most ten a second.
    private var warnings = LogLimiter()

    init(sender: any PeerFrameSender, journal: WorkJournal?, logger: Logger) {
        self.sender = sender
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

    /// Sends every peer's frame of this pass.
    mutating func flushAll() {
        for peer in outgoing.waitingPeers { flush(peer) }
        outgoing.clearWaiting()
    }

    private mutating func flush(_ peer: PeerKey) {
        let sender = self.sender
        let peers = self.peers
        let delivery = outgoing.withFrame(for: peer, empty: PeerFrameDelivery.sent) { frame in
            peers.withIdentity(peer) { identity in
                guard let identity else { return .sent }
                return sender.send(frame, to: identity)
            }
        }
        if case .notAccepted = delivery {
            logger.warning("peer not accepting messages; dropped a frame (leases recover it)", metadata: ["peer": "\(peer)"])
        }
    }
}
