/// Makes graders from the specs labelled prompts carry (`"grader": "first-number"`).
///
/// `first-number`, `exact-string` (ZeroEval's rules), `exact`, `regex` / `regex:PATTERN`,
/// `choice` / `choice:LETTERS`, `json-field` / `json-field:PATH`, `judge:MODEL`.
public enum GraderSpec {
    public static let known = "first-number, exact-string, exact, regex[:PATTERN], choice[:LETTERS], json-field[:PATH], judge:MODEL"

    /// A rule-based grader, or nil for `judge:` specs (they need a client: `make(_:judge:)`).
    public static func local(_ spec: String) throws(GradingError) -> (any LocalGrader)? {
        let (name, argument) = split(spec)
        switch name {
        case "first-number": try noArgument(spec, argument); return FirstNumberGrader()
        case "exact-string": try noArgument(spec, argument); return ExactStringGrader()
        case "exact": try noArgument(spec, argument); return ExactGrader()
        case "regex": return try RegexGrader(pattern: argument)
        case "choice": return try ChoiceGrader(letters: argument)
        case "json-field": return try JSONFieldGrader(path: argument)
        case "judge":
            guard let argument, !argument.isEmpty else {
                throw .unknownGrader(spec: spec, reason: "name the judging pool model: judge:MODEL")
            }
            return nil
        default: throw .unknownGrader(spec: spec, reason: "no such grader")
        }
    }

    /// Any grader; `judge:MODEL` asks `judge` (nil: judge specs are an error).
    public static func make(_ spec: String, judge: (any JudgeClient)?) throws(GradingError) -> any Grader {
        if let grader = try local(spec) { return grader }
        guard let judge else {
            throw .unknownGrader(spec: spec, reason: "a judge grader needs the pool (it is only available to collect and onboard)")
        }
        return JudgeGrader(model: String(spec.dropFirst("judge:".count)), client: judge)
    }

    /// The judging model of a `judge:MODEL` spec, else nil.
    public static func judgeModel(_ spec: String) -> String? {
        let (name, argument) = split(spec)
        return name == "judge" ? argument : nil
    }

    static func split(_ spec: String) -> (String, String?) {
        guard let colon = spec.firstIndex(of: ":") else { return (spec, nil) }
        return (String(spec[..<colon]), String(spec[spec.index(after: colon)...]))
    }

    private static func noArgument(_ spec: String, _ argument: String?) throws(GradingError) {
        if argument != nil { throw .unknownGrader(spec: spec, reason: "takes no argument") }
    }
}

/// A reply written on purpose to grade right or wrong: what the replay backend sends when it knows the
/// gold answer, so that collecting from replayed models reproduces their recorded outcomes.
public enum ScriptedReply {
    /// A reply in `grader`'s format that it grades correct (`correct`) or wrong. Every candidate is
    /// checked with the grader itself; nil only when no candidate grades as wanted.
    public static func make(grader: any LocalGrader, gold: String, correct: Bool) -> String? {
        if correct {
            let reply = grader.reply(carrying: gold)
            return grader.grade(reply: reply, answer: gold).isCorrect ? reply : nil
        }
        for candidate in grader.wrongAnswers(for: gold) + ["none", "0", "-1"] {
            let reply = grader.reply(carrying: candidate)
            if !grader.grade(reply: reply, answer: gold).isCorrect { return reply }
        }
        let silent = "I do not know."
        return grader.grade(reply: silent, answer: gold).isCorrect ? nil : silent
    }
}
