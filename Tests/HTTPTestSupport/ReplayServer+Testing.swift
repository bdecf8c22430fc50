import Logging
import ReplayBackend

/// Runs the replay backend over `catalog` on a loopback port for the duration of `body`, shut down
/// gracefully; `body` gets the port and the responder (to read request counts).
public func withReplayServer<T: Sendable>(
    catalog: ReplayCatalog, configuration: ReplayConfiguration = ReplayConfiguration(),
    _ body: (Int, ReplayResponder) async throws -> T
) async throws -> T {
    let responder = ReplayResponder(catalog: catalog, configuration: configuration)
    let server = ReplayServer(responder: responder, logger: Logger(label: "test-replay") { _ in SwiftLogNoOpLogHandler() })
    return try await withRunningApplication({ server.makeApplication(onRunning: $0) }) { port in
        try await body(port, responder)
    }
}
