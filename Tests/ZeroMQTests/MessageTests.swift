import Foundation
import Testing
@testable import ZeroMQ

@Suite("Messages")
struct MessageTests {
    @Test("Multipart with empty and binary frames keeps frame boundaries")
    func multipart() throws {
        let context = try Context()
        let router = try context.socket(.router)
        let dealer = try context.socket(.dealer)
        try dealer.connect(try Transport.tcp.bindFresh(router))
        let frames: [[UInt8]] = [[], [0, 1, 2, 255], "text".bytes, [], Array(repeating: 7, count: 1000)]
        try dealer.send(frames)
        let received = try router.receiveMultipart(timeout: .seconds(5))
        #expect(received.count == frames.count + 1)
        #expect(received.dropFirst().map(\.bytes) == frames)
        #expect(received.dropLast().allSatisfy { $0.hasMore })
        #expect(received.last?.hasMore == false)
    }

    @Test("16 MiB message, zero-copy, over every transport", arguments: Transport.allCases)
    func largeMessage(transport: Transport) throws {
        let context = try Context()
        let pull = try context.socket(.pull)
        let push = try context.socket(.push)
        try push.connect(try transport.bindFresh(pull))
        let count = 16 * 1024 * 1024
        var payload = [UInt8](repeating: 0, count: count)
        for index in stride(from: 0, to: count, by: 4093) { payload[index] = UInt8(truncatingIfNeeded: index / 4093) }
        try push.send(["big".bytes, payload])
        let frames = try pull.receiveMultipart(timeout: .seconds(10))
        #expect(frames.count == 2)
        #expect(frames[1].count == count)
        #expect(frames[1].bytes == payload)
    }

    @Test("takeData moves a large payload out (message left empty and reusable), copies a small one; bytes intact", arguments: Transport.allCases)
    func takeData(transport: Transport) throws {
        let context = try Context()
        let pull = try context.socket(.pull)
        let push = try context.socket(.push)
        try push.connect(try transport.bindFresh(pull))
        let large = (0..<(Message.adoptionThreshold * 5)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let small = Array("small".utf8)
        try push.send(Message(bytes: large))
        try push.send(Message(bytes: small))
        try push.send(Message(bytes: large))
        let frame = Message()
        try pull.receive(into: frame, timeout: .seconds(5))
        let first = frame.takeData()
        #expect(frame.count == 0, "a large payload is moved out")
        try pull.receive(into: frame, timeout: .seconds(5))
        let second = frame.takeData()
        #expect(frame.count == small.count, "a small payload is copied; the message keeps it")
        try pull.receive(into: frame, timeout: .seconds(5))
        let third = frame.takeData()
        // The slices outlive the `Data` they were cut from and the message reused after it.
        let slice = first[100..<200]
        #expect(Array(first) == large && Array(second) == small && Array(third) == large)
        #expect(Array(slice) == Array(large[100..<200]))
    }

    @Test("Zero-copy Data frame is released once libzmq is done with it")
    func zeroCopyRelease() throws {
        let released = LockedBox(false)
        let count = Message.zeroCopyThreshold * 2
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
        buffer.initializeMemory(as: UInt8.self, repeating: 0xAB)
        do {
            let context = try Context()
            let pull = try context.socket(.pull)
            let push = try context.socket(.push)
            try push.connect(try Transport.inproc.bindFresh(pull))
            let message = Message(unsafeNoCopy: buffer) { owned in
                owned.deallocate()
                released.set(true)
            }
            #expect(message.count == count)
            try push.send(message)
            #expect(message.count == 0, "a sent message is emptied and reusable")
            let received = try pull.receive(timeout: .seconds(5))
            #expect(received.count == count)
            #expect(received.withUnsafeBytes { $0.allSatisfy { $0 == 0xAB } })
        }
        #expect(released.get(), "the free callback ran after the last reference went")
    }

    @Test("Large Data and [UInt8] frames round-trip through the zero-copy path")
    func zeroCopyDataAndArray() throws {
        let context = try Context()
        let pull = try context.socket(.pull)
        let push = try context.socket(.push)
        try push.connect(try Transport.tcp.bindFresh(pull))
        let array = (0..<(Message.zeroCopyThreshold + 3)).map { UInt8(truncatingIfNeeded: $0 * 31) }
        let data = Data(array.reversed())
        try push.send([data, Data(array)])
        try push.send([array, Array(data)])
        #expect(try pull.receiveMultipart(timeout: .seconds(5)).map(\.data) == [data, Data(array)])
        #expect(try pull.receiveMultipartBytes(timeout: .seconds(5)) == [array, Array(data)])
    }

    @Test("Message built in place with init(count:)")
    func buildInPlace() throws {
        let message = try Message(count: 5)
        message.withUnsafeMutableBytes { buffer in
            for index in buffer.indices { buffer[index] = UInt8(index + 1) }
        }
        #expect(message.bytes == [1, 2, 3, 4, 5])
        #expect(Message(string: "héllo").string == "héllo")
        #expect(Message().count == 0)
    }
}
