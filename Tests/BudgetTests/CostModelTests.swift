import Foundation
import SwitchyardCore
import Testing
@testable import Budget

@Suite("CostModel")
struct CostModelTests {
    let prices = ["a": ModelPrice(inputUSDPerMTok: 1, outputUSDPerMTok: 2), "b": ModelPrice(inputUSDPerMTok: 10, outputUSDPerMTok: 20)]

    @Test("recorded output tokens are averaged per model and per group, with shrinkage")
    func recorded() throws {
        let records = [
            RoutingRecord(id: "1", prompt: "x", task: "t1", outcomes: [:], costs: [:], inputTokens: 100, outputTokens: ["a": 10, "b": 100]),
            RoutingRecord(id: "2", prompt: "x", task: "t2", outcomes: [:], costs: [:], inputTokens: 100, outputTokens: ["a": 30, "b": 300]),
        ]
        let model = try CostModel.fit(records: records, prices: prices, shrinkage: 1) { $0.task }
        #expect(model.models == ["a", "b"])
        #expect(model.meanOutputTokens == [20, 200])
        #expect(model.outputTokens(group: "t1") == [15, 150])  // (10 + 1·20) / 2
        #expect(model.outputTokens(group: "unknown") == [20, 200])
        let estimate = model.estimate(inputTokens: 1000, group: nil)
        #expect(abs(estimate[0] - (1000 * 1 + 20 * 2) / 1e6) < 1e-15)
        #expect(abs(estimate[1] - (1000 * 10 + 200 * 20) / 1e6) < 1e-15)
    }

    @Test("without output_tokens, they are derived from cost and price, clamped at 0")
    func derived() throws {
        let records = [
            RoutingRecord(id: "1", prompt: "x", outcomes: [:], costs: ["a": (100 * 1 + 50 * 2) / 1e6, "b": 0], inputTokens: 100)
        ]
        let model = try CostModel.fit(records: records, prices: prices)
        #expect(abs(model.meanOutputTokens[0] - 50) < 1e-9)
        #expect(model.meanOutputTokens[1] == 0)
    }

    @Test("a missing price is an error that says where to add it")
    func missingPrice() {
        #expect(throws: SwitchyardError.self) {
            try CostModel.fit(records: [], prices: prices, models: ["a", "c"])
        }
    }

    @Test("onboarding a model and restricting the pool keep arrays aligned; JSON round trip")
    func addAndRestrict() throws {
        let model = try CostModel.fit(records: [], prices: prices)
        let grown = model.adding(model: "c", price: ModelPrice(inputUSDPerMTok: 3, outputUSDPerMTok: 4), meanOutputTokens: 7)
        #expect(grown.models == ["a", "b", "c"])
        #expect(grown.estimate(model: "c", inputTokens: 0, group: nil) == 28 / 1e6)
        let sub = try #require(grown.restricted(to: ["c", "a"]))
        #expect(sub.models == ["c", "a"])
        let data = try JSONEncoder().encode(sub)
        #expect(try JSONDecoder().decode(CostModel.self, from: data) == sub)
    }

    @Test("fitted on the zeroeval train split, estimates track the recorded test costs")
    func zeroeval() throws {
        let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("data/routing/zeroeval")
        guard FileManager.default.fileExists(atPath: data.path) else {
            Issue.record("routing data missing at \(data.path): it ships in the repository under data/routing")
            return
        }
        let train = try RoutingDataset.load(path: data.appendingPathComponent("train.jsonl").path)
        let test = try RoutingDataset.load(path: data.appendingPathComponent("test.jsonl").path)
        let catalog = try ModelInfo.loadCatalog(path: data.appendingPathComponent("models.json").path)
        let prices = Dictionary(uniqueKeysWithValues: catalog.map { ($0.name, $0.price) })
        let model = try CostModel.fit(records: train.records, prices: prices, models: train.models) { $0.task }
        // Total estimated vs recorded cost per model over the test split: within 25 %.
        for (j, name) in model.models.enumerated() {
            var estimated = 0.0, recorded = 0.0
            for record in test.records {
                estimated += model.estimate(inputTokens: record.inputTokens ?? 0, group: record.task)[j]
                recorded += record.costs[name] ?? 0
            }
            #expect(abs(estimated / recorded - 1) < 0.25, "\(name): estimated \(estimated) vs recorded \(recorded)")
        }
    }
}
