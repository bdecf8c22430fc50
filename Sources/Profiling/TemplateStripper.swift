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
        return PlainASCII.withBytes(prompt) { asciiStrip($0) ?? prompt } ?? unicodeStrip(prompt)
    }

    /// `strip` over `Character`s: every prompt that is not plain ASCII.
    func unicodeStrip(_ prompt: String) -> String {
        let kept = prompt.split(separator: "\n", omittingEmptySubsequences: false).filter { raw in
            let line = Self.normalise(raw)
            return !line.isEmpty && !lines.contains(line)
        }
        let stripped = kept.joined(separator: "\n")
        return stripped.isEmpty ? prompt : stripped
    }

    /// `unicodeStrip` over bytes (see `PlainASCII`); nil when it would leave nothing.
    func asciiStrip(_ prompt: UnsafeBufferPointer<UInt8>) -> String? {
        var kept: [UInt8] = []
        var normalised: [UInt8] = []
        var lineStart = 0
        while lineStart <= prompt.count {
            var lineEnd = lineStart
            while lineEnd < prompt.count && prompt[lineEnd] != 0x0A { lineEnd += 1 }
            // The line with runs of spaces and tabs made one space, none at either end.
            normalised.removeAll(keepingCapacity: true)
            var pendingSpace = false
            for byte in prompt[lineStart..<lineEnd] {
                if byte == 0x20 || byte == 0x09 {
                    pendingSpace = !normalised.isEmpty
                } else {
                    if pendingSpace { normalised.append(0x20); pendingSpace = false }
                    normalised.append(byte)
                }
            }
            if !normalised.isEmpty && !lines.contains(String(decoding: normalised, as: UTF8.self)) {
                if !kept.isEmpty { kept.append(0x0A) }
                kept.append(contentsOf: prompt[lineStart..<lineEnd])
            }
            lineStart = lineEnd + 1
        }
        return kept.isEmpty ? nil : String(decoding: kept, as: UTF8.self)
    }

    static func normalisedLines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: true).map(normalise)
    }

    static func normalise(_ line: Substring) -> String {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).joined(separator: " ")
    }
}
