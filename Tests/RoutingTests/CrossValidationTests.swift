import Budget
import Foundation
import Profiling
@testable import Routing
import SwitchyardCore
import Testing

/// K-fold cross-validation: stratified seeded folds, honest out-of-fold predictions, estimates with
/// standard errors, the stack, and `auto`'s near-tie rule.
@Suite struct CrossValidationTests {
    @Test("folds are stratified by task, balanced, seeded and deterministic")
    func stratifiedFolds() {
        let tasks: [String?] = (0..<103).map { $0 % 3 == 0 ? "a" : ($0 % 3 == 1 ? "b" : nil) }
        let folds = CrossValidationFolds(tasks: tasks, count: 5, seed: 7)
        #expect(folds.count == 5)
        let sizes = (0..<5).map { folds.heldOut($0).count }
        #expect(sizes.max()! - sizes.min()! <= 1)
        for task in ["a", "b"] as [String?] + [nil] {
            let rows = tasks.indices.filter { tasks[$0] == task }
            let perFold = (0..<5).map { f in rows.filter { folds.fold[$0] == f }.count }
            #expect(perFold.max()! - perFold.min()! <= 1, "task \(task ?? "none") spread \(perFold)")
        }
        #expect(folds == CrossValidationFolds(tasks: tasks, count: 5, seed: 7))
        #expect(folds != CrossValidationFolds(tasks: tasks, count: 5, seed: 8))
        #expect(Set(folds.training(2)).isDisjoint(with: folds.heldOut(2)))
        #expect(CrossValidationFolds(tasks: ["x"], count: 5, seed: 0).count == 1)
    }

    @Test("an estimate is the fold mean with its standard error")
    func estimate() {
        let e = CVEstimate(folds: [0.8, 0.82, 0.84, 0.86, 0.88])
        #expect(abs(e.mean - 0.84) < 1e-12)
        // sd = 0.0316228, / √5 = 0.0141421
        #expect(abs(e.standardError - 0.0141421) < 1e-6)
        #expect(e.pairedStandardError(CVEstimate(folds: [0.79, 0.81, 0.83, 0.85, 0.87])) < 1e-12)
        #expect(e.formatted == "0.8400 ± 0.0141")
    }

    @Test("a cluster table's out-of-fold prediction is exactly the table refitted without the fold")
    func outOfFoldIsAFitWithoutTheFold() throws {
        let (context, _, _) = try RoutingTestData.context()
        let cv = try context.crossValidation()
        let table = try ClusterTable.build(context)
        let m = context.models.count
        for f in 0..<cv.folds.count {
            let others = cv.folds.training(f)
            let refit = ClusterTable.Stats(assignments: table.assigned, outcomes: cv.labelled.outcomes, k: table.centroids.rows, rows: others)
                .quality(kappa: table.kappa)
            for i in cv.heldOutRows[f] {
                for j in 0..<m {
                    #expect(abs(table.predictions[i * m + j] - Double(refit[table.assigned[i], j])) < 1e-6)
                }
            }
        }
    }

    @Test("every learned strategy cross-validates to out-of-fold predictions of the right shape, scored as stated")
    func strategiesCrossValidate() throws {
        let (context, _, _) = try RoutingTestData.context(train: 80, dev: 20)
        let cv = try context.crossValidation()
        for type in StrategyRegistry.standard.types {
            let result = try type.crossValidate(context)
            #expect(result.predictions.count == cv.count * context.models.count, "\(type.strategyName)")
            #expect(result.estimate.folds.count == cv.folds.count)
            if !type.costOnly { #expect(result.estimate == cv.score(result.predictions), "\(type.strategyName)") }
        }
        // The synthetic tasks are easy: the cluster table routes them.
        let cluster = try UniRouteClusterStrategy.crossValidate(context)
        let single = try BestSingleStrategy.crossValidate(context)
        #expect(cluster.estimate.mean > single.estimate.mean + 0.02)
    }

    @Test("the stack's strongest penalty is the plain average of its inputs, and it never loses to it")
    func stackAnchorsOnTheAverage() throws {
        let (context, _, _) = try RoutingTestData.context(train: 80, dev: 20)
        let cv = try context.crossValidation()
        let a = try UniRouteClusterStrategy.crossValidate(context).predictions
        let b = try KNNStrategy.crossValidate(context).predictions
        let fitted = try EnsembleStrategy.crossValidate(bases: [("uniroute-cluster", a), ("knn", b)], prior: nil, cv: cv, logger: RoutingTestData.logger)
        let average = zip(a, b).map { ($0 + $1) / 2 }
        #expect(fitted.result.estimate.mean >= cv.score(average).mean - 1e-9 || fitted.stack.penalty == EnsembleStrategy.penalties[0])
        #expect(fitted.stack.weights.count == context.models.count && fitted.stack.weights.allSatisfy { $0.count == 3 })
        // At a penalty far above the data, the weights are the anchor: no intercept, 1/2 each.
        let anchored = try EnsembleStrategy.crossValidate(bases: [("a", a), ("b", b)], prior: nil, cv: cv, logger: RoutingTestData.logger, penalties: [1e12])
        for w in anchored.stack.weights { #expect(abs(w[0]) < 1e-6 && abs(w[1] - 0.5) < 1e-6 && abs(w[2] - 0.5) < 1e-6) }
    }

    @Test("auto takes the stack only when it beats every single strategy by more than the near-tie margin")
    func autoAndTheStack() {
        let builder = ProfileBuilder(logger: RoutingTestData.logger)
        func entry(_ name: String, _ aiq: Double) -> RouterManifest.StrategyEntry { .init(name: name, cvAIQ: aiq, trainSeconds: 0) }
        #expect(builder.autoStrategy([entry("uniroute-cluster", 0.6375), entry("knn", 0.6372), entry("ensemble", 0.6390)]) == "uniroute-cluster")
        #expect(builder.autoStrategy([entry("uniroute-cluster", 0.6375), entry("knn", 0.6372), entry("ensemble", 0.6400)]) == "ensemble")
    }
}
