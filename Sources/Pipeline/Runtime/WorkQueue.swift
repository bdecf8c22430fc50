import Synchronization

/// An in-process multi-producer, multi-consumer queue between two stages of `LocalPipeline`.
///
/// Unbounded by itself: the pipeline bounds it with `InFlightWindow` (ingest may not run more than
/// `window` requests ahead of the sink), so memory stays flat however long the input is.
final class WorkQueue<Element: Sendable>: Sendable {
    private struct State {
        var buffer: [Element] = []
        var head = 0
        var waiters: [CheckedContinuation<Element?, Never>] = []
        var finished = false
    }

    private let state = Mutex(State())

    /// Adds one element (ignored after `finish`).
    func send(_ element: Element) {
        let waiter: CheckedContinuation<Element?, Never>? = state.withLock { state in
            guard !state.finished else { return nil }
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.buffer.append(element)
            return nil
        }
        waiter?.resume(returning: element)
    }

    /// No more elements: waiting consumers get nil once the buffer is empty.
    func finish() {
        let waiters: [CheckedContinuation<Element?, Never>] = state.withLock { state in
            state.finished = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: nil) }
    }

    /// The next element, waiting for one; nil when finished and drained.
    func next() async -> Element? {
        await withCheckedContinuation { (continuation: CheckedContinuation<Element?, Never>) in
            let ready: Element?? = state.withLock { state in
                if state.head < state.buffer.count {
                    let element = state.buffer[state.head]
                    state.head += 1
                    if state.head > 1024 && state.head * 2 > state.buffer.count {
                        state.buffer.removeFirst(state.head)
                        state.head = 0
                    }
                    return .some(element)
                }
                if state.finished { return .some(nil) }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Waits for one element, then takes up to `maximum - 1` more that are already queued.
    func nextBatch(maximum: Int) async -> [Element] {
        guard let first = await next() else { return [] }
        var batch = [first]
        state.withLock { state in
            while batch.count < maximum && state.head < state.buffer.count {
                batch.append(state.buffer[state.head])
                state.head += 1
            }
        }
        return batch
    }
}

/// Caps the requests between ingest and the sink: ingest `acquire`s one slot per line, the sink
/// `release`s it when the line's record is written.
final class InFlightWindow: Sendable {
    private struct State {
        var available: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    init(size: Int) { state = Mutex(State(available: max(1, size))) }

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state in
                if state.available > 0 { state.available -= 1; return true }
                state.waiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    func release() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            if !state.waiters.isEmpty { return state.waiters.removeFirst() }
            state.available += 1
            return nil
        }
        waiter?.resume()
    }
}
