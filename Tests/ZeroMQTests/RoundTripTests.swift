import Foundation
import Testing
@testable import ZeroMQ

/// Every pattern the pipeline uses, over every transport.
@Suite("Round trips")
struct RoundTripTests {
    @Test("PUSH → PULL", arguments: Transport.allCases)
    func pushPull(transport: Transport) throws {
        let context = try Context()
        let pull = try context.socket(.pull)
        let push = try context.socket(.push)
        try push.connect(try transport.bindFresh(pull))
        for index in 0..<10 {
            try push.send(["task \(index)".bytes])
        }
        for index in 0..<10 {
            let frames = try pull.receiveMultipart(timeout: .seconds(5))
            #expect(frames.map(\.string) == ["task \(index)"])
        }
    }

    @Test("DEALER ⇄ ROUTER", arguments: Transport.allCases)
    func dealerRouter(transport: Transport) throws {
        let context = try Context()
        let router = try context.socket(.router, options: SocketOptions(routerMandatory: true))
        let dealer = try context.socket(.dealer, options: SocketOptions(routingID: "worker-1".bytes))
        try dealer.connect(try transport.bindFresh(router))
        #expect(try dealer.routingID == "worker-1".bytes)

        try dealer.send(["READY".bytes, "profile".bytes])
        let request = try router.receiveMultipart(timeout: .seconds(5))
        #expect(request.map(\.string) == ["worker-1", "READY", "profile"])

        // Reply to the routing id ROUTER saw; the dealer gets the frames after it.
        try router.send([request[0].bytes, "TASK".bytes, "42".bytes])
        let reply = try dealer.receiveMultipart(timeout: .seconds(5))
        #expect(reply.map(\.string) == ["TASK", "42"])
    }

    @Test("PUB → SUB with prefix filter", arguments: Transport.allCases)
    func pubSub(transport: Transport) throws {
        let context = try Context()
        let pub = try context.socket(.pub)
        let sub = try context.socket(.sub, options: SocketOptions(subscriptions: ["wanted".bytes]))
        try sub.connect(try transport.bindFresh(pub))

        // Subscriptions travel to the publisher asynchronously (slow joiner): publish until
        // the first message gets through, with the unwanted topic interleaved.
        var received: [Message]?
        for _ in 0..<200 where received == nil {
            try pub.send(["unwanted".bytes, "no".bytes])
            try pub.send(["wanted".bytes, "yes".bytes])
            received = try? sub.receiveMultipart(timeout: .milliseconds(25))
        }
        let frames = try #require(received, "SUB never received the subscribed topic")
        #expect(frames.map(\.string) == ["wanted", "yes"])
        // Nothing unwanted is ever delivered.
        while let more = try? sub.receiveMultipart(timeout: .milliseconds(20)) {
            #expect(more.first?.string == "wanted")
        }
    }

    @Test("PAIR ⇄ PAIR", arguments: Transport.allCases)
    func pair(transport: Transport) throws {
        let context = try Context()
        let left = try context.socket(.pair)
        let right = try context.socket(.pair)
        try right.connect(try transport.bindFresh(left))
        try right.send(["ping".bytes])
        #expect(try left.receiveMultipart(timeout: .seconds(5)).map(\.string) == ["ping"])
        try left.send(["pong".bytes])
        #expect(try right.receiveMultipart(timeout: .seconds(5)).map(\.string) == ["pong"])
    }

    @Test("Data and Message frames interoperate")
    func dataAndMessageFrames() throws {
        let context = try Context()
        let pull = try context.socket(.pull)
        let push = try context.socket(.push)
        try push.connect(try Transport.inproc.bindFresh(pull))
        try push.send([Data("a".utf8), Data(), Data("c".utf8)])
        #expect(try pull.receiveMultipart(timeout: .seconds(5)).map(\.data) == [Data("a".utf8), Data(), Data("c".utf8)])
        try push.send([Message(string: "x"), Message(), Message(bytes: [1, 2, 3])])
        #expect(try pull.receiveMultipartBytes(timeout: .seconds(5)) == ["x".bytes, [], [1, 2, 3]])
    }

    @Test("Reusing one Message for receive")
    func reuseReceiveMessage() throws {
        let context = try Context()
        let pull = try context.socket(.pull)
        let push = try context.socket(.push)
        try push.connect(try Transport.inproc.bindFresh(pull))
        let message = Message()
        for index in 0..<100 {
            let payload = [UInt8](repeating: UInt8(index), count: index)
            try payload.withUnsafeBytes { try push.send(bytes: $0) }
            try pull.receive(into: message, timeout: .seconds(5))
            #expect(message.bytes == payload)
            #expect(!message.hasMore)
        }
    }
}
