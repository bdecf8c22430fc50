import ArgumentParser
import Logging
import Pipeline

extension LogFormat: ExpressibleByArgument {}

/// How every command logs: one format everywhere (logfmt, or JSON lines), on stderr.
struct LoggingOptions: ParsableArguments {
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(name: .customLong("log-format"), help: "logfmt (key=value, the default) or json (one object a line).")
    var logFormat: LogFormat = .logfmt

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("unknown --log-level '\(logLevel)': use trace, debug, info, notice, warning, error or critical")
        }
    }

    /// Installs the process's log handler on stderr and returns a logger named `label` and the console
    /// (the progress bar draws there, so log lines never glue onto it).
    func bootstrap(label: String) -> (Logger, Console) {
        let console = Console()
        return (ProcessLogging.bootstrap(label: label, level: logLevel, format: logFormat, console: console), console)
    }
}

/// Options every pipeline process takes (`run` and each `stage`): how it logs and where it serves metrics.
struct ProcessOptions: ParsableArguments {
    @OptionGroup var logging: LoggingOptions

    @Option(name: .customLong("metrics-port"), help: "Serve Prometheus /metrics on this port (default metrics.port; none when unset).")
    var metricsPort: Int?

    func validate() throws {
        if let metricsPort, !(0...65_535).contains(metricsPort) {
            throw ValidationError("--metrics-port must be a TCP port (0-65535)")
        }
    }

    /// Bootstraps Prometheus and returns the `/metrics` endpoint when a port is set (flag, else
    /// `metrics.port`): a service to run beside the process's stage.
    func metrics(_ configuration: PipelineConfiguration, logger: Logger) -> MetricsEndpoint? {
        guard let port = metricsPort ?? configuration.metrics.port else { return nil }
        return MetricsEndpoint.bootstrap(host: configuration.metrics.host, port: port, logger: logger)
    }
}
