import Metrics
import Prometheus

/// Every metric family Switchyard exports, with the `# HELP` text Prometheus shows for it.
///
/// swift-metrics has no place for help text and swift-prometheus' own factory registers families without
/// any, so `HelpfulPrometheusFactory` looks it up here when a family is first made.
public enum MetricsCatalog {
    public static let help: [String: String] = [
        "switchyard_stage_tasks_total": "Tasks a stage worker of this process finished, by stage.",
        "switchyard_stage_latency_seconds": "Time one task spent in a stage worker's handler, by stage.",
        "switchyard_stage_queue_depth": "Tasks waiting for a worker at the coordinator, by stage: the stage whose queue grows needs more workers.",
        "switchyard_coordinator_requests_in_flight": "Requests accepted by the coordinator and not yet written by the sink.",
        "switchyard_coordinator_workers": "Stage workers connected to the coordinator.",
        "switchyard_coordinator_stage_workers": "Stage workers connected to the coordinator, by stage.",
        "switchyard_coordinator_tasks_completed_total": "Tasks the coordinator saw finished (DONE), by stage.",
        "switchyard_coordinator_leases_expired_total": "Leases that expired before the worker answered (the task was requeued or gave up), by stage.",
        "switchyard_coordinator_requeues_total": "Tasks handed out again (lease expired, worker lost or left, retryable failure), by stage.",
        "switchyard_results_total": "Result records written (a backend answered).",
        "switchyard_errors_total": "Error records, by error code.",
        "switchyard_retries_total": "HTTP retries behind the written records, by model.",
        "switchyard_spend_usd_total": "Spend of the written records in USD, by model and kind (estimated or actual).",
        "switchyard_dispatch_requests_total": "Requests the dispatcher finished, by model and outcome (ok or error).",
        "switchyard_dispatch_attempts_total": "HTTP attempts sent to a backend, by model.",
        "switchyard_dispatch_retries_total": "HTTP attempts repeated on the same model after a transient failure, by model.",
        "switchyard_dispatch_fallbacks_total": "Requests that gave up on a model and moved to the next of the ranking, by the model given up.",
        "switchyard_dispatch_errors_total": "Requests the dispatcher could not answer, by error code.",
        "switchyard_dispatch_attempt_duration_seconds": "Duration of one HTTP attempt, by model.",
        "switchyard_dispatch_spend_usd_total": "Actual spend from the backends' usage in USD, by model.",
        "switchyard_dispatch_tokens_total": "Tokens the backends reported, by model and kind (prompt or completion).",
        "switchyard_dispatch_in_flight": "HTTP requests in flight now.",
        "switchyard_dispatch_backend_ready": "1 when the backend answered its readiness check and serves the model, by model.",
    ]

    /// The help text of `family`; a family missing from the catalogue still gets one, naming itself.
    public static func help(for family: String) -> String {
        help[family] ?? "Switchyard metric \(family)."
    }
}

/// A swift-metrics factory over a `PrometheusCollectorRegistry` that registers every family with its help
/// text (`MetricsCatalog`), so `/metrics` has `# HELP` and `# TYPE` for each. Same instruments as
/// swift-prometheus' own factory: counters, gauges for meters and plain recorders, histograms for timers
/// and aggregating recorders.
struct HelpfulPrometheusFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry
    /// Buckets of timers and aggregating recorders (swift-prometheus' defaults).
    let durationBuckets: [Duration]
    let valueBuckets: [Double]

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        let defaults = PrometheusMetricsFactory(registry: registry)
        durationBuckets = defaults.defaultDurationHistogramBuckets
        valueBuckets = defaults.defaultValueHistogramBuckets
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: Self.descriptor(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: Self.descriptor(label), labels: dimensions)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: Self.descriptor(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: Self.descriptor(label), labels: dimensions) }
        return registry.makeValueHistogram(descriptor: Self.descriptor(label), labels: dimensions, buckets: valueBuckets)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(descriptor: Self.descriptor(label), labels: dimensions, buckets: durationBuckets)
    }

    /// The family's name as given, with its help text.
    static func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: MetricsCatalog.help(for: label))
    }

    func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    func destroyRecorder(_ handler: any RecorderHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
        if let histogram = handler as? ValueHistogram { registry.unregisterValueHistogram(histogram) }
    }

    func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }
}
