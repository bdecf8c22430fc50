import Foundation
import SwitchyardCore

/// A new model's outcomes on the aptitude prompts, read from the file given to `models add`.
///
/// Each line is either `{"id": <aptitude prompt id>, "outcome": 0|1}` (optionally `"output_tokens"`),
/// or a routing-data line (`{"id", "prompt", "outcomes": {...}, ...}`) whose `outcomes` holds the model
/// (its `output_tokens` for the model, when present, feed the cost estimate).
public struct AptitudeOutcomes: Sendable, Hashable {
    public var model: String
    /// Outcome in [0, 1] by aptitude prompt id.
    public var outcomes: [String: Double]
    /// Mean output tokens of the model over the lines that gave them, or nil.
    public var meanOutputTokens: Double?

    public init(model: String, outcomes: [String: Double], meanOutputTokens: Double? = nil) {
        self.model = model
        self.outcomes = outcomes
        self.meanOutputTokens = meanOutputTokens
    }

    public static func load(path: String, model: String) throws(SwitchyardError) -> AptitudeOutcomes {
        struct Line: Decodable {
            var id: String
            var outcome: Double?
            var outcomes: [String: Double]?
            var outputTokens: OutputTokens?
            enum CodingKeys: String, CodingKey { case id, outcome, outcomes, outputTokens = "output_tokens" }
        }
        /// `output_tokens` is a number in the short form and a per-model object in routing data.
        enum OutputTokens: Decodable {
            case one(Double)
            case perModel([String: Double])
            init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let v = try? c.decode(Double.self) { self = .one(v) } else { self = .perModel(try c.decode([String: Double].self)) }
            }
        }
        var outcomes: [String: Double] = [:]
        var tokens = 0.0, tokenLines = 0.0
        try JSONLinesReader(path: path).decodeEach(Line.self) { parsed, number throws(SwitchyardError) in
            guard let value = parsed.outcome ?? parsed.outcomes?[model] else {
                if parsed.outcomes != nil { return }  // a routing line without this model: not an aptitude answer
                throw .badLine(file: path, line: number, reason: "needs \"outcome\" (0 or 1) or \"outcomes\" holding model '\(model)'")
            }
            guard (0...1).contains(value) else {
                throw .badLine(file: path, line: number, reason: "outcome \(value) is outside [0, 1]")
            }
            outcomes[parsed.id] = value
            switch parsed.outputTokens {
            case .one(let v)?: tokens += v; tokenLines += 1
            case .perModel(let table)?: if let v = table[model] { tokens += v; tokenLines += 1 }
            case nil: break
            }
        }
        guard !outcomes.isEmpty else {
            throw .badFile(file: path, reason: "no outcomes for model '\(model)'; write one {\"id\", \"outcome\"} line per aptitude prompt (see `switchyard models aptitude-set`)")
        }
        return AptitudeOutcomes(model: model, outcomes: outcomes, meanOutputTokens: tokenLines > 0 ? tokens / tokenLines : nil)
    }
}
