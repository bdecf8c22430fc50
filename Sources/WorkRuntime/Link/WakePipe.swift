import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wakes a socket's poll loop from another thread: the loop polls the read end next to its
/// socket; any thread calls `wake()`. Writes at most one byte per loop turn (an atomic flag
/// coalesces wakes), so posting work is cheap under load.
final class WakePipe: Sendable {
    let readEnd: Int32
    private let writeEnd: Int32
    private let pending = Atomic<Bool>(false)

    init() throws(WorkRuntimeError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw .system(operation: "pipe", errno: errno) }
        readEnd = fds[0]
        writeEnd = fds[1]
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// Makes the loop's next (or current) poll return. Safe from any thread.
    func wake() {
        guard !pending.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// The loop is awake and will look at its mailbox after `resumeWakes()`: until then `wake()`
    /// writes nothing. For work the loop runs itself (inline handlers posting their answers), which
    /// would otherwise cost a pipe write and read per turn.
    func holdWakes() {
        pending.store(true, ordering: .sequentiallyConsistent)
    }

    /// Ends `holdWakes()`; the loop must then look at its mailbox before it polls again, since
    /// posts made meanwhile did not write to the pipe.
    func resumeWakes() {
        pending.store(false, ordering: .sequentiallyConsistent)
    }

    /// Called by the loop before it looks at its mailbox, when its poll saw the read end readable
    /// (reading an empty pipe would cost a system call for nothing).
    func drain() {
        pending.store(false, ordering: .releasing)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { buffer in
            while read(readEnd, buffer.baseAddress, buffer.count) > 0 {}
        }
    }
}
