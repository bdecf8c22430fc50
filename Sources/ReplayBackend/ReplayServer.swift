import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import SwitchyardCore

/// The replay backend over HTTP: an OpenAI-compatible Hummingbird server answering
/// `POST /v1/chat/completions`, `GET /v1/models` and `GET /health` from a `ReplayResponder`.
public struct ReplayServer: Sendable {
    public let responder: ReplayResponder
    public let logger: Logger
    /// Largest request body accepted. Default 8 MiB.
    public var maxRequestBytes: Int = 8 << 20

    public init(responder: ReplayResponder, logger: Logger) {
        self.responder = responder
        self.logger = logger
    }

    /// The Hummingbird application; run it with `run()` (tests, cancel the task to stop) or
    /// `runService()` (CLI, stops on SIGINT/SIGTERM). `onRunning` receives the bound port.
    public func makeApplication(
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        application(server: .http1(), onRunning: onRunning)
    }

    /// The application over https with `tls` (see `tlsConfiguration(certificate:privateKey:clientCA:)`).
    public func makeApplication(
        tls: TLSConfiguration, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        application(server: try .tls(.http1(), tlsConfiguration: tls), onRunning: onRunning)
    }

    /// A server TLS configuration from PEM files: the certificate (chain) and its private key (which
    /// must be readable by its owner alone), and optionally a CA whose client certificates are then
    /// required (mutual TLS).
    public static func tlsConfiguration(certificate: String, privateKey: String, clientCA: String? = nil) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(certificate)
        let key = try NIOSSLPrivateKey(bytes: Array(try SecretFile.read(privateKey)), format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        if let clientCA {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(clientCA))
            tls.certificateVerification = .noHostnameVerification
        }
        return tls
    }

    private func application(
        server: HTTPServerBuilder, onRunning: @escaping @Sendable (Int) async -> Void
    ) -> some ApplicationProtocol {
        let router = Router(context: BasicRequestContext.self)
        let responder = self.responder
        let maxRequestBytes = self.maxRequestBytes
        router.post("/v1/chat/completions") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: maxRequestBytes)
            let body = buffer.withUnsafeReadableBytes { Data($0) }
            let reply = responder.chatCompletion(body: body)
            if reply.delay > .zero { try await Task.sleep(for: reply.delay) }
            return Self.response(reply.status, headers: reply.headers, body: reply.body)
        }
        router.get("/v1/models") { _, _ -> Response in
            Self.response(200, headers: [("Content-Type", "application/json")], body: responder.modelsList())
        }
        router.get("/health") { _, _ -> Response in
            Self.response(200, headers: [("Content-Type", "text/plain")], body: Data("ok\n".utf8))
        }
        let configuration = responder.configuration
        return Application(
            router: router,
            server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "switchyard-replay"),
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger
        )
    }

    /// A response from a status, header pairs and bytes (scripted test servers build theirs the same way).
    public static func response(_ status: Int, headers: [(String, String)], body: Data) -> Response {
        var fields = HTTPFields()
        for (name, value) in headers {
            if let fieldName = HTTPFields.Element.Name(name) { fields[fieldName] = value }
        }
        return Response(
            status: HTTPResponse.Status(code: status),
            headers: fields,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body))
        )
    }
}
