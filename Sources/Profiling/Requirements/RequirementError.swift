/// What went wrong while learning or extracting query requirements, with what to do next.
public enum RequirementError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The training input cannot produce a model.
    case invalidTrainingData(String)
    /// A vector has a different length than the model was trained on.
    case dimensionMismatch(expected: Int, got: Int)
    /// The LLM endpoint could not be reached or answered with an HTTP error.
    case llmUnavailable(url: String, reason: String)
    /// The LLM answered, but not with the JSON structure asked for.
    case llmBadOutput(reason: String)

    public var description: String {
        switch self {
        case .invalidTrainingData(let why):
            return "cannot learn requirements: \(why); check the training file"
        case .dimensionMismatch(let expected, let got):
            return "query vector has \(got) dimensions but the requirement model was trained on \(expected): use the same featurizer as `profile build`"
        case .llmUnavailable(let url, let reason):
            return "requirement LLM at \(url) unavailable: \(reason); check the URL and that the server runs, or use the embedded extractor"
        case .llmBadOutput(let reason):
            return "requirement LLM answered with unusable output: \(reason); try another model or the embedded extractor"
        }
    }
}
