import Budget
import Foundation
import Testing
@testable import Routing
import SwitchyardCore

@Suite struct CostGroupsTests {
    /// math-pro writes long answers to math prompts and short ones to code prompts: with cost groups the
    /// router's estimate follows the kind of query; without them it is the same for both.
    @Test func costEstimatesFollowTheQueryGroup() throws {
        let (base, featurizer, _) = try RoutingTestData.context(train: 80, dev: 20)
        let records = base.train.records.map { record -> RoutingRecord in
            var copy = record
            copy.outputTokens = ["cheap": 45, "code-pro": 45, "math-pro": record.task == "math" ? 900 : 10]
            return copy
        }
        let groups = try #require(CostGroups.fit(base.train.vectors, k: 2, seed: 0))
        var groupOf: [String: String] = [:]
        for (record, group) in zip(records, groups.groups(of: base.train.features)) { groupOf[record.prompt] = group }
        let grouped = try CostModel.fit(records: records, prices: RoutingTestData.prices, models: RoutingTestData.models, group: { groupOf[$0.prompt] })
        let strategy = try BestSingleStrategy.train(base)
        let router = try Router(strategy: strategy, costModel: grouped, lambda: 0, costGroups: groups)
        let plain = try Router(strategy: strategy, costModel: grouped, lambda: 0)
        let math = try RoutingTestData.features(RoutingTestData.prompt(math: true), featurizer)
        let code = try RoutingTestData.features(RoutingTestData.prompt(math: false), featurizer)
        let j = try #require(strategy.models.firstIndex(of: "math-pro"))
        let mathCost = router.estimatedCosts(math)[j], codeCost = router.estimatedCosts(code)[j]
        #expect(mathCost > 10 * codeCost, "math-pro should be estimated dearer on math (\(mathCost)) than on code (\(codeCost))")
        #expect(plain.estimatedCosts(math)[j] == plain.estimatedCosts(code)[j])
        // The batch path assigns the same groups as the one-query path.
        #expect(router.estimatedCosts(batch: [math, code]) == [router.estimatedCosts(math), router.estimatedCosts(code)])
    }

    @Test func groupsRoundTripThroughTheArtifactFiles() throws {
        let (base, _, _) = try RoutingTestData.context()
        let groups = try #require(CostGroups.fit(base.train.vectors, k: 3, seed: 0))
        let directory = RoutingTestData.temporaryDirectory("cost-groups")
        defer { try? FileManager.default.removeItem(at: directory) }
        try groups.save(to: directory)
        let loaded = try #require(try CostGroups.load(from: directory))
        #expect(loaded.centroids == groups.centroids)
        #expect(loaded.groups(of: base.dev.features) == groups.groups(of: base.dev.features))
        #expect(try CostGroups.load(from: directory.appendingPathComponent("none")) == nil)
    }

    /// All models costing the same leaves no cost range: AIQ is the quality reached, never NaN.
    @Test func aiqWithoutCostRangeIsFinite() {
        let points = [CostQualityPoint(lambda: 0, cost: 1, quality: 0.7), CostQualityPoint(lambda: 1, cost: 1, quality: 0.6)]
        let aiq = CostQualitySweep.aiq(points, lo: 1, hi: 1)
        #expect(aiq == 0.7)
    }
}
