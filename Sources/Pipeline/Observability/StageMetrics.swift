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
            let made = instruments.stages[stage]
            made.latency.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
            made.tasks.increment(by: count)
        }
        return try body()
    }

    /// Records one task of `stage` that started at `start`.
    public func observe(_ stage: String, since start: ContinuousClock.Instant) {
        instruments.stages[stage].latency.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
    }

    /// Counts a finished record: errors by code, spend by model.
    public func count(_ record: OutputRecord) {
        if let error = record.error {
            instruments.errors[error.code.rawValue].increment()
        } else {
            instruments.results.increment()
        }
        if let routing = record.routing {
            let model = instruments.models[routing.model]
            if let actual = routing.actualCostUSD { model.actualUSD.increment(by: actual) }
            model.estimatedUSD.increment(by: routing.estimatedCostUSD)
            if routing.attempts > 1 { model.retries.increment(by: routing.attempts - 1) }
        }
    }

    /// Instruments made on first use and kept.
    ///
    /// Why kept by stage, by model and by error code rather than by label and dimensions: every task looks its
    /// instruments up (three to five per request), and a key of label plus a dimensions array cost an
    /// allocation and a hash of every string each time (perf of the dry pipeline: 2.5 % of its CPU). Now each
    /// lookup is one dictionary probe by one short string.
    final class Instruments: Sendable {
        struct Stage: Sendable {
            let latency: Metrics.Timer
            let tasks: Counter
        }

        struct Model: Sendable {
            let estimatedUSD: FloatingPointCounter
            let actualUSD: FloatingPointCounter
            let retries: Counter
        }

        let stages = MadeOnce { name in
            Stage(latency: Metrics.Timer(label: "switchyard_stage_latency_seconds", dimensions: [("stage", name)]),
                  tasks: Counter(label: "switchyard_stage_tasks_total", dimensions: [("stage", name)]))
        }
        let models = MadeOnce { name in
            Model(estimatedUSD: FloatingPointCounter(label: "switchyard_spend_usd_total", dimensions: [("model", name), ("kind", "estimated")]),
                  actualUSD: FloatingPointCounter(label: "switchyard_spend_usd_total", dimensions: [("model", name), ("kind", "actual")]),
                  retries: Counter(label: "switchyard_retries_total", dimensions: [("model", name)]))
        }
        let errors = MadeOnce { code in Counter(label: "switchyard_errors_total", dimensions: [("code", code)]) }
        private let resultCounter = MadeOnce { _ in Counter(label: "switchyard_results_total", dimensions: []) }

        var results: Counter { resultCounter[""] }
    }

    /// Values made on first use of their key (after the process bootstrapped its metrics backend) and kept,
    /// behind one lock.
    final class MadeOnce<Value: Sendable>: Sendable {
        private let made = Mutex<[String: Value]>([:])
        private let make: @Sendable (String) -> Value

        init(_ make: @escaping @Sendable (String) -> Value) { self.make = make }

        subscript(key: String) -> Value {
            made.withLock { made in
                if let value = made[key] { return value }
                let value = make(key)
                made[key] = value
                return value
            }
        }
    }
}
