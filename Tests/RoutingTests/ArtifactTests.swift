import Foundation
import Profiling
@testable import Routing
import SwitchyardCore
import Testing

/// profile build → artifact directory → load: same predictions, clear errors on damage, determinism.
@Suite struct ArtifactTests {
    static let strategies = ["best-single", "cheapest", "random", "knn", "uniroute-cluster", "uniroute-learned-map"]

    func build(to directory: URL, seed: UInt64 = 0) throws -> RouterManifest {
        let train = RoutingDataset(records: RoutingTestData.records(60, seed: 1, prefix: "train"))
        let dev = RoutingDataset(records: RoutingTestData.records(30, seed: 2, prefix: "dev"))
        let builder = ProfileBuilder(
            configuration: .init(featurizers: [Featurizer.Configuration(lexical: .init(dimension: 256))], strategies: Self.strategies, seed: seed),
            logger: RoutingTestData.logger
        )
        return try builder.build(
            train: train, dev: dev, prices: RoutingTestData.prices,
            sources: .init(trainFile: "train.jsonl", devFile: "dev.jsonl"), to: directory
        )
    }

    @Test func roundTripGivesTheSamePredictions() throws {
        let directory = RoutingTestData.temporaryDirectory("roundtrip")
        defer { try? FileManager.default.removeItem(at: directory) }
        let manifest = try build(to: directory)
        #expect(manifest.formatVersion == RouterManifest.currentFormatVersion)
        #expect(manifest.models == RoutingTestData.models)
        #expect(Set(manifest.strategies.map(\.name)) == Set(Self.strategies))
        #expect(!ProfileBuilder.referenceStrategies.contains(manifest.autoStrategy))
        #expect(manifest.featurizer.stripTemplate)

        let artifact = try RouterArtifact.load(from: directory)
        let prompts = [RoutingTestData.prompt(math: true), RoutingTestData.prompt(math: false)]
        let features = try artifact.profiler().profile(prompts).map(QueryFeatures.init)
        // Retrain in memory with the same inputs: the loaded strategies must predict the same.
        let (context, _, _) = try RoutingTestData.context(seed: 0)
        for name in ["knn", "uniroute-cluster"] {
            let loaded = try artifact.strategy(named: name)
            let math = loaded.predictQuality(features[0])
            let code = loaded.predictQuality(features[1])
            #expect(math[2] > math[1], "\(name) routes math to math-pro after loading")
            #expect(code[1] > code[2], "\(name) routes code to code-pro after loading")
        }
        _ = context
        let decision = try artifact.router(strategy: "auto", lambda: 0).decide(id: "q", query: features[0])
        #expect(decision.model == "math-pro")
        #expect(decision.strategy == manifest.autoStrategy)
        #expect(decision.alternatives.count == 2)
    }

    @Test func sameSeedSameArtifact() throws {
        let a = RoutingTestData.temporaryDirectory("det-a"), b = RoutingTestData.temporaryDirectory("det-b")
        defer {
            try? FileManager.default.removeItem(at: a)
            try? FileManager.default.removeItem(at: b)
        }
        let ma = try build(to: a, seed: 7), mb = try build(to: b, seed: 7)
        #expect(ma.strategies.map(\.cvAIQ) == mb.strategies.map(\.cvAIQ))
        #expect(ma.autoStrategy == mb.autoStrategy)
        #expect(ma.defaultLambda == mb.defaultLambda)
        for name in ["uniroute-cluster", "uniroute-learned-map", "knn"] {
            let dir = "strategies/\(name)"
            let files = try FileManager.default.contentsOfDirectory(atPath: a.appendingPathComponent(dir).path).sorted()
            for file in files {
                let x = FileManager.default.contents(atPath: a.appendingPathComponent("\(dir)/\(file)").path)
                let y = FileManager.default.contents(atPath: b.appendingPathComponent("\(dir)/\(file)").path)
                #expect(x == y, "\(dir)/\(file) differs between two builds with the same seed")
            }
        }
    }

    @Test func damagedArtifactsAreClearErrors() throws {
        let directory = RoutingTestData.temporaryDirectory("damaged")
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try build(to: directory)

        // A truncated matrix.
        let centroids = directory.appendingPathComponent("strategies/uniroute-cluster/centroids.f32")
        let original = try #require(FileManager.default.contents(atPath: centroids.path))
        try original.prefix(original.count - 4).write(to: centroids)
        #expect(throws: SwitchyardError.self) { try RouterArtifact.load(from: directory) }
        do {
            _ = try RouterArtifact.load(from: directory)
        } catch {
            #expect("\(error)".contains("corrupt"), "\(error)")
        }
        try original.write(to: centroids)
        _ = try RouterArtifact.load(from: directory)

        // A missing file.
        let knn = directory.appendingPathComponent("strategies/knn/knn.json")
        let knnData = try #require(FileManager.default.contents(atPath: knn.path))
        try FileManager.default.removeItem(at: knn)
        #expect(throws: SwitchyardError.self) { try RouterArtifact.load(from: directory) }
        _ = try RouterArtifact.load(from: directory, only: ["uniroute-cluster"])
        try knnData.write(to: knn)

        // Another format version.
        let manifestURL = directory.appendingPathComponent("manifest.json")
        let manifestData = try #require(FileManager.default.contents(atPath: manifestURL.path))
        let manifest = try #require(String(data: manifestData, encoding: .utf8))
        try manifest.replacingOccurrences(of: "\"formatVersion\" : \(RouterManifest.currentFormatVersion)", with: "\"formatVersion\" : 99").write(to: manifestURL, atomically: true, encoding: .utf8)
        do {
            _ = try RouterArtifact.load(from: directory)
            Issue.record("a version-99 artifact loaded")
        } catch {
            #expect("\(error)".contains("version 99"), "\(error)")
        }
    }

    @Test("auto takes the cheapest strategy to run among those cross-validation cannot tell apart, and a clear winner otherwise")
    func autoPrefersCheapNearTies() {
        let builder = ProfileBuilder(logger: RoutingTestData.logger)
        func entry(_ name: String, _ aiq: Double) -> RouterManifest.StrategyEntry { .init(name: name, cvAIQ: aiq, trainSeconds: 0) }
        // LLMRouter dev, 2026-12-03: kNN leads by 0.0014, within the tolerance.
        let nearTie = [entry("knn", 0.6404), entry("inference-dynamics", 0.6393), entry("uniroute-learned-map", 0.6390),
                       entry("uniroute-cluster", 0.6390), entry("aptitude", 0.6371)]
        #expect(builder.autoStrategy(nearTie) == "uniroute-cluster")
        #expect(builder.autoStrategy([entry("knn", 0.65), entry("uniroute-cluster", 0.64), entry("aptitude", 0.6495)]) == "aptitude")
        #expect(builder.autoStrategy([entry("knn", 0.65)]) == "knn")
    }
}
