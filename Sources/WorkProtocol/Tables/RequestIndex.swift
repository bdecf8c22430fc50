/// The coordinator's in-flight requests by ID: an open-addressing hash table from an ID's UTF-8
/// bytes to the request's slot, so SUBMIT and ACK find their slot straight from the bytes of a
/// received frame, with no `String` built and no `Hasher` (SipHash) run per message.
///
/// The table holds only slots; the IDs themselves live in the caller's slot table and are compared
/// through the `matches` closure, so an entry is 8 bytes: a 32-bit hash and the slot. Linear
/// probing, at most half full, backward-shift deletion (no tombstones): a lookup ends at the first
/// empty bucket. Sized by the coordinator's window (requests in flight), so it stays in cache.
///
/// The hash is seeded per process. It is fast, not collision-proof against an adversary who knows
/// the seed: IDs come from the pipeline's own producer (a trusted peer), and a collision only
/// costs a comparison, never a wrong match. Not thread-safe: owned by the coordinator.
struct RequestIndex {
    /// `hash32 << 32 | (slot + 1)`; 0 is an empty bucket.
    private var buckets: [UInt64] = Array(repeating: 0, count: 16)
    private var mask = 15
    private(set) var count = 0
    private let seed: UInt64

    init(seed: UInt64 = UInt64.random(in: 1...UInt64.max)) {
        self.seed = seed
    }

    var isEmpty: Bool { count == 0 }

    /// The hash of an ID's bytes, computed once per message and passed to `find`, `insert` and `remove`.
    func hash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var state = seed ^ (UInt64(bytes.count) &* 0x9E37_79B9_7F4A_7C15)
        var offset = 0
        while offset + 8 <= bytes.count {
            state = Self.mix(state ^ bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += 8
        }
        if offset < bytes.count {
            var tail: UInt64 = 0
            for index in offset..<bytes.count { tail |= UInt64(bytes[index]) << UInt64(8 * (index - offset)) }
            state = Self.mix(state ^ tail)
        }
        state = Self.mix(state)
        return UInt32(truncatingIfNeeded: state ^ (state >> 32))
    }

    /// The slot whose ID has `hash` and for which `matches(slot)` is true, or nil.
    func find(hash: UInt32, matches: (Int) -> Bool) -> Int? {
        guard let bucket = bucket(hash: hash, matches: matches) else { return nil }
        return Self.slot(buckets[bucket])
    }

    /// Adds `slot` under `hash`. The caller has checked that no entry matches (`find`).
    mutating func insert(hash: UInt32, slot: Int) {
        if (count + 1) * 2 > buckets.count { grow() }
        var bucket = Int(hash) & mask
        while buckets[bucket] != 0 { bucket = (bucket + 1) & mask }
        buckets[bucket] = UInt64(hash) << 32 | UInt64(slot + 1)
        count += 1
    }

    /// Removes the entry with `hash` for which `matches(slot)` is true; returns its slot, or nil.
    @discardableResult
    mutating func remove(hash: UInt32, matches: (Int) -> Bool) -> Int? {
        guard var hole = bucket(hash: hash, matches: matches) else { return nil }
        let slot = Self.slot(buckets[hole])
        // Backward shift: move later entries of the probe run into the hole when their home allows it.
        var next = (hole + 1) & mask
        while buckets[next] != 0 {
            let home = Int(buckets[next] >> 32) & mask
            // `next` may move to `hole` unless its home lies cyclically in (hole, next].
            let stays = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next)
            if !stays {
                buckets[hole] = buckets[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        buckets[hole] = 0
        count -= 1
        return slot
    }

    private func bucket(hash: UInt32, matches: (Int) -> Bool) -> Int? {
        var bucket = Int(hash) & mask
        while true {
            let entry = buckets[bucket]
            if entry == 0 { return nil }
            if UInt32(truncatingIfNeeded: entry >> 32) == hash && matches(Self.slot(entry)) { return bucket }
            bucket = (bucket + 1) & mask
        }
    }

    private mutating func grow() {
        let old = buckets
        buckets = Array(repeating: 0, count: old.count * 2)
        mask = buckets.count - 1
        for entry in old where entry != 0 {
            var bucket = Int(entry >> 32) & mask
            while buckets[bucket] != 0 { bucket = (bucket + 1) & mask }
            buckets[bucket] = entry
        }
    }

    private static func slot(_ entry: UInt64) -> Int { Int(entry & 0xFFFF_FFFF) - 1 }

    /// One round of a 64-bit multiply-xorshift mixer (the finalizer of MurmurHash3).
    private static func mix(_ value: UInt64) -> UInt64 {
        var value = value
        value ^= value >> 33
        value &*= 0xFF51_AFD7_ED55_8CCD
        value ^= value >> 33
        value &*= 0xC4CE_B9FE_1A85_EC53
        value ^= value >> 33
        return value
    }
}
