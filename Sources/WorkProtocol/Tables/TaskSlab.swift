/// The coordinator's live tasks in an array of slots indexed by task ID, instead of a hash table:
/// looking a task up, leasing it and ending it touch one array element, no hashing.
///
/// A task ID is `generation << 32 | slot`. Removing a task bumps its slot's generation before the
/// slot is reused, so an ID handed out earlier (a late DONE for a lease that was requeued or
/// ended) never matches the slot's next task: lookups by a stale ID return nil.
/// Memory is the most tasks alive at once (bounded by the coordinator's window), reused all run.
/// Not thread-safe: owned by the coordinator.
struct TaskSlab<Element> {
    private struct Slot {
        var generation: UInt32
        var value: Element?
    }

    private var slots: [Slot] = []
    private var free: [UInt32] = []
    /// Tasks alive.
    private(set) var count = 0

    /// Stores `value` in a free slot and returns its ID (never 0).
    mutating func insert(_ value: Element) -> UInt64 {
        let index: Int
        if let reused = free.popLast() {
            index = Int(reused)
        } else {
            index = slots.count
            slots.append(Slot(generation: 1, value: nil))
        }
        slots[index].value = value
        count += 1
        return Self.id(generation: slots[index].generation, index: index)
    }

    /// The slot index of `id` when it names a live task (its generation is current).
    private func index(of id: UInt64) -> Int? {
        let index = Int(id & 0xFFFF_FFFF)
        guard index < slots.count, slots[index].generation == UInt32(truncatingIfNeeded: id >> 32),
              slots[index].value != nil else { return nil }
        return index
    }

    /// The live task `id`, or nil for an ID that was removed (even if its slot holds a newer task).
    subscript(id: UInt64) -> Element? {
        guard let index = index(of: id) else { return nil }
        return slots[index].value
    }

    /// Runs `body` on the live task `id` in place (no copy of its payload); nil when `id` is stale.
    @discardableResult
    mutating func modify<Result>(_ id: UInt64, _ body: (inout Element) -> Result) -> Result? {
        guard let index = index(of: id), var value = slots[index].value.take() else { return nil }
        defer { slots[index].value = value }  // moved out and back: no copy of the element's buffers
        return body(&value)
    }

    /// Removes and returns the live task `id`; its ID (and every earlier one of the slot) goes stale.
    @discardableResult
    mutating func remove(_ id: UInt64) -> Element? {
        guard let index = index(of: id) else { return nil }
        let value = slots[index].value.take()
        retire(index)
        return value
    }

    /// Makes the emptied slot `index` stale for every ID handed out so far and free for reuse.
    private mutating func retire(_ index: Int) {
        slots[index].generation &+= 1
        if slots[index].generation == 0 { slots[index].generation = 1 }  // keep IDs nonzero after wrapping
        free.append(UInt32(index))
        count -= 1
    }

    /// Removes and returns the live task `id` when `condition` holds for it (read in place); nil,
    /// and nothing removed, for a stale `id` or a task that fails `condition`.
    mutating func remove(_ id: UInt64, if condition: (Element) -> Bool) -> Element? {
        guard let index = index(of: id), let value = slots[index].value.take() else { return nil }
        guard condition(value) else {
            slots[index].value = value  // moved out and back: no copy
            return nil
        }
        retire(index)
        return value
    }

    /// The IDs of live tasks for which `include` is true, in slot order (for rare scans: a lost
    /// worker's leases, expired leases).
    func ids(where include: (Element) -> Bool) -> [UInt64] {
        var found: [UInt64] = []
        for index in slots.indices {
            guard let value = slots[index].value, include(value) else { continue }
            found.append(Self.id(generation: slots[index].generation, index: index))
        }
        return found
    }

    private static func id(generation: UInt32, index: Int) -> UInt64 {
        UInt64(generation) << 32 | UInt64(index)
    }
}
