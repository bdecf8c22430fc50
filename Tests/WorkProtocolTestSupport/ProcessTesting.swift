import Foundation
import SwitchyardCore

// Helpers for tests that drive real processes (the built `switchyard` binary) through the work
// protocol: WorkProtocolProcessTests here, SecureTransportProcessTests in PipelineTests.

/// The debug `switchyard` binary the process tests spawn (`swift build` makes it).
public let switchyardBinary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent(".build/debug/switchyard").path

/// Sleeps without holding one of Swift's cooperative threads (2 on this machine): a blocking `usleep` or
/// `waitUntilExit` here starves every other test running in parallel.
public func pause(_ microseconds: Int) async throws {
    try await Task.sleep(for: .microseconds(microseconds))
}

/// Runs a wall-clock-sensitive sequence (sleeps, kills) on a thread of its own and awaits its result, so
/// neither does it hold a cooperative thread nor can a busy pool delay its steps.
public func onTimedThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

public func onTimedThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

/// Waits for `process` to exit by polling (never blocks a cooperative thread).
public func waitForExit(_ process: Process) async {
    while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
}

/// A TCP port free on 127.0.0.1 right now.
public func freePort() throws -> Int {
    try LoopbackPort.free()
}
