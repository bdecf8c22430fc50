import Foundation
@testable import Profiling
import SwitchyardCore
import Testing

/// The profiler scans a plain-ASCII prompt as bytes (`PlainASCII`) and any other prompt as `Character`s;
/// the two scans must give the same template stripping, the same TF-IDF buckets (so the same vectors),
/// the same capability rule scores and the same token estimate. Checked on every prompt of both routing
/// data sets, all splits (non-ASCII prompts included: they take the `Character` path through the same
/// entry points), and on edge cases made to tell the scans apart. The `Character` scans of 7,500 prompts
/// take a debug build a minute or more of CPU, so the suite runs in the Makefile's heavy phase.
@Suite struct PromptScanParityTests {
    /// The featurizer shapes the presets use: words 1-2 (4096 buckets) and words plus characters 3-5.
    static let lexicalConfigurations = [
        LexicalFeaturizer.Configuration(),
        LexicalFeaturizer.Configuration(dimension: 8192, wordNGrams: 1...2, charNGrams: 3...5),
    ]

    @Test(arguments: ["zeroeval", "llmrouter"])
    func everyRoutingPromptScansAlikeAsBytes(dataSet: String) throws {
        let directory = RoutingTestData.routingData.appendingPathComponent(dataSet)
        let splits = try ["train", "dev", "test"].map { split in
            let path = directory.appendingPathComponent("\(split).jsonl").path
            try #require(FileManager.default.fileExists(atPath: path), "routing data missing at \(path): it ships in the repository under data/routing")
            return try RoutingDataset.load(path: path).records
        }
        // The template a `profile build` on this set's train split learns, so stripping really removes lines.
        let stripper = TemplateStripper.learn(from: splits[0].map { (prompt: $0.prompt, task: $0.task) })
        #expect(!stripper.lines.isEmpty)
        var plain = 0
        var other = 0
        for record in splits.joined() {
            Self.expectScansAlike(record.prompt, stripper: stripper, id: "\(dataSet)/\(record.id)")
            if PlainASCII.withBytes(record.prompt, { _ in true }) == true { plain += 1 } else { other += 1 }
        }
        // Both paths are exercised: most prompts are plain ASCII, some are not.
        #expect(plain > 10 * other)
        #expect(other > 0)
    }

    @Test func edgeCasesScanAlike() {
        let stripper = TemplateStripper(lines: ["## Instruction", "Answer in JSON.", "K"])
        let prompts = [
            "", " ", "\n", "\n\n", "a", "ab", "## Instruction", "  ## Instruction \n\tAnswer   in  JSON.\t", "## Instruction\n\nQ: x\n",
            "Line\r\nother line\r\n## Instruction\r\n", "lone\rreturn 3 +4", "What is 12*5 = ?", "x ^2 and (3) - (4", "q: a: q: a:",
            "Input: 1\nOutput: 2\nInput: 3\nOutput: 4", "Who wrote Hamlet?", "   q:  what is the capital of France", "SOLVE_the EQUATION x_1",
            "use $\\frac{1}{2}$", "def f():\n    return 1\n```python\nassert f() == 1", String(repeating: "Read the passage. ", count: 40) + "?",
            "Ünïcödé wörds and ASCII words", "3 × 4 ÷ 2", "e\u{301}t\u{E9} caf\u{E9}", "\u{212A}", "日本語の質問です。答えは？", "emoji 👍🏽 tokens",
            "tab\tseparated\tWORDS_with_underscores 42 7",
        ]
        for prompt in prompts { Self.expectScansAlike(prompt, stripper: stripper, id: prompt.debugDescription) }
    }

    static func expectScansAlike(_ prompt: String, stripper: TemplateStripper, id: String) {
        let stripped = stripper.strip(prompt)
        let unicodeStripped = stripper.unicodeStrip(prompt)
        #expect(stripped == unicodeStripped, "strip differs for \(id)")
        #expect(Array(stripped.utf8) == Array(unicodeStripped.utf8), "stripped bytes differ for \(id)")
        for configuration in lexicalConfigurations {
            for text in [prompt, stripped] {
                let counts = LexicalFeaturizer.bucketCounts(text, configuration)
                let expected = LexicalFeaturizer.unicodeBucketCounts(text, configuration)
                #expect(counts.map(\.bucket) == expected.map(\.bucket), "buckets differ for \(id)")
                #expect(counts.map(\.count) == expected.map(\.count), "bucket counts differ for \(id)")
            }
        }
        #expect(CapabilityRules.scores(prompt) == CapabilityRules.unicodeScores(prompt), "capability scores differ for \(id)")
        #expect(TokenCounter.characters(prompt) == prompt.count, "character count differs for \(id)")
    }
}
