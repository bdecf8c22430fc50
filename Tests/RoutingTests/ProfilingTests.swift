import Foundation
@testable import Profiling
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

    /// The featurizer lists its non-zeros so the router need not scan for them: the list must be exactly
    /// what a scan of the vector finds, in order, or routing would read other positions than `route` does.
    @Test func lexicalNonZerosAreWhatAScanFinds() throws {
        let texts = ["solve the prime equation", "python function returns list", "solve the list", "Ünïcödé wörds and ASCII",
                     "Line\r\nother line", "日本語の質問です", String(repeating: "read the passage again ", count: 60)]
        for configuration in [LexicalFeaturizer.Configuration(dimension: 512),
                              LexicalFeaturizer.Configuration(dimension: 1024, wordNGrams: 1...2, charNGrams: 3...5)] {
            let lexical = try LexicalFeaturizer.learn(from: texts, configuration: configuration)
            for text in texts + ["", "!!", "unseen words only"] {
                let sparse = lexical.sparseVector(text)
                let scanned = sparse.values.indices.filter { sparse.values[$0] != 0 }.map { Int32($0) }
                #expect(sparse.nonZeros == scanned, "non-zeros differ for \(text.debugDescription)")
                #expect(sparse.values == lexical.vector(text))
                let features = QueryFeatures(QueryProfile(vector: sparse.values, nonZeros: sparse.nonZeros, inputTokens: 1))
                #expect(features.nonZeros == QueryFeatures(QueryProfile(vector: sparse.values, inputTokens: 1)).nonZeros)
            }
        }
    }

    /// The tally reads its buckets back in increasing order either way: by a pass over the table (many
    /// buckets) or by sorting the few it touched (a table much longer than the text).
    @Test func bucketTallyOrdersBucketsBothWays() {
        var state: UInt64 = 7
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        for (dimension, draws) in [(4096, 2000), (4096, 4), (1 << 20, 300), (64, 1000), (100, 7)] {
            var tally = BucketTally(dimension: dimension)
            var reference: [Int: Int] = [:]
            for _ in 0..<draws {
                let bucket = next(dimension)
                tally.add(bucket)
                reference[bucket, default: 0] += 1
            }
            let expected = reference.keys.sorted()
            #expect(tally.orderedBuckets() == expected.map { Int32($0) }, "dimension \(dimension), \(draws) draws")
            #expect(tally.counted().map(\.count) == expected.map { reference[$0] ?? 0 })
        }
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
