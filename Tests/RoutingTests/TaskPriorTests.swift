import Budget
import Foundation
import Profiling
import SwitchyardCore
import Testing
@testable import Routing

@Suite("Task prior: a soft map to the training tasks, blended into strategies")
struct TaskPriorTests {
    @Test("the classifier learns the synthetic tasks and its prior prefers each task's expert")
    func learnsTasks() throws {
        let (context, featurizer, _) = try RoutingTestData.context()
        let fit = try #require(try TaskPrior.fit(context))
        #expect(fit.tasks == ["code", "math"])
        let prior = try #require(fit.prior(models: context.models))
        let math = try RoutingTestData.features(RoutingTestData.prompt(math: true), featurizer)
        let code = try RoutingTestData.features(RoutingTestData.prompt(math: false), featurizer)
        let p = prior.priors([math, code])
        let mathPro = try #require(context.models.firstIndex(of: "math-pro"))
        let codePro = try #require(context.models.firstIndex(of: "code-pro"))
        // (Measured, epochs chosen by cross-validated log loss (60): math query math-pro 0.65 / code-pro 0.35;
        // code query 0.02 / 0.98.)
        #expect(p[0, mathPro] > 0.6 && p[0, mathPro] > p[0, codePro] + 0.2, "\(p.row(0)) \(p.row(1)) epochs \(fit.epochs)")
        #expect(p[1, codePro] > 0.7 && p[1, codePro] > p[1, mathPro] + 0.4)
        // Same inputs, same fit.
        let again = try #require(try TaskPrior.compute(context, configuration: TaskPrior.Configuration()).first)
        #expect(again.theta == fit.theta && again.bias == fit.bias)
    }

    @Test("no labels, no prior: records without tasks leave strategies unblended")
    func unlabelledData() throws {
        var (context, _, _) = try RoutingTestData.context()
        context.train.records = context.train.records.map { var r = $0; r.task = nil; return r }
        context.dev.records = context.dev.records.map { var r = $0; r.task = nil; return r }
        #expect(try TaskPrior.compute(context, configuration: TaskPrior.Configuration()).isEmpty)
    }

    @Test("a blend never lowers cross-validated AIQ, and w = 1 returns the base predictions unchanged")
    func blendChoice() throws {
        let (context, featurizer, _) = try RoutingTestData.context()
        let fit = try #require(try TaskPrior.fit(context))
        let prior = try #require(fit.prior(models: context.models))
        let cv = try context.crossValidation()
        // A useless base strategy: the same prediction for every query.
        let flat = [Double](repeating: 0.5, count: cv.count * context.models.count)
        let choice = TaskPriorBlendStrategy.choose(local: flat, prior: fit.predictions, cv: cv)
        #expect(choice.estimate.mean >= cv.score(flat).mean)
        #expect(choice.weight < 1)
        #expect(choice.estimate == cv.score(choice.predictions))
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
        let prior = try #require(try TaskPrior.fit(context)?.prior(models: context.models))
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

    /// Prompts whose question words are drawn from one shared vocabulary: only the instruction line
    /// (the template, which the routing features strip) tells the two tasks apart.
    static func templatedRecords(_ count: Int, seed: UInt64, prefix: String) -> [RoutingRecord] {
        var generator = SplitMix64(seed: seed)
        let words = RoutingTestData.mathWords + RoutingTestData.codeWords
        return (0..<count).map { i in
            let isMath = i % 2 == 0
            let question = (0..<3).map { _ in words[Int(generator.next() % UInt64(words.count))] }.joined(separator: " ")
            let instruction = isMath ? "Answer with a single number." : "Answer with a runnable snippet."
            return RoutingRecord(
                id: "\(prefix)-\(i)", prompt: "\(question)\n\(instruction)", task: isMath ? "math" : "code",
                outcomes: ["cheap": 0.5, "code-pro": isMath ? 0 : 1, "math-pro": isMath ? 1 : 0],
                costs: ["cheap": 0.00001, "code-pro": 0.0001, "math-pro": 0.0001], inputTokens: 20,
                outputTokens: ["cheap": 45, "code-pro": 45, "math-pro": 45])
        }
    }

    @Test("where only the template tells tasks apart, the whole-prompt classifier knows them and the routing vector cannot")
    func wholePromptClassifier() throws {
        let train = RoutingDataset(records: Self.templatedRecords(80, seed: 3, prefix: "train"))
        let dev = RoutingDataset(records: Self.templatedRecords(40, seed: 4, prefix: "dev"))
        let pairs = train.records.map { (prompt: $0.prompt, task: $0.task) }
        let featurizer = try Featurizer.learn(from: pairs, configuration: .init(lexical: .init(dimension: 256)))
        let taskFeaturizer = try Featurizer.learn(from: pairs, configuration: .init(stripTemplate: false, lexical: .init(dimension: 256)))
        #expect(featurizer.stripper.lines.count == 2)
        var context = try ProfileBuilder(logger: RoutingTestData.logger).makeContext(
            featurizer: featurizer, tokenCounter: TokenCounter.calibrate(on: train.records),
            costModel: try CostModel.fit(records: train.records, prices: RoutingTestData.prices, models: RoutingTestData.models),
            models: RoutingTestData.models, prices: RoutingTestData.prices, train: train, dev: dev, taskFeaturizer: taskFeaturizer)
        context.includeDevInFit = false  // dev stays held out: the accuracies below are measured on it
        let fits = try TaskPrior.fits(context)
        #expect(fits.map(\.readsTaskVector) == [false, true])
        let routing = try #require(try TaskPrior.fit(context, readsTaskVector: false)?.prior(models: context.models))
        let whole = try #require(try TaskPrior.fit(context, readsTaskVector: true)?.prior(models: context.models))
        func accuracy(_ prior: TaskPrior) -> Double {
            let right = zip(context.dev.features, context.dev.records).filter { features, record in
                let mix = prior.taskMix(features)
                return (mix[1] > mix[0]) == (record.task == "math")
            }
            return Double(right.count) / Double(context.dev.count)
        }
        // (Measured: whole prompt 0.875, routing vector 0.525, a coin.)
        #expect(accuracy(whole) >= 0.85)
        #expect(accuracy(routing) <= 0.65)

        // The profile stage's mix is the one training computed from the task vector, and a query that
        // carries only the mix gets the same prior.
        let classifier = try #require(TaskPriorClassifier(featurizer: taskFeaturizer, prior: whole))
        #expect(TaskPriorClassifier(featurizer: taskFeaturizer, prior: routing) == nil)
        let prompts = dev.records.prefix(6).map(\.prompt)
        let mixes = try classifier.taskMixes(prompts)
        for (i, mix) in mixes.enumerated() {
            #expect(mix == whole.taskMix(context.dev.features[i]))
            let served = QueryFeatures(vector: context.dev.features[i].vector, inputTokens: 20, taskMix: mix).indexingNonZeros()
            #expect(whole.prior(served) == whole.prior(context.dev.features[i]))
        }
        // A query profiled without the classifier gets the uniform mix, not a wrong one.
        #expect(whole.taskMix(QueryFeatures(vector: context.dev.features[0].vector, inputTokens: 20)) == [0.5, 0.5])

        // Between stages the mix travels, the task vector does not.
        let encoded = try JSONEncoder().encode(QueryFeatures(vector: [1], inputTokens: 3, taskMix: mixes[0], taskVector: [0.5, 0.5]))
        let decoded = try JSONDecoder().decode(QueryFeatures.self, from: encoded)
        #expect(decoded.taskMix == mixes[0] && decoded.taskVector == nil)

        // Saved and loaded with its flag.
        let directory = RoutingTestData.temporaryDirectory("task-prior-whole")
        defer { try? FileManager.default.removeItem(at: directory) }
        try whole.save(to: directory)
        #expect(try TaskPrior.load(from: directory) == whole)
    }

    @Test("profile build keeps the whole-prompt prior when it cross-validates better; the loaded profiler sends its mix and routes by it")
    func buildKeepsWholePromptPrior() throws {
        let train = RoutingDataset(records: Self.templatedRecords(80, seed: 5, prefix: "train"))
        let dev = RoutingDataset(records: Self.templatedRecords(40, seed: 6, prefix: "dev"))
        let out = RoutingTestData.temporaryDirectory("task-prior-build")
        defer { try? FileManager.default.removeItem(at: out) }
        let manifest = try ProfileBuilder(
            configuration: .init(
                featurizers: [Featurizer.Configuration(lexical: .init(dimension: 256))], strategies: ["best-single", "uniroute-cluster", "aptitude"],
                costGroupCandidates: [0], taskFeaturizers: [Featurizer.Configuration(stripTemplate: false, lexical: .init(dimension: 256))]),
            logger: RoutingTestData.logger
        ).build(train: train, dev: dev, prices: RoutingTestData.prices, sources: .init(trainFile: "train", devFile: "dev"), to: out)
        let entry = try #require(manifest.strategies.first { $0.name == "uniroute-cluster" })
        #expect((entry.taskPriorWeight ?? 1) < 1)
        let artifact = try RouterArtifact.load(from: out)
        let classifier = try #require(artifact.taskClassifier)
        #expect(classifier.prior.readsTaskVector)
        let records = Self.templatedRecords(10, seed: 7, prefix: "test")
        let profiles = try artifact.profiler().profile(records.map(\.prompt))
        #expect(profiles.allSatisfy { $0.taskMix?.count == 2 })
        let router = try artifact.router(strategy: "uniroute-cluster", lambda: 0)
        for (record, profile) in zip(records, profiles) {
            let decision = try router.decide(id: record.id, query: QueryFeatures(profile))
            #expect(decision.model == (record.task == "math" ? "math-pro" : "code-pro"))
        }

        // Onboarding reads the aptitude prompts through the classifier's own featurizer: a model right on
        // every math prompt and wrong on every code prompt gets a high math row and a low code row.
        let aptitude = try AptitudeStrategy.load(from: RouterArtifact.strategyDirectory(out, "aptitude"))
        let isMath = Dictionary(uniqueKeysWithValues: (train.records + dev.records).map { ($0.id, $0.task == "math") })
        let outcomes = Dictionary(uniqueKeysWithValues: aptitude.set.ids.map { ($0, isMath[$0] == true ? 1.0 : 0.0) })
        _ = try ModelOnboarding.onboard(
            directory: out, model: "math-too", price: ModelPrice(inputUSDPerMTok: 0.5, outputUSDPerMTok: 0.5),
            outcomes: AptitudeOutcomes(model: "math-too", outcomes: outcomes), logger: RoutingTestData.logger)
        let prior = try TaskPrior.load(from: out.appendingPathComponent(RouterArtifact.taskPriorDirectory))
        let column = try #require(prior.models.firstIndex(of: "math-too"))
        let math = try #require(prior.tasks.firstIndex(of: "math")), code = try #require(prior.tasks.firstIndex(of: "code"))
        #expect(prior.readsTaskVector)
        #expect(prior.quality[math, column] > 0.7 && prior.quality[code, column] < 0.3)
    }
}
