import Foundation
import Testing
@testable import ZeroMQ

#if DEBUG
/// Debug builds trap when a socket is used off its owner (the check is compiled out in release).
@Suite("Socket ownership (debug check)")
struct OwnershipTests {
    @Test("Using a socket from a thread that does not own it traps")
    func wrongThreadTraps() async {
        await #expect(processExitsWith: .failure) {
            guard let context = try? Context(), let socket = try? context.socket(.push) else { return }
            let done = DispatchSemaphore(value: 0)
            let thread = Thread {
                _ = try? socket.connect("inproc://elsewhere")  // not the creating thread: traps
                done.signal()
            }
            thread.start()
            done.wait()
        }
    }

    @Test("transfer(to: .nextUser) lets another thread claim the socket")
    func handoffToThread() throws {
        let context = try Context()
        let pull = try context.socket(.pull)
        let endpoint = try Transport.inproc.bindFresh(pull)
        let push = try context.socket(.push)
        push.transfer(to: .nextUser)
        withDeadline(seconds: 5, "send from the new owner") {
            try push.connect(endpoint)
            try push.send(["from the worker thread".bytes])
            push.transfer(to: .nextUser)  // give it back before this thread ends
        }
        #expect(try pull.receiveMultipart(timeout: .seconds(5)).map(\.string) == ["from the worker thread"])
    }

    @Test("A socket owned by a queue traps when used off that queue")
    func queueOwnerTraps() async {
        await #expect(processExitsWith: .failure) {
            guard let context = try? Context(), let socket = try? context.socket(.push) else { return }
            socket.transfer(to: .queue(DispatchQueue(label: "owner")))
            _ = try? socket.connect("inproc://elsewhere")  // not on the queue: traps
        }
    }
}
#endif
