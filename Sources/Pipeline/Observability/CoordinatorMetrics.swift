import Metrics

/// Gauges of the coordinator's queues, so an operator sees which stage is the bottleneck: the stage whose
/// queue grows while the others stay near zero needs more workers (`stages.NAME.workers`).
///
/// Updated on the coordinator's tick (every ≤ 100 ms); with no metrics backend bootstrapped it does nothing.
struct CoordinatorMetrics: Sendable {
    private let queueDepth: [Gauge]
    private let inFlight = Gauge(label: "switchyard_coordinator_requests_in_flight")
    private let workers = Gauge(label: "switchyard_coordinator_workers")

    /// - Parameter stages: the pipeline's stages in order (one `switchyard_stage_queue_depth{stage}` each).
    init(stages: [String]) {
        queueDepth = stages.map { Gauge(label: "switchyard_stage_queue_depth", dimensions: [("stage", $0)]) }
    }

    /// Tasks waiting for a worker per stage (in `stages` order), requests accepted and not yet written, live workers.
    func record(pending: [Int], inFlight requests: Int, workers live: Int) {
        for (gauge, depth) in zip(queueDepth, pending) { gauge.record(depth) }
        inFlight.record(requests)
        workers.record(live)
    }
}
