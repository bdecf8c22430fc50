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

    @Test func routeRequestsParseEveryInputForm() throws {
        func parse(_ text: String) -> Result<RouteRequest, RouteRequest.LineError> { RouteRequest.parse(Data(text.utf8), line: 3) }
        #expect(try parse(#"{"id": "a", "prompt": "hi", "max_cost_usd": 0.01}"#).get() == RouteRequest(id: "a", prompt: "hi", maxCostUSD: 0.01))
        #expect(try parse(#"{"id": "r", "prompt": "hi", "task": "x", "outcomes": {"m": 1}, "costs": {"m": 0.1}}"#).get().prompt == "hi")
        let batch = try parse(#"{"custom_id": "c1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-x", "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": [{"type": "text", "text": "hello"}]}]}}"#).get()
        #expect(batch == RouteRequest(id: "c1", prompt: "be brief\nhello", pinnedModel: "gpt-x"))
        #expect(try parse(#"{"custom_id": "c2", "body": {"model": "auto", "messages": [{"role": "user", "content": "x"}]}}"#).get().pinnedModel == nil)
        #expect(throws: RouteRequest.LineError.self) { try parse("not json").get() }
        #expect(parse("[1]").failureCode == .invalidJSON)
        #expect(parse(#"{"id": "a"}"#).failureCode == .missingField)
        #expect(parse(#"{"id": "a", "prompt": "  "}"#).failureCode == .emptyPrompt)
        #expect(parse(#"{"id": "a", "prompt": "x", "max_cost_usd": "cheap"}"#).failureCode == .invalidField)
        #expect(parse(#"{"custom_id": "c", "url": "/v1/embeddings", "body": {"messages": [{"role": "user", "content": "x"}]}}"#).failureCode == .unsupportedEndpoint)
    }
}

extension Result where Failure == RouteRequest.LineError {
    var failureCode: ErrorCode? {
        if case .failure(let error) = self { return error.code }
        return nil
    }
}
