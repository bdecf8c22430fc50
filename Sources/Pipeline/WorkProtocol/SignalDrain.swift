import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns SIGTERM and SIGINT into a graceful drain (finish leases, then leave) instead of death.
/// Keep the returned object alive as long as the handling should last.
public final class SignalDrain: @unchecked Sendable {  // sources are immutable after init; cancel is thread-safe
    private let sources: [any DispatchSourceSignal]

    /// Ignores the default action of `signals` and calls `action` (on a private queue) when one arrives.
    public init(signals: [Int32] = [SIGTERM, SIGINT], action: @escaping @Sendable () -> Void) {
        let queue = DispatchQueue(label: "switchyard.signals")
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler(handler: action)
            source.resume()
            return source
        }
    }

    deinit {
        for source in sources { source.cancel() }
    }
}
