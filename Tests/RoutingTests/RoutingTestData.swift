import Budget
import Foundation
import Logging
import Profiling
@testable import Routing
import SwitchyardCore

/// Synthetic routing problems whose right answer is known, and paths to the shared data.
enum RoutingTestData {
    static let logger: Logger = {
        var logger = Logger(label: "routing-tests")
        logger.logLevel = .critical
        return logger
    }()

    /// Three models: `math-pro` is right on math prompts only, `code-pro` on code prompts only,
    /// `cheap` is right on half of everything and costs a tenth.
    static let models = ["cheap", "code-pro", "math-pro"]
    static let prices: [String: ModelPrice] = [
        "cheap": ModelPrice(inputUSDPerMTok: 0.1, outputUSDPerMTok: 0.1),
        "code-pro": ModelPrice(inputUSDPerMTok: 1, outputUSDPerMTok: 1),
        "math-pro": ModelPrice(inputUSDPerMTok: 1, outputUSDPerMTok: 1),
    ]

    static let mathWords = ["integer", "prime", "sum", "triangle", "equation", "fraction", "solve", "divisible", "polynomial", "angle"]
    static let codeWords = ["python", "function", "list", "return", "string", "loop", "assert", "dictionary", "index", "variable"]
    static let template = "## Instruction\nPlease answer with reasoning in json format."

    /// `count` prompts alternating math and code, each wrapped in the shared template.
    static func records(_ count: Int, seed: UInt64, prefix: String) -> [RoutingRecord] {
        var generator = SplitMix64(seed: seed)
        return (0..<count).map { i in
            let isMath = i % 2 == 0
            let words = isMath ? mathWords : codeWords
            let question = (0..<6).map { _ in words[Int(generator.next() % UInt64(words.count))] }.joined(separator: " ")
            let cheapRight: Double = generator.unit() < 0.5 ? 1 : 0
            let outcomes = ["cheap": cheapRight, "code-pro": isMath ? 0 : 1, "math-pro": isMath ? 1 : 0]
            let costs = ["cheap": 0.00001, "code-pro": 0.0001, "math-pro": 0.0001]
            return RoutingRecord(
                id: "\(prefix)-\(i)", prompt: "## Question\n\(question)\n\n\(template)", task: isMath ? "math" : "code",
                outcomes: outcomes, costs: costs, inputTokens: 20, outputTokens: ["cheap": 45, "code-pro": 45, "math-pro": 45]
            )
        }
    }

    static func prompt(math: Bool) -> String {
        "## Question\n\((math ? mathWords : codeWords).prefix(5).joined(separator: " "))\n\n\(template)"
    }

    /// A training context over the synthetic data with the default featurizer.
    static func context(train: Int = 60, dev: Int = 30, seed: UInt64 = 0) throws -> (TrainingContext, Featurizer, TokenCounter) {
        let trainData = RoutingDataset(records: records(train, seed: 1, prefix: "train"))
        let devData = RoutingDataset(records: records(dev, seed: 2, prefix: "dev"))
        let featurizer = try Featurizer.learn(
            from: trainData.records.map { (prompt: $0.prompt, task: $0.task) },
            configuration: Featurizer.Configuration(lexical: .init(dimension: 256))
        )
        let tokens = TokenCounter.calibrate(on: trainData.records)
        let costModel = try CostModel.fit(records: trainData.records, prices: prices, models: models)
        let builder = ProfileBuilder(configuration: .init(seed: seed), logger: logger)
        let context = try builder.makeContext(
            featurizer: featurizer, tokenCounter: tokens, costModel: costModel, models: models,
            prices: prices, train: trainData, dev: devData
        )
        return (context, featurizer, tokens)
    }

    static func features(_ prompt: String, _ featurizer: Featurizer) throws -> QueryFeatures {
        QueryFeatures(vector: try featurizer.vectors([prompt])[0], inputTokens: 20)
    }

    /// Repo root (3 levels above this file) and the routing data it carries.
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let routingData = repoRoot.appendingPathComponent("data/routing")

    static func temporaryDirectory(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("routing-tests-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
