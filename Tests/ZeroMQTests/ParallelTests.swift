import Foundation
import Testing
@testable import ZeroMQ

@Suite("Parallel sockets")
struct ParallelTests {
    @Test("32 socket pairs on 32 concurrent threads, one shared context")
    func manyPairs() throws {
        let context = try Context()
        let pairs = 32
        let messages = 200
        let failures = LockedBox<[String]>([])
        let finished = DispatchGroup()
        for pairIndex in 0..<pairs {
            finished.enter()
            // A thread per pair, all alive at once; each owns the two sockets it makes.
            let thread = Thread {
                defer { finished.leave() }
                do {
                    try Self.pingPong(context: context, pairIndex: pairIndex, messages: messages)
                } catch {
                    let text = "pair \(pairIndex): \(error)"
                    failures.set(failures.get() + [text])
                }
            }
            thread.start()
        }
        #expect(finished.wait(timeout: .now() + 20) == .success, "32 parallel pairs did not finish within 20 s")
        #expect(failures.get().isEmpty, "\(failures.get())")
    }

    private static func pingPong(context: Context, pairIndex: Int, messages: Int) throws {
        let router = try context.socket(.router)
        let dealer = try context.socket(.dealer, options: SocketOptions(routingID: "d\(pairIndex)".bytes))
        let transport = Transport.allCases[pairIndex % Transport.allCases.count]
        try dealer.connect(try transport.bindFresh(router))
        for index in 0..<messages {
            try dealer.send(["\(pairIndex)".bytes, "\(index)".bytes])
            let request = try router.receiveMultipart(timeout: .seconds(10))
            guard request.map(\.string) == ["d\(pairIndex)", "\(pairIndex)", "\(index)"] else {
                throw ZeroMQError.invalidArgument("pair \(pairIndex) got \(request.map(\.string))")
            }
            try router.send([request[0].bytes, "ack \(index)".bytes])
            let reply = try dealer.receiveMultipart(timeout: .seconds(10))
            guard reply.map(\.string) == ["ack \(index)"] else {
                throw ZeroMQError.invalidArgument("pair \(pairIndex) reply \(reply.map(\.string))")
            }
        }
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
