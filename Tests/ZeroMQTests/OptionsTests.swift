import CZeroMQ
import Foundation
import Testing
@testable import ZeroMQ

@Suite("Socket options")
struct OptionsTests {
    @Test("Every socket gets the context's finite default linger")
    func defaultLinger() throws {
        let context = try Context()
        #expect(try context.socket(.push).linger == .milliseconds(250))
        let custom = try Context(configuration: .init(defaultLinger: .zero))
        #expect(try custom.socket(.dealer).linger == .zero)
        #expect(try custom.socket(.dealer, options: SocketOptions(linger: .seconds(1))).linger == .seconds(1))
    }

    @Test("Options are applied and read back")
    func applyAll() throws {
        let context = try Context()
        let options = SocketOptions(
            sendHighWaterMark: 10,
            receiveHighWaterMark: 20,
            immediate: true,
            routingID: "id".bytes,
            heartbeat: Heartbeat(interval: .milliseconds(500), ttl: .seconds(3), timeout: .seconds(2)),
            tcpKeepalive: TCPKeepalive(idle: .seconds(30), interval: .seconds(5), count: 3),
            receiveTimeout: .milliseconds(50),
            sendTimeout: .milliseconds(60),
            reconnectInterval: .milliseconds(200)
        )
        let dealer = try context.socket(.dealer, options: options)
        #expect(try dealer.sendHighWaterMark == 10)
        #expect(try dealer.receiveHighWaterMark == 20)
        #expect(try dealer.routingID == "id".bytes)
        #expect(try dealer.receiveTimeout == .milliseconds(50))
        #expect(try dealer.getInt32(ZMQ_IMMEDIATE, "ZMQ_IMMEDIATE") == 1)
        try dealer.setReceiveTimeout(nil)
        #expect(try dealer.receiveTimeout == nil)
    }

    @Test("Durations convert to whole milliseconds, rounding up")
    func durations() {
        #expect(Duration.milliseconds(250).zmqMilliseconds == 250)
        #expect(Duration.microseconds(1).zmqMilliseconds == 1)
        #expect(Duration.zero.zmqMilliseconds == 0)
        #expect(Duration.seconds(-1).zmqMilliseconds == 0)
        #expect(Duration.seconds(Int64.max / 2).zmqMilliseconds == Int32.max)
        #expect(Duration.zmqMilliseconds(nil) == -1)
        #expect(Duration.fromZMQMilliseconds(-1) == nil)
    }
}
