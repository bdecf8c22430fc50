/// The fixed capability list of InferenceDynamics (arXiv 2505.16303): what a query can require.
public enum Capability: String, CaseIterable, Codable, Sendable, Hashable {
    case reasoning
    case comprehension
    case instructionFollowing = "instruction_following"
    case agentic
    case knowledgeRetrieval = "knowledge_retrieval"
    case coding
    case inContextLearning = "in_context_learning"
    case multilingual
}
