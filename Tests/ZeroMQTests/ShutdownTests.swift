import Foundation
import Testing
@testable import ZeroMQ

/// Closing order must never hang a process at exit.
@Suite("Shutdown")
struct ShutdownTests {
    @Test("Context with pending undeliverable messages terminates within linger")
    func pendingMessagesWithLinger() {
        withDeadline(seconds: 5, "closing with pending messages") {
            let clock = ContinuousClock()
            let start = clock.now
            do {
                let context = try Context(configuration: .init(defaultLinger: .milliseconds(100)))
                let push = try context.socket(.push)
                // Connected to nobody listening: messages queue and can never be delivered.
                try push.connect("tcp://127.0.0.1:1")
                for _ in 0..<100 { try push.send(["pending".bytes], flags: .dontWait) }
                #expect(try push.linger == .milliseconds(100))
            }  // socket deinit closes, context deinit terminates
            #expect(clock.now - start < .seconds(3))
        }
    }

    @Test("Explicit close with linger 0 drops pending messages at once")
    func lingerZero() {
        withDeadline(seconds: 5, "close with linger 0") {
            let context = try Context()
            let dealer = try context.socket(.dealer, options: SocketOptions(linger: .zero))
            try dealer.connect("tcp://127.0.0.1:1")
            for _ in 0..<10 { try? dealer.send(["x".bytes], flags: .dontWait) }
            dealer.close()
        }
    }

    @Test("Messages queued before close are still delivered within linger")
    func lingerDelivers() throws {
        let context = try Context()
        let pull = try context.socket(.pull)
        let endpoint = try Transport.tcp.bindFresh(pull)
        do {
            let push = try context.socket(.push, options: SocketOptions(linger: .seconds(2)))
            try push.connect(endpoint)
            try push.send(["last words".bytes])
            push.close()
        }
        #expect(try pull.receiveMultipart(timeout: .seconds(5)).map(\.string) == ["last words"])
    }

    @Test("Context.shutdown wakes a thread blocked in receive with .contextTerminated")
    func shutdownWakesBlockedReceive() throws {
        let context = try Context()
        let outcome = LockedBox<ZeroMQError?>(nil)
        let bound = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread {
            do {
                let pull = try context.socket(.pull)
                try pull.bind("inproc://blocked")
                bound.signal()
                _ = try pull.receiveMultipart()  // blocks: nothing is ever sent
            } catch let error as ZeroMQError {
                outcome.set(error)
            } catch {}
            finished.signal()
        }
        thread.start()
        #expect(bound.wait(timeout: .now() + 5) == .success)
        Thread.sleep(forTimeInterval: 0.02)
        context.shutdown()
        #expect(finished.wait(timeout: .now() + 5) == .success, "blocked receive did not return after shutdown")
        #expect(outcome.get() == .contextTerminated)
        #expect(throws: ZeroMQError.contextTerminated) { try context.socket(.push) }
    }

    @Test("Sockets outliving a shut-down context still close cleanly")
    func closeAfterShutdown() {
        withDeadline(seconds: 5, "close after shutdown") {
            let context = try Context()
            let router = try context.socket(.router)
            let dealer = try context.socket(.dealer)
            let endpoint = try Transport.tcp.bindFresh(router)
            try dealer.connect(endpoint)
            try dealer.send(["hello".bytes])
            context.shutdown()
            // Blocking calls after shutdown fail at once instead of waiting.
            #expect(throws: ZeroMQError.contextTerminated) { try dealer.receiveMultipart() }
            #expect(throws: ZeroMQError.contextTerminated) { try router.receiveMultipart(timeout: .seconds(2)) }
            dealer.close()
            router.close()
        }
    }
}
