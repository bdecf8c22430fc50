import Foundation

/// How ZeroEval reads the answer out of a reply to its prompts (which ask for a JSON object
/// `{"reasoning": ..., "answer": ...}`), kept faithful to its evaluators (`eval_utils.py`) so that
/// grading a live model gives the outcome the routing data would have recorded:
///
/// 1. the first *complete* `{...}` span, found by counting braces (braces inside strings count too),
///    parsed as JSON once its newlines are removed; its `answer` if it has one;
/// 2. otherwise the first `"answer": "..."`, then `"answer": value`, then `answer: value` in the text.
///
/// The model-specific fallback ZeroEval adds for Llama-3.1 (`\boxed{}`) is left out: a grader here
/// does not know which model replied.
public enum ZeroEvalAnswer {
    /// The answer as Python's `str()` would give it, or nil when the reply holds none.
    public static func extract(from reply: String) -> String? {
        if let object = firstCompleteObject(in: reply), let answer = object["answer"] {
            return answer.pythonString
        }
        return regexAnswer(in: reply)
    }

    /// The first complete top-level `{...}` span by naive brace counting, parsed with its newlines
    /// removed; nil when that span is not valid JSON (ZeroEval does not look further).
    static func firstCompleteObject(in text: String) -> ReplyJSON? {
        let scalars = Array(text.unicodeScalars)
        var depth = 0
        var start: Int?
        for (i, c) in scalars.enumerated() {
            if c == "{" {
                if start == nil { start = i }
                depth += 1
            } else if c == "}", depth > 0 {
                depth -= 1
                if depth == 0, let from = start {
                    var span = String.UnicodeScalarView()
                    for s in scalars[from...i] where s != "\n" { span.append(s) }
                    return ReplyJSON.parse(String(span))
                }
            }
        }
        return nil
    }

    // ZeroEval's `extract_values_from_json(..., allow_no_quotes=True)` for the key `answer`.
    private static let quoted = try? NSRegularExpression(pattern: #""answer"\s*:\s*"([^"]*?)""#)
    private static let unquoted = try? NSRegularExpression(pattern: #""answer"\s*:\s*([^,\s]*)"#)
    private static let bareKey = try? NSRegularExpression(pattern: #"answer\s*:\s*([^,\s]*)"#)

    static func regexAnswer(in text: String) -> String? {
        let range = NSRange(text.startIndex..., in: text)
        for pattern in [quoted, unquoted, bareKey] {
            guard let pattern, let match = pattern.firstMatch(in: text, range: range),
                let group = Range(match.range(at: 1), in: text)
            else { continue }
            return String(text[group])
        }
        return nil
    }

    /// ZeroEval's `sanitize_math_answers`: drop `$` and `,`, trim, and evaluate a fraction such as
    /// `3/4` (any arithmetic with `/` that Python's `eval` would take) to Python's float text.
    public static func sanitizeMath(_ answer: String) -> String {
        var text = answer.replacingOccurrences(of: "$", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
        text = text.replacingOccurrences(of: ",", with: "")
        if text.contains("/"), let value = PythonArithmetic.evaluate(text) {
            text = PythonFloat.repr(value)
        }
        return text
    }

    /// The first number (`-?\d+(\.\d+)?`, `\d` being any Unicode decimal digit as in Python) as a
    /// Double, or nil when there is none.
    public static func firstNumber(_ text: String) -> Double? {
        let scalars = Array(text.unicodeScalars)
        func digit(_ i: Int) -> Int? {
            guard i < scalars.count, scalars[i].properties.generalCategory == .decimalNumber else { return nil }
            return scalars[i].properties.numericType == .decimal ? Int(scalars[i].properties.numericValue ?? -1) : nil
        }
        var i = 0
        while i < scalars.count {
            var j = i
            var negative = false
            if scalars[j] == "-", digit(j + 1) != nil {
                negative = true
                j += 1
            }
            guard digit(j) != nil else {
                i += 1
                continue
            }
            var ascii = negative ? "-" : ""
            while let d = digit(j) {
                ascii.append(Character(String(d)))
                j += 1
            }
            if j < scalars.count, scalars[j] == ".", digit(j + 1) != nil {
                ascii.append(".")
                j += 1
                while let d = digit(j) {
                    ascii.append(Character(String(d)))
                    j += 1
                }
            }
            return Double(ascii)
        }
        return nil
    }
}

/// The arithmetic Python's `eval` would do on a sanitized math answer: numbers, `+ - * / // % **`,
/// unary signs and parentheses, with Python's rules (true division, `**` binds tighter than a unary
/// minus on its left, no leading zeros on integers). Nil for anything else, or a division by zero.
enum PythonArithmetic {
    static func evaluate(_ text: String) -> Double? {
        var parser = Parser(scalars: Array(text.unicodeScalars))
        guard let value = parser.expression() else { return nil }
        parser.skipSpace()
        guard parser.index == parser.scalars.count, value.isFinite else { return nil }
        return value
    }

    private struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0

        mutating func skipSpace() {
            while index < scalars.count, scalars[index] == " " || scalars[index] == "\t" { index += 1 }
        }

        mutating func peek(_ token: String) -> Bool {
            skipSpace()
            let t = Array(token.unicodeScalars)
            return index + t.count <= scalars.count && Array(scalars[index..<(index + t.count)]) == t
        }

        mutating func take(_ token: String) -> Bool {
            guard peek(token) else { return false }
            index += token.unicodeScalars.count
            return true
        }

        mutating func expression() -> Double? {
            guard var value = term() else { return nil }
            while true {
                if take("+") { guard let r = term() else { return nil }; value += r }
                else if take("-") { guard let r = term() else { return nil }; value -= r }
                else { return value }
            }
        }

        mutating func term() -> Double? {
            guard var value = unary() else { return nil }
            while true {
                if peek("**") { return value }
                if take("//") {
                    guard let r = unary(), r != 0 else { return nil }
                    value = (value / r).rounded(.down)
                } else if take("*") {
                    guard let r = unary() else { return nil }
                    value *= r
                } else if take("/") {
                    guard let r = unary(), r != 0 else { return nil }
                    value /= r
                } else if take("%") {
                    guard let r = unary(), r != 0 else { return nil }
                    value = value - r * (value / r).rounded(.down)
                } else {
                    return value
                }
            }
        }

        mutating func unary() -> Double? {
            if take("-") { return unary().map { -$0 } }
            if take("+") { return unary() }
            return power()
        }

        mutating func power() -> Double? {
            guard let base = atom() else { return nil }
            if take("**") {
                guard let exponent = unary() else { return nil }
                return pow(base, exponent)
            }
            return base
        }

        mutating func atom() -> Double? {
            if take("(") {
                guard let value = expression(), take(")") else { return nil }
                return value
            }
            skipSpace()
            let start = index
            var sawDigit = false
            // Python allows one `_` between digits (`1_000`).
            func isDigit(_ i: Int) -> Bool { i < scalars.count && ("0"..."9").contains(scalars[i]) }
            func digits() {
                while isDigit(index) || (scalars.indices.contains(index) && scalars[index] == "_" && index > start && isDigit(index - 1) && isDigit(index + 1)) {
                    index += 1
                    sawDigit = true
                }
            }
            digits()
            let integerEnd = index
            var isFloat = false
            if index < scalars.count, scalars[index] == "." {
                index += 1
                isFloat = true
                digits()
            }
            guard sawDigit else { return nil }
            if index < scalars.count, scalars[index] == "e" || scalars[index] == "E" {
                var j = index + 1
                if j < scalars.count, scalars[j] == "+" || scalars[j] == "-" { j += 1 }
                let digitsStart = j
                while j < scalars.count, ("0"..."9").contains(scalars[j]) { j += 1 }
                if j > digitsStart { index = j; isFloat = true }
            }
            let literal = String(String.UnicodeScalarView(scalars[start..<index].filter { $0 != "_" }))
            // Python 3 rejects `08` (a decimal integer with a leading zero).
            if !isFloat, integerEnd - start > 1, scalars[start] == "0",
                scalars[start..<integerEnd].contains(where: { $0 != "0" }) {
                return nil
            }
            return Double(literal)
        }
    }
}
