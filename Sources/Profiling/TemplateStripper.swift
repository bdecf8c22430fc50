/// Removes the instruction template a task's prompts share, so the question dominates the features.
///
/// Benchmarks wrap every question in the same instructions ("## Instruction ... json format ..."),
/// which drowns the part that tells prompts apart. The template is learned from training prompts as
/// the set of lines (whitespace-normalised) that occur in at least `minFraction` of some task's
/// prompts; at query time those lines are dropped wherever they occur, so no task label is needed.
public struct TemplateStripper: Sendable, Codable, Hashable {
    /// Learning knobs.
    public struct Configuration: Sendable, Codable, Hashable {
        /// A line is template when at least this share of one task's prompts contain it (default 0.3).
        public var minFraction: Double
        /// ... and at least this many prompts (default 5), so a coincidence in a tiny task is not template.
        public var minCount: Int

        public init(minFraction: Double = 0.3, minCount: Int = 5) {
            self.minFraction = minFraction
            self.minCount = minCount
        }
    }

    /// The learned template lines, normalised.
    public private(set) var lines: Set<String>

    public init(lines: Set<String> = []) {
        self.lines = lines
    }

    /// Learns template lines from `(prompt, task)` pairs; a nil task groups the prompt with all
    /// others that have none.
    public static func learn(
        from prompts: [(prompt: String, task: String?)], configuration: Configuration = Configuration()
    ) -> TemplateStripper {
        var promptsPerTask: [String: Int] = [:]
        var lineCounts: [String: [String: Int]] = [:]
        for (prompt, task) in prompts {
            let key = task ?? ""
            promptsPerTask[key, default: 0] += 1
            var seen = Set<String>()
            for line in normalisedLines(prompt) where !line.isEmpty {
                if seen.insert(line).inserted { lineCounts[key, default: [:]][line, default: 0] += 1 }
            }
        }
        var template = Set<String>()
        for (task, counts) in lineCounts {
            let total = Double(promptsPerTask[task] ?? 0)
            for (line, count) in counts
            where count >= configuration.minCount && Double(count) >= configuration.minFraction * total {
                template.insert(line)
            }
        }
        return TemplateStripper(lines: template)
    }

    /// The prompt without its template lines; the prompt unchanged when that would leave nothing.
    public func strip(_ prompt: String) -> String {
        if lines.isEmpty { return prompt }
        let kept = prompt.split(separator: "\n", omittingEmptySubsequences: false).filter { raw in
            let line = Self.normalise(raw)
            return !line.isEmpty && !lines.contains(line)
        }
        let stripped = kept.joined(separator: "\n")
        return stripped.isEmpty ? prompt : stripped
    }

    static func normalisedLines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: true).map(normalise)
    }

    static func normalise(_ line: Substring) -> String {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).joined(separator: " ")
    }
}
