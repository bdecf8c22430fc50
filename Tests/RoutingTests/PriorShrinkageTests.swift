import Foundation
@testable import Routing
import SwitchyardCore
import Testing

/// Empirical-Bayes shrinkage toward the model prior: known answers, selection by cross-validation,
/// determinism.
@Suite struct PriorShrinkageTests {
    @Test func shrinksByEvidenceWithKnownAnswer() {
        let shrinkage = PriorShrinkage(prior: [0.5, 0.2], kappa: 2)
        // n = 2, κ = 2: w = 0.5.
        #expect(shrinkage.weight(evidence: 2) == 0.5)
        let q = shrinkage.apply([1, 0], evidence: 2)
        #expect(abs(q[0] - 0.75) < 1e-12 && abs(q[1] - 0.1) < 1e-12)
        // n = 6, κ = 2: w = 0.75.
        let r = shrinkage.apply([1, 0], evidence: 6)
        #expect(abs(r[0] - 0.875) < 1e-12 && abs(r[1] - 0.05) < 1e-12)
        // No evidence: the prior; κ = 0: the local prediction untouched.
        #expect(shrinkage.apply([1, 0], evidence: 0) == [0.5, 0.2])
        #expect(PriorShrinkage(prior: [0.5, 0.2], kappa: 0).apply([1, 0], evidence: 0) == [1, 0])
        #expect(PriorShrinkage(prior: [0.5], kappa: -3).kappa == 0)
    }

    @Test func meansPoolTables() throws {
        let a = try FloatMatrix(rows: 2, cols: 2, values: [1, 0, 0, 0])
        let b = try FloatMatrix(rows: 2, cols: 2, values: [1, 1, 0, 1])
        #expect(PriorShrinkage.means(a) == [0.5, 0])
        #expect(PriorShrinkage.means(a, b) == [0.5, 0.5])
    }

    @Test func clusterStatsShrinkTowardTheGlobalMean() throws {
        // Cluster 0 holds rows 0 and 1, cluster 1 row 2, cluster 2 nothing.
        let outcomes = try FloatMatrix(rows: 3, cols: 1, values: [1, 1, 0])
        let stats = ClusterTable.Stats(assignments: [0, 0, 1], outcomes: outcomes, k: 3)
        let global: Float = 2.0 / 3
        let q = stats.quality(kappa: 1)
        #expect(abs(q[0, 0] - (2 + global) / 3) < 1e-6)
        #expect(abs(q[1, 0] - global / 2) < 1e-6)
        #expect(abs(q[2, 0] - global) < 1e-6, "an empty cluster gets the global mean")
        #expect(stats.quality(kappa: 0)[0, 0] == 1)
        // A fold's table is the whole table without the fold's rows: exactly the fit of the others.
        let without = stats.subtracting(ClusterTable.Stats(assignments: [0, 0, 1], outcomes: outcomes, k: 3, rows: [2]))
        let direct = ClusterTable.Stats(assignments: [0, 0, 1], outcomes: outcomes, k: 3, rows: [0, 1])
        #expect(without.quality(kappa: 1) == direct.quality(kappa: 1))
    }

    /// The κ of `PriorShrinkage.candidates` with the best cross-validated AIQ (the smaller on ties), as
    /// the strategies choose it.
    static func bestKappa(local: [Double], evidence: [Double], priors: [Double], cv: CrossValidation) -> (kappa: Double, aiq: Double) {
        var best = (kappa: 0.0, aiq: -Double.infinity)
        for kappa in PriorShrinkage.candidates {
            let aiq = cv.score(PriorShrinkage.shrink(local: local, evidence: evidence, queryPriors: priors, kappa: kappa)).mean
            if aiq > best.aiq + CrossValidation.minimumGain { best = (kappa, aiq) }
        }
        return best
    }

    @Test func perfectLocalPredictionsAreNotShrunk() throws {
        let (context, _, _) = try RoutingTestData.context()
        let cv = try context.crossValidation()
        let local = cv.labelled.outcomes.values.map(Double.init)
        let priors = cv.rowsOfFoldValues(cv.complementMeans(cv.labelled.outcomes))
        let evidence = [Double](repeating: 10, count: cv.count)
        let choice = Self.bestKappa(local: local, evidence: evidence, priors: priors, cv: cv)
        #expect(choice.kappa == 0)
        #expect(choice.aiq >= cv.score(PriorShrinkage.shrink(local: local, evidence: evidence, queryPriors: priors, kappa: 200)).mean - 1e-12)
    }

    @Test func wrongLocalPredictionsAreShrunkAndTheChoiceIsDeterministic() throws {
        let (context, _, _) = try RoutingTestData.context()
        let cv = try context.crossValidation()
        // Anti-predictions (the wrong model looks best) against per-query priors that know the answer
        // (as a good cluster prior would): shrinking by more than the evidence (κ > 1) must win.
        let local = cv.labelled.outcomes.values.map { 1 - Double($0) }
        let truth = cv.labelled.outcomes.values.map(Double.init)
        let evidence = [Double](repeating: 1, count: cv.count)
        let a = Self.bestKappa(local: local, evidence: evidence, priors: truth, cv: cv)
        let b = Self.bestKappa(local: local, evidence: evidence, priors: truth, cv: cv)
        #expect(a.kappa > 1)
        #expect(a.kappa == b.kappa && a.aiq == b.aiq)
        #expect(a.aiq > cv.score(local).mean)
    }

    @Test func knnChoiceIsDeterministicAndSurvivesTheArtifact() throws {
        let (context, featurizer, _) = try RoutingTestData.context()
        let a = try KNNStrategy.train(context)
        let b = try KNNStrategy.train(context)
        #expect(a.k == b.k && a.weighted == b.weighted && a.shrinkage == b.shrinkage)
        #expect(a.shrinkage.prior.count == context.models.count)
        let dir = RoutingTestData.temporaryDirectory("knn-shrinkage")
        defer { try? FileManager.default.removeItem(at: dir) }
        try a.save(to: dir)
        let loaded = try KNNStrategy.load(from: dir)
        #expect(loaded.weighted == a.weighted && loaded.shrinkage == a.shrinkage)
        let query = try RoutingTestData.features(RoutingTestData.prompt(math: true), featurizer)
        #expect(loaded.predictQuality(query) == a.predictQuality(query))
    }

    @Test func knnWithAHugePseudoCountPredictsThePrior() throws {
        let (context, featurizer, _) = try RoutingTestData.context()
        let prior = PriorShrinkage.means(context.train.outcomes)
        let strategy = try KNNStrategy(
            models: context.models, k: 5, vectors: context.train.vectors, outcomes: context.train.outcomes, weighted: true,
            shrinkage: PriorShrinkage(prior: prior, kappa: 1e9))
        let q = strategy.predictQuality(try RoutingTestData.features(RoutingTestData.prompt(math: false), featurizer))
        for j in q.indices { #expect(abs(q[j] - prior[j]) < 1e-6) }
    }

    @Test func knnClusterPriorSurvivesTheArtifact() throws {
        let (context, featurizer, _) = try RoutingTestData.context()
        let table = try ClusterTable.build(context)
        let strategy = try KNNStrategy(
            models: context.models, k: 5, vectors: context.train.vectors, outcomes: context.train.outcomes,
            shrinkage: PriorShrinkage(prior: PriorShrinkage.means(context.train.outcomes), kappa: 1e9),
            clusterPrior: (table.centroids, table.quality))
        let query = try RoutingTestData.features(RoutingTestData.prompt(math: true), featurizer)
        // With a huge κ the prediction is the query's cluster row.
        let cluster = KMeans.assign(LinearAlgebra.stack([query], dimension: table.centroids.cols), centroids: table.centroids).assignments[0]
        let q = strategy.predictQuality(query)
        for j in q.indices { #expect(abs(q[j] - Double(table.quality[cluster, j])) < 1e-5) }
        let dir = RoutingTestData.temporaryDirectory("knn-cluster-prior")
        defer { try? FileManager.default.removeItem(at: dir) }
        try strategy.save(to: dir)
        #expect(try KNNStrategy.load(from: dir).predictQuality(query) == q)
    }
}
