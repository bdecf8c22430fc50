import Foundation

/// Sends one prompt to a pool model for a judge grader; the collector implements it over the same
/// dispatcher the graded models go through, so the judge's calls obey the same limits and budget.
public protocol JudgeClient: Sendable {
    /// The judge's reply text and what the call cost in USD.
    func complete(model: String, prompt: String) async throws(GradingError) -> (text: String, costUSD: Double)
}

/// `judge:MODEL`: a pool model reads the task, the reference answer and the reply, and says whether
/// the reply's final answer is correct (`{"correct": true|false}`). For answers no rule can check
/// (free text, proofs, summaries). Its call's cost is the grade's `costUSD`.
public struct JudgeGrader: Grader {
    public let model: String
    public let client: any JudgeClient
    public var spec: String { "judge:" + model }

    public init(model: String, client: any JudgeClient) {
        self.model = model
        self.client = client
    }

    /// The rubric: the verdict is about the final answer only, so the judge does not reward style.
    public static func rubric(prompt: String, answer: String, reply: String) -> String {
        """
        You are grading a response to a task against a reference answer. Decide whether the final \
        answer in the RESPONSE is correct: it must agree with the REFERENCE ANSWER in meaning (equivalent \
        numbers, expressions or wording count as agreeing). Ignore style, length and the reasoning; a \
        response with no final answer is incorrect.

        TASK:
        \(prompt)

        REFERENCE ANSWER:
        \(answer)

        RESPONSE:
        \(reply)

        Reply with one JSON object and nothing else: {"correct": true} or {"correct": false}
        """
    }

    public func grade(reply: String, answer: String, prompt: String) async throws(GradingError) -> Grade {
        let verdict = try await client.complete(model: model, prompt: Self.rubric(prompt: prompt, answer: answer, reply: reply))
        guard let correct = Self.verdict(in: verdict.text) else {
            throw .judgeUnreadable(model: model, reply: verdict.text)
        }
        return Grade(score: correct ? 1 : 0, extracted: nil, note: "judged by \(model)", costUSD: verdict.costUSD)
    }

    /// `{"correct": true}` (also `"yes"`/`"no"`, 1/0), else a reply that is just CORRECT or INCORRECT.
    static func verdict(in text: String) -> Bool? {
        if let value = JSONObjects.first(in: text, having: ["correct"]) {
            switch value {
            case .bool(let b): return b
            case .integer(let d): return d == "1" ? true : d == "0" ? false : nil
            case .string(let s):
                switch s.lowercased() {
                case "true", "yes", "correct": return true
                case "false", "no", "incorrect": return false
                default: return nil
                }
            default: return nil
            }
        }
        let word = text.trimmingCharacters(in: .whitespacesAndNewlines.union(.punctuationCharacters)).lowercased()
        if word == "correct" || word == "true" { return true }
        if word == "incorrect" || word == "false" { return false }
        return nil
    }
}
