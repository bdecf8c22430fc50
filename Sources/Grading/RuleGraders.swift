import Foundation
import SwitchyardCore

/// `exact`: the whole reply, trimmed of surrounding whitespace, equals the answer (trimmed the same
/// way). Strings compare by Unicode canonical equivalence, so a composed `é` equals `e` + accent.
public struct ExactGrader: LocalGrader {
    public var spec: String { "exact" }

    public init() {}

    public func grade(reply: String, answer: String) -> Grade {
        let mine = reply.trimmingCharacters(in: .whitespacesAndNewlines)
        return Grade(score: mine == answer.trimmingCharacters(in: .whitespacesAndNewlines) ? 1 : 0, extracted: mine)
    }

    public func reply(carrying answer: String) -> String { answer }

    public func wrongAnswers(for gold: String) -> [String] { ["not " + gold, "none"] }
}

/// `regex`: the gold answer is a regular expression, correct when it matches anywhere in the reply.
/// `regex:PATTERN`: PATTERN reads the answer out of the reply (its first capture group, else the whole
/// match), correct when that equals the gold answer (both trimmed).
public struct RegexGrader: LocalGrader {
    public let spec: String
    private let extractor: NSRegularExpression?

    public init(pattern: String?) throws(GradingError) {
        spec = pattern.map { "regex:" + $0 } ?? "regex"
        if let pattern {
            do {
                extractor = try NSRegularExpression(pattern: pattern)
            } catch {
                throw .unknownGrader(spec: spec, reason: "not a valid regular expression (\(error))")
            }
        } else {
            extractor = nil
        }
    }

    public func grade(reply: String, answer: String) -> Grade {
        let range = NSRange(reply.startIndex..., in: reply)
        guard let extractor else {
            guard let gold = try? NSRegularExpression(pattern: answer) else {
                return Grade(score: 0, note: "the gold answer is not a valid regular expression")
            }
            guard let match = gold.firstMatch(in: reply, range: range), let r = Range(match.range, in: reply) else {
                return Grade(score: 0, note: "the answer pattern does not match")
            }
            return Grade(score: 1, extracted: String(reply[r]))
        }
        guard let match = extractor.firstMatch(in: reply, range: range) else {
            return Grade(score: 0, note: "the pattern found no answer")
        }
        let group = match.numberOfRanges > 1 && match.range(at: 1).location != NSNotFound ? match.range(at: 1) : match.range
        guard let r = Range(group, in: reply) else { return Grade(score: 0, note: "the pattern found no answer") }
        let found = String(reply[r]).trimmingCharacters(in: .whitespacesAndNewlines)
        return Grade(score: found == answer.trimmingCharacters(in: .whitespacesAndNewlines) ? 1 : 0, extracted: found)
    }

    /// The first of a few common answer lines that the pattern reads back as `answer` (a pattern cannot
    /// be inverted in general); the answer alone when none does. `ScriptedReply` checks the result.
    public func reply(carrying answer: String) -> String {
        let templates = ["%@", "Answer: %@", "answer: %@", "Final answer: %@", "The answer is %@.", "#### %@", "\\boxed{%@}", "**%@**"]
        for template in templates {
            let reply = template.replacingOccurrences(of: "%@", with: answer)
            if grade(reply: reply, answer: answer).isCorrect { return reply }
        }
        return answer
    }

    public func wrongAnswers(for gold: String) -> [String] { ["none"] }
}

/// `choice` (or `choice:ABCD`): a multiple-choice letter. The letter is read from a JSON `answer`,
/// else "answer is (B)" / "Answer: B", else a reply that starts with "B." or "(B)", else the first
/// "(B)" anywhere, else a reply that is the letter alone. The gold answer is the letter (`B`, `(B)`).
public struct ChoiceGrader: LocalGrader {
    public let spec: String
    public let letters: [Character]
    private let patterns: [NSRegularExpression]

    public init(letters: String? = nil) throws(GradingError) {
        spec = letters.map { "choice:" + $0 } ?? "choice"
        let set = (letters ?? "ABCDEFGHIJ").uppercased()
        guard !set.isEmpty, set.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            throw .unknownGrader(spec: spec, reason: "the choices must be letters, e.g. choice:ABCD")
        }
        self.letters = Array(set)
        let c = "[" + set + "]"
        let sources = [
            #"(?i:answer)\s*(?:is|:)?\s*[*_]*\s*\(?("# + c + #")\)?(?![A-Za-z])"#,
            #"^\s*[*_]*\(?("# + c + #")\)?[*_]*(?:[.):]|$)"#,
            #"\(("# + c + #")\)"#,
        ]
        var patterns: [NSRegularExpression] = []
        for source in sources {
            do {
                patterns.append(try NSRegularExpression(pattern: source))
            } catch {
                throw .unknownGrader(spec: spec, reason: "cannot build its patterns (\(error))")
            }
        }
        self.patterns = patterns
    }

    func letter(in reply: String) -> Character? {
        if let value = JSONObjects.first(in: reply, having: ["answer"]) {
            let text = value.pythonString.trimmingCharacters(in: .whitespacesAndNewlines)
            return normalise(text)
        }
        let range = NSRange(reply.startIndex..., in: reply)
        for pattern in patterns {
            if let match = pattern.firstMatch(in: reply, range: range), let r = Range(match.range(at: 1), in: reply),
                let letter = reply[r].first {
                return letter
            }
        }
        return normalise(reply.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// `B`, `b`, `(B)`, `B.` → `B`; nil when it is not one of the letters.
    func normalise(_ text: String) -> Character? {
        var core = Substring(text)
        while let f = core.first, "(*_ ".contains(f) { core.removeFirst() }
        while let l = core.last, ")*_. ".contains(l) { core.removeLast() }
        guard core.count == 1, let letter = core.uppercased().first, letters.contains(letter) else { return nil }
        return letter
    }

    public func grade(reply: String, answer: String) -> Grade {
        guard let gold = normalise(answer.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            return Grade(score: 0, note: "the gold answer '\(answer)' is not one of \(String(letters))")
        }
        guard let mine = letter(in: reply) else { return Grade(score: 0, note: "no choice letter in the reply") }
        return Grade(score: mine == gold ? 1 : 0, extracted: String(mine))
    }

    public func reply(carrying answer: String) -> String { "The answer is (\(answer.trimmingCharacters(in: .whitespaces)))." }

    public func wrongAnswers(for gold: String) -> [String] {
        let g = normalise(gold)
        return letters.filter { $0 != g }.prefix(1).map(String.init)
    }
}

/// `json-field` (or `json-field:PATH`, default `answer`; `a.b` reaches into nested objects): the first
/// JSON object in the reply that has PATH (fenced code and prose around it are fine; braces inside
/// strings are handled). Correct when the value equals the answer: as numbers when both are numbers,
/// else as trimmed text (a non-string value as JSON would write it, `true`, `[1, 2]`).
public struct JSONFieldGrader: LocalGrader {
    public let spec: String
    public let path: [String]

    public init(path: String?) throws(GradingError) {
        spec = path.map { "json-field:" + $0 } ?? "json-field"
        let parts = (path ?? "answer").split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty }) else {
            throw .unknownGrader(spec: spec, reason: "the field path must be names joined by dots, e.g. json-field:result.answer")
        }
        self.path = parts
    }

    public func grade(reply: String, answer: String) -> Grade {
        guard let value = JSONObjects.first(in: reply, having: path) else {
            return Grade(score: 0, note: "no JSON object with \(path.joined(separator: "."))")
        }
        let text = Self.text(of: value)
        let gold = answer.trimmingCharacters(in: .whitespacesAndNewlines)
        let mine = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let a = Double(mine), let b = Double(gold) { return Grade(score: a == b ? 1 : 0, extracted: text) }
        return Grade(score: mine == gold ? 1 : 0, extracted: text)
    }

    /// Strings as they are; other values as JSON text.
    static func text(of value: ReplyJSON) -> String {
        switch value {
        case .string(let s): return s
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .integer(let digits): return digits
        case .float(let v): return v.description
        case .array(let items): return "[" + items.map(jsonText).joined(separator: ", ") + "]"
        case .object: return jsonText(value)
        }
    }

    static func jsonText(_ value: ReplyJSON) -> String {
        switch value {
        case .string(let s): return JSONText.quote(s)
        case .object(let members): return "{" + members.map { JSONText.quote($0.key) + ": " + jsonText($0.value) }.joined(separator: ", ") + "}"
        default: return text(of: value)
        }
    }

    public func reply(carrying answer: String) -> String {
        var json = JSONText.quote(answer)
        for key in path.reversed() { json = "{" + JSONText.quote(key) + ": " + json + "}" }
        return json
    }

    public func wrongAnswers(for gold: String) -> [String] {
        if let n = Double(gold.trimmingCharacters(in: .whitespaces)) { return [String(n + 1), "none"] }
        return ["not " + gold, "none"]
    }
}

/// Finding JSON objects in free text: each `{` starts a candidate whose end is found with strings
/// taken into account; the candidates that parse are tried in order.
enum JSONObjects {
    /// The value at `path` in the first object that has it.
    static func first(in text: String, having path: [String]) -> ReplyJSON? {
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i < scalars.count {
            guard scalars[i] == "{" else { i += 1; continue }
            guard let end = matchingBrace(scalars, from: i) else { i += 1; continue }
            let span = String(String.UnicodeScalarView(scalars[i...end]))
            if let object = ReplyJSON.parse(span) {
                if let value = lookup(object, path) { return value }
                // Nested objects are candidates too (a wrapper without the field around one with it).
                if let inner = nested(object, path) { return inner }
                i = end + 1
            } else {
                i += 1
            }
        }
        return nil
    }

    static func lookup(_ value: ReplyJSON, _ path: [String]) -> ReplyJSON? {
        var current = value
        for key in path {
            guard let next = current[key] else { return nil }
            current = next
        }
        return current
    }

    static func nested(_ value: ReplyJSON, _ path: [String]) -> ReplyJSON? {
        switch value {
        case .object(let members):
            for (_, member) in members {
                if let found = lookup(member, path) ?? nested(member, path) { return found }
            }
        case .array(let items):
            for item in items {
                if let found = lookup(item, path) ?? nested(item, path) { return found }
            }
        default: break
        }
        return nil
    }

    /// Index of the `}` closing the `{` at `start`, skipping braces inside strings.
    static func matchingBrace(_ s: [Unicode.Scalar], from start: Int) -> Int? {
        var depth = 0
        var inString = false
        var escaped = false
        var i = start
        while i < s.count {
            let c = s[i]
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if c == "\"" {
                inString = true
            } else if c == "{" {
                depth += 1
            } else if c == "}" {
                depth -= 1
                if depth == 0 { return i }
            }
            i += 1
        }
        return nil
    }
}
