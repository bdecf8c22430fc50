import Foundation
import Profiling
@testable import Routing
import SwitchyardCore
import Testing

/// Template stripping, lexical features, token calibration and input-line parsing.
@Suite struct ProfilingTests {
    @Test func templateIsLearnedAndStripped() {
        let prompts = (0..<10).map { i in (prompt: "## Question\nwhat is \(i) plus \(i)?\n## Instruction\nAnswer in JSON.", task: Optional("t")) }
        let stripper = TemplateStripper.learn(from: prompts)
        #expect(stripper.lines == ["## Question", "## Instruction", "Answer in JSON."])
        #expect(stripper.strip("## Question\nwhat is 42 plus 1?\n## Instruction\n  Answer   in JSON.  ") == "what is 42 plus 1?")
        #expect(stripper.strip("## Question\n## Instruction") == "## Question\n## Instruction", "never strips to nothing")
    }

    @Test func lexicalVectorsAreNormalisedAndDeterministic() throws {
        let texts = ["solve the prime equation", "python function returns list", "solve the list"]
        let lexical = try LexicalFeaturizer.learn(from: texts, configuration: .init(dimension: 512))
        let a = lexical.vector("solve the prime equation")
        #expect(a == lexical.vector("Solve the PRIME equation!"))
        #expect(abs(a.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5)
        let b = lexical.vector("python function returns list")
        let dot = zip(a, b).reduce(Float(0)) { $0 + $1.0 * $1.1 }
        #expect(dot < 0.2)
        #expect(lexical.vector("").allSatisfy { $0 == 0 })
    }

    @Test func tokenCounterCalibratesOnInputTokens() {
        let records = (1...20).map { i in
            RoutingRecord(id: "\(i)", prompt: String(repeating: "a", count: i * 40), outcomes: [:], costs: [:], inputTokens: i * 10 + 3)
        }
        let counter = TokenCounter.calibrate(on: records)
        #expect(abs(counter.tokensPerChar - 0.25) < 1e-9)
        #expect(abs(counter.intercept - 3) < 1e-6)
        #expect(counter.count(String(repeating: "b", count: 400)) == 103)
        #expect(TokenCounter.calibrate(on: []).count(String(repeating: "b", count: 400)) == 100)
    }
}
