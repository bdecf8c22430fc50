import SwitchyardCore

/// Weak capability labels read from a prompt's text by fixed, documented rules.
///
/// The routing data carries no capability labels, so these rules label the training prompts and the
/// learned heads (`CapabilityHeads`) generalise from them through the query vector. Each rule scores
/// in [0, 1]; a capability counts as present at ≥ 0.5.
///
/// Rules, per capability:
/// - coding: code fences, `def `/`class `/`return `/`import `/`#include`, `assert `, `[PYTHON]`,
///   or words "function", "code", "program", "python".
/// - reasoning: arithmetic (digits joined by + − × ÷ = ^), "how many/much", "calculate", "compute",
///   "solve", "prove", "probability", "find the", "equation", "\\frac", "$...$" math.
/// - comprehension: a long passage (≥ 600 characters of text) followed by a question, or "passage",
///   "according to the", "based on the text/article".
/// - instruction following: format constraints: "json", "in the following format", "format",
///   "bullet", "exactly", "at most/at least N words", "do not", "must".
/// - agentic: tools and plans: "tool", "api", "agent", "action:", "observation:", "step-by-step plan",
///   "plan", "execute", "environment".
/// - knowledge retrieval: factual questions: starts with or contains who/when/where/which/what is,
///   "capital of", "which of the following", "trivia".
/// - in-context learning: few-shot examples: "example:", "examples:", two or more "Q:"/"A:" or
///   "Input:"/"Output:" pairs.
/// - multilingual: more than 15 % of letters outside ASCII.
public enum CapabilityRules {
    /// Rule score in [0, 1] for every capability, in `Capability.allCases` order.
    public static func scores(_ text: String) -> [Capability: Double] {
        PlainASCII.withBytes(text, asciiScores) ?? unicodeScores(text)
    }

    /// The rules over `Character`s: every text that is not plain ASCII.
    static func unicodeScores(_ text: String) -> [Capability: Double] {
        let lower = text.lowercased()
        var result: [Capability: Double] = [:]
        result[.coding] = coding(text, lower)
        result[.reasoning] = reasoning(text, lower)
        result[.comprehension] = comprehension(text, lower)
        result[.instructionFollowing] = instructionFollowing(lower)
        result[.agentic] = agentic(lower)
        result[.knowledgeRetrieval] = knowledgeRetrieval(lower)
        result[.inContextLearning] = inContextLearning(lower)
        result[.multilingual] = multilingual(text)
        return result
    }

    /// The capabilities whose rule score is at least 0.5.
    public static func labels(_ text: String) -> Set<Capability> {
        Set(scores(text).filter { $0.value >= 0.5 }.map(\.key))
    }

    // MARK: rules

    static func coding(_ text: String, _ lower: String) -> Double {
        coding(strong: count(Cues.strongCode, in: lower), weak: count(Cues.weakCode, in: lower))
    }

    static func coding(strong s: Int, weak w: Int) -> Double {
        if s >= 2 || (s >= 1 && w >= 1) { return 1 }
        if s == 1 || w >= 2 { return 0.6 }
        return w == 1 ? 0.3 : 0
    }

    static func reasoning(_ text: String, _ lower: String) -> Double {
        var score = min(1, Double(count(Cues.reasoning, in: lower)) * 0.35)
        if hasArithmetic(text) { score = min(1, score + 0.4) }
        if lower.contains("$") && lower.contains("\\") { score = min(1, score + 0.3) }
        return score
    }

    static func comprehension(_ text: String, _ lower: String) -> Double {
        var score = min(1, Double(count(Cues.comprehension, in: lower)) * 0.5)
        if text.count >= 600 && text.contains("?") { score = min(1, score + 0.5) }
        return score
    }

    static func instructionFollowing(_ lower: String) -> Double {
        min(1, Double(count(Cues.instruction, in: lower)) * 0.3)
    }

    static func agentic(_ lower: String) -> Double {
        min(1, Double(count(Cues.agentic, in: lower)) * 0.35)
    }

    static func knowledgeRetrieval(_ lower: String) -> Double {
        let trimmed = lower.drop { $0 == " " || $0 == "\n" || $0 == "q" || $0 == ":" }
        var score = min(1, Double(count(Cues.knowledge, in: lower)) * 0.35)
        if Cues.knowledgeStarts.contains(where: { trimmed.hasPrefix("\($0)") }) { score = min(1, score + 0.5) }
        return score
    }

    static func inContextLearning(_ lower: String) -> Double {
        if lower.contains("example:") || lower.contains("examples:") || lower.contains("for example") { return 0.8 }
        let qa = min(occurrences("q:", in: lower), occurrences("a:", in: lower))
        let io = min(occurrences("input:", in: lower), occurrences("output:", in: lower))
        if qa >= 2 || io >= 2 { return 1 }
        return 0
    }

    static func multilingual(_ text: String) -> Double {
        var letters = 0
        var foreign = 0
        for scalar in text.unicodeScalars where scalar.properties.isAlphabetic {
            letters += 1
            if scalar.value > 0x7F { foreign += 1 }
        }
        guard letters > 0 else { return 0 }
        let ratio = Double(foreign) / Double(letters)
        return ratio > 0.15 ? 1 : min(0.4, ratio * 2)
    }

    // MARK: plain ASCII (the same rules over bytes; see `PlainASCII`)

    static func asciiScores(_ text: UnsafeBufferPointer<UInt8>) -> [Capability: Double] {
        let lowered = [UInt8](unsafeUninitializedCapacity: text.count) { buffer, count in
            for i in text.indices { buffer[i] = PlainASCII.lowered(text[i]) }
            count = text.count
        }
        return lowered.withUnsafeBufferPointer { lower in
            func count(_ cues: [StaticString]) -> Int {
                cues.reduce(0) { $0 + (PlainASCII.contains(lower, $1) ? 1 : 0) }
            }
            var result: [Capability: Double] = [:]
            result[.coding] = coding(strong: count(Cues.strongCode), weak: count(Cues.weakCode))

            var reasoning = min(1, Double(count(Cues.reasoning)) * 0.35)
            if asciiHasArithmetic(text) { reasoning = min(1, reasoning + 0.4) }
            if PlainASCII.contains(lower, "$") && PlainASCII.contains(lower, "\\") { reasoning = min(1, reasoning + 0.3) }
            result[.reasoning] = reasoning

            var comprehension = min(1, Double(count(Cues.comprehension)) * 0.5)
            if text.count >= 600 && PlainASCII.contains(text, "?") { comprehension = min(1, comprehension + 0.5) }
            result[.comprehension] = comprehension

            result[.instructionFollowing] = min(1, Double(count(Cues.instruction)) * 0.3)
            result[.agentic] = min(1, Double(count(Cues.agentic)) * 0.35)

            let trimmed = lower.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x71 || $0 == 0x3A }
            var knowledge = min(1, Double(count(Cues.knowledge)) * 0.35)
            if Cues.knowledgeStarts.contains(where: { PlainASCII.hasPrefix(trimmed, $0) }) { knowledge = min(1, knowledge + 0.5) }
            result[.knowledgeRetrieval] = knowledge

            if PlainASCII.contains(lower, "example:") || PlainASCII.contains(lower, "examples:") || PlainASCII.contains(lower, "for example") {
                result[.inContextLearning] = 0.8
            } else {
                let qa = min(PlainASCII.occurrences(of: "q:", in: lower), PlainASCII.occurrences(of: "a:", in: lower))
                let io = min(PlainASCII.occurrences(of: "input:", in: lower), PlainASCII.occurrences(of: "output:", in: lower))
                result[.inContextLearning] = qa >= 2 || io >= 2 ? 1 : 0
            }
            // No letter outside ASCII: the ratio is 0 (and 0 without letters too).
            result[.multilingual] = 0
            return result
        }
    }

    /// The cue lists of the rules, shared by the `Character` and the byte scans.
    enum Cues {
        static let strongCode: [StaticString] = ["```python", "[python]", "def ", "#include", "assert ", "class ", "import ", "return ", "console.log", "public static"]
        static let weakCode: [StaticString] = ["function", "code", "program", "python", "script", "compile"]
        static let reasoning: [StaticString] = ["how many", "how much", "calculate", "compute", "solve", "prove", "probability",
                                                "find the", "equation", "\\frac", "remainder", "integer", "sum of", "total", "percent",
                                                "reasoning", "deduce", "logic"]
        static let comprehension: [StaticString] = ["passage", "according to the", "based on the text", "based on the article",
                                                    "the following text", "read the", "context:"]
        static let instruction: [StaticString] = ["json", "in the following format", "format", "bullet", "exactly", "at most", "at least",
                                                  "do not", "must", "only output", "respond with", "your answer should"]
        static let agentic: [StaticString] = ["tool", " api", "agent", "action:", "observation:", "step-by-step plan", "plan ", "execute",
                                              "environment", "function call", "browse", "navigate"]
        static let knowledgeStarts: [StaticString] = ["who ", "when ", "where ", "which ", "what is ", "what was ", "what are "]
        static let knowledge: [StaticString] = ["capital of", "which of the following", "who wrote", "who was", "what year", "in which",
                                                "trivia", "fact", "history", "known as"]
    }

    /// `hasArithmetic` over bytes: the operators among ASCII, digits as numbers.
    static func asciiHasArithmetic(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        let chars = UnsafeBufferPointer(rebasing: text.prefix(4000))
        var i = 0
        while i < chars.count {
            switch chars[i] {
            case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "*"), UInt8(ascii: "/"), UInt8(ascii: "="), UInt8(ascii: "^"):
                var l = i - 1
                while l >= 0 && chars[l] == 0x20 { l -= 1 }
                var r = i + 1
                while r < chars.count && chars[r] == 0x20 { r += 1 }
                if l >= 0, r < chars.count, PlainASCII.isDigit(chars[l]) || chars[l] == UInt8(ascii: ")"),
                   PlainASCII.isDigit(chars[r]) || chars[r] == UInt8(ascii: "(") {
                    return true
                }
            default: break
            }
            i += 1
        }
        return false
    }

    // MARK: helpers

    static func count(_ cues: [StaticString], in lower: String) -> Int {
        cues.reduce(0) { $0 + (lower.contains("\($1)") ? 1 : 0) }
    }

    static func occurrences(_ needle: String, in haystack: String) -> Int {
        haystack.components(separatedBy: needle).count - 1
    }

    /// True when two numbers are joined by an arithmetic operator (`3 + 4`, `12*5`, `x^2`).
    static func hasArithmetic(_ text: String) -> Bool {
        let ops: Set<Character> = ["+", "-", "*", "/", "×", "÷", "=", "^"]
        let chars = Array(text.prefix(4000))
        var i = 0
        while i < chars.count {
            if ops.contains(chars[i]) {
                var l = i - 1
                while l >= 0 && chars[l] == " " { l -= 1 }
                var r = i + 1
                while r < chars.count && chars[r] == " " { r += 1 }
                if l >= 0, r < chars.count, chars[l].isNumber || chars[l] == ")",
                   chars[r].isNumber || chars[r] == "(" {
                    return true
                }
            }
            i += 1
        }
        return false
    }
}
