import Foundation
import Logging
@testable import Pipeline
import Testing
import ZeroMQ

/// The configuration every container runs (deploy/pipeline.yaml: compose, Swarm, and the Kubernetes
/// ConfigMap, which scripts/validate-deploy keeps equal to it) loads with the real parser and says what
/// the containers need: service names, not loopback; metrics reachable from outside the container; every
/// path it writes under the image's volumes; CurveZMQ on every link, with the keys where the containers
/// mount them (scripts/deploy-keys' layout).
@Suite("deploy/pipeline.yaml")
struct DeployConfigurationTests {
    static let path = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("deploy/pipeline.yaml").path

    @Test func loadsAndNamesServicesNotLoopback() throws {
        let configuration = try PipelineConfiguration.load(path: Self.path, environment: [:], checkFiles: false)
        #expect(configuration.coordinator.endpoint == "tcp://coordinator:5555")
        #expect(StageProcess.connectEndpoint(for: configuration.coordinator.endpoint) == "tcp://coordinator:5555")
        #expect(configuration.metrics.host == "0.0.0.0")
        #expect(configuration.metrics.port == 9464)
        #expect(!configuration.models.isEmpty)
        for model in configuration.models {
            let host = URL(string: model.backend?.url ?? "")?.host ?? ""
            #expect(["replay-a", "replay-b"].contains(host), "model \(model.name) calls \(host)")
        }
        // One process is one worker in stage mode; the score budget share follows stages.score.workers.
        #expect(configuration.stages.score.workers == 1)
    }

    @Test func writesOnlyUnderTheImageVolumes() throws {
        let configuration = try PipelineConfiguration.load(path: Self.path, environment: [:], checkFiles: false)
        #expect(configuration.coordinator.journal?.hasPrefix("/var/lib/switchyard/journal/") == true)
        #expect(configuration.router.profiles?.hasPrefix("/var/lib/switchyard/profiles/") == true)
        #expect(configuration.output.directory == "/var/lib/switchyard/output")
        #expect(configuration.profiler.modelDirectory == "/opt/switchyard/models/all-MiniLM-L6-v2")
    }

    /// Every stage starts with the keys laid out as docker-compose.yml and the manifests mount them (here
    /// under a temporary directory standing for /run/secrets): CURVE on the link to `coordinator:5555`,
    /// the coordinator admitting the other five stages.
    @Test func everyStageStartsWithCurveFromTheMountedKeys() throws {
        var configuration = try PipelineConfiguration.load(path: Self.path, environment: [:], checkFiles: false)
        let curve = try #require(configuration.security.curve, "deploy/pipeline.yaml must set security.curve")
        #expect(!configuration.security.insecure)
        let secrets = FileManager.default.temporaryDirectory.appendingPathComponent("deploy-keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: secrets) }
        func moved(_ path: String?) throws -> String {
            let path = try #require(path)
            #expect(path.hasPrefix("/run/secrets/"), "\(path) is where the containers mount secrets")
            return secrets + path.dropFirst("/run/secrets".count)
        }
        let keyDirectory = try moved(curve.keyDirectory), coordinatorKey = try moved(curve.coordinatorKey)
        let authorized = try moved(curve.authorizedKeys)
        try FileManager.default.createDirectory(atPath: authorized, withIntermediateDirectories: true)
        configuration.security.curve?.keyDirectory = keyDirectory
        configuration.security.curve?.coordinatorKey = coordinatorKey
        configuration.security.curve?.authorizedKeys = authorized
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let context = try Context()
        defer { context.shutdown() }
        // One pair per stage, in the order deploy-keys makes them; each container sees its own as key_dir.
        var pairs: [StageRole: String] = [:]
        for role in StageRole.allCases {
            let directory = secrets + "/pairs/\(role.rawValue)"
            let pair = try CurveKeyFiles.generate(into: directory)
            pairs[role] = directory
            let publicFile = role == .coordinator ? coordinatorKey : authorized + "/\(role.rawValue).key"
            try "\(pair.publicKey.z85)\n".write(toFile: publicFile, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: (keyDirectory as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        for role in StageRole.allCases {
            try? FileManager.default.removeItem(atPath: keyDirectory)
            try FileManager.default.copyItem(atPath: try #require(pairs[role]), toPath: keyDirectory)
            let endpoint = role == .coordinator ? "tcp://0.0.0.0:5555" : StageProcess.connectEndpoint(for: configuration.coordinator.endpoint)
            let security = try TransportSecurity.prepare(configuration, role: role, coordinatorEndpoint: endpoint, spendFeedEndpoint: nil,
                                                         context: context, logger: logger)
            defer { security.stop() }
            #expect(security.coordinator.isCurve, "\(role.rawValue) talks CURVE")
        }
        let admitted = try FileManager.default.contentsOfDirectory(atPath: authorized).sorted()
        #expect(admitted == ["dispatch.key", "ingest.key", "profile.key", "score.key", "sink.key"])
    }
}
