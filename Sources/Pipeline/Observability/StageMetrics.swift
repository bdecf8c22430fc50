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
            let made = instruments.stage(stage)
            made.latency.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
            made.tasks.increment(by: count)
        }
        return try body()
    }

    /// Records one task of `stage` that started at `start`.
    public func observe(_ stage: String, since start: ContinuousClock.Instant) {
        instruments.stage(stage).latency.recordNanoseconds((ContinuousClock.now - start).nanoseconds)
    }

    /// Counts a finished record: errors by code, spend by model.
    public func count(_ record: OutputRecord) {
        if let error = record.error {
            instruments.errors(error.code.rawValue).increment()
        } else {
            instruments.results.increment()
        }
        if let routing = record.routing {
            let model = instruments.model(routing.model)
            if let actual = routing.actualCostUSD { model.actualUSD.increment(by: actual) }
            model.estimatedUSD.increment(by: routing.estimatedCostUSD)
            if routing.attempts > 1 { model.retries.increment(by: routing.attempts - 1) }
        }
    }

    /// Instruments made on first use and kept.
    ///
    /// Why kept by stage and by model rather than by label and dimensions: every task looks its instruments
    /// up (three to five per request), and a key of label plus a dimensions array cost an allocation and a
    /// hash of every string each time (perf of the dry pipeline: 2.5 % of its CPU). A stage's instruments are
    /// found among a handful by name, a model's by one dictionary lookup.
    final class Instruments: Sendable {
        struct Stage: Sendable {
            let name: String
            let latency: Metrics.Timer
            let tasks: Counter
        }

        struct Model: Sendable {
            let estimatedUSD: FloatingPointCounter
            let actualUSD: FloatingPointCounter
            let retries: Counter
        }

        private let stages = Mutex<[Stage]>([])
        private let models = Mutex<[String: Model]>([:])
        private let errorCounters = Mutex<[String: Counter]>([:])
        private let resultCounter = Mutex<Counter?>(nil)

        func stage(_ name: String) -> Stage {
            stages.withLock { made in
                if let stage = made.first(where: { $0.name == name }) { return stage }
                let stage = Stage(
                    name: name,
                    latency: Metrics.Timer(label: "switchyard_stage_latency_seconds", dimensions: [("stage", name)]),
                    tasks: Counter(label: "switchyard_stage_tasks_total", dimensions: [("stage", name)]))
                made.append(stage)
                return stage
            }
        }

        func model(_ name: String) -> Model {
            models.withLock { made in
                if let model = made[name] { return model }
                let model = Model(
                    estimatedUSD: FloatingPointCounter(label: "switchyard_spend_usd_total", dimensions: [("model", name), ("kind", "estimated")]),
                    actualUSD: FloatingPointCounter(label: "switchyard_spend_usd_total", dimensions: [("model", name), ("kind", "actual")]),
                    retries: Counter(label: "switchyard_retries_total", dimensions: [("model", name)]))
                made[name] = model
                return model
            }
        }

        func errors(_ code: String) -> Counter {
            errorCounters.withLock { made in
                if let counter = made[code] { return counter }
                let counter = Counter(label: "switchyard_errors_total", dimensions: [("code", code)])
                made[code] = counter
                return counter
            }
        }

        var results: Counter {
            resultCounter.withLock { made in
                if let counter = made { return counter }
                let counter = Counter(label: "switchyard_results_total", dimensions: [])
                made = counter
                return counter
            }
        }
    }
}
