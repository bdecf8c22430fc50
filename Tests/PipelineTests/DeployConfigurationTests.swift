import Foundation
import Pipeline
import Testing

/// The configuration every container runs (deploy/pipeline.yaml: compose, Swarm, and the Kubernetes
/// ConfigMap, which scripts/validate-deploy keeps equal to it) loads with the real parser and says what
/// the containers need: service names, not loopback; metrics reachable from outside the container; every
/// path it writes under the image's volumes.
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
}
