import Foundation
import SwitchyardCore
import Testing
@testable import Routing

@Suite("Task prior: a soft map to the training tasks, blended into strategies")
struct TaskPriorTests {
    @Test("the classifier learns the synthetic tasks and its prior prefers each task's expert")
    func learnsTasks() throws {
        let (context, featurizer, _) = try RoutingTestData.context()
        let fit = try #require(TaskPrior.fit(context))
        #expect(fit.tasks == ["code", "math"])
        let prior = try #require(fit.prior(models: context.models, pooled: false))
        let math = try RoutingTestData.features(RoutingTestData.prompt(math: true), featurizer)
        let code = try RoutingTestData.features(RoutingTestData.prompt(math: false), featurizer)
        let p = prior.priors([math, code])
        let mathPro = try #require(context.models.firstIndex(of: "math-pro"))
        let codePro = try #require(context.models.firstIndex(of: "code-pro"))
        // (Measured: math query math-pro 0.78 / code-pro 0.22; code query 0.04 / 0.96.)
        #expect(p[0, mathPro] > 0.7 && p[0, mathPro] > p[0, codePro] + 0.4)
        #expect(p[1, codePro] > 0.7 && p[1, codePro] > p[1, mathPro] + 0.4)
        // Same inputs, same fit.
        let again = try #require(TaskPrior.compute(context, configuration: TaskPrior.Configuration()))
        #expect(again.theta == fit.theta && again.bias == fit.bias)
    }

    @Test("no labels, no prior: records without tasks leave strategies unblended")
    func unlabelledData() throws {
        var (context, _, _) = try RoutingTestData.context()
        context.train.records = context.train.records.map { var r = $0; r.task = nil; return r }
        #expect(TaskPrior.compute(context, configuration: TaskPrior.Configuration())?.tasks == nil)
    }

    @Test("a blend never lowers dev AIQ, and w = 1 returns the base predictions unchanged")
    func blendChoice() throws {
        let (context, featurizer, _) = try RoutingTestData.context()
        let prior = try #require(TaskPrior.fit(context)?.prior(models: context.models, pooled: false))
        // A useless base strategy: the same prediction for every query.
        let flat = [Double](repeating: 0.5, count: context.selection.count * context.models.count)
        let baseAIQ = context.selectionAIQ(predicted: flat)
        let choice = TaskPriorBlendStrategy.choose(local: flat, models: context.models, prior: prior, context: context)
        #expect(choice.aiq >= baseAIQ)
        #expect(choice.weight < 1)
        let best = try BestSingleStrategy.train(context)
        let unblended = TaskPriorBlendStrategy(base: best, prior: prior, weight: 1)
        let query = try RoutingTestData.features(RoutingTestData.prompt(math: true), featurizer)
        #expect(unblended.predictQuality(query) == best.predictQuality(query))
    }

    @Test("the artifact stores the prior once and loads blended strategies; onboarding adds the model's column")
    func artifactRoundTrip() throws {
        let directory = RoutingTestData.temporaryDirectory("task-prior")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (context, _, _) = try RoutingTestData.context()
        let prior = try #require(TaskPrior.fit(context)?.prior(models: context.models, pooled: true))
        try prior.save(to: directory)
        let loaded = try TaskPrior.load(from: directory)
        #expect(loaded == prior)
        let vectors = (0..<4).map { context.train.vectors.row($0) }
        let extended = try loaded.adding(model: "new", vectors: vectors, outcomes: [1, 0, 1, 0], shrinkage: 5)
        #expect(extended.models == context.models + ["new"])
        #expect(extended.quality.cols == prior.quality.cols + 1)
        // A corrupt file is a clear error, not a crash.
        try Data("{".utf8).write(to: directory.appendingPathComponent("task_prior.json"))
        #expect(throws: (any Error).self) { try TaskPrior.load(from: directory) }
    }
}
