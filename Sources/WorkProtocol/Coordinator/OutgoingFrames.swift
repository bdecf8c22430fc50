import Wire

/// The coordinator's messages of one loop pass, grouped per peer so that each peer gets one
/// ZeroMQ message (a batch frame) instead of one per TASK or RESULT. Frames are capped in
/// messages and bytes; `append` says when a peer's frame is full and must be sent at once.
/// Not thread-safe: owned by the coordinator's loop.
package struct OutgoingFrames {
    /// Most messages in one frame (the stage workers' and producers' outboxes use the same caps).
    package static let maxMessagesPerFrame = 1_024
    package static let maxBytesPerFrame = 256 << 10
    /// More peers than this (worker churn) and the encoders are dropped after a pass, so memory stays flat.
    static let maxRetainedPeers = 256

    /// Up to this many peers a linear scan of `keys` finds a slot faster than hashing the key.
    static let linearScanLimit = 16

    /// Peers with an encoder, in slot order.
    private var keys: [PeerKey] = []
    /// Slot by peer, used past `linearScanLimit` peers.
    private var slots: [PeerKey: Int] = [:]
    private var encoders: [WireFrameEncoder] = []
    /// Peers with messages in this pass, in the order of their first message.
    private(set) var waitingPeers: [PeerKey] = []

    /// Queues `message` for `peer`; true when the peer's frame is full: send it (`withFrame`) now.
    mutating func append(_ message: WireMessage, to peer: PeerKey) -> Bool {
        append(to: peer) { $0.append(message) }
    }

    /// Lets `encode` append one message to `peer`'s frame (e.g. `appendTask`, which builds no
    /// `WireMessage`); true when the frame is full: send it (`withFrame`) now.
    mutating func append(to peer: PeerKey, _ encode: (inout WireFrameEncoder) -> Void) -> Bool {
        let slot: Int
        if let known = self.slot(of: peer) {
            slot = known
        } else {
            slot = encoders.count
            keys.append(peer)
            slots[peer] = slot
            encoders.append(WireFrameEncoder(capacity: 1_024))
        }
        if encoders[slot].isEmpty && !waitingPeers.contains(peer) { waitingPeers.append(peer) }
        encode(&encoders[slot])
        return encoders[slot].count >= Self.maxMessagesPerFrame || encoders[slot].byteCount >= Self.maxBytesPerFrame
    }

    /// Hands `peer`'s frame to `send` and empties it; `empty` when nothing is queued for `peer`.
    mutating func withFrame<Result>(for peer: PeerKey, empty: Result, _ send: (UnsafeRawBufferPointer) -> Result) -> Result {
        guard let slot = slot(of: peer), !encoders[slot].isEmpty else { return empty }
        defer { encoders[slot].reset() }
        return encoders[slot].withFrame(send)
    }

    /// Ends the pass (after every waiting peer was sent its frame).
    mutating func clearWaiting() {
        waitingPeers.removeAll(keepingCapacity: true)
        if slots.count > Self.maxRetainedPeers {
            keys.removeAll()
            slots.removeAll()
            encoders.removeAll()
        }
    }

    private func slot(of peer: PeerKey) -> Int? {
        if keys.count <= Self.linearScanLimit { return keys.firstIndex(of: peer) }
        return slots[peer]
    }
}
