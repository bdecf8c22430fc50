import ArgumentParser
import Logging
import Pipeline

/// Options every pipeline process takes (`run` and each `stage`): how it logs and where it serves metrics.
struct ProcessOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(name: .customLong("metrics-port"), help: "Serve Prometheus /metrics on this port (default metrics.port; none when unset).")
    var metricsPort: Int?

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("unknown --log-level '\(logLevel)': use trace, debug, info, notice, warning, error or critical")
        }
        if let metricsPort, !(0...65_535).contains(metricsPort) {
            throw ValidationError("--metrics-port must be a TCP port (0-65535)")
        }
    }

    /// Bootstraps Prometheus and serves `/metrics` when a port is set (flag, else `metrics.port`);
    /// cancel the returned task at the end of the process.
    func startMetrics(_ configuration: PipelineConfiguration, logger: Logger) -> Task<Void, any Error>? {
        guard let port = metricsPort ?? configuration.metrics.port else { return nil }
        let endpoint = MetricsEndpoint.bootstrap(host: configuration.metrics.host, port: port, logger: logger)
        return Task { try await endpoint.run() }
    }
}
