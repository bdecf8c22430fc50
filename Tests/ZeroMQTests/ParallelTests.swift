import Foundation
import Testing
@testable import ZeroMQ

@Suite("Parallel sockets")
struct ParallelTests {
    @Test("32 socket pairs on concurrent threads, one shared context")
    func manyPairs() throws {
        let context = try Context()
        let pairs = 32
        let messages = 200
        let failures = LockedBox<[String]>([])
        withDeadline(seconds: 20, "32 parallel pairs") {
            DispatchQueue.concurrentPerform(iterations: pairs) { pairIndex in
                do {
                    // Each iteration owns its sockets on its own thread.
                    let router = try context.socket(.router)
                    let dealer = try context.socket(.dealer, options: SocketOptions(routingID: "d\(pairIndex)".bytes))
                    let transport: Transport = pairIndex.isMultiple(of: 2) ? .inproc : .tcp
                    try dealer.connect(try transport.bindFresh(router))
                    for index in 0..<messages {
                        try dealer.send(["\(pairIndex)".bytes, "\(index)".bytes])
                        let request = try router.receiveMultipart(timeout: .seconds(5))
                        guard request.map(\.string) == ["d\(pairIndex)", "\(pairIndex)", "\(index)"] else {
                            throw ZeroMQError.invalidArgument("pair \(pairIndex) got \(request.map(\.string))")
                        }
                        try router.send([request[0].bytes, "ack \(index)".bytes])
                        let reply = try dealer.receiveMultipart(timeout: .seconds(5))
                        guard reply.map(\.string) == ["ack \(index)"] else {
                            throw ZeroMQError.invalidArgument("pair \(pairIndex) reply \(reply.map(\.string))")
                        }
                    }
                } catch {
                    let text = "pair \(pairIndex): \(error)"
                    failures.set(failures.get() + [text])
                }
            }
        }
        #expect(failures.get().isEmpty, "\(failures.get())")
    }

    @Test("A socket handed to a serial queue is used there")
    func transferToQueue() throws {
        let context = try Context()
        let pull = try context.socket(.pull)
        let endpoint = try Transport.inproc.bindFresh(pull)
        let push = try context.socket(.push)
        try push.connect(endpoint)
        let queue = DispatchQueue(label: "owner")
        push.transfer(to: .queue(queue))
        let sent = LockedBox<(any Error)?>(nil)
        queue.sync {
            do {
                for index in 0..<5 { try push.send(["\(index)".bytes]) }
            } catch { sent.set(error) }
        }
        #expect(sent.get() == nil)
        for index in 0..<5 {
            #expect(try pull.receiveMultipart(timeout: .seconds(5)).map(\.string) == ["\(index)"])
        }
        // Hand back to this thread so deinit/close from here is legitimate.
        queue.sync { push.transfer(to: .nextUser) }
        push.close()
    }
}
