import Foundation
import HTTPTestSupport
import Logging
import NIOSSL
import ReplayBackend
import SwitchyardCore
import Testing
@testable import Backends

/// A CA, a server certificate for 127.0.0.1/localhost and a client certificate, made with Debian's
/// openssl CLI in a fresh directory (keys mode 0600), plus a second, unrelated CA.
struct TestPKI {
    let directory: String
    func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
    var caFile: String { path("ca.pem") }
    var otherCAFile: String { path("other-ca.pem") }
    var serverCertificate: String { path("server.pem") }
    var serverKey: String { path("server.key") }
    var clientCertificate: String { path("client.pem") }
    var clientKey: String { path("client.key") }

    static func make() throws -> TestPKI {
        let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let openssl else { throw TestFailure("openssl CLI not found: run scripts/setup (installs Debian's openssl)") }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pki-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let pki = TestPKI(directory: directory)
        func run(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: openssl)
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.standardOutput = FileHandle.nullDevice
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw TestFailure("openssl \(arguments.joined(separator: " ")) failed: \(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
            }
        }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        for ca in ["ca", "other-ca"] {
            try run(["req", "-x509"] + ec + ["-keyout", "\(ca).key", "-out", "\(ca).pem", "-days", "2", "-subj", "/CN=Switchyard test \(ca)",
                     "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        }
        for (name, usage) in [("server", "serverAuth"), ("client", "clientAuth")] {
            try run(["req"] + ec + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(name == "server" ? "localhost" : "switchyard-dispatch")"])
            try "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=\(usage)\n"
                .write(toFile: pki.path("\(name).ext"), atomically: true, encoding: .utf8)
            try run(["x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                     "-out", "\(name).pem", "-days", "2", "-extfile", "\(name).ext"])
        }
        for key in ["ca.key", "other-ca.key", "server.key", "client.key"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: pki.path(key))
        }
        return pki
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// https backends: the replay server over TLS with a CA made in the test, trusted through
/// `BackendTLS.caFile`, refused by the system trust store and by a wrong CA (a clear error and a
/// fallback, never a hang), and mutual TLS with a client certificate.
@Suite("Backends over TLS")
struct TLSBackendTests {
    /// Runs the replay backend over https (optionally requiring client certificates) for `body`.
    func withTLSReplayServer<T: Sendable>(_ pki: TestPKI, requireClientCertificate: Bool = false, _ body: (Int) async throws -> T) async throws -> T {
        let tls = try ReplayServer.tlsConfiguration(certificate: pki.serverCertificate, privateKey: pki.serverKey,
                                                    clientCA: requireClientCertificate ? pki.caFile : nil)
        let server = ReplayServer(responder: ReplayResponder(catalog: TestData.catalog, configuration: ReplayConfiguration()), logger: quietLogger)
        return try await withRunningApplication({ try server.makeApplication(tls: tls, onRunning: $0) }) { port in try await body(port) }
    }

    func endpoint(_ name: String, port: Int, scheme: String = "https", tls: BackendTLS? = nil) -> ModelEndpoint {
        var endpoint = TestData.endpoint(name, port: port, timeouts: BackendTimeouts(connect: .seconds(2), firstByte: .seconds(5), total: .seconds(8)))
        endpoint.baseURL = "\(scheme)://127.0.0.1:\(port)/v1"
        endpoint.tls = tls
        return endpoint
    }

    func dispatch(_ dispatcher: Dispatcher, candidates: [String]) async -> (DispatchOutcome, Duration) {
        let start = ContinuousClock.now
        let outcome = await dispatcher.dispatch(DispatchRequest(requestID: "r1", body: TestData.body(prompt: "What is 2+2?"), candidates: candidates))
        return (outcome, ContinuousClock.now - start)
    }

    @Test("a backend whose CA is in backend.ca_file answers over https")
    func trustedThroughCAFile() async throws {
        let pki = try TestPKI.make()
        defer { pki.remove() }
        try await withTLSReplayServer(pki) { port in
            let dispatcher = try Dispatcher(endpoints: [endpoint("alpha", port: port, tls: BackendTLS(caFile: pki.caFile))],
                                            configuration: TestData.configuration(), logger: quietLogger)
            let (outcome, _) = await dispatch(dispatcher, candidates: ["alpha"])
            try await dispatcher.shutdown()
            #expect(outcome.error == nil, "\(String(describing: outcome.error))")
            #expect(outcome.statusCode == 200)
        }
    }

    @Test("the system trust store refuses the test CA: a clear error at once, and the line falls back to the next model")
    func systemTrustStoreRefusesAndFallsBack() async throws {
        let pki = try TestPKI.make()
        defer { pki.remove() }
        try await withTLSReplayServer(pki) { tlsPort in
            try await withReplayServer(catalog: TestData.catalog) { plainPort, _ in
                let dispatcher = try Dispatcher(endpoints: [endpoint("alpha", port: tlsPort), endpoint("beta", port: plainPort, scheme: "http")],
                                                configuration: TestData.configuration(), logger: quietLogger)
                let (alone, elapsed) = await dispatch(dispatcher, candidates: ["alpha"])
                let (fellBack, _) = await dispatch(dispatcher, candidates: ["alpha", "beta"])
                try await dispatcher.shutdown()
                let error = try #require(alone.error)
                #expect(error.code == .backendUnavailable)
                #expect(error.message.contains("TLS handshake with https://127.0.0.1:\(tlsPort) failed"), "\(error.message)")
                #expect(error.message.contains("backend.ca_file"))
                #expect(alone.attemptCount == 1, "a certificate that is not trusted is not retried")
                #expect(alone.attempts.first?.result == "tls_error")
                #expect(elapsed < .seconds(5), "no hang: \(elapsed)")
                #expect(fellBack.error == nil)
                #expect(fellBack.model == "beta")
                #expect(fellBack.fallbacks.first?.model == "alpha")
                #expect(fellBack.fallbacks.first?.reason.contains("TLS handshake") == true)
            }
        }
    }

    @Test("the start-up check uses each backend's TLS settings: the CA of ca_file passes, an untrusted certificate stops at once")
    func readinessUsesTheBackendsTLS() async throws {
        let pki = try TestPKI.make()
        defer { pki.remove() }
        try await withTLSReplayServer(pki) { port in
            // The same URL twice: one model trusts the test CA, the other the system store.
            let trusted = try Dispatcher(endpoints: [endpoint("alpha", port: port, tls: BackendTLS(caFile: pki.caFile))],
                                         configuration: TestData.configuration(), logger: quietLogger)
            try await trusted.waitUntilReady()
            try await trusted.shutdown()
            var configuration = TestData.configuration()
            configuration.readiness.timeout = .seconds(30)
            let both = try Dispatcher(endpoints: [endpoint("alpha", port: port, tls: BackendTLS(caFile: pki.caFile)), endpoint("beta", port: port)],
                                      configuration: configuration, logger: quietLogger)
            let started = ContinuousClock.now
            let error = await #expect(throws: BackendsError.self) { try await both.waitUntilReady() }
            try await both.shutdown()
            #expect(ContinuousClock.now - started < .seconds(10), "not retried until the timeout")
            let message = error.map { "\($0)" } ?? ""
            #expect(message.contains("TLS handshake failed") && message.contains("beta") && !message.contains("alpha"), "\(message)")
            #expect(message.contains("backend.ca_file"))
        }
    }

    @Test("a backend.ca_file of another CA is refused with a clear error")
    func wrongCAIsRefused() async throws {
        let pki = try TestPKI.make()
        defer { pki.remove() }
        try await withTLSReplayServer(pki) { port in
            let dispatcher = try Dispatcher(endpoints: [endpoint("alpha", port: port, tls: BackendTLS(caFile: pki.otherCAFile))],
                                            configuration: TestData.configuration(), logger: quietLogger)
            let (outcome, elapsed) = await dispatch(dispatcher, candidates: ["alpha"])
            try await dispatcher.shutdown()
            let message = try #require(outcome.error?.message)
            #expect(message.contains("not signed by the CA in backend.ca_file"), "\(message)")
            #expect(elapsed < .seconds(5))
        }
    }

    @Test("mutual TLS: without a client certificate the handshake fails; with backend.client_cert/client_key it answers")
    func clientCertificate() async throws {
        let pki = try TestPKI.make()
        defer { pki.remove() }
        try await withTLSReplayServer(pki, requireClientCertificate: true) { port in
            let anonymous = try Dispatcher(endpoints: [endpoint("alpha", port: port, tls: BackendTLS(caFile: pki.caFile))],
                                           configuration: TestData.configuration(), logger: quietLogger)
            let (refused, elapsed) = await dispatch(anonymous, candidates: ["alpha"])
            try await anonymous.shutdown()
            #expect(refused.error != nil, "a server that requires a client certificate refuses one without")
            #expect(refused.error?.message.contains("TLS") == true, "\(String(describing: refused.error))")
            #expect(elapsed < .seconds(9))
            let identified = try Dispatcher(
                endpoints: [endpoint("alpha", port: port, tls: BackendTLS(caFile: pki.caFile, certificateFile: pki.clientCertificate,
                                                                          privateKeyFile: pki.clientKey))],
                configuration: TestData.configuration(), logger: quietLogger)
            let (answered, _) = await dispatch(identified, candidates: ["alpha"])
            try await identified.shutdown()
            #expect(answered.error == nil, "\(String(describing: answered.error))")
            #expect(answered.statusCode == 200)
        }
    }

    @Test("TLS files are checked at start: a readable-by-others client key, a file that is no certificate, an http URL")
    func badFilesFailAtStart() throws {
        let pki = try TestPKI.make()
        defer { pki.remove() }
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: pki.clientKey)
        let tls = BackendTLS(caFile: pki.caFile, certificateFile: pki.clientCertificate, privateKeyFile: pki.clientKey)
        #expect {
            _ = try Dispatcher(endpoints: [endpoint("alpha", port: 1, tls: tls)], logger: quietLogger)
        } throws: { error in
            "\(error)".contains("chmod 600")
        }
        #expect(throws: BackendsError.self) {
            _ = try Dispatcher(endpoints: [endpoint("alpha", port: 1, tls: BackendTLS(caFile: pki.serverKey))], logger: quietLogger)
        }
        #expect(throws: BackendsError.self) {
            _ = try Dispatcher(endpoints: [endpoint("alpha", port: 1, scheme: "http", tls: BackendTLS(caFile: pki.caFile))], logger: quietLogger)
        }
    }
}
