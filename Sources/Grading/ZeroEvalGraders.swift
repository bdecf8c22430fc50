import Foundation
import SwitchyardCore

/// A grader of ZeroEval's reply format: the answer is read out of the reply's JSON object
/// (`ZeroEvalAnswer.extract`), and a reply without one is wrong; the conformer grades only that answer.
public protocol ZeroEvalGrader: LocalGrader {
    /// The grade of `extracted`, the answer read out of a reply, against the gold `answer`.
    func grade(extracted: String, answer: String) -> Grade
}

extension ZeroEvalGrader {
    public func grade(reply: String, answer: String) -> Grade {
        guard let extracted = ZeroEvalAnswer.extract(from: reply) else {
            return Grade(score: 0, note: "no JSON object with an answer")
        }
        return grade(extracted: extracted, answer: answer)
    }

    public func reply(carrying answer: String) -> String { ZeroEvalReply.json(answer: answer) }
}

/// `first-number` (ZeroEval's GSM8K and MATH rule): the reply's answer and the gold answer are
/// sanitized (`$` and `,` dropped, fractions evaluated); correct when both have a first number and
/// the two are equal as floats. A reply with no answer is wrong.
public struct FirstNumberGrader: ZeroEvalGrader {
    public var spec: String { "first-number" }

    public init() {}

    public func grade(extracted: String, answer: String) -> Grade {
        let gold = ZeroEvalAnswer.sanitizeMath(answer.replacingOccurrences(of: "#", with: "").trimmingCharacters(in: .whitespacesAndNewlines))
        guard let mine = ZeroEvalAnswer.firstNumber(ZeroEvalAnswer.sanitizeMath(extracted)) else {
            return Grade(score: 0, extracted: extracted, note: "no number in the answer")
        }
        guard let wanted = ZeroEvalAnswer.firstNumber(gold) else {
            return Grade(score: 0, extracted: extracted, note: "no number in the gold answer")
        }
        return Grade(score: mine == wanted ? 1 : 0, extracted: extracted)
    }

    public func wrongAnswers(for gold: String) -> [String] {
        let sanitized = ZeroEvalAnswer.sanitizeMath(gold.replacingOccurrences(of: "#", with: ""))
        guard let n = ZeroEvalAnswer.firstNumber(sanitized) else { return ["0", "1"] }
        let next = n + 1
        return [next == next.rounded() && abs(next) < 1e15 ? String(Int64(next)) : String(next), "-1", "0"]
    }
}

/// `exact-string` (ZeroEval's CRUXEval rule): quotes stripped from both ends of both answers, real
/// newlines in the reply's answer written `\n`; correct when equal (two empty answers are equal).
public struct ExactStringGrader: ZeroEvalGrader {
    public var spec: String { "exact-string" }

    public init() {}

    public func grade(extracted: String, answer: String) -> Grade {
        let mine = Self.stripQuotes(extracted).replacingOccurrences(of: "\n", with: "\\n")
        let gold = Self.stripQuotes(answer)
        return Grade(score: mine == gold ? 1 : 0, extracted: extracted)
    }

    /// Python's `s.strip("'\"")`: every `'` and `"` at either end.
    static func stripQuotes(_ text: String) -> String {
        let quotes: Set<Character> = ["'", "\""]
        var s = Substring(text)
        while let first = s.first, quotes.contains(first) { s.removeFirst() }
        while let last = s.last, quotes.contains(last) { s.removeLast() }
        return String(s)
    }

    public func wrongAnswers(for gold: String) -> [String] {
        ["None", "'wrong'", "0", "[]"]
    }
}

/// Replies in the format ZeroEval's prompts ask for.
enum ZeroEvalReply {
    static func json(answer: String, reasoning: String = "Worked through the problem step by step.") -> String {
        "{\"reasoning\": \(JSONText.quote(reasoning)), \"answer\": \(JSONText.quote(answer))}"
    }
}
