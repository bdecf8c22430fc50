import CZeroMQ
import Foundation
import Testing
@testable import ZeroMQ

@Suite("Errors")
struct ErrorTests {
    @Test("Receive timeout surfaces as .timeout, for explicit and option timeouts")
    func receiveTimeout() throws {
        let context = try Context()
        let pull = try context.socket(.pull, options: SocketOptions(receiveTimeout: .milliseconds(20)))
        _ = try Transport.inproc.bindFresh(pull)
        let clock = ContinuousClock()
        let start = clock.now
        #expect(throws: ZeroMQError.timeout) { try pull.receiveMultipart(timeout: .milliseconds(30)) }
        #expect(clock.now - start >= .milliseconds(25))
        #expect(throws: ZeroMQError.timeout) { try pull.receiveMultipart(timeout: .zero) }
        #expect(throws: ZeroMQError.timeout) { try pull.receiveMultipart() }  // ZMQ_RCVTIMEO
        #expect(try pull.receiveTimeout == .milliseconds(20))
        #expect(try pull.waitReadable(timeout: .milliseconds(1)) == false)
    }

    @Test("Send with .dontWait and no peer surfaces as .timeout")
    func sendWouldBlock() throws {
        let context = try Context()
        let push = try context.socket(.push)
        #expect(throws: ZeroMQError.timeout) { try push.send(["x".bytes], flags: .dontWait) }
    }

    @Test("ROUTER_MANDATORY to an unknown peer is .unroutable")
    func unroutable() throws {
        let context = try Context()
        let router = try context.socket(.router, options: SocketOptions(routerMandatory: true))
        _ = try Transport.tcp.bindFresh(router)
        #expect(throws: ZeroMQError.unroutable) { try router.send(["nobody".bytes, "hello".bytes]) }
        let error = ZeroMQError.unroutable
        #expect(error.errno == EHOSTUNREACH)
        #expect(!error.message.isEmpty)
    }

    @Test("Bad endpoints carry errno and zmq_strerror text with a hint")
    func badEndpoint() throws {
        let context = try Context()
        let socket = try context.socket(.pull)
        do {
            try socket.bind("nonsense://x")
            Issue.record("bind to a bad endpoint succeeded")
        } catch {
            guard case .system(let operation, let code, let text) = error else {
                Issue.record("expected .system, got \(error)")
                return
            }
            #expect(operation.contains("nonsense://x"))
            #expect(code == EPROTONOSUPPORT)
            #expect(text == String(cString: strerror(EPROTONOSUPPORT)))
            #expect(error.description.contains("check the endpoint"))
        }
    }

    @Test("Address in use is reported, not swallowed")
    func addressInUse() throws {
        let context = try Context()
        let first = try context.socket(.pull)
        let endpoint = try Transport.tcp.bindFresh(first)
        let second = try context.socket(.pull)
        #expect(throws: ZeroMQError.self) { try second.bind(endpoint) }
    }

    @Test("Closed socket throws .socketClosed; close is idempotent")
    func closedSocket() throws {
        let context = try Context()
        let socket = try context.socket(.push)
        socket.close()
        socket.close()
        #expect(!socket.isOpen)
        #expect(throws: ZeroMQError.socketClosed) { try socket.send(["x".bytes]) }
        #expect(throws: ZeroMQError.socketClosed) { try socket.connect("inproc://x") }
    }

    @Test("Invalid routing id is rejected before libzmq")
    func invalidRoutingID() throws {
        let context = try Context()
        let dealer = try context.socket(.dealer)
        #expect(throws: ZeroMQError.self) { try dealer.setRoutingID([]) }
        #expect(throws: ZeroMQError.self) { try dealer.setRoutingID([0, 1]) }
        #expect(throws: ZeroMQError.self) { try dealer.setRoutingID([UInt8](repeating: 1, count: 256)) }
    }

    @Test("Every error says what to do next")
    func descriptions() {
        let errors: [ZeroMQError] = [
            .timeout, .contextTerminated, .unroutable, .socketClosed, .invalidArgument("x"),
            .system(operation: "bind tcp://1.2.3.4:1", errno: EADDRINUSE, message: "Address already in use"),
        ]
        for error in errors {
            #expect(error.description.contains(":"))
            #expect(!error.message.isEmpty)
        }
        #expect(ZeroMQError.timeout.errno == EAGAIN)
        #expect(ZeroMQError.contextTerminated.errno == ETERM)
    }
}
