/// The verdict on one reply: its score, what the grader read as the answer, and what grading cost.
public struct Grade: Sendable, Hashable, Codable {
    /// 1 for correct, 0 for wrong (a judge may give a fraction).
    public var score: Double
    /// The answer the grader read out of the reply (nil when it found none).
    public var extracted: String?
    /// Why the reply scored as it did, when that is not plain (`no JSON object with an answer`).
    public var note: String?
    /// USD spent to grade (a judge model's call; 0 for rule-based graders).
    public var costUSD: Double

    public init(score: Double, extracted: String? = nil, note: String? = nil, costUSD: Double = 0) {
        self.score = score
        self.extracted = extracted
        self.note = note
        self.costUSD = costUSD
    }

    public var isCorrect: Bool { score >= 0.5 }

    enum CodingKeys: String, CodingKey {
        case score, extracted, note
        case costUSD = "cost_usd"
    }
}

/// Scores a model's reply against the gold answer of a labelled prompt.
///
/// Rule-based graders are `LocalGrader`s (pure, synchronous); a `judge:MODEL` grader asks a pool
/// model and may fail (`GradingError`), in which case the pair has no outcome rather than a made-up one.
public protocol Grader: Sendable {
    /// The spec this grader was made from (`first-number`, `regex:...`, `judge:gpt-4o`): what the
    /// labelled prompt's `grader` field says.
    var spec: String { get }

    func grade(reply: String, answer: String, prompt: String) async throws(GradingError) -> Grade
}

/// A grader that needs nothing but the reply and the answer. It also knows the reply format it reads,
/// so the replay backend can answer a prompt as a model would have, right or wrong on purpose.
public protocol LocalGrader: Grader {
    func grade(reply: String, answer: String) -> Grade

    /// A reply, in the format this grader reads, whose answer is `answer`.
    func reply(carrying answer: String) -> String

    /// Answers that differ from `gold` in the way this grader checks (tried in order by `ScriptedReply`).
    func wrongAnswers(for gold: String) -> [String]
}

extension LocalGrader {
    public func grade(reply: String, answer: String, prompt: String) async throws(GradingError) -> Grade {
        grade(reply: reply, answer: answer)
    }

    public func wrongAnswers(for gold: String) -> [String] { [] }
}

/// Why a reply could not be graded (as opposed to graded wrong).
public enum GradingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A grader spec that names no grader, or a bad argument (`regex:(`).
    case unknownGrader(spec: String, reason: String)
    /// The judge model could not be asked (its backend failed).
    case judgeFailed(model: String, reason: String)
    /// The judge answered, but with no verdict that could be read.
    case judgeUnreadable(model: String, reply: String)

    public var description: String {
        switch self {
        case .unknownGrader(let spec, let reason):
            return "grader '\(spec)': \(reason); known graders: \(GraderSpec.known)"
        case .judgeFailed(let model, let reason):
            return "judge \(model) could not grade: \(reason)"
        case .judgeUnreadable(let model, let reply):
            return "judge \(model) gave no verdict ({\"correct\": true|false}): \(reply.prefix(200))"
        }
    }
}
