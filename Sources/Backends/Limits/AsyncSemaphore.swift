import Foundation

/// A counting semaphore for async code: `acquire` suspends (FIFO) while no permit is free.
///
/// Cancellation while waiting removes the waiter and throws `CancellationError`, so a cancelled
/// dispatch never leaks a permit.
final class AsyncSemaphore: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var permits: Int
        var waiters: [Waiter] = []
        var head = 0
        var nextID: UInt64 = 0
        var inUse = 0
    }

    private let state: LockedState<State>
    let capacity: Int

    init(permits: Int) {
        capacity = max(1, permits)
        state = LockedState(State(permits: max(1, permits)))
    }

    /// Permits held right now.
    var inUse: Int { state.withLock { $0.inUse } }

    func acquire() async throws {
        // Fast path: a free permit and nobody queued.
        let acquired = state.withLock { s -> Bool in
            if s.permits > 0 && s.head == s.waiters.count {
                s.permits -= 1
                s.inUse += 1
                return true
            }
            return false
        }
        if acquired { return }
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Bool? = state.withLock { s in
                    if Task.isCancelled { return false }
                    if s.permits > 0 && s.head == s.waiters.count {
                        s.permits -= 1
                        s.inUse += 1
                        return true
                    }
                    s.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                switch resumeNow {
                case true?: continuation.resume()
                case false?: continuation.resume(throwing: CancellationError())
                case nil: break
                }
            }
        } onCancel: {
            let cancelled = state.withLock { s -> CheckedContinuation<Void, any Error>? in
                guard let index = s.waiters[s.head...].firstIndex(where: { $0.id == id }) else { return nil }
                let waiter = s.waiters.remove(at: index)
                return waiter.continuation
            }
            cancelled?.resume(throwing: CancellationError())
        }
    }

    func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, any Error>? in
            if s.head < s.waiters.count {
                let waiter = s.waiters[s.head]
                s.head += 1
                if s.head > 1024 && s.head * 2 > s.waiters.count {
                    s.waiters.removeFirst(s.head)
                    s.head = 0
                }
                return waiter.continuation
            }
            s.permits += 1
            s.inUse -= 1
            return nil
        }
        next?.resume()
    }
}
