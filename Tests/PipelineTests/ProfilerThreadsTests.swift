import Embedding
import Foundation
import Logging
@testable import Pipeline
import Testing

/// `profiler.threads` reaches the MiniLM embedder the profile stage builds (both ways it is built).
@Suite("profiler.threads wiring")
struct ProfilerThreadsTests {
    static let modelDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".models/all-MiniLM-L6-v2").path

    func profiler(threads: Int?) throws -> ProfilerConfiguration {
        guard FileManager.default.fileExists(atPath: Self.modelDirectory + "/model.safetensors") else {
            Issue.record("missing \(Self.modelDirectory)/model.safetensors: \(EmbeddingError.fetchHint)")
            throw MissingModel()
        }
        return ProfilerConfiguration(embedder: .minilm, modelDirectory: Self.modelDirectory, threads: threads)
    }

    struct MissingModel: Error {}

    @Test func configuredThreadsReachMiniLM() throws {
        let logger = Logger(label: "test")
        let configured = try profiler(threads: 1)
        let direct = try PipelineComponents.makeEmbedder(configured, logger: logger) as? MiniLMEmbedder
        #expect(direct?.threads == 1)
        let fromArtifact = try PipelineComponents.artifactEmbedder(named: "minilm", profiler: configured, logger: logger) as? MiniLMEmbedder
        #expect(fromArtifact?.threads == 1)
    }

    @Test func unsetMeansEveryCore() throws {
        let embedder = try PipelineComponents.makeEmbedder(try profiler(threads: nil), logger: Logger(label: "test")) as? MiniLMEmbedder
        #expect(embedder?.threads == ProcessInfo.processInfo.activeProcessorCount)
    }
}
