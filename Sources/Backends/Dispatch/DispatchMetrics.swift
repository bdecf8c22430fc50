import Metrics
import SwitchyardCore

/// The dispatcher's metrics, made once per model so the hot path only increments.
///
/// Names (Prometheus style, labels in braces):
/// `switchyard_dispatch_requests_total{model,outcome}`, `switchyard_dispatch_attempts_total{model}`,
/// `switchyard_dispatch_retries_total{model}`, `switchyard_dispatch_fallbacks_total{model}`,
/// `switchyard_dispatch_errors_total{code}`, `switchyard_dispatch_attempt_duration_seconds{model}`,
/// `switchyard_dispatch_spend_usd_total{model}`, `switchyard_dispatch_tokens_total{model,kind}`,
/// `switchyard_dispatch_in_flight`, `switchyard_dispatch_backend_ready{model}`. The process bootstraps the metrics backend; this module never does.
final class DispatchMetrics: Sendable {
    final class PerModel: Sendable {
        let succeeded: Counter
        let failed: Counter
        let attempts: Counter
        let retries: Counter
        let fallbacks: Counter
        let latency: Timer
        let spend: FloatingPointCounter
        let promptTokens: Counter
        let completionTokens: Counter
        /// 1 once the readiness check found the backend serving the model, 0 when it did not.
        let ready: Gauge

        init(model: String) {
            succeeded = Counter(label: "switchyard_dispatch_requests_total", dimensions: [("model", model), ("outcome", "ok")])
            failed = Counter(label: "switchyard_dispatch_requests_total", dimensions: [("model", model), ("outcome", "error")])
            attempts = Counter(label: "switchyard_dispatch_attempts_total", dimensions: [("model", model)])
            retries = Counter(label: "switchyard_dispatch_retries_total", dimensions: [("model", model)])
            fallbacks = Counter(label: "switchyard_dispatch_fallbacks_total", dimensions: [("model", model)])
            latency = Timer(label: "switchyard_dispatch_attempt_duration_seconds", dimensions: [("model", model)], preferredDisplayUnit: .seconds)
            spend = FloatingPointCounter(label: "switchyard_dispatch_spend_usd_total", dimensions: [("model", model)])
            promptTokens = Counter(label: "switchyard_dispatch_tokens_total", dimensions: [("model", model), ("kind", "prompt")])
            completionTokens = Counter(label: "switchyard_dispatch_tokens_total", dimensions: [("model", model), ("kind", "completion")])
            ready = Gauge(label: "switchyard_dispatch_backend_ready", dimensions: [("model", model)])
        }
    }

    let perModel: [String: PerModel]
    let errors: [ErrorCode: Counter]
    let unroutedFailures: Counter
    let inFlight: Meter

    init(models: [String]) {
        var perModel: [String: PerModel] = [:]
        for model in models { perModel[model] = PerModel(model: model) }
        self.perModel = perModel
        var errors: [ErrorCode: Counter] = [:]
        for code in ErrorCode.allCases {
            errors[code] = Counter(label: "switchyard_dispatch_errors_total", dimensions: [("code", code.rawValue)])
        }
        self.errors = errors
        unroutedFailures = Counter(label: "switchyard_dispatch_requests_total", dimensions: [("model", "none"), ("outcome", "error")])
        inFlight = Meter(label: "switchyard_dispatch_in_flight")
    }
}
