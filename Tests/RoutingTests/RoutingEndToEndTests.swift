import Foundation
import Profiling
@testable import Routing
import SwitchyardCore
import Testing

/// build → route on a small slice of the real shared data (zeroeval), without the CLI.
@Suite struct RoutingEndToEndTests {
    @Test func buildThenRouteOnRealData() throws {
        let directory = RoutingTestData.routingData.appendingPathComponent("zeroeval")
        let trainPath = directory.appendingPathComponent("train.jsonl").path
        try #require(FileManager.default.fileExists(atPath: trainPath), "shared routing data missing at \(trainPath): it ships in the repository under data/routing")
        let train = try RoutingDataset.load(path: trainPath)
        let dev = try RoutingDataset.load(path: directory.appendingPathComponent("dev.jsonl").path)
        let test = try RoutingDataset.load(path: directory.appendingPathComponent("test.jsonl").path)
        let prices = Dictionary(try ModelInfo.loadCatalog(path: directory.appendingPathComponent("models.json").path).map { ($0.name, $0.price) }, uniquingKeysWith: { a, _ in a })
        // Every 8th record keeps all three tasks in a small slice.
        func slice(_ d: RoutingDataset, _ n: Int) -> RoutingDataset {
            RoutingDataset(records: Array(d.records.enumerated().filter { $0.offset % 8 == 0 }.map(\.element).prefix(n)))
        }
        let out = RoutingTestData.temporaryDirectory("e2e")
        defer { try? FileManager.default.removeItem(at: out) }
        let manifest = try ProfileBuilder(
            configuration: .init(
                featurizers: [Featurizer.Configuration(lexical: .init(dimension: 1024))],
                strategies: ["best-single", "knn", "uniroute-cluster", "uniroute-learned-map"]
            ),
            logger: RoutingTestData.logger
        ).build(train: slice(train, 200), dev: slice(dev, 40), prices: prices, sources: .init(trainFile: trainPath, devFile: nil), to: out)
        #expect(manifest.models.count == 26)
        #expect(!manifest.featurizer.stripTemplate || manifest.featurizerLabel.hasPrefix("strip+"))

        let artifact = try RouterArtifact.load(from: out)
        let records = Array(slice(test, 30).records)
        var requests = records.map { RouteRequest(id: $0.id, prompt: $0.prompt) }
        requests[1].maxCostUSD = 1e-9
        requests[2].pinnedModel = "gpt-4o-mini-2024-07-18"
        requests[3].pinnedModel = "no-such-model"
        let batch = BatchRouter(profiler: artifact.profiler(), router: try artifact.router(strategy: "auto", lambda: 0))
        let outcomes = try batch.route(requests, explain: true)
        #expect(outcomes.count == requests.count)
        for (i, outcome) in outcomes.enumerated() {
            switch (i, outcome.result) {
            case (1, .failure(let error)): #expect(error.code == .overCostCap)
            case (2, .success(let decision)): #expect(decision.model == "gpt-4o-mini-2024-07-18")
            case (3, .failure(let error)): #expect(error.code == .unknownModel)
            case (_, .success(let decision)):
                #expect(decision.id == requests[i].id)
                #expect(manifest.models.contains(decision.model))
                #expect(decision.alternatives.count == 25)
                #expect(outcome.explanation != nil || decision.strategy == "best-single")
            case (_, .failure(let error)):
                Issue.record("line \(i) failed: \(error)")
            }
        }
        // A batch budget: the allocator keeps the estimated total within it.
        let budget = 0.002
        let budgeted = try batch.route(requests, budgetUSD: budget)
        let spent = budgeted.compactMap { try? $0.result.get().estimatedCostUSD }.reduce(0, +)
        #expect(spent <= budget + 1e-12)
        #expect(budgeted.count == requests.count)
    }
}
