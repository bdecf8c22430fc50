import Foundation
@testable import Grading
import SwitchyardCore
import Testing

/// The ZeroEval rules on replies as models really write them: prose around the JSON, fenced code,
/// two objects, broken JSON, numbers as numbers, fractions, currency, Unicode digits.
@Suite("ZeroEval graders: first-number and exact-string")
struct ZeroEvalGraderTests {
    let number = FirstNumberGrader()
    let string = ExactStringGrader()

    @Test func plainJSONAnswerAsStringOrNumber() {
        #expect(number.grade(reply: #"{"reasoning": "6 * 3 = 18", "answer": "18"}"#, answer: "18").isCorrect)
        #expect(number.grade(reply: #"{"reasoning": "6 * 3 = 18", "answer": 18}"#, answer: "18").isCorrect)
        #expect(number.grade(reply: #"{"reasoning": "...", "answer": 18.0}"#, answer: "18").isCorrect)
        #expect(!number.grade(reply: #"{"reasoning": "...", "answer": 17}"#, answer: "18").isCorrect)
        // The gold of GSM8K is written "# 18" in the source.
        #expect(number.grade(reply: #"{"answer": "18"}"#, answer: "# 18").isCorrect)
    }

    @Test func replyWithoutJSONIsWrongWithAReason() {
        let grade = number.grade(reply: "The answer is 18.", answer: "18")
        #expect(!grade.isCorrect)
        #expect(grade.extracted == nil)
        #expect(grade.note == "no JSON object with an answer")
        #expect(!string.grade(reply: "", answer: "''").isCorrect)
    }

    @Test func fencedCodeAndProseAroundTheObject() {
        let reply = """
            Let me think step by step.

            ```json
            {
              "reasoning": "She sells 16 - 3 - 4 = 9 eggs at $2 each.",
              "answer": "$18"
            }
            ```
            """
        let grade = number.grade(reply: reply, answer: "18")
        #expect(grade.isCorrect)
        #expect(grade.extracted == "$18")
    }

    @Test func twoJSONObjectsTheFirstWithTheAnswerWins() {
        // The first complete object has no answer: ZeroEval falls back to reading `"answer": ...` in the text.
        #expect(number.grade(reply: #"{"reasoning": "step 1"} then {"answer": 42}"#, answer: "42").isCorrect)
        // Both have one: the first object's answer is the one graded.
        #expect(!number.grade(reply: #"{"answer": 41} or maybe {"answer": 42}"#, answer: "42").isCorrect)
        #expect(number.grade(reply: #"{"answer": 41} or maybe {"answer": 42}"#, answer: "41").isCorrect)
    }

    @Test func brokenJSONFallsBackToTheAnswerField() {
        // An unescaped quote breaks the JSON; the regex fallback still reads the answer.
        let reply = #"{"reasoning": "he said "twelve" twice", "answer": "24"}"#
        #expect(ZeroEvalAnswer.firstCompleteObject(in: reply) == nil)
        #expect(number.grade(reply: reply, answer: "24").isCorrect)
        // No quotes around the value, no closing brace.
        #expect(number.grade(reply: #"{"reasoning": "x", "answer": 24"#, answer: "24").isCorrect)
        // A key without quotes.
        #expect(number.grade(reply: "reasoning: x, answer: 24", answer: "24").isCorrect)
    }

    @Test func sanitizingCurrencyCommasAndFractions() {
        #expect(number.grade(reply: #"{"answer": "$1,234"}"#, answer: "1234").isCorrect)
        #expect(number.grade(reply: #"{"answer": "3/4"}"#, answer: "0.75").isCorrect)
        #expect(number.grade(reply: #"{"answer": "0.75"}"#, answer: "3/4").isCorrect)
        #expect(number.grade(reply: #"{"answer": "-1/2"}"#, answer: "-0.5").isCorrect)
        // ZeroEval's lenience, kept: only the first numbers are compared.
        #expect(number.grade(reply: #"{"answer": "18 apples and 3 pears"}"#, answer: "18").isCorrect)
        #expect(number.grade(reply: #"{"answer": "\\frac{1}{2}"}"#, answer: "1").isCorrect)
        #expect(ZeroEvalAnswer.sanitizeMath("2/0") == "2/0")
        #expect(ZeroEvalAnswer.sanitizeMath("08/2") == "08/2", "Python rejects a leading zero")
        #expect(ZeroEvalAnswer.sanitizeMath("1/3") == "0.3333333333333333")
        #expect(ZeroEvalAnswer.sanitizeMath("2**3/4") == "2.0")
        #expect(ZeroEvalAnswer.sanitizeMath("-2**2/1") == "-4.0")
        #expect(ZeroEvalAnswer.sanitizeMath("x/2") == "x/2")
        #expect(ZeroEvalAnswer.sanitizeMath("221_3/1") == "2213.0", "Python reads 221_3 as 2213")
        #expect(ZeroEvalAnswer.sanitizeMath("1__0/1") == "1__0/1")
    }

    @Test func unicodeDigitsAndText() {
        // Python's \d matches any Unicode decimal digit, and float() reads them.
        #expect(ZeroEvalAnswer.firstNumber("答えは４２です") == 42)
        #expect(number.grade(reply: #"{"reasoning": "計算する", "answer": "４２"}"#, answer: "42").isCorrect)
        #expect(number.grade(reply: "{\"reasoning\": \"\\u00e9t\\u00e9\", \"answer\": \"\\u0663\"}", answer: "3").isCorrect)
        #expect(string.grade(reply: #"{"reasoning": "…", "answer": "'héllo wörld'"}"#, answer: "'héllo wörld'").isCorrect)
        #expect(ZeroEvalAnswer.firstNumber("no digits here") == nil)
        #expect(ZeroEvalAnswer.firstNumber("-") == nil)
        #expect(ZeroEvalAnswer.firstNumber("a-3.5b") == -3.5)
        #expect(ZeroEvalAnswer.firstNumber("3.") == 3)
    }

    @Test func exactStringStripsQuotesAndEscapesNewlines() {
        #expect(string.grade(reply: #"{"answer": "'bcksrutq'"}"#, answer: "'bcksrutq'").isCorrect)
        #expect(string.grade(reply: #"{"answer": "bcksrutq"}"#, answer: "'bcksrutq'").isCorrect)
        #expect(string.grade(reply: #"{"answer": "\"bcksrutq\""}"#, answer: "'bcksrutq'").isCorrect)
        #expect(!string.grade(reply: #"{"answer": "'bcksrutq '"}"#, answer: "'bcksrutq'").isCorrect)
        // A real newline in the reply's answer compares equal to the gold's escaped \n.
        #expect(string.grade(reply: #"{"answer": "'a\nb'"}"#, answer: #"'a\nb'"#).isCorrect)
        // Two empty answers are equal.
        #expect(string.grade(reply: #"{"answer": "''"}"#, answer: "''").isCorrect)
    }

    @Test func exactStringComparesNonStringAnswersAsPythonWritesThem() {
        #expect(string.grade(reply: #"{"answer": [1, 2, "a"]}"#, answer: "[1, 2, 'a']").isCorrect)
        #expect(string.grade(reply: #"{"answer": true}"#, answer: "True").isCorrect)
        #expect(string.grade(reply: #"{"answer": null}"#, answer: "None").isCorrect)
        #expect(string.grade(reply: #"{"answer": {"l": 1, "t": 2}}"#, answer: "{'l': 1, 't': 2}").isCorrect)
        #expect(string.grade(reply: #"{"answer": 2.50}"#, answer: "2.5").isCorrect)
        #expect(!string.grade(reply: #"{"answer": 2}"#, answer: "2.0").isCorrect)
    }

    @Test func pythonReprOfParsedValues() throws {
        let value = try #require(ReplyJSON.parse(#"{"b": [1, -0, 1e-5, 1E16, "it's", "say \"hi\"", false, null], "a": {"x": "\n"}}"#))
        #expect(value.pythonRepr == #"{'b': [1, 0, 1e-05, 1e+16, "it's", 'say "hi"', False, None], 'a': {'x': '\n'}}"#)
        #expect(ReplyJSON.parse("[1, 2,]") == nil)
        #expect(ReplyJSON.parse("{'a': 1}") == nil)
        #expect(ReplyJSON.parse("{\"a\": \"tab\there\"}") == nil, "raw control characters are not JSON")
        #expect(ReplyJSON.parse("[NaN, -Infinity]")?.pythonRepr == "[nan, -inf]")
        #expect(ReplyJSON.parse("\"\\ud83d\\ude00\"") == .string("😀"))
        #expect(ReplyJSON.parse("123456789012345678901234567890") == .integer("123456789012345678901234567890"))
    }
}

@Suite("general graders: exact, regex, choice, json-field, judge")
struct RuleGraderTests {
    @Test func exactTrimsAndComparesUnicodeCanonically() {
        let exact = ExactGrader()
        #expect(exact.grade(reply: "  Paris\n", answer: "Paris").isCorrect)
        #expect(!exact.grade(reply: "paris", answer: "Paris").isCorrect)
        #expect(exact.grade(reply: "caf\u{E9}", answer: "cafe\u{301}").isCorrect)
        #expect(!exact.grade(reply: "```\nParis\n```", answer: "Paris").isCorrect, "exact means the whole reply")
    }

    @Test func regexBothForms() throws {
        let goldIsPattern = try RegexGrader(pattern: nil)
        #expect(goldIsPattern.grade(reply: "The capital is Paris.", answer: "(?i)\\bparis\\b").isCorrect)
        #expect(!goldIsPattern.grade(reply: "The capital is Lyon.", answer: "(?i)\\bparis\\b").isCorrect)
        let extractor = try RegexGrader(pattern: #"Final answer:\s*(\S+)"#)
        #expect(extractor.grade(reply: "blah\nFinal answer: 42\n", answer: "42").isCorrect)
        #expect(extractor.grade(reply: "Final answer: ４２", answer: "４２").isCorrect)
        #expect(!extractor.grade(reply: "no final line", answer: "42").isCorrect)
        #expect(throws: GradingError.self) { try RegexGrader(pattern: "(") }
    }

    @Test func choiceReadsTheLetterHoweverItIsWritten() throws {
        let choice = try ChoiceGrader()
        for reply in ["The answer is (B).", "Answer: B", "**Answer:** B", "B", "b", "(B) because ...", "B. It follows.",
                      #"{"reasoning": "...", "answer": "B"}"#, "```json\n{\"answer\": \"(B)\"}\n```", "I pick (B) over (C)."] {
            #expect(choice.grade(reply: reply, answer: "B").isCorrect, "\(reply)")
        }
        #expect(!choice.grade(reply: "The answer is (C).", answer: "B").isCorrect)
        #expect(!choice.grade(reply: "I cannot tell.", answer: "B").isCorrect)
        #expect(choice.grade(reply: "x", answer: "(B)").extracted == nil)
        let four = try ChoiceGrader(letters: "ABCD")
        #expect(four.grade(reply: "The answer is (E).", answer: "E").note?.contains("not one of") == true)
        #expect(throws: GradingError.self) { try ChoiceGrader(letters: "1-4") }
    }

    @Test func jsonFieldFindsTheFirstObjectWithThePath() throws {
        let field = try JSONFieldGrader(path: nil)
        #expect(field.grade(reply: #"Sure! {"answer": "Paris"}"#, answer: "Paris").isCorrect)
        #expect(field.grade(reply: #"{"answer": 3.0}"#, answer: "3").isCorrect)
        #expect(field.grade(reply: #"{"note": "use { and } freely"} then {"answer": "ok"}"#, answer: "ok").isCorrect)
        #expect(field.grade(reply: "```json\n{\"answer\": \"日本\"}\n```", answer: "日本").isCorrect)
        #expect(!field.grade(reply: "no json", answer: "x").isCorrect)
        let nested = try JSONFieldGrader(path: "result.value")
        #expect(nested.grade(reply: #"{"result": {"value": [1, 2]}}"#, answer: "[1, 2]").isCorrect)
        #expect(nested.grade(reply: #"{"wrapper": {"result": {"value": true}}}"#, answer: "true").isCorrect)
        #expect(throws: GradingError.self) { try JSONFieldGrader(path: "a..b") }
    }

    struct FixedJudge: JudgeClient {
        var text: String
        func complete(model: String, prompt: String) async throws(GradingError) -> (text: String, costUSD: Double) {
            guard prompt.contains("REFERENCE ANSWER:\nParis") else { throw .judgeFailed(model: model, reason: "rubric lacks the answer") }
            return (text, 0.0002)
        }
    }

    @Test func judgeReadsTheVerdictAndCountsItsCost() async throws {
        let yes = JudgeGrader(model: "gpt-4o", client: FixedJudge(text: "```json\n{\"correct\": true}\n```"))
        let grade = try await yes.grade(reply: "It is Paris.", answer: "Paris", prompt: "Capital of France?")
        #expect(grade.isCorrect)
        #expect(grade.costUSD == 0.0002)
        let no = JudgeGrader(model: "gpt-4o", client: FixedJudge(text: "INCORRECT"))
        #expect(try await !no.grade(reply: "Lyon", answer: "Paris", prompt: "q").isCorrect)
        let confused = JudgeGrader(model: "gpt-4o", client: FixedJudge(text: "It depends."))
        await #expect(throws: GradingError.self) { try await confused.grade(reply: "x", answer: "Paris", prompt: "q") }
    }

    @Test func specsMakeTheirGradersAndRejectTypos() throws {
        #expect(try GraderSpec.local("first-number")?.spec == "first-number")
        #expect(try GraderSpec.local("regex:a(b)")?.spec == "regex:a(b)")
        #expect(try GraderSpec.local("choice:ABCD")?.spec == "choice:ABCD")
        #expect(try GraderSpec.local("judge:gpt-4o") == nil)
        #expect(GraderSpec.judgeModel("judge:gpt-4o") == "gpt-4o")
        #expect(throws: GradingError.self) { try GraderSpec.local("first_number") }
        #expect(throws: GradingError.self) { try GraderSpec.local("exact:x") }
        #expect(throws: GradingError.self) { try GraderSpec.local("judge:") }
        #expect(throws: GradingError.self) { try GraderSpec.make("judge:m", judge: nil) }
    }
}

/// The replay backend answers with `ScriptedReply`: every gold answer of the ZeroEval data must have a
/// reply its grader grades correct (unless no reply can be, as when the gold has no number) and one it
/// grades wrong, or collect could not reproduce the recorded outcomes.
@Suite("scripted replies for every ZeroEval gold answer")
struct ScriptedReplyTests {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data/routing/zeroeval")

    @Test func everyGoldHasARightAndAWrongReply() throws {
        let answers = try LabelledPrompts.loadAnswers(path: Self.data.appendingPathComponent("answers.jsonl").path)
        #expect(answers.count == 2414)
        let dev = try RoutingDataset.load(path: Self.data.appendingPathComponent("dev.jsonl").path)
        let everRight = Set(dev.records.filter { $0.outcomes.values.contains(1) }.map(\.id))
        var unanswerable: [String] = []
        for (id, gold) in answers {
            let grader = try #require(try GraderSpec.local(gold.grader))
            #expect(ScriptedReply.make(grader: grader, gold: gold.answer, correct: false) != nil, "\(id): no wrong reply for \(gold.answer)")
            if ScriptedReply.make(grader: grader, gold: gold.answer, correct: true) == nil {
                unanswerable.append(id)
                #expect(!everRight.contains(id), "\(id): some model got it right, but no reply grades right")
            }
        }
        // Golds with no number (e.g. `\text{(C)}`) cannot be matched by first-number, as in ZeroEval.
        #expect(unanswerable.count < 20, "\(unanswerable.count) golds have no right reply: \(unanswerable.prefix(10))")
    }

    @Test func everyLocalGraderScriptsBothWays() throws {
        let cases: [(String, String)] = [
            ("exact", "Paris"), ("regex:Answer: (\\w+)", "B"), ("choice", "C"), ("json-field:result.answer", "42"),
            ("first-number", "1,000"), ("exact-string", "'a\\nb'"), ("exact-string", "[(4, 1), (2, 3)]"),
        ]
        for (spec, gold) in cases {
            let grader = try #require(try GraderSpec.local(spec))
            let right = try #require(ScriptedReply.make(grader: grader, gold: gold, correct: true), "\(spec)")
            let wrong = try #require(ScriptedReply.make(grader: grader, gold: gold, correct: false), "\(spec)")
            #expect(grader.grade(reply: right, answer: gold).isCorrect)
            #expect(!grader.grade(reply: wrong, answer: gold).isCorrect)
        }
    }
}

@Suite("labelled prompts files")
struct LabelledPromptsTests {
    func write(_ text: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("labelled-\(UUID().uuidString).jsonl")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func linesAnswersFileAndDefaultGrader() throws {
        let path = try write("""
            {"id": "a", "prompt": "2+2?", "answer": 4, "grader": "first-number"}
            {"id": "b", "prompt": "Capital of France?", "task": "geo", "outcomes": {"m": 1}, "costs": {"m": 0.1}}

            {"id": "c", "prompt": "Pick one", "answer": "B"}
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let prompts = try LabelledPrompts.load(path: path, answers: ["b": GoldAnswer(answer: "Paris", grader: "exact")], defaultGrader: "choice")
        #expect(prompts.map(\.id) == ["a", "b", "c"])
        #expect(prompts[0].answer == "4")
        #expect(prompts[1].answer == "Paris" && prompts[1].grader == "exact" && prompts[1].task == "geo")
        #expect(prompts[2].grader == "choice")
    }

    @Test func badLinesNameTheLineAndWhat() throws {
        let cases: [(String, String)] = [
            ("{\"id\": \"a\", \"prompt\": \"p\"}", "no answer"),
            ("{\"id\": \"a\", \"prompt\": \"p\", \"answer\": \"x\"}", "no grader"),
            ("{\"id\": \"a\", \"prompt\": \"p\", \"answer\": \"x\", \"grader\": \"fuzzy\"}", "field 'grader'"),
            ("{\"id\": \"a\", \"prompt\": \"p\", \"answer\": \"x\", \"grader\": \"exact\"}\n{\"id\": \"a\", \"prompt\": \"q\", \"answer\": \"x\", \"grader\": \"exact\"}", "already used on line 1"),
            ("{\"id\": \"a\", \"answer\": \"x\", \"grader\": \"exact\"}", "missing field 'prompt'"),
            ("not json", "not valid JSON"),
        ]
        for (text, wanted) in cases {
            let path = try write(text)
            defer { try? FileManager.default.removeItem(atPath: path) }
            do {
                _ = try LabelledPrompts.load(path: path)
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.description.contains(wanted), "\(error.description)")
                #expect(error.description.contains(path + ":"), "\(error.description)")
            }
        }
    }
}
