import Foundation
import Testing
@testable import ZeroMQ

@Suite("Poller")
struct PollerTests {
    @Test("Poll reports exactly the sockets with messages, and times out when idle")
    func pollSeveral() throws {
        let context = try Context()
        let first = try context.socket(.pull)
        let second = try context.socket(.pull)
        let firstPush = try context.socket(.push)
        let secondPush = try context.socket(.push)
        try firstPush.connect(try Transport.inproc.bindFresh(first))
        try secondPush.connect(try Transport.tcp.bindFresh(second))

        let poller = Poller()
        let firstIndex = try poller.register(first)
        let secondIndex = try poller.register(second)
        #expect(poller.count == 2)

        #expect(try poller.poll(timeout: .milliseconds(10)) == 0)

        try secondPush.send(["b".bytes])
        #expect(try poller.poll(timeout: .seconds(5)) == 1)
        #expect(poller.events(at: secondIndex).contains(.readable))
        #expect(poller.events(at: firstIndex).isEmpty)
        #expect(poller.isReadable(second))
        #expect(!poller.isReadable(first))
        #expect(try second.receiveMultipart(timeout: .zero).map(\.string) == ["b"])

        try firstPush.send(["a".bytes])
        try secondPush.send(["c".bytes])
        var seen: Set<String> = []
        while seen.count < 2, try poller.poll(timeout: .seconds(5)) > 0 {
            for socket in [first, second] where poller.isReadable(socket) {
                seen.insert(try socket.receiveMultipart(timeout: .zero)[0].string)
            }
        }
        #expect(seen == ["a", "c"])

        poller.unregister(first)
        #expect(poller.count == 1)
        try firstPush.send(["ignored".bytes])
        #expect(try poller.poll(timeout: .milliseconds(20)) == 0)
    }

    @Test("Writable events and file descriptors")
    func writableAndFileDescriptor() throws {
        let context = try Context()
        let dealer = try context.socket(.dealer)
        let router = try context.socket(.router)
        try dealer.connect(try Transport.inproc.bindFresh(router))
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }

        let poller = Poller()
        let dealerIndex = try poller.register(dealer, for: [.writable])
        let pipeIndex = poller.register(fileDescriptor: fds[0])
        #expect(try poller.poll(timeout: .seconds(5)) == 1)
        #expect(poller.events(at: dealerIndex) == .writable)

        poller.update(at: dealerIndex, events: .readable)
        var byte: UInt8 = 1
        #expect(write(fds[1], &byte, 1) == 1)
        #expect(try poller.poll(timeout: .seconds(5)) == 1)
        #expect(poller.events(at: pipeIndex).contains(.readable))
    }
}
