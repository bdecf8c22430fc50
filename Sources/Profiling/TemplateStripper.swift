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
    public let lines: Set<String>
    /// Which lines can be template at all, by a few of their bytes: most prompt lines are ruled out here,
    /// without a `String` made and hashed for each (that was most of `strip`'s cost).
    private let filter: TemplateLineFilter

    public init(lines: Set<String> = []) {
        self.lines = lines
        filter = TemplateLineFilter(lines)
    }

    private enum CodingKeys: String, CodingKey { case lines }

    public init(from decoder: any Decoder) throws {
        self.init(lines: try decoder.container(keyedBy: CodingKeys.self).decode(Set<String>.self, forKey: .lines))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(lines, forKey: .lines)
    }

    public static func == (a: TemplateStripper, b: TemplateStripper) -> Bool { a.lines == b.lines }
    public func hash(into hasher: inout Hasher) { hasher.combine(lines) }

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
        var kept: [Range<Int>] = []
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(1, prompt.count)) { normalised in
            var lineStart = 0
            while lineStart <= prompt.count {
                var lineEnd = lineStart
                while lineEnd < prompt.count && prompt[lineEnd] != 0x0A { lineEnd += 1 }
                // The line with runs of spaces and tabs made one space, none at either end.
                var length = 0
                var pendingSpace = false
                for index in lineStart..<lineEnd {
                    let byte = prompt[index]
                    if byte == 0x20 || byte == 0x09 {
                        pendingSpace = length > 0
                    } else {
                        if pendingSpace { normalised[length] = 0x20; length += 1; pendingSpace = false }
                        normalised[length] = byte
                        length += 1
                    }
                }
                if length > 0 && !isTemplate(UnsafeBufferPointer(rebasing: normalised[0..<length])) { kept.append(lineStart..<lineEnd) }
                lineStart = lineEnd + 1
            }
        }
        guard !kept.isEmpty else { return nil }
        // The kept lines joined by "\n", written once.
        let total = kept.reduce(-1) { $0 + $1.count + 1 }
        return String(unsafeUninitializedCapacity: total) { out in
            var offset = 0
            for (k, range) in kept.enumerated() {
                if k > 0 { out[offset] = 0x0A; offset += 1 }
                for index in range { out[offset] = prompt[index]; offset += 1 }
            }
            return offset
        }
    }

    /// Whether a normalised line is a template line.
    private func isTemplate(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        filter.mayContain(line) && lines.contains(String(decoding: line, as: UTF8.self))
    }

    static func normalisedLines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: true).map(normalise)
    }

    static func normalise(_ line: Substring) -> String {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).joined(separator: " ")
    }
}

/// A bitmap over a few bytes of each template line (its length, first, middle and last byte): a line whose
/// bit is clear is not a template line; one whose bit is set is looked up for real.
struct TemplateLineFilter: Sendable {
    private var bits = [UInt64](repeating: 0, count: 1 << 10)

    init(_ lines: Set<String>) {
        for line in lines {
            let slot = Array(line.utf8).withUnsafeBufferPointer { Self.slot($0) }
            bits[slot >> 6] |= 1 << UInt64(slot & 63)
        }
    }

    func mayContain(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        let slot = Self.slot(line)
        return bits[slot >> 6] & (1 << UInt64(slot & 63)) != 0
    }

    /// One of 65,536 slots.
    private static func slot(_ line: UnsafeBufferPointer<UInt8>) -> Int {
        guard let first = line.first, let last = line.last else { return 0 }
        let key = UInt64(line.count) | UInt64(first) << 32 | UInt64(last) << 40 | UInt64(line[line.count / 2]) << 48
        return Int((key &* 0x9E37_79B9_7F4A_7C15) >> 48)
    }
}
