import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// A process's Prometheus `/metrics` endpoint: bootstraps swift-metrics with a
/// `PrometheusCollectorRegistry` (every family with `# HELP` and `# TYPE`, see `MetricsCatalog`) and
/// serves it over a tiny Hummingbird server.
///
/// Bootstrap once per process, before any stage starts (swift-metrics allows one bootstrap). A `Service`:
/// run it in the process's `ServiceGroup`, whose graceful shutdown stops it (it installs no signal
/// handler of its own, so SIGTERM reaches the stage it serves beside).
public struct MetricsEndpoint: Service, Sendable {
    public let host: String
    public let port: Int
    public let registry: PrometheusCollectorRegistry
    private let logger: Logger

    /// Installs the Prometheus factory as the process's metrics backend.
    public static func bootstrap(host: String, port: Int, logger: Logger) -> MetricsEndpoint {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(HelpfulPrometheusFactory(registry: registry))
        return MetricsEndpoint(host: host, port: port, registry: registry, logger: logger)
    }

    init(host: String, port: Int, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.host = host
        self.port = port
        self.registry = registry
        self.logger = logger
    }

    /// Serves `GET /metrics` (Prometheus text format) until graceful shutdown or cancellation.
    public func run() async throws {
        let router = Router(context: BasicRequestContext.self)
        let registry = self.registry
        router.get("/metrics") { _, _ -> Response in
            var fields = HTTPFields()
            fields[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        let logger = self.logger
        let host = self.host
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "switchyard-metrics"),
            onServerRunning: { channel in
                logger.info("metrics endpoint listening", metadata: ["url": "http://\(host):\(channel.localAddress?.port ?? 0)/metrics"])
            },
            logger: logger)
        try await app.run()
    }
}
