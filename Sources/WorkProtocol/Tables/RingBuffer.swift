/// A growable double-ended queue with O(1) push/pop at both ends, so queues of pending work
/// do not shift arrays (and memory is reused in a long run).
///
/// Inlinable: the stage worker (in `WorkRuntime`) queues every task it holds in one, and a generic
/// type used from another module would otherwise run unspecialized.
package struct RingBuffer<Element> {
    @usableFromInline var storage: [Element?]
    @usableFromInline var head = 0
    @usableFromInline var stored = 0

    @inlinable
    package init(capacity: Int = 16) {
        storage = Array(repeating: nil, count: Swift.max(1, capacity))
    }

    @inlinable
    package var count: Int { stored }

    @inlinable
    package var isEmpty: Bool { stored == 0 }

    @inlinable
    package mutating func append(_ element: Element) {
        growIfFull()
        storage[(head + stored) % storage.count] = element
        stored += 1
    }

    @inlinable
    package mutating func prepend(_ element: Element) {
        growIfFull()
        head = (head - 1 + storage.count) % storage.count
        storage[head] = element
        stored += 1
    }

    @inlinable
    package mutating func popFirst() -> Element? {
        guard stored > 0 else { return nil }
        let element = storage[head]
        storage[head] = nil
        head = (head + 1) % storage.count
        stored -= 1
        return element
    }

    @inlinable
    mutating func growIfFull() {
        guard stored == storage.count else { return }
        var grown = [Element?](repeating: nil, count: storage.count * 2)
        for index in 0..<stored { grown[index] = storage[(head + index) % storage.count] }
        storage = grown
        head = 0
    }
}
