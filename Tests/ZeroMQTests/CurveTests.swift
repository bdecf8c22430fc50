import Foundation
import Testing
@testable import ZeroMQ

/// CurveZMQ over real tcp loopback sockets: keys, the ZAP handler, the mechanism both ends report,
/// refusal of unknown keys and ZMQ_MAXMSGSIZE.
@Suite("CURVE and ZAP")
struct CurveTests {
    @Test("libzmq here has CURVE")
    func available() {
        #expect(Curve.isAvailable, "Debian's libzmq5 is built with libsodium; CURVE must be there")
    }

    @Test("Key pairs: Z85 round trip, derived public key checked, secret never printed")
    func keys() throws {
        let pair = try CurveKeyPair.generate()
        #expect(pair.publicKey.z85.count == 40)
        #expect(CurvePublicKey(z85: pair.publicKey.z85) == pair.publicKey)
        let secret = try #require(CurveSecretKey(z85: pair.secretKey.z85))
        #expect(try CurveKeyPair(publicKey: pair.publicKey, secretKey: secret).publicKey == pair.publicKey)
        let other = try CurveKeyPair.generate()
        #expect(throws: ZeroMQError.self) { try CurveKeyPair(publicKey: other.publicKey, secretKey: secret) }
        #expect(!"\(pair)".contains(pair.secretKey.z85))
        #expect("\(pair.secretKey)" == "<redacted CURVE secret key>")
        #expect(CurvePublicKey(z85: "too short") == nil)
        #expect(CurvePublicKey(z85: String(repeating: "~", count: 40)) == nil, "~ is not in the Z85 alphabet")
        #expect(CurvePublicKey(bytes: [1, 2, 3]) == nil)
    }

    /// A CURVE ROUTER admitting only `admitted` (by ZAP), bound on tcp loopback.
    struct Server {
        let context: Context
        let zap: ZAPHandler
        let router: Socket
        let endpoint: String
        let pair: CurveKeyPair
        let requests: LockedBox<[ZAPRequest]>

        init(admitted: Set<CurvePublicKey>, maxMessageSize: Int64? = nil) throws {
            context = try Context()
            let seen = LockedBox<[ZAPRequest]>([])
            requests = seen
            zap = try ZAPHandler(context: context) { request in
                seen.set(seen.get() + [request])
                guard let key = request.clientKey, admitted.contains(key) else { return .deny(reason: "key not admitted") }
                return .allow(userID: "client-\(key.z85.prefix(4))")
            }
            pair = try CurveKeyPair.generate()
            router = try context.socket(.router, options: SocketOptions(maxMessageSize: maxMessageSize, curve: .server(pair), zapDomain: "test"))
            try router.bind("tcp://127.0.0.1:*")
            endpoint = try router.lastEndpoint
        }
    }

    @Test("An admitted client talks; both ends report CURVE; the server sees who it is")
    func admitted() throws {
        let clientPair = try CurveKeyPair.generate()
        let server = try Server(admitted: [clientPair.publicKey])
        defer { server.zap.stop() }
        let dealer = try server.context.socket(.dealer, options: SocketOptions(curve: .client(clientPair, serverKey: server.pair.publicKey)))
        try dealer.connect(server.endpoint)
        try dealer.send(["hello".bytes])
        let frames = try server.router.receiveMultipart(timeout: .seconds(5))
        #expect(frames.count == 2)
        #expect(frames.last?.string == "hello")
        #expect(frames.last?.property("User-Id") == "client-\(clientPair.publicKey.z85.prefix(4))")
        #expect(frames.last?.property("Peer-Address") == "127.0.0.1")
        #expect(try server.router.mechanism == .curve)
        #expect(try dealer.mechanism == .curve)
        let request = try #require(server.requests.get().first)
        #expect(request.mechanism == "CURVE")
        #expect(request.domain == "test")
        #expect(request.clientKey == clientPair.publicKey)
        #expect(server.zap.counts.allowed == 1)
        dealer.close()
        server.router.close()
    }

    @Test("An unknown key is refused by ZAP: nothing arrives, the client's monitor says why")
    func refused() throws {
        let stranger = try CurveKeyPair.generate()
        let server = try Server(admitted: [try CurveKeyPair.generate().publicKey])
        defer { server.zap.stop() }
        let dealer = try server.context.socket(.dealer, options: SocketOptions(curve: .client(stranger, serverKey: server.pair.publicKey)))
        let monitor = try SocketMonitor(dealer)
        try dealer.connect(server.endpoint)
        try? dealer.send(["let me in".bytes], flags: .dontWait)
        var refusal: SocketEvent?
        let deadline = Date().addingTimeInterval(5)
        while refusal == nil && Date() < deadline {
            if let event = try monitor.next(timeout: .milliseconds(100)), event.kind == .handshakeFailedAuth { refusal = event }
        }
        #expect(refusal?.value == 400, "the client learns the server refused its key (ZAP status 400)")
        #expect(throws: ZeroMQError.timeout) { _ = try server.router.receiveMultipart(timeout: .milliseconds(300)) }
        #expect(server.zap.counts.denied >= 1)
        #expect(server.requests.get().first?.clientKey == stranger.publicKey)
        monitor.close()
        dealer.close()
        server.router.close()
    }

    @Test("A client with the wrong server key never gets through")
    func wrongServerKey() throws {
        let clientPair = try CurveKeyPair.generate()
        let server = try Server(admitted: [clientPair.publicKey])
        defer { server.zap.stop() }
        let impostor = try CurveKeyPair.generate().publicKey
        let dealer = try server.context.socket(.dealer, options: SocketOptions(curve: .client(clientPair, serverKey: impostor)))
        try dealer.connect(server.endpoint)
        try? dealer.send(["hello".bytes], flags: .dontWait)
        #expect(throws: ZeroMQError.timeout) { _ = try server.router.receiveMultipart(timeout: .milliseconds(500)) }
        #expect(server.zap.counts.allowed == 0, "the server could not even open the client's hello")
        dealer.close()
        server.router.close()
    }

    @Test("A plain-text client cannot talk to a CURVE server")
    func plainClient() throws {
        let server = try Server(admitted: [])
        defer { server.zap.stop() }
        let dealer = try server.context.socket(.dealer)
        try dealer.connect(server.endpoint)
        try? dealer.send(["hello".bytes], flags: .dontWait)
        #expect(throws: ZeroMQError.timeout) { _ = try server.router.receiveMultipart(timeout: .milliseconds(500)) }
        #expect(try dealer.mechanism == .null)
        dealer.close()
        server.router.close()
    }

    @Test("ZMQ_MAXMSGSIZE: a message over the limit is never delivered; smaller ones are")
    func maxMessageSize() throws {
        let clientPair = try CurveKeyPair.generate()
        let server = try Server(admitted: [clientPair.publicKey], maxMessageSize: 1_024)
        defer { server.zap.stop() }
        #expect(try server.router.maxMessageSize == 1_024)
        let dealer = try server.context.socket(.dealer, options: SocketOptions(curve: .client(clientPair, serverKey: server.pair.publicKey)))
        try dealer.connect(server.endpoint)
        try dealer.send(["small".bytes])
        #expect(try server.router.receiveMultipart(timeout: .seconds(5)).last?.string == "small")
        try dealer.send([[UInt8](repeating: 7, count: 4_096)])
        #expect(throws: ZeroMQError.timeout) { _ = try server.router.receiveMultipart(timeout: .milliseconds(500)) }
        dealer.close()
        server.router.close()
    }

    @Test("A second ZAP handler in one context is refused; one in another context is fine")
    func oneHandlerPerContext() throws {
        let context = try Context()
        let first = try ZAPHandler(context: context) { _ in .allow(userID: "") }
        defer { first.stop() }
        #expect(throws: ZeroMQError.self) { _ = try ZAPHandler(context: context) { _ in .allow(userID: "") } }
        let other = try ZAPHandler(context: try Context()) { _ in .allow(userID: "") }
        other.stop()
    }

    @Test("Malformed ZAP requests get status 500, never a crash")
    func malformedRequest() {
        let reply = ZAPHandler.answer([Array("2.0".utf8), [1]], authorize: { _ in .allow(userID: "x") })
        #expect(reply[2] == Array("500".utf8))
        #expect(ZAPHandler.answer([], authorize: { _ in .allow(userID: "x") })[2] == Array("500".utf8))
    }
}
