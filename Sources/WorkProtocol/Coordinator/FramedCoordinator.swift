import Foundation
import Logging
import Wire

/// The coordinator as `CoordinatorServer` drives it: the state machine with its effects applied as they
/// happen (`CoordinatorEffectSink`: per-peer frames, journal records). Not generic, so that the machine is
/// specialized for that sink here, in its own module: a generic machine called from another module would
/// run unspecialized, every table access and effect through witness tables. Not thread-safe: owned by the
/// coordinator's loop.
package struct FramedCoordinator {
    private var machine: WorkCoordinatorMachine<CoordinatorEffectSink>

    /// `completed`: the requests the journal says are done; `sender`: where frames go.
    package init(configuration: WorkCoordinatorConfiguration, completed: Set<String>, journal: WorkJournal?,
                 logger: Logger, sender: any PeerFrameSender) {
        machine = WorkCoordinatorMachine(configuration: configuration, completed: completed,
                                         effects: CoordinatorEffectSink(sender: sender, journal: journal, logger: logger))
    }

    /// Handles the decoded `messages` of one `frame` from the peer with routing `identity`.
    package mutating func receive(frame: Data, messages: [WireInboundMessage], fromIdentity identity: UnsafeRawBufferPointer, now: UInt64) {
        let peer = machine.effects.peers.key(for: identity)
        machine.receive(frame: frame, messages: messages, from: peer, now: now)
    }

    /// The timers: leases, heartbeats, and the warnings the last window held back.
    package mutating func tick(now: UInt64) {
        machine.effects.tick(now: now)
        machine.tick(now: now)
    }

    /// Asks every worker to leave (DRAIN).
    package mutating func drainAll() { machine.drainAll() }

    /// Sends every peer's frame of this pass (fatal send errors are the sender's to report).
    package mutating func flushAll() { machine.effects.flushAll() }

    package var stats: WorkCoordinatorStats { machine.stats }
    package var isFinished: Bool { machine.isFinished }
    package var pendingCounts: [Int] { machine.pendingCounts }
    package var workerCounts: [Int] { machine.workerCounts }
    package var stageCounters: [StageCounters] { machine.stageCounters }
    package var inFlightCount: Int { machine.inFlightCount }
    package var workerCount: Int { machine.workerCount }
}
