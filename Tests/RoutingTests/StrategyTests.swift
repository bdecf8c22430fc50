import Foundation
import Profiling
@testable import Routing
import SwitchyardCore
import Testing

/// Each strategy on synthetic data where the right model is known: math-pro for math, code-pro for code.
@Suite struct StrategyTests {
    @Test("kNN's top k: the k largest, best first, ties to the lower index")
    func topIndicesMatchSorting() {
        // Few distinct values, so ties are everywhere; a fixed sequence keeps the test deterministic.
        var state: UInt64 = 7
        let values: [Float] = (0..<500).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float((state >> 33) % 6) / 10
        }
        // Ascending, periodic and constant rows too: the k-th best then changes at every step, or never.
        for values in [values, values.sorted(), (0..<2000).map { Float($0 % 7) }, [Float](repeating: 0, count: 3000)] {
            let expected = values.indices.sorted { a, b in values[a] != values[b] ? values[a] > values[b] : a < b }
            values.withUnsafeBufferPointer { buffer in
                for k in [1, 2, 5, 10, 80, 499, 500, 900] {
                    #expect(KNNStrategy.topIndices(buffer, k: k) == Array(expected.prefix(k)), "k = \(k), n = \(values.count)")
                }
            }
        }
    }

    /// `margin`: how far the specialist's predicted quality must lead the other expert's.
    func expectSpecialists(_ strategy: any RoutingStrategy, _ featurizer: Featurizer, margin: Double = 0.3) throws {
        let math = try strategy.predictQuality(RoutingTestData.features(RoutingTestData.prompt(math: true), featurizer))
        let code = try strategy.predictQuality(RoutingTestData.features(RoutingTestData.prompt(math: false), featurizer))
        let (cheap, codePro, mathPro) = (0, 1, 2)
        #expect(strategy.models == RoutingTestData.models)
        #expect(math[mathPro] > math[codePro] + margin, "math prompt: \(math)")
        #expect(math[mathPro] > math[cheap])
        #expect(code[codePro] > code[mathPro] + margin, "code prompt: \(code)")
        #expect(code[codePro] > code[cheap])
        for q in math + code { #expect(q >= 0 && q <= 1) }
    }

    @Test func knnFindsTheSpecialist() throws {
        // Enough prompts that leave-one-out does not choose by the noise of `cheap`'s coin flips.
        let (context, featurizer, _) = try RoutingTestData.context(train: 300, dev: 100)
        let strategy = try KNNStrategy.train(context)
        // Cross-validated AIQ reads the ranking of the models, not the size of the lead, and on these two
        // clean tasks it chooses heavy smoothing (measured: k = 80, weighted, κ = 100, leads 0.16–0.17).
        try expectSpecialists(strategy, featurizer, margin: 0.1)
        #expect(KNNStrategy.candidates.contains(strategy.k), "k=\(strategy.k) weighted=\(strategy.weighted) κ=\(strategy.shrinkage.kappa) clusters=\(strategy.clusterPrior != nil)")
        #expect(strategy.vectors.rows == context.train.count + context.dev.count, "final pool is train + dev")
    }

    @Test func uniRouteClusterFindsTheSpecialist() throws {
        let (context, featurizer, _) = try RoutingTestData.context()
        let strategy = try UniRouteClusterStrategy.train(context)
        try expectSpecialists(strategy, featurizer)
    }

    @Test func uniRouteLearnedMapFindsTheSpecialist() throws {
        let (context, featurizer, _) = try RoutingTestData.context()
        let strategy = try UniRouteLearnedMapStrategy.train(context)
        try expectSpecialists(strategy, featurizer)
        let p = try strategy.predictQuality(batch: [RoutingTestData.features(RoutingTestData.prompt(math: true), featurizer)])
        #expect(p.count == 1)
    }

    @Test func batchPredictionEqualsSinglePrediction() throws {
        let (context, _, _) = try RoutingTestData.context()
        let strategies: [any RoutingStrategy] = [
            try KNNStrategy.train(context), try UniRouteClusterStrategy.train(context), try UniRouteLearnedMapStrategy.train(context),
        ]
        let queries = Array(context.dev.features.prefix(7))
        for strategy in strategies {
            let batch = strategy.predictQuality(batch: queries)
            for (i, query) in queries.enumerated() {
                let single = strategy.predictQuality(query)
                for j in single.indices { #expect(abs(single[j] - batch[i][j]) < 1e-5, "\(strategy.name)") }
            }
        }
    }

    @Test func bestSingleAndCheapestBaselines() throws {
        let (context, featurizer, _) = try RoutingTestData.context()
        let best = try BestSingleStrategy.train(context)
        let query = try RoutingTestData.features(RoutingTestData.prompt(math: true), featurizer)
        #expect(best.predictQuality(query) == best.meanQuality)
        // Specialists are right on half the prompts each; all means are about 0.5.
        for q in best.meanQuality { #expect(q > 0.3 && q < 0.7) }
        let cheapest = try CheapestStrategy.train(context)
        let router = try Router(strategy: cheapest, costModel: context.costModel, lambda: 0)
        #expect(try router.decide(id: "x", query: query).model == "cheap", "cheapest ignores quality even at λ = 0")
    }

    @Test func randomIsSeededAndSpreads() throws {
        let (context, _, _) = try RoutingTestData.context()
        let a = try RandomStrategy.train(context)
        let b = RandomStrategy(models: context.models, seed: context.seed)
        var chosen = Set<Int>()
        for query in context.dev.features {
            #expect(a.predictQuality(query) == b.predictQuality(query))
            let q = a.predictQuality(query)
            chosen.insert(q.indices.max { q[$0] < q[$1] }!)
        }
        #expect(chosen.count == 3, "30 queries reach every model")
    }

    @Test func kMeansIsDeterministicAndSeparatesGroups() throws {
        var points = FloatMatrix(rows: 0, cols: 2)
        for i in 0..<20 {
            let jitter = Float(i % 5) * 0.01
            try points.appendRow(i < 10 ? [1 + jitter, 0] : [0, 1 + jitter])
        }
        let a = KMeans.fit(points, configuration: .init(k: 2, seed: 3))
        let b = KMeans.fit(points, configuration: .init(k: 2, seed: 3))
        #expect(a.centroids == b.centroids)
        #expect(a.assignments == b.assignments)
        #expect(Set(a.assignments[0..<10]).count == 1)
        #expect(Set(a.assignments[10..<20]).count == 1)
        #expect(a.assignments[0] != a.assignments[10])
    }
}
