import Foundation
import SwitchyardCore

/// One prompt with its gold answer and the grader that checks a reply against it: the input of
/// `switchyard collect`, and what an artifact's aptitude set keeps per prompt so `models onboard` can
/// grade a new model.
///
/// File form (JSON Lines): `{"id", "prompt", "task"?, "answer", "grader"}`. Routing-data lines are
/// fine too (their other fields are ignored), with answers and graders from a separate file
/// (`{"id", "answer", "grader"}` lines, as `answers.jsonl` beside the ZeroEval data).
public struct LabelledPrompt: Sendable, Hashable, Codable {
    public var id: String
    public var prompt: String
    public var task: String?
    public var answer: String
    public var grader: String

    public init(id: String, prompt: String, task: String? = nil, answer: String, grader: String) {
        self.id = id
        self.prompt = prompt
        self.task = task
        self.answer = answer
        self.grader = grader
    }
}

/// A gold answer and its grader, by prompt id.
public struct GoldAnswer: Sendable, Hashable, Codable {
    public var answer: String
    public var grader: String
    public var task: String?

    public init(answer: String, grader: String, task: String? = nil) {
        self.answer = answer
        self.grader = grader
        self.task = task
    }
}

public enum LabelledPrompts {
    /// Reads labelled prompts. A line without `answer`/`grader` takes them from `answers` (by id), and a
    /// line without a grader then falls back to `defaultGrader`. Every grader spec is checked here, so a
    /// typo fails before any request is sent. Ids must be unique.
    public static func load(
        path: String, answers: [String: GoldAnswer] = [:], defaultGrader: String? = nil
    ) throws(SwitchyardError) -> [LabelledPrompt] {
        struct Line: Decodable {
            var id: String
            var prompt: String
            var task: String?
            var answer: AnswerText?
            var grader: String?
        }
        var out: [LabelledPrompt] = []
        var seen: [String: Int] = [:]
        var checked: Set<String> = []
        let decoder = JSONDecoder()
        for line in try JSONLinesReader(path: path) where !line.isBlank {
            let parsed: Line
            do {
                parsed = try decoder.decode(Line.self, from: line.bytes)
            } catch {
                throw .badLine(file: path, line: line.number, reason: DecodingErrorDescription.describe(error))
            }
            if let first = seen[parsed.id] {
                throw .badLine(file: path, line: line.number, reason: "id '\(parsed.id)' already used on line \(first): every prompt needs its own id")
            }
            seen[parsed.id] = line.number
            guard !parsed.prompt.isEmpty else { throw .badLine(file: path, line: line.number, reason: "field 'prompt' is empty") }
            let gold = answers[parsed.id]
            guard let answer = parsed.answer?.text ?? gold?.answer else {
                throw .badLine(file: path, line: line.number, reason: "no answer for '\(parsed.id)': give \"answer\" in the line or pass an answers file with its id")
            }
            guard let grader = parsed.grader ?? gold?.grader ?? defaultGrader else {
                throw .badLine(file: path, line: line.number, reason: "no grader for '\(parsed.id)': give \"grader\" (\(GraderSpec.known)) in the line, in the answers file, or as --grader")
            }
            if !checked.contains(grader) {
                do {
                    _ = try GraderSpec.local(grader)
                } catch {
                    throw .badLine(file: path, line: line.number, reason: "field 'grader': \(error)")
                }
                checked.insert(grader)
            }
            out.append(LabelledPrompt(id: parsed.id, prompt: parsed.prompt, task: parsed.task ?? gold?.task, answer: answer, grader: grader))
        }
        guard !out.isEmpty else { throw .badFile(file: path, reason: "no labelled prompts ({\"id\", \"prompt\", \"answer\", \"grader\"} lines)") }
        return out
    }

    /// Reads an answers file: `{"id", "answer", "grader", "task"?}` lines (other fields ignored).
    public static func loadAnswers(path: String) throws(SwitchyardError) -> [String: GoldAnswer] {
        struct Line: Decodable {
            var id: String
            var answer: AnswerText
            var grader: String
            var task: String?
        }
        var out: [String: GoldAnswer] = [:]
        let decoder = JSONDecoder()
        for line in try JSONLinesReader(path: path) where !line.isBlank {
            do {
                let parsed = try decoder.decode(Line.self, from: line.bytes)
                if out[parsed.id] != nil {
                    throw SwitchyardError.badLine(file: path, line: line.number, reason: "id '\(parsed.id)' has two answers")
                }
                out[parsed.id] = GoldAnswer(answer: parsed.answer.text, grader: parsed.grader, task: parsed.task)
            } catch let error as SwitchyardError {
                throw error
            } catch {
                throw .badLine(file: path, line: line.number, reason: DecodingErrorDescription.describe(error))
            }
        }
        guard !out.isEmpty else { throw .badFile(file: path, reason: "no answers ({\"id\", \"answer\", \"grader\"} lines)") }
        return out
    }
}

/// An answer written as a JSON string, or as a number or boolean (kept as its text).
struct AnswerText: Decodable {
    var text: String

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { text = s }
        else if let i = try? c.decode(Int.self) { text = String(i) }
        else if let d = try? c.decode(Double.self) { text = String(d) }
        else if let b = try? c.decode(Bool.self) { text = b ? "true" : "false" }
        else { throw DecodingError.typeMismatch(String.self, .init(codingPath: c.codingPath, debugDescription: "answer must be a string or a number")) }
    }
}
