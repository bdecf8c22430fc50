import Budget
import Foundation
import Grading

/// `summary.json` of a collect run, and the table the command prints.
public struct CollectSummary: Sendable, Codable, Hashable {
    public struct PerModel: Sendable, Codable, Hashable {
        /// Pairs of the prompt file with a reply (all runs).
        public var answered: Int
        /// Mean outcome over them.
        public var accuracy: Double
        /// Summed cost of those replies (all runs).
        public var costUSD: Double
        public var meanCompletionTokens: Double

        enum CodingKeys: String, CodingKey {
            case answered, accuracy
            case costUSD = "cost_usd"
            case meanCompletionTokens = "mean_completion_tokens"
        }
    }

    public var prompts: Int
    public var models: [String]
    public var pairs: Int
    /// Pairs that already had a reply when this run started.
    public var resumed: Int
    /// Pairs this run answered and graded.
    public var answered: Int
    /// Pairs this run left without an outcome, by code (`errors.jsonl` has them).
    public var errors: [String: Int]
    /// Pairs this run never sent because it was stopped (SIGTERM, SIGINT): a rerun sends them.
    public var notSent: Int
    /// The run was stopped before every pair was sent.
    public var stopped: Bool
    /// What this run spent (models and judges), from real usage × price.
    public var spendUSD: Double
    public var budgetUSD: Double?
    public var perModel: [String: PerModel]
    /// Prompts written to `routing.jsonl`, and prompts left out because a model has no outcome yet.
    public var routingPrompts: Int
    public var incompletePrompts: Int
    /// Models of `routing.jsonl` (those collected now and earlier into the same directory).
    public var routingModels: [String]
    public var wallSeconds: Double

    enum CodingKeys: String, CodingKey {
        case prompts, models, pairs, resumed, answered, errors, stopped
        case notSent = "not_sent"
        case spendUSD = "spend_usd"
        case budgetUSD = "budget_usd"
        case perModel = "per_model"
        case routingPrompts = "routing_prompts"
        case incompletePrompts = "incomplete_prompts"
        case routingModels = "routing_models"
        case wallSeconds = "wall_seconds"
    }

    static func make(
        prompts: [LabelledPrompt], models: [String], replies: [ReplyRecord], run: RunState, ledger: SpendLedger.Snapshot,
        budgetUSD: Double?, routing: (written: Int, incomplete: Int), tableModels: [String], seconds: Double,
        stopped: Bool = false
    ) -> CollectSummary {
        let ids = Set(prompts.map(\.id))
        var perModel: [String: PerModel] = [:]
        for model in models {
            let mine = replies.filter { $0.model == model && ids.contains($0.id) }
            let n = Double(max(1, mine.count))
            perModel[model] = PerModel(
                answered: mine.count, accuracy: mine.map(\.outcome).reduce(0, +) / n,
                costUSD: mine.map(\.costUSD).reduce(0, +),
                meanCompletionTokens: Double(mine.compactMap(\.completionTokens).reduce(0, +)) / n)
        }
        return CollectSummary(
            prompts: prompts.count, models: models, pairs: prompts.count * models.count, resumed: run.resumed,
            answered: run.answered, errors: run.errors,
            notSent: max(0, prompts.count * models.count - run.resumed - run.answered - run.errors.values.reduce(0, +)),
            stopped: stopped, spendUSD: ledger.actualUSD, budgetUSD: budgetUSD,
            perModel: perModel, routingPrompts: routing.written, incompletePrompts: routing.incomplete,
            routingModels: tableModels, wallSeconds: seconds)
    }

    /// Pairs this run tried that got no outcome (error records), all codes.
    public var failed: Int { errors.values.reduce(0, +) }

    /// The lines the command prints: one per model, then the totals.
    public var table: String {
        var lines = ["| model | answered | accuracy | cost USD | mean output tokens |", "|---|---|---|---|---|"]
        for model in models {
            guard let m = perModel[model] else { continue }
            lines.append("| \(model) | \(m.answered) | " + String(format: "%.3f | %.6f | %.1f |", m.accuracy, m.costUSD, m.meanCompletionTokens))
        }
        let errorText = errors.isEmpty ? "none" : errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        lines.append("")
        let budget = budgetUSD.map { String(format: " of $%.4f", $0) } ?? ""
        let stoppedText = notSent > 0 ? ", \(notSent) not sent (stopped: rerun to continue)" : ""
        lines.append("\(pairs) pairs: \(resumed) done before, \(answered) answered now, errors: \(errorText)\(stoppedText); spent "
            + String(format: "$%.6f", spendUSD) + budget + String(format: " in %.1f s", wallSeconds))
        lines.append("routing data: \(routingPrompts) prompts × \(routingModels.count) models" + (incompletePrompts > 0 ? " (\(incompletePrompts) prompts still lack an outcome: rerun to finish them)" : ""))
        return lines.joined(separator: "\n")
    }
}
