import Foundation

/// Results one strategy computes and another reuses during one `profile build` (the learned map
/// starts from the cluster strategy's K-means). Thread-safe; lives as long as the build.
public final class TrainingCache: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: any Sendable] = [:]

    public init() {}

    /// The cached value for `key`, computing and storing it on first use.
    public func value<T: Sendable>(_ key: String, compute: () throws -> T) rethrows -> T {
        lock.lock()
        if let cached = values[key] as? T {
            lock.unlock()
            return cached
        }
        lock.unlock()
        let computed = try compute()
        lock.lock()
        values[key] = computed
        lock.unlock()
        return computed
    }
}
