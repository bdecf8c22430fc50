import Foundation
import Metrics
import Payloads
import SwitchyardCore

/// swift-metrics instruments of the stages (exported by whatever backend the process bootstrapped,
/// Prometheus in the CLI): tasks done, stage latency, errors by code, spend by model.
///
/// Cheap to call from every worker; with no metrics backend bootstrapped the calls do nothing.
public struct StageMetrics: Sendable {
    public init() {}

    /// Runs `body` and records its duration and `count` tasks for `stage`.
    public func time<T>(_ stage: String, count: Int, _ body: () throws -> T) rethrows -> T {
        let start = ContinuousClock.now
        defer {
            observe(stage, since: start)
            Counter(label: "switchyard_stage_tasks_total", dimensions: [("stage", stage)]).increment(by: count)
        }
        return try body()
    }

    /// Records one task of `stage` that started at `start`.
    public func observe(_ stage: String, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        Timer(label: "switchyard_stage_latency_seconds", dimensions: [("stage", stage)]).recordNanoseconds(
            elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }

    /// Counts a finished record: errors by code, spend by model.
    public func count(_ record: OutputRecord) {
        if let error = record.error {
            Counter(label: "switchyard_errors_total", dimensions: [("code", error.code.rawValue)]).increment()
        } else {
            Counter(label: "switchyard_results_total").increment()
        }
        if let routing = record.routing {
            if let actual = routing.actualCostUSD {
                FloatingPointCounter(label: "switchyard_spend_usd_total", dimensions: [("model", routing.model), ("kind", "actual")]).increment(by: actual)
            }
            FloatingPointCounter(label: "switchyard_spend_usd_total", dimensions: [("model", routing.model), ("kind", "estimated")]).increment(by: routing.estimatedCostUSD)
            if routing.attempts > 1 {
                Counter(label: "switchyard_retries_total", dimensions: [("model", routing.model)]).increment(by: routing.attempts - 1)
            }
        }
    }
}
