import Foundation

/// One prompt of routing data: how every model did on it and what it cost.
///
/// This is the training and evaluation format of `data/routing` (a **contract**):
/// `{"id", "prompt", "task", "outcomes": {model: score}, "costs": {model: usd}}`
/// plus the optional extras `input_tokens` and `output_tokens` (per model).
public struct RoutingRecord: Codable, Sendable, Hashable {
    public var id: String
    public var prompt: String
    public var task: String?
    /// Score in [0, 1] per model (mostly 0 or 1).
    public var outcomes: [String: Double]
    /// Realised cost in USD per model.
    public var costs: [String: Double]
    public var inputTokens: Int?
    public var outputTokens: [String: Int]?

    public init(
        id: String, prompt: String, task: String? = nil,
        outcomes: [String: Double], costs: [String: Double],
        inputTokens: Int? = nil, outputTokens: [String: Int]? = nil
    ) {
        self.id = id
        self.prompt = prompt
        self.task = task
        self.outcomes = outcomes
        self.costs = costs
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
    }

    enum CodingKeys: String, CodingKey {
        case id, prompt, task, outcomes, costs
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
    }
}

/// A routing-data file loaded whole (these files are small: thousands of prompts).
public struct RoutingDataset: Sendable {
    public var records: [RoutingRecord]
    /// Model names present in every record, sorted, so indices are stable across runs.
    public var models: [String]

    public init(records: [RoutingRecord]) {
        self.records = records
        var common: Set<String>? = nil
        for record in records {
            let names = Set(record.outcomes.keys).intersection(record.costs.keys)
            common = common.map { $0.intersection(names) } ?? names
        }
        self.models = (common ?? []).sorted()
    }

    /// Loads a JSON Lines routing-data file; a bad line is an error naming the file, line and field.
    public static func load(path: String) throws(SwitchyardError) -> RoutingDataset {
        var records: [RoutingRecord] = []
        let reader = try JSONLinesReader(path: path)
        let decoder = JSONDecoder()
        for line in reader {
            if line.isBlank { continue }
            do {
                records.append(try decoder.decode(RoutingRecord.self, from: line.bytes))
            } catch {
                throw .badLine(file: path, line: line.number, reason: DecodingErrorDescription.describe(error))
            }
        }
        if records.isEmpty {
            throw .badFile(file: path, reason: "no routing records found; expected JSON Lines with id, prompt, outcomes, costs")
        }
        return RoutingDataset(records: records)
    }
}

/// Turns a `DecodingError` into a message that names the field, for error records and CLI errors.
public enum DecodingErrorDescription {
    public static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let prefix = path(context.codingPath)
            return "missing field '\(prefix.isEmpty ? key.stringValue : prefix + "." + key.stringValue)'"
        case .typeMismatch(let type, let context):
            return "field '\(path(context.codingPath))' has the wrong type (expected \(type))"
        case .valueNotFound(let type, let context):
            return "field '\(path(context.codingPath))' is null (expected \(type))"
        case .dataCorrupted(let context):
            let p = path(context.codingPath)
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            let detail = underlying ?? context.debugDescription
            return p.isEmpty ? "not valid JSON: \(detail)" : "field '\(p)': \(detail)"
        @unknown default:
            return "\(error)"
        }
    }
}
