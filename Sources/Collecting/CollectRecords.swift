import Foundation
import Grading
import SwitchyardCore

/// One graded (prompt, model) pair: a line of `replies.jsonl`, the raw material of the routing data
/// (and the journal a rerun resumes from).
public struct ReplyRecord: Sendable, Hashable, Codable {
    public var id: String
    public var model: String
    public var task: String?
    public var grader: String
    /// The grade's score in [0, 1]: the routing data's outcome.
    public var outcome: Double
    public var extracted: String?
    public var note: String?
    /// The model's reply text, as it came.
    public var reply: String
    public var finishReason: String?
    public var promptTokens: Int?
    public var completionTokens: Int?
    /// What the model's call cost (`usage` × price): the routing data's cost.
    public var costUSD: Double
    /// What grading cost (a judge's call), counted in the spend but not in the model's cost.
    public var gradingCostUSD: Double
    public var attempts: Int
    public var latencySeconds: Double

    enum CodingKeys: String, CodingKey {
        case id, model, task, grader, outcome, extracted, note, reply, attempts
        case finishReason = "finish_reason"
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case costUSD = "cost_usd"
        case gradingCostUSD = "grading_cost_usd"
        case latencySeconds = "latency_s"
    }

    var key: PairKey { PairKey(id: id, model: model) }
}

/// A pair that got no outcome in the latest run: a line of `errors.jsonl`.
public struct PairErrorRecord: Sendable, Hashable, Codable {
    public var id: String
    public var model: String
    public var error: CollectFailure
    /// Spent on the pair anyway (a reply that could not be graded was still billed).
    public var costUSD: Double

    enum CodingKeys: String, CodingKey {
        case id, model, error
        case costUSD = "cost_usd"
    }
}

struct PairKey: Hashable, Sendable {
    var id: String
    var model: String
}

/// A pool model as collect sees it: its name, price and how many calls it may have in flight.
public struct CollectModel: Sendable, Hashable {
    public var name: String
    public var price: ModelPrice
    public var concurrency: Int

    public init(name: String, price: ModelPrice, concurrency: Int) {
        self.name = name
        self.price = price
        self.concurrency = concurrency
    }
}
