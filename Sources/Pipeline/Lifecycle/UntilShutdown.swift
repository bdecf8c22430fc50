import ServiceLifecycle
import Synchronization
import WorkRuntime

/// Runs a service, then stays until the group shuts down.
///
/// A `ServiceGroup` shuts services down one at a time, in reverse order, and treats a service that
/// returns unasked during that as an error. In one process (`switchyard run`) every runtime ends with the
/// run, in an order nobody controls, so each is wrapped in this: only `whenDone` (the sink's end) starts
/// the shutdown.
struct UntilShutdown: Service {
    let service: any Service
    /// Called once `service` returned, before waiting (e.g. start the group's graceful shutdown).
    var whenDone: @Sendable () async -> Void = {}

    func run() async throws {
        try await service.run()
        await whenDone()
        try? await gracefulShutdown()
    }
}

/// Starts a `ServiceGroup`'s graceful shutdown from inside one of its services (set once the group exists).
final class GroupShutdownTrigger: Sendable {
    private let group = Mutex<ServiceGroup?>(nil)

    func attach(_ serviceGroup: ServiceGroup) { group.withLock { $0 = serviceGroup } }

    func trigger() async {
        await group.withLock { $0 }?.triggerGracefulShutdown()
    }
}

/// Starts a service once the coordinator has bound its endpoint (`inproc://` needs the bind before any connect).
struct AfterCoordinatorBound: Service {
    let server: CoordinatorServer
    let service: any Service

    func run() async throws {
        _ = await server.bound()
        try await service.run()
    }
}
