import Foundation
import Grading
import SwitchyardCore

/// What the replay backend knows: every prompt of a routing-data file, how each model did on it,
/// and token counts that reproduce the recorded cost under the catalog's prices.
public final class ReplayCatalog: Sendable {
    /// One model's recorded answer to one prompt.
    public struct Answer: Sendable, Hashable {
        public var recordID: String?
        public var score: Double
        public var promptTokens: Int
        public var completionTokens: Int
        public var costUSD: Double
        /// False when the prompt was not in the data and the answer was made up deterministically.
        public var known: Bool
    }

    struct ModelStats: Sendable {
        var meanScore: Double
        var meanCompletionTokens: Double
        var price: ModelPrice?
    }

    public let models: [String]
    /// Gold answers by record id (`--answers`): with them a reply carries the gold answer where the
    /// recorded outcome is 1 and a wrong one otherwise, in the format the prompt's grader reads.
    public let answers: [String: GoldAnswer]
    private let graders: [String: any LocalGrader]
    private let records: [RoutingRecord]
    private let promptIndex: [String: Int]
    private let stats: [String: ModelStats]

    /// Builds the catalog; a model without a price still answers, with usage from the data's
    /// `output_tokens` when present (else 0 completion tokens).
    public init(dataset: RoutingDataset, prices: [String: ModelPrice], answers: [String: GoldAnswer] = [:]) {
        records = dataset.records
        models = dataset.models
        self.answers = answers
        var graders: [String: any LocalGrader] = [:]
        for spec in Set(answers.values.map(\.grader)) {
            if let grader = try? GraderSpec.local(spec) { graders[spec] = grader }
        }
        self.graders = graders
        var index: [String: Int] = [:]
        index.reserveCapacity(dataset.records.count)
        for (i, record) in dataset.records.enumerated() where index[record.prompt] == nil {
            index[record.prompt] = i
        }
        promptIndex = index
        var stats: [String: ModelStats] = [:]
        for model in dataset.models {
            var scoreSum = 0.0
            var tokenSum = 0.0
            for record in dataset.records {
                scoreSum += record.outcomes[model] ?? 0
                tokenSum += Double(Self.completionTokens(record: record, model: model, price: prices[model]))
            }
            let n = Double(max(1, dataset.records.count))
            stats[model] = ModelStats(meanScore: scoreSum / n, meanCompletionTokens: tokenSum / n, price: prices[model])
        }
        self.stats = stats
    }

    /// Loads routing data and prices (`models.json` beside the data file unless `modelsPath` is given),
    /// and gold answers when `answersPath` is given.
    public static func load(dataPath: String, modelsPath: String? = nil, answersPath: String? = nil) throws(SwitchyardError) -> ReplayCatalog {
        let dataset = try RoutingDataset.load(path: dataPath)
        let pricesPath = modelsPath
            ?? URL(fileURLWithPath: dataPath).deletingLastPathComponent().appendingPathComponent("models.json").path
        guard FileManager.default.fileExists(atPath: pricesPath) else {
            throw .unreadableFile(
                file: pricesPath,
                reason: "no models.json with prices: put one beside the data file or pass --models FILE"
            )
        }
        let catalog = try ModelInfo.loadCatalog(path: pricesPath)
        var prices: [String: ModelPrice] = [:]
        for info in catalog { prices[info.name] = info.price }
        var answers: [String: GoldAnswer] = [:]
        if let answersPath {
            answers = try LabelledPrompts.loadAnswers(path: answersPath)
            for spec in Set(answers.values.map(\.grader)).sorted() {
                let grader: (any LocalGrader)?
                do throws(GradingError) {
                    grader = try GraderSpec.local(spec)
                } catch {
                    throw .badFile(file: answersPath, reason: "\(error)")
                }
                if grader == nil {
                    throw .badFile(file: answersPath, reason: "grader '\(spec)' needs a judge model: the replay backend scripts replies for rule-based graders only")
                }
            }
        }
        return ReplayCatalog(dataset: dataset, prices: prices, answers: answers)
    }

    public func serves(_ model: String) -> Bool { stats[model] != nil }

    public func price(of model: String) -> ModelPrice? { stats[model]?.price }

    /// The reply text a model would have given a recorded prompt when its gold answer is known: the
    /// gold answer for a recorded outcome of 1, a wrong one otherwise. Nil without an answer.
    public func scriptedReply(recordID: String, correct: Bool) -> String? {
        guard let gold = answers[recordID], let grader = graders[gold.grader] else { return nil }
        return ScriptedReply.make(grader: grader, gold: gold.answer, correct: correct)
    }

    /// The recorded answer of `model` to `prompt`, or a deterministic pseudo-answer for an unknown
    /// prompt: correct with the model's mean score as probability (seeded by the prompt's hash),
    /// with the model's mean completion length. Nil when the model is not in the data.
    public func answer(model: String, prompt: String) -> Answer? {
        guard let modelStats = stats[model] else { return nil }
        if let i = promptIndex[prompt] {
            let record = records[i]
            let completion = Self.completionTokens(record: record, model: model, price: modelStats.price)
            return Answer(
                recordID: record.id, score: record.outcomes[model] ?? 0,
                promptTokens: Self.promptTokens(record: record), completionTokens: completion,
                costUSD: record.costs[model] ?? 0, known: true
            )
        }
        var hash = FNV1a()
        hash.add(model)
        hash.add("\u{0}")
        hash.add(prompt)
        let unit = Double(hash.value >> 11) / Double(1 << 53)
        let promptTokens = max(1, prompt.utf8.count / 4)
        let completion = Int(modelStats.meanCompletionTokens.rounded())
        let cost = modelStats.price?.cost(inputTokens: Double(promptTokens), outputTokens: Double(completion)) ?? 0
        return Answer(
            recordID: nil, score: unit < modelStats.meanScore ? 1 : 0,
            promptTokens: promptTokens, completionTokens: completion, costUSD: cost, known: false
        )
    }

    static func promptTokens(record: RoutingRecord) -> Int {
        record.inputTokens ?? max(1, record.prompt.utf8.count / 4)
    }

    /// Completion tokens from the data, or solved from the recorded cost and the price.
    static func completionTokens(record: RoutingRecord, model: String, price: ModelPrice?) -> Int {
        if let tokens = record.outputTokens?[model] { return tokens }
        guard let price, price.outputUSDPerMTok > 0, let cost = record.costs[model] else { return 0 }
        let input = Double(promptTokens(record: record)) * price.inputUSDPerMTok
        return max(0, Int(((cost * 1_000_000 - input) / price.outputUSDPerMTok).rounded()))
    }
}

/// 64-bit FNV-1a: a stable hash (Swift's `Hasher` is seeded per process, so it cannot be used).
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ text: String) {
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value &*= 0x100_0000_01b3
        }
    }
}
