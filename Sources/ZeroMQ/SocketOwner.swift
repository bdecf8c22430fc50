import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who may use a socket. libzmq sockets are not thread-safe: a socket belongs to one thread
/// or one serial `DispatchQueue` at a time, and moves only by an explicit `Socket.transfer(to:)`.
/// Debug builds check every call against the owner and trap on misuse; release builds
/// compile the check out. Do not use a socket from Swift concurrency tasks that may resume on
/// different threads: run its loop on a dedicated `Thread` or a serial queue.
public enum SocketOwner: Sendable {
    /// The thread calling `transfer(to:)` (or creating the socket).
    case currentThread
    /// Work items of this serial queue (checked with `dispatchPrecondition(.onQueue)`).
    case queue(DispatchQueue)
    /// Whichever thread uses the socket next claims it: for handing a socket from the thread
    /// that built it to a thread that does not exist yet.
    case nextUser
}

/// The debug-build ownership check. Empty in release builds.
final class OwnershipCheck: Sendable {
    #if DEBUG
    private enum Resolved: Sendable {
        case thread(pthread_t)
        case queue(DispatchQueue)
        case unclaimed
    }

    private let owner: Mutex<Resolved>

    init() { owner = Mutex(.thread(pthread_self())) }

    func transfer(to newOwner: SocketOwner, socket: @autoclosure () -> String) {
        check(socket())
        owner.withLock { $0 = Self.resolve(newOwner) }
    }

    func check(_ socket: @autoclosure () -> String) {
        let current = owner.withLock { state -> Resolved in
            if case .unclaimed = state { state = .thread(pthread_self()) }
            return state
        }
        switch current {
        case .thread(let thread):
            if pthread_equal(thread, pthread_self()) == 0 {
                preconditionFailure(
                    "ZeroMQ \(socket()) used from a thread that does not own it: a socket belongs to the thread "
                        + "or serial queue that made it; hand it over with socket.transfer(to:) first"
                )
            }
        case .queue(let queue):
            dispatchPrecondition(condition: .onQueue(queue))
        case .unclaimed:
            break
        }
    }

    private static func resolve(_ owner: SocketOwner) -> Resolved {
        switch owner {
        case .currentThread: return .thread(pthread_self())
        case .queue(let queue): return .queue(queue)
        case .nextUser: return .unclaimed
        }
    }
    #else
    init() {}
    @inline(__always) func transfer(to newOwner: SocketOwner, socket: @autoclosure () -> String) {}
    @inline(__always) func check(_ socket: @autoclosure () -> String) {}
    #endif
}
