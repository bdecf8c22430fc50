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
