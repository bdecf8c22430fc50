import Foundation
import Logging
import Profiling
@testable import Routing
import SwitchyardCore
import Testing

/// `models add` end to end on a real artifact: build without the coder, onboard it from its aptitude
/// outcomes and price, and check that the reloaded router sends code prompts to it.
@Suite("Onboarding a model into a built artifact (models add)")
struct AptitudeOnboardingTests {
    static let withoutCoder: [String: Int?] = ["coin": nil, "mathy": 1, "trivia-buff": 2]

    func dataset(_ count: Int, offset: Int) -> RoutingDataset {
        RoutingDataset(records: AptitudeSyntheticData.records(count, offset: offset, models: Self.withoutCoder).0)
    }

    @Test("a model left out of training is routed to after models add; other strategies keep their pool")
    func onboardIntoArtifact() throws {
        let directory = try AptitudeSyntheticData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let price = ModelPrice(inputUSDPerMTok: 1, outputUSDPerMTok: 1)
        let builder = ProfileBuilder(
            configuration: .init(strategies: ["aptitude", "uniroute-cluster", "inference-dynamics", "knn"], seed: 1),
            logger: Logger(label: "test")
        )
        _ = try builder.build(
            train: dataset(150, offset: 0), dev: dataset(60, offset: 10_000),
            prices: ["coin": price, "mathy": price, "trivia-buff": price],
            sources: .init(trainFile: "synthetic", devFile: nil), to: directory
        )
        // The coder answers the aptitude prompts: right on code, wrong elsewhere.
        let aptitude = try AptitudeStrategy.load(from: directory.appendingPathComponent("strategies/aptitude"))
        let file = directory.appendingPathComponent("coder-aptitude.jsonl")
        let writer = try JSONLinesWriter(path: file.path)
        for id in aptitude.set.ids {
            let kind = AptitudeSyntheticData.kinds.firstIndex(of: String(id.split(separator: "-")[0])) ?? 0
            try writer.writeRaw(Data("{\"id\": \"\(id)\", \"outcome\": \(kind == 0 ? 1 : 0)}\n".utf8))
        }
        writer.flush()
        let outcomes = try AptitudeOutcomes.load(path: file.path, model: "coder")
        let report = try ModelOnboarding.onboard(
            directory: directory, model: "coder", price: ModelPrice(inputUSDPerMTok: 0.5, outputUSDPerMTok: 0.5),
            outcomes: outcomes, logger: Logger(label: "test")
        )
        #expect(Set(report.updated) == ["aptitude", "uniroute-cluster", "inference-dynamics"])
        #expect(report.unchanged["knn"] != nil)
        #expect(report.answered == aptitude.set.count)

        let artifact = try RouterArtifact.load(from: directory)
        #expect(artifact.manifest.models.contains("coder"))
        #expect(artifact.costModel.models.contains("coder"))
        let profile = try artifact.profiler().profile([AptitudeSyntheticData.prompt(kind: 0, index: 777)])[0]
        let query = QueryFeatures(vector: profile.vector, inputTokens: profile.inputTokens)
        for name in ["aptitude", "uniroute-cluster", "inference-dynamics"] {
            let router = try artifact.router(strategy: name, lambda: 0)
            let decision = try router.decide(id: "q", query: query)
            #expect(decision.model == "coder", "\(name) should send a code prompt to the onboarded coder")
        }
        // A math prompt still goes to the math specialist.
        let math = try artifact.profiler().profile([AptitudeSyntheticData.prompt(kind: 1, index: 777)])[0]
        let mathDecision = try artifact.router(strategy: "aptitude", lambda: 0)
            .decide(id: "m", query: QueryFeatures(vector: math.vector, inputTokens: math.inputTokens))
        #expect(mathDecision.model == "mathy")
    }

    @Test("with a validation set, UniRoute's per-cluster quality comes from it; a short test needs one prompt per category")
    func onboardWithValidationAndAShortTest() throws {
        let directory = try AptitudeSyntheticData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let price = ModelPrice(inputUSDPerMTok: 1, outputUSDPerMTok: 1)
        let builder = ProfileBuilder(
            configuration: .init(strategies: ["aptitude", "uniroute-cluster"], seed: 1), logger: Logger(label: "test"))
        _ = try builder.build(
            train: dataset(150, offset: 0), dev: dataset(60, offset: 10_000),
            prices: ["coin": price, "mathy": price, "trivia-buff": price],
            sources: .init(trainFile: "synthetic", devFile: nil), to: directory)
        let plain = directory.appendingPathComponent("plain")
        let validated = directory.appendingPathComponent("validated")
        for copy in [plain, validated] {
            try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
            for item in try FileManager.default.contentsOfDirectory(atPath: directory.path) where !["plain", "validated"].contains(item) {
                try FileManager.default.copyItem(at: directory.appendingPathComponent(item), to: copy.appendingPathComponent(item))
            }
        }
        let aptitude = try AptitudeStrategy.load(from: directory.appendingPathComponent("strategies/aptitude"))
        var outcomes: [String: Double] = [:]
        for id in aptitude.set.ids { outcomes[id] = id.hasPrefix("code-") ? 1 : 0 }
        let coder = AptitudeOutcomes(model: "coder", outcomes: outcomes)
        _ = try ModelOnboarding.onboard(directory: plain, model: "coder", price: price, outcomes: coder, logger: Logger(label: "test"))

        // Validation: code prompts right, math prompts wrong (trivia not asked).
        let artifact = try RouterArtifact.load(from: directory, only: ["uniroute-cluster"])
        let prompts = (0..<12).map { AptitudeSyntheticData.prompt(kind: $0 % 2, index: 20_000 + $0) }
        let vectors = try artifact.featurizer.vectors(prompts)
        let validationOutcomes: [Float] = (0..<12).map { $0 % 2 == 0 ? 1 : 0 }
        let report = try ModelOnboarding.onboard(
            directory: validated, model: "coder", price: price, outcomes: coder,
            validation: .init(vectors: vectors, outcomes: validationOutcomes), logger: Logger(label: "test"))
        #expect(report.validationPrompts == 12)

        // The aptitude strategy is the same either way; UniRoute's column is the validation's shrunk cluster means.
        #expect(try Data(contentsOf: plain.appendingPathComponent("strategies/aptitude/aptitude.json"))
            == Data(contentsOf: validated.appendingPathComponent("strategies/aptitude/aptitude.json")))
        let cluster = try UniRouteClusterStrategy.load(from: validated.appendingPathComponent("strategies/uniroute-cluster"))
        let column = try #require(cluster.models.firstIndex(of: "coder"))
        let assigned = cluster.clusters(vectors.map { QueryFeatures(vector: $0, inputTokens: 0) })
        for c in 0..<cluster.centroids.rows {
            let members = assigned.indices.filter { assigned[$0] == c }
            let sum = members.map { validationOutcomes[$0] }.reduce(0, +)
            let expected = (sum + ModelOnboarding.clusterShrinkage * 0.5) / (Float(members.count) + ModelOnboarding.clusterShrinkage)
            #expect(abs(cluster.quality[c, column] - expected) < 1e-6, "cluster \(c)")
        }

        // A short test: one answered prompt per category is enough; the others take their category's mean.
        var firstOfEach: [String: Double] = [:]
        var categoryValue: [Int: Double] = [:]
        for (id, category) in zip(aptitude.set.ids, aptitude.set.categories) where categoryValue[category] == nil {
            firstOfEach[id] = outcomes[id]
            categoryValue[category] = outcomes[id]
        }
        #expect(firstOfEach.count == aptitude.set.categoryCount)
        let short = try aptitude.adding(model: "coder", outcomes: firstOfEach)
        let row = try #require(short.aptitude.last)
        for (i, category) in aptitude.set.categories.enumerated() {
            #expect(row[i] == Float(try #require(categoryValue[category])))
        }
        let one = try #require(firstOfEach.first)
        if aptitude.set.categoryCount > 1, aptitude.set.count > 2 {
            #expect(throws: AptitudeError.self) { try aptitude.adding(model: "coder", outcomes: [one.key: one.value]) }
        }
    }

    @Test("the aptitude file: short form, routing-data form, and bad lines")
    func aptitudeFile() throws {
        let directory = try AptitudeSyntheticData.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let short = directory.appendingPathComponent("short.jsonl")
        try Data("{\"id\": \"a\", \"outcome\": 1, \"output_tokens\": 10}\n{\"id\": \"b\", \"outcome\": 0, \"output_tokens\": 30}\n".utf8).write(to: short)
        let s = try AptitudeOutcomes.load(path: short.path, model: "m")
        #expect(s.outcomes == ["a": 1, "b": 0])
        #expect(s.meanOutputTokens == 20)
        let routing = directory.appendingPathComponent("routing.jsonl")
        try Data("{\"id\": \"a\", \"prompt\": \"p\", \"outcomes\": {\"m\": 1, \"x\": 0}, \"costs\": {\"m\": 0.1}, \"output_tokens\": {\"m\": 40}}\n".utf8).write(to: routing)
        let r = try AptitudeOutcomes.load(path: routing.path, model: "m")
        #expect(r.outcomes == ["a": 1])
        #expect(r.meanOutputTokens == 40)
        let bad = directory.appendingPathComponent("bad.jsonl")
        try Data("{\"id\": \"a\", \"outcome\": 3}\n".utf8).write(to: bad)
        #expect(throws: SwitchyardError.self) { try AptitudeOutcomes.load(path: bad.path, model: "m") }
        try Data("{\"id\": \"a\"}\n".utf8).write(to: bad)
        #expect(throws: SwitchyardError.self) { try AptitudeOutcomes.load(path: bad.path, model: "m") }
        #expect(throws: SwitchyardError.self) { try AptitudeOutcomes.load(path: routing.path, model: "nobody") }
    }
}
