import Foundation
import Wire
import WorkProtocol

/// Drives a `WorkCoordinator<String>` in memory: peers are names, the clock is a number.
public struct CoordinatorHarness {
    public var coordinator: WorkCoordinator<String>
    public var now: UInt64 = 1_000
    /// Every effect so far, in order.
    public var log: [WorkCoordinatorEffect<String>] = []
    public var journaledCompleted: [String] = []

    public init(_ configuration: WorkCoordinatorConfiguration, completed: Set<String> = []) {
        coordinator = WorkCoordinator(configuration: configuration, completed: completed)
    }

    /// Sends `message` from `peer` and returns the messages the coordinator sent, by recipient.
    @discardableResult
    public mutating func send(_ message: WireMessage, from peer: String) -> [(String, WireMessage)] {
        coordinator.receive(message, from: peer, now: now)
        return collect()
    }

    /// Delivers every message of one wire frame (a batch frame or a single message) from `peer`, as
    /// `CoordinatorServer` does, and returns what the coordinator sent in reply.
    @discardableResult
    public mutating func sendFrame(_ frame: [UInt8], from peer: String) throws -> [(String, WireMessage)] {
        let shared = Data(frame)
        var messages: [WireInboundMessage] = []
        try WireCodec.decodeInbound(shared, into: &messages)
        coordinator.receive(frame: shared, messages: messages, from: peer, now: now)
        return collect()
    }

    @discardableResult
    public mutating func advance(by millis: UInt64) -> [(String, WireMessage)] {
        now += millis
        coordinator.tick(now: now)
        return collect()
    }

    private mutating func collect() -> [(String, WireMessage)] {
        let effects = coordinator.takeEffects()
        log += effects
        var sent: [(String, WireMessage)] = []
        for effect in effects {
            switch effect {
            case .send(let peer, let message): sent.append((peer, message))
            case .journalCompleted(let id): journaledCompleted.append(id)
            default: break
            }
        }
        return sent
    }
}

extension Array where Element == (String, WireMessage) {
    /// The tasks sent to `peer`.
    public func tasks(to peer: String) -> [WireTask] {
        compactMap { recipient, message in
            if recipient == peer, case .task(let task) = message { return task }
            return nil
        }
    }

    /// The results sent to anyone.
    public var results: [WireResult] {
        compactMap { _, message in
            if case .result(let result) = message { return result }
            return nil
        }
    }

    /// Total credit granted to `peer`.
    public func granted(to peer: String) -> Int {
        reduce(0) { sum, item in
            if item.0 == peer, case .grant(let credit) = item.1 { return sum + Int(credit) }
            return sum
        }
    }

    public func contains(_ message: WireMessage, to peer: String) -> Bool {
        contains { $0.0 == peer && $0.1 == message }
    }
}

/// `text` as a payload.
public func payload(_ text: String) -> Data { Data(text.utf8) }
