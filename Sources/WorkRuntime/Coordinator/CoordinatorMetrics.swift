import Metrics
import Synchronization
import WorkProtocol

/// The coordinator's view of the pipeline, so an operator sees which stage is the bottleneck: the stage whose
/// queue grows while the others stay near zero needs more workers (`stages.NAME.workers`); leases expiring
/// or requeues climbing at one stage point at its workers.
///
/// Updated on the coordinator's tick (every ≤ 100 ms); with no metrics backend bootstrapped it does nothing.
final class CoordinatorMetrics: Sendable {
    private struct PerStage: Sendable {
        let queueDepth: Gauge
        let workers: Gauge
        let completed: Counter
        let leasesExpired: Counter
        let requeues: Counter
    }

    private let stages: [PerStage]
    private let inFlight = Gauge(label: "switchyard_coordinator_requests_in_flight")
    private let workers = Gauge(label: "switchyard_coordinator_workers")
    /// Counters already exported, per stage (the machine's are totals; Prometheus counters take increments).
    private let exported: LockedCounters

    /// - Parameter stages: the pipeline's stages in order (one series of each family per stage).
    init(stages: [String]) {
        self.stages = stages.map { stage in
            PerStage(
                queueDepth: Gauge(label: "switchyard_stage_queue_depth", dimensions: [("stage", stage)]),
                workers: Gauge(label: "switchyard_coordinator_stage_workers", dimensions: [("stage", stage)]),
                completed: Counter(label: "switchyard_coordinator_tasks_completed_total", dimensions: [("stage", stage)]),
                leasesExpired: Counter(label: "switchyard_coordinator_leases_expired_total", dimensions: [("stage", stage)]),
                requeues: Counter(label: "switchyard_coordinator_requeues_total", dimensions: [("stage", stage)]))
        }
        exported = LockedCounters(Array(repeating: StageCounters(), count: stages.count))
    }

    /// Per stage (in `stages` order): tasks waiting, workers and the machine's counters; requests accepted and
    /// not yet written, and live workers in all.
    func record(pending: [Int], stageWorkers: [Int], counters: [StageCounters], inFlight requests: Int, workers live: Int) {
        let previous = exported.swap(counters)
        for (index, stage) in stages.enumerated() {
            if index < pending.count { stage.queueDepth.record(pending[index]) }
            if index < stageWorkers.count { stage.workers.record(stageWorkers[index]) }
            guard index < counters.count else { continue }
            let now = counters[index], before = index < previous.count ? previous[index] : StageCounters()
            if now.completed > before.completed { stage.completed.increment(by: now.completed - before.completed) }
            if now.leasesExpired > before.leasesExpired { stage.leasesExpired.increment(by: now.leasesExpired - before.leasesExpired) }
            if now.requeued > before.requeued { stage.requeues.increment(by: now.requeued - before.requeued) }
        }
        inFlight.record(requests)
        workers.record(live)
    }
}

/// The last exported counters, swapped under a lock (the coordinator's loop is the only writer).
private final class LockedCounters: Sendable {
    private let value: Mutex<[StageCounters]>

    init(_ initial: [StageCounters]) { value = Mutex(initial) }

    func swap(_ new: [StageCounters]) -> [StageCounters] {
        value.withLock { current in
            defer { current = new }
            return current
        }
    }
}
