import Foundation
import Testing
@testable import ZeroMQ

/// The three transports every pattern is tested over.
enum Transport: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case inproc, ipc, tcp

    var testDescription: String { rawValue }

    /// Binds `socket` on a fresh endpoint of this transport and returns the endpoint peers
    /// connect to (the resolved port for tcp).
    func bindFresh(_ socket: Socket) throws -> String {
        switch self {
        case .inproc:
            let endpoint = "inproc://test-\(UUID().uuidString)"
            try socket.bind(endpoint)
            return endpoint
        case .ipc:
            let directory = try TemporaryDirectory.make()
            let endpoint = "ipc://\(directory)/s"
            try socket.bind(endpoint)
            return endpoint
        case .tcp:
            try socket.bind("tcp://127.0.0.1:*")
            let endpoint = try socket.lastEndpoint
            #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
            #expect((try socket.lastPort ?? 0) > 0)
            return endpoint
        }
    }
}

enum TemporaryDirectory {
    /// A new short directory under /tmp (ipc paths must stay under ~100 bytes).
    static func make() throws -> String {
        let path = "/tmp/zmqt-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Runs `body` on its own thread and fails the test if it does not finish within `seconds`
/// (instead of hanging the whole test run). Sockets made inside `body` belong to that thread.
func withDeadline(
    seconds: Double,
    _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: @escaping @Sendable () throws -> Void
) {
    let done = DispatchSemaphore(value: 0)
    let failure = LockedBox<(any Error)?>(nil)
    let thread = Thread {
        do { try body() } catch { failure.set(error) }
        done.signal()
    }
    thread.start()
    if done.wait(timeout: .now() + seconds) == .timedOut {
        Issue.record("\(what) did not finish within \(seconds) s (hang)", sourceLocation: sourceLocation)
        return
    }
    if let error = failure.get() {
        Issue.record("\(what) threw \(error)", sourceLocation: sourceLocation)
    }
}

final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
}

extension String {
    var bytes: [UInt8] { Array(utf8) }
}
