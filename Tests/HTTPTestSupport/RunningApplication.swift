import Hummingbird
import Logging
import ServiceLifecycle

/// Runs a Hummingbird application on a loopback port for the duration of `body`, then shuts it down
/// gracefully. Cancelling the serving task instead can trap in NIO ("Deinited NIOAsyncWriter without
/// calling finish()") when a client's connection is accepted but not yet served at that moment
/// (apple/swift-nio#3481): a client pool opening a connection as a test ends is enough.
///
/// `make` receives the callback the application must call with its port once it listens.
public func withRunningApplication<A: ApplicationProtocol, T: Sendable>(
    _ make: (@escaping @Sendable (Int) async -> Void) throws -> A,
    _ body: (Int) async throws -> T
) async throws -> T {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let app = try make { port in continuation.yield(port) }
    let group = ServiceGroup(
        configuration: .init(services: [app], gracefulShutdownSignals: [], logger: Logger(label: "test-server") { _ in SwiftLogNoOpLogHandler() }))
    let task = Task { try await group.run() }
    var iterator = ports.makeAsyncIterator()
    guard let port = await iterator.next() else {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        throw TestServerFailure("test server did not start")
    }
    do {
        let result = try await body(port)
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        return result
    } catch {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        throw error
    }
}

public struct TestServerFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
