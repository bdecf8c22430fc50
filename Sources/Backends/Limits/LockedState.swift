import Foundation

/// A value guarded by a lock, for the small synchronous critical sections of limits and breakers.
///
/// Chosen over an actor because these sections never suspend and are taken on every request:
/// a lock costs tens of nanoseconds, an actor hop costs a task switch.
final class LockedState<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
