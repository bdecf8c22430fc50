import Foundation
import Logging
import Synchronization
import Testing
import ZeroMQ
@testable import Pipeline

/// `security` in pipeline.yaml, key files and the transport rules a stage process applies at start.
@Suite("Security: configuration, key files, transport rules")
struct SecurityConfigurationTests {
    static let models = ConfigurationTests.minimal
    static let quiet = Logger(label: "test.security", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A temporary directory removed at the end of the test.
    final class Scratch: @unchecked Sendable {
        let path: String
        init() throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("sy-sec-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func sub(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }

    // MARK: pipeline.yaml

    @Test func securitySectionParses() throws {
        let yaml = """
            coordinator: {endpoint: "tcp://0.0.0.0:6000", max_worker_credit: 64}
            security:
              curve: {key_dir: keys/me, coordinator_key: keys/coordinator/public.key, spend_feed_key: keys/score/public.key, authorized_keys: keys/authorized}
              max_message_bytes: 2097152
            models:
              - name: a
                backend: {url: "https://h/v1", api_key_file: secrets/a.key, ca_file: ca.pem, client_cert: c.pem, client_key: c.key}
                price: {input_usd_per_mtok: 1, output_usd_per_mtok: 2}
            """
        let configuration = try PipelineConfiguration.parse(yaml: yaml)
        #expect(configuration.coordinator.maxWorkerCredit == 64)
        #expect(configuration.security.curve?.keyDirectory == "keys/me")
        #expect(configuration.security.curve?.authorizedKeys == "keys/authorized")
        #expect(configuration.security.maxMessageBytes == 2_097_152)
        #expect(!configuration.security.insecure)
        let backend = try #require(configuration.models[0].backend)
        #expect(backend.apiKeyFile == "secrets/a.key")
        #expect(backend.caFile == "ca.pem")
        #expect(backend.clientCertificate == "c.pem")
        #expect(backend.clientKey == "c.key")
        #expect(StageProcess.workConfiguration(configuration).maxWorkerCredit == 64)
    }

    @Test(arguments: [
        ("security: {max_message_bytes: 1000}\n" + models, "security.max_message_bytes", "at least"),
        ("security: {curve: {key: x}}\n" + models, "security.curve.key", "unknown key"),
        ("security: {insecure: maybe}\n" + models, "security.insecure", "true or false"),
        ("""
         models:
           - name: a
             backend: {url: "http://h/v1", api_key_env: K, api_key_file: f}
             price: {input_usd_per_mtok: 1, output_usd_per_mtok: 1}
         """, "models[0].backend.api_key_file", "not both"),
        ("""
         models:
           - name: a
             backend: {url: "https://h/v1", client_cert: c.pem}
             price: {input_usd_per_mtok: 1, output_usd_per_mtok: 1}
         """, "models[0].backend.client_key", "go together"),
        ("""
         models:
           - name: a
             backend: {url: "http://h/v1", ca_file: ca.pem}
             price: {input_usd_per_mtok: 1, output_usd_per_mtok: 1}
         """, "models[0].backend.url", "https"),
        ("""
         models:
           - name: a
             backend: {url: "http://h/v1", secret_key: abc}
             price: {input_usd_per_mtok: 1, output_usd_per_mtok: 1}
         """, "models[0].backend.secret_key", "never go in the file"),
    ])
    func brokenSecurityNamesTheKey(yaml: String, keyPath: String, reason: String) {
        do {
            _ = try PipelineConfiguration.parse(yaml: yaml)
            Issue.record("expected an error for \(keyPath)")
        } catch {
            #expect(error.keyPath == keyPath)
            #expect(error.reason.contains(reason), "\(error.reason)")
        }
    }

    @Test func keyFilesMustBeOwnerOnlyAtStart() throws {
        let scratch = try Scratch()
        let keyFile = scratch.sub("a.key")
        try "sk-test-owner-only\n".write(toFile: keyFile, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: keyFile)
        let yaml = """
            models:
              - name: a
                backend: {url: "http://h/v1", api_key_file: \(keyFile)}
                price: {input_usd_per_mtok: 1, output_usd_per_mtok: 1}
            """
        let configuration = try PipelineConfiguration.parse(yaml: yaml)
        do {
            try configuration.checkBackends(environment: [:])
            Issue.record("a world-readable key file must be refused")
        } catch {
            #expect(error.keyPath == "models[0].backend.api_key_file")
            #expect(error.reason.contains("chmod 600"))
            #expect(!"\(error)".contains("sk-test-owner-only"))
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyFile)
        try configuration.checkBackends(environment: [:])
    }

    // MARK: key files

    @Test func generateWritesAPairAndNeverOverwrites() throws {
        let scratch = try Scratch()
        let directory = scratch.sub("keys/worker")
        let pair = try CurveKeyFiles.generate(into: directory)
        #expect(try mode(directory) == 0o700)
        #expect(try mode((directory as NSString).appendingPathComponent("secret.key")) == 0o600)
        #expect(try mode((directory as NSString).appendingPathComponent("public.key")) == 0o644)
        let loaded = try CurveKeyFiles.loadKeyPair(directory: directory)
        #expect(loaded.publicKey == pair.publicKey)
        #expect(try CurveKeyFiles.publicKey((directory as NSString).appendingPathComponent("public.key")) == pair.publicKey)
        #expect(try CurveKeyFiles.publicKey(pair.publicKey.z85) == pair.publicKey, "a key may be written inline")
        #expect(throws: CurveKeyFiles.Failure.exists(path: (directory as NSString).appendingPathComponent("public.key"))) {
            try CurveKeyFiles.generate(into: directory)
        }
        #expect(try CurveKeyFiles.loadKeyPair(directory: directory).publicKey == pair.publicKey, "the first pair is untouched")
    }

    @Test func secretKeyFilesAreGuarded() throws {
        let scratch = try Scratch()
        let directory = scratch.sub("k")
        _ = try CurveKeyFiles.generate(into: directory)
        let secret = (directory as NSString).appendingPathComponent("secret.key")
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: secret)
        #expect(throws: CurveKeyFiles.Failure.self) { try CurveKeyFiles.loadKeyPair(directory: directory) }
        do {
            _ = try CurveKeyFiles.loadKeyPair(directory: directory)
        } catch {
            #expect("\(error)".contains("chmod 600"))
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secret)
        // A secret key copied where public keys belong is refused, not admitted.
        #expect(throws: CurveKeyFiles.Failure.secretInPublicPlace(path: secret)) { try CurveKeyFiles.loadPublicKeyFile(secret) }
        // A public key that does not belong to the secret one.
        let other = scratch.sub("other")
        _ = try CurveKeyFiles.generate(into: other)
        try FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent("public.key"))
        try FileManager.default.copyItem(atPath: (other as NSString).appendingPathComponent("public.key"),
                                         toPath: (directory as NSString).appendingPathComponent("public.key"))
        #expect(throws: CurveKeyFiles.Failure.mismatch(directory: directory)) { try CurveKeyFiles.loadKeyPair(directory: directory) }
    }

    @Test func authorizedKeysAdmitByNameAndReload() async throws {
        let scratch = try Scratch()
        let authorized = scratch.sub("authorized")
        try FileManager.default.createDirectory(atPath: authorized, withIntermediateDirectories: true)
        #expect(throws: ConfigurationError.self) { _ = try AuthorizedKeys(directory: authorized, logger: Self.quiet) }
        let worker = try CurveKeyFiles.generate(into: scratch.sub("worker"))
        let late = try CurveKeyFiles.generate(into: scratch.sub("late"))
        try FileManager.default.copyItem(atPath: scratch.sub("worker/public.key"), toPath: (authorized as NSString).appendingPathComponent("profile-1.key"))
        try "notes".write(toFile: (authorized as NSString).appendingPathComponent("README"), atomically: true, encoding: .utf8)
        let keys = try AuthorizedKeys(directory: authorized, logger: Self.quiet)
        func request(_ key: CurvePublicKey?) -> ZAPRequest {
            ZAPRequest(domain: "coordinator", address: "10.0.0.9", routingID: [], mechanism: "CURVE", clientKey: key)
        }
        #expect(keys.decide(request(worker.publicKey)) == .allow(userID: "profile-1"))
        #expect(keys.decide(request(late.publicKey)) == .deny(reason: "key not authorised"))
        #expect(keys.decide(request(nil)) == .deny(reason: "key not authorised"))
        // Adding a key admits the process within a second, no restart.
        try FileManager.default.copyItem(atPath: scratch.sub("late/public.key"), toPath: (authorized as NSString).appendingPathComponent("late.key"))
        try await Task.sleep(for: .milliseconds(1_100))
        #expect(keys.decide(request(late.publicKey)) == .allow(userID: "late"))
        // A secret key dropped into the directory is an error at load, never a key.
        try FileManager.default.copyItem(atPath: scratch.sub("late/secret.key"), toPath: (authorized as NSString).appendingPathComponent("oops.key"))
        #expect(throws: ConfigurationError.self) { _ = try AuthorizedKeys(directory: authorized, logger: Self.quiet) }
    }

    // MARK: transport rules

    @Test(arguments: [
        ("inproc://x", EndpointScope.inproc), ("ipc:///tmp/s", .local), ("tcp://127.0.0.1:5555", .local), ("tcp://127.8.9.1:1", .local),
        ("tcp://localhost:5555", .local), ("tcp://[::1]:5555", .local), ("tcp://0.0.0.0:5555", .network), ("tcp://*:5555", .network),
        ("tcp://10.0.0.5:5555", .network), ("tcp://coordinator:5555", .network), ("tcp://127.0.0.1.evil.com:1", .network),
    ])
    func endpointScopes(endpoint: String, scope: EndpointScope) {
        #expect(EndpointScope(endpoint) == scope)
    }

    func prepare(_ yaml: String, role: StageRole, coordinator: String, spendFeed: String? = nil, keyDir: String? = nil,
                 context: Context) throws(ConfigurationError) -> TransportSecurity {
        let configuration = try PipelineConfiguration.parse(yaml: yaml + "\n" + Self.models)
        return try TransportSecurity.prepare(configuration, role: role, coordinatorEndpoint: coordinator, spendFeedEndpoint: spendFeed,
                                             keyDirectory: keyDir, context: context, logger: Self.quiet)
    }

    @Test func plainTextOnlyOnLoopbackUnlessInsecure() throws {
        let context = try Context()
        let local = try prepare("", role: .coordinator, coordinator: "tcp://127.0.0.1:5555", context: context)
        #expect(!local.coordinator.isCurve)
        do {
            _ = try prepare("", role: .coordinator, coordinator: "tcp://0.0.0.0:5555", context: context)
            Issue.record("a 0.0.0.0 bind without CURVE must be refused")
        } catch {
            #expect(error.keyPath == "coordinator.endpoint")
            #expect(error.reason.contains("security.insecure"))
        }
        do {
            _ = try prepare("", role: .dispatch, coordinator: "tcp://127.0.0.1:5555", spendFeed: "tcp://10.1.1.1:5556", context: context)
            Issue.record("a plain spend feed across hosts must be refused")
        } catch {
            #expect(error.keyPath == "router.spend_feed")
        }
        let lines = CapturedLog()
        let configuration = try PipelineConfiguration.parse(yaml: "security: {insecure: true, max_message_bytes: 2097152}\n" + Self.models)
        let insecure = try TransportSecurity.prepare(configuration, role: .profile, coordinatorEndpoint: "tcp://10.0.0.2:5555",
                                                     spendFeedEndpoint: nil, context: context, logger: lines.logger)
        #expect(!insecure.coordinator.isCurve)
        #expect(insecure.coordinator.maxMessageBytes == 2_097_152)
        #expect(lines.messages.contains { $0.hasPrefix("INSECURE: plain text over tcp to a non-loopback address") }, "warns at every start")
    }

    /// Keeps the messages a logger was given.
    final class CapturedLog: Sendable {
        private let lines = Mutex<[String]>([])
        var messages: [String] { lines.withLock { $0 } }
        var logger: Logger { Logger(label: "captured") { _ in Handler(sink: self) } }

        struct Handler: LogHandler {
            let sink: CapturedLog
            var logLevel: Logger.Level = .trace
            var metadata: Logger.Metadata = [:]
            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }
            func log(event: LogEvent) { sink.lines.withLock { $0.append("\(event.message)") } }
        }
    }

    @Test func curveRolesNeedTheirKeys() throws {
        let scratch = try Scratch()
        let coordinatorPair = try CurveKeyFiles.generate(into: scratch.sub("coordinator"))
        _ = try CurveKeyFiles.generate(into: scratch.sub("worker"))
        let authorized = scratch.sub("authorized")
        try FileManager.default.createDirectory(atPath: authorized, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: scratch.sub("worker/public.key"), toPath: (authorized as NSString).appendingPathComponent("worker.key"))
        let curve = "security: {curve: {coordinator_key: \(scratch.sub("coordinator/public.key")), authorized_keys: \(authorized)}}"

        // A client with its pair and the coordinator's key: CURVE client, even on loopback.
        let worker = try prepare(curve, role: .profile, coordinator: "tcp://127.0.0.1:5555", keyDir: scratch.sub("worker"), context: try Context())
        guard case .curveClient(_, let serverKey) = worker.coordinator.role else {
            Issue.record("expected a CURVE client")
            return
        }
        #expect(serverKey == coordinatorPair.publicKey)

        // The coordinator: CURVE server with a running ZAP handler in its context.
        let context = try Context()
        let coordinator = try prepare(curve, role: .coordinator, coordinator: "tcp://0.0.0.0:5555", keyDir: scratch.sub("coordinator"), context: context)
        defer { coordinator.stop() }
        guard case .curveServer(_, let zap) = coordinator.coordinator.role else {
            Issue.record("expected a CURVE server")
            return
        }
        #expect(zap.context === context)

        // Missing pieces name their key.
        func failure(_ yaml: String, _ role: StageRole, keyDir: String?, spendFeed: String? = nil) -> String? {
            do {
                let security = try prepare(yaml, role: role, coordinator: "tcp://127.0.0.1:5555", spendFeed: spendFeed, keyDir: keyDir, context: try! Context())
                security.stop()
                return nil
            } catch {
                return error.keyPath
            }
        }
        #expect(failure(curve, .profile, keyDir: nil) == "security.curve.key_dir")
        #expect(failure(curve, .profile, keyDir: scratch.sub("nowhere")) == "--key-dir")
        #expect(failure("security: {curve: {authorized_keys: \(authorized)}}", .sink, keyDir: scratch.sub("worker")) == "security.curve.coordinator_key")
        #expect(failure("security: {curve: {coordinator_key: \"\(coordinatorPair.publicKey.z85)\"}}", .coordinator, keyDir: scratch.sub("coordinator"))
                    == "security.curve.authorized_keys")
        #expect(failure(curve, .dispatch, keyDir: scratch.sub("worker"), spendFeed: "tcp://127.0.0.1:5556") == "security.curve.spend_feed_key")
        // inproc needs none of it.
        let inproc = try prepare(curve, role: .coordinator, coordinator: "inproc://run", context: try Context())
        #expect(!inproc.coordinator.isCurve)
    }
}
