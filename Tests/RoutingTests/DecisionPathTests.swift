import Budget
import Foundation
import Testing
@testable import Routing
import SwitchyardCore

/// The allocation-free decision path must answer exactly what the plain definitions say.
@Suite struct DecisionPathTests {
    /// Sparse nearest centroid = brute-force squared-L2 nearest centroid.
    @Test func centroidIndexMatchesBruteForce() throws {
        let (base, _, _) = try RoutingTestData.context()
        let fit = KMeans.fit(base.train.vectors, configuration: .init(k: 4, restarts: 1, seed: 3))
        let index = CentroidIndex(fit.centroids)
        for query in base.dev.features {
            var best = 0
            var bestDistance = Float.infinity
            for c in 0..<fit.centroids.rows {
                let d = zip(fit.centroids.row(c), query.vector).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
                if d < bestDistance - 1e-5 {
                    bestDistance = d
                    best = c
                }
            }
            #expect(index.nearest(query.vector) == best)
        }
        #expect(index.nearest([1, 2]) == nil)
    }

    /// The router's precomputed cost rows give the cost model's own estimates, group by group.
    @Test func precomputedCostsEqualTheCostModel() throws {
        let (base, _, _) = try RoutingTestData.context(train: 80, dev: 20)
        let groups = try #require(CostGroups.fit(base.train.vectors, k: 3, seed: 0))
        var groupOf: [String: String] = [:]
        for (record, group) in zip(base.train.records, groups.groups(of: base.train.features)) { groupOf[record.prompt] = group }
        let model = try CostModel.fit(records: base.train.records, prices: RoutingTestData.prices, models: RoutingTestData.models, group: { groupOf[$0.prompt] })
        let strategy = try BestSingleStrategy.train(base)
        for router in [try Router(strategy: strategy, costModel: model, lambda: 0, costGroups: groups), try Router(strategy: strategy, costModel: model, lambda: 0)] {
            for query in base.dev.features {
                let expected = router.estimatedCosts(query, group: router.costGroups?.group(of: query.vector))
                #expect(router.estimatedCosts(query) == expected)
            }
        }
    }

    /// Per-query cluster and learned-map predictions equal the batched matrix definitions.
    @Test func uniRoutePerQueryPredictionsMatchTheTables() throws {
        let (base, _, _) = try RoutingTestData.context()
        let cluster = try UniRouteClusterStrategy.train(base)
        let assigned = KMeans.assign(base.dev.vectors, centroids: cluster.centroids).assignments
        for (i, query) in base.dev.features.enumerated() {
            #expect(cluster.predictQuality(query) == cluster.quality.row(assigned[i]).map(Double.init))
        }
        let map = try UniRouteLearnedMapStrategy.train(base)
        let p = UniRouteLearnedMapStrategy.probabilities(base.dev.vectors, theta: map.theta, bias: map.bias)
        let expected = LinearAlgebra.multiply(p, map.quality)
        for (i, query) in base.dev.features.enumerated() {
            let got = map.predictQuality(query)
            for j in got.indices { #expect(abs(got[j] - Double(expected[i, j])) < 1e-4) }
        }
    }

    /// kNN per query (pool postings, stack buffers) answers what the batched BLAS path answers, and
    /// the task-prior blend per query equals its batch form.
    @Test func knnAndBlendPerQueryMatchBatch() throws {
        let (base, _, _) = try RoutingTestData.context(train: 80, dev: 20)
        let knn = try KNNStrategy.train(base)
        let batch = knn.predictQuality(batch: base.dev.features)
        for (i, query) in base.dev.features.enumerated() {
            let single = knn.predictQuality(query)
            for j in single.indices { #expect(abs(single[j] - batch[i][j]) < 1e-4) }
        }
        let prior = try #require(try TaskPrior.fit(base)?.prior(models: base.models))
        let blended = TaskPriorBlendStrategy(base: knn, prior: prior, weight: 0.4)
        let blendedBatch = blended.predictQuality(batch: base.dev.features)
        for (i, query) in base.dev.features.enumerated() {
            let single = blended.predictQuality(query)
            for j in single.indices { #expect(abs(single[j] - blendedBatch[i][j]) < 1e-4) }
        }
    }

    /// A query carrying its non-zero positions (what `Router.decide` hands the strategies) is scored
    /// exactly as one without them, by every sparse path.
    @Test func knownNonZerosGiveTheSamePredictions() throws {
        let (base, _, _) = try RoutingTestData.context(train: 80, dev: 20)
        let strategies: [any RoutingStrategy] = [
            try UniRouteClusterStrategy.train(base), try UniRouteLearnedMapStrategy.train(base), try KNNStrategy.train(base),
            try AptitudeStrategy.train(base),
        ]
        for strategy in strategies {
            for query in base.dev.features {
                let indexed = query.indexingNonZeros()
                #expect(indexed.nonZeros?.count == query.vector.filter { $0 != 0 }.count)
                #expect(indexed == query)
                let a = strategy.predictQuality(query), b = strategy.predictQuality(indexed)
                for j in a.indices { #expect(abs(a[j] - b[j]) < 1e-4, "\(strategy.name)") }
            }
        }
    }
}
