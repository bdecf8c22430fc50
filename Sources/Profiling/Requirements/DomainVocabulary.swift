/// The knowledge domains a router knows, learned from the training prompts at build time
/// (`DomainVocabularyBuilder`): one unit-norm centroid per domain, named by its distinctive words.
///
/// Rare clusters keep their centroid but are all named `other`, so a query near them is ranked as
/// "other" rather than forced into an unrelated domain.
public struct DomainVocabulary: Codable, Sendable, Hashable {
    public struct Domain: Codable, Sendable, Hashable {
        /// Human-readable name (`python-assert-output`), unique except for `other`.
        public var name: String
        /// Unit-norm centroid in the feature space the vocabulary was built on.
        public var centroid: [Float]
        /// Share of training prompts in this domain.
        public var share: Double
        /// The distinctive words the name came from, most distinctive first.
        public var terms: [String]

        public init(name: String, centroid: [Float], share: Double, terms: [String]) {
            self.name = name
            self.centroid = centroid
            self.share = share
            self.terms = terms
        }
    }

    /// Name given to every rare cluster.
    public static let otherName = "other"

    public var domains: [Domain]

    public init(domains: [Domain]) { self.domains = domains }

    /// Distinct domain names, in the vocabulary's order (`other` last when present).
    public var names: [String] {
        var seen = Set<String>()
        var result: [String] = []
        for d in domains where d.name != Self.otherName && seen.insert(d.name).inserted { result.append(d.name) }
        if domains.contains(where: { $0.name == Self.otherName }) { result.append(Self.otherName) }
        return result
    }

    /// Domains ranked by cosine of `vector` (any norm) to their centroids, best first, with the cosines.
    public func rank(_ vector: [Float], limit: Int = 3) -> [(name: String, score: Double)] {
        let v = RequirementVectorMath.normalized(vector)
        var best: [String: Double] = [:]
        for d in domains {
            let s = Double(RequirementVectorMath.dot(v, d.centroid))
            if s > best[d.name, default: -.infinity] { best[d.name] = s }
        }
        let sorted = best.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        return sorted.prefix(max(0, limit)).map { ($0.key, $0.value) }
    }
}
