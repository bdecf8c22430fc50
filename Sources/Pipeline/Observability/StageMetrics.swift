import Foundation
import Metrics
import Payloads
import Synchronization
import SwitchyardCore

/// swift-metrics instruments of the stages (exported by whatever backend the process bootstrapped,
/// Prometheus in the CLI): tasks done, stage latency, errors by code, spend by model.
///
/// Cheap to call from every worker: each instrument is made once, on first use (after the process
/// bootstrapped its backend), and kept; making one per call cost a factory lookup and an allocation per
/// task. With no metrics backend bootstrapped the calls do nothing.
public struct StageMetrics: Sendable {
    private let instruments = Instruments()

    public init() {}

    /// Runs `body` and records its duration and `count` tasks for `stage`.
    public func time<T>(_ stage: String, count: Int, _ body: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        defer {
            observe(stage, since: start)
            instruments.counter("switchyard_stage_tasks_total", [("stage", stage)]).increment(by: count)
        }
        return try body()
    }

    /// Records one task of `stage` that started at `start`.
    public func observe(_ stage: String, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        instruments.timer("switchyard_stage_latency_seconds", [("stage", stage)]).recordNanoseconds(elapsed.nanoseconds)
    }

    /// Counts a finished record: errors by code, spend by model.
    public func count(_ record: OutputRecord) {
        if let error = record.error {
            instruments.counter("switchyard_errors_total", [("code", error.code.rawValue)]).increment()
        } else {
            instruments.counter("switchyard_results_total", []).increment()
        }
        if let routing = record.routing {
            if let actual = routing.actualCostUSD {
                instruments.spend(routing.model, kind: "actual").increment(by: actual)
            }
            instruments.spend(routing.model, kind: "estimated").increment(by: routing.estimatedCostUSD)
            if routing.attempts > 1 {
                instruments.counter("switchyard_retries_total", [("model", routing.model)]).increment(by: routing.attempts - 1)
            }
        }
    }

    /// Instruments by label and dimensions, made on first use.
    final class Instruments: Sendable {
        private struct Key: Hashable {
            var label: String
            var dimensions: [String]
        }

        private let counters = Mutex<[Key: Counter]>([:])
        private let timers = Mutex<[Key: Metrics.Timer]>([:])
        private let spends = Mutex<[Key: FloatingPointCounter]>([:])

        private static func key(_ label: String, _ dimensions: [(String, String)]) -> Key {
            Key(label: label, dimensions: dimensions.flatMap { [$0.0, $0.1] })
        }

        func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
            counters.withLock { cache in
                let key = Self.key(label, dimensions)
                if let made = cache[key] { return made }
                let made = Counter(label: label, dimensions: dimensions)
                cache[key] = made
                return made
            }
        }

        func timer(_ label: String, _ dimensions: [(String, String)]) -> Metrics.Timer {
            timers.withLock { cache in
                let key = Self.key(label, dimensions)
                if let made = cache[key] { return made }
                let made = Metrics.Timer(label: label, dimensions: dimensions)
                cache[key] = made
                return made
            }
        }

        func spend(_ model: String, kind: String) -> FloatingPointCounter {
            spends.withLock { cache in
                let key = Key(label: model, dimensions: [kind])
                if let made = cache[key] { return made }
                let made = FloatingPointCounter(label: "switchyard_spend_usd_total", dimensions: [("model", model), ("kind", kind)])
                cache[key] = made
                return made
            }
        }
    }
}
