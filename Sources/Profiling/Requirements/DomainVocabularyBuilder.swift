import Foundation

/// Learns a `DomainVocabulary` from training prompts and their feature vectors: spherical K-means,
/// merge of near-duplicate clusters (centroid cosine above `mergeCosine`), rare clusters into `other`,
/// and names from the words most over-represented in a cluster against the rest (a TF-IDF-style
/// document-frequency contrast).
public struct DomainVocabularyBuilder: Sendable {
    /// Clusters sought before merging (default 16).
    public var clusters: Int = 16
    /// Two clusters whose centroids have a cosine above this are merged (default 0.7).
    public var mergeCosine: Float = 0.7
    /// Clusters holding less than this share of prompts are named `other` (default 0.02).
    public var minShare: Double = 0.02
    /// Words in a name (default 3).
    public var termsPerName: Int = 3
    public var seed: UInt64 = 7

    public init() {}

    public func build(texts: [String], vectors: [[Float]]) throws(RequirementError) -> DomainVocabulary {
        guard texts.count == vectors.count, !texts.isEmpty else {
            throw .invalidTrainingData("domain vocabulary needs one vector per prompt and at least one prompt (got \(texts.count) texts, \(vectors.count) vectors)")
        }
        let fit = SphericalKMeans(k: clusters, seed: seed).fit(vectors)
        var members: [[Int]] = fit.centroids.indices.map { c in fit.assignments.indices.filter { fit.assignments[$0] == c } }
        var centroids = fit.centroids
        // Merge the closest pair while any pair is above the threshold.
        while true {
            var pair: (Int, Int)? = nil
            var bestCos = mergeCosine
            for a in centroids.indices {
                for b in centroids.indices where b > a {
                    let s = RequirementVectorMath.dot(centroids[a], centroids[b])
                    if s > bestCos { bestCos = s; pair = (a, b) }
                }
            }
            guard let (a, b) = pair else { break }
            let wa = Float(members[a].count), wb = Float(members[b].count)
            centroids[a] = RequirementVectorMath.normalized(zip(centroids[a], centroids[b]).map { $0 * wa + $1 * wb })
            members[a] += members[b]
            centroids.remove(at: b)
            members.remove(at: b)
        }
        let keep = members.indices.filter { !members[$0].isEmpty }
        let docs = texts.map(Self.words)
        let total = Double(texts.count)
        var globalDF: [String: Int] = [:]
        for d in docs { for w in d { globalDF[w, default: 0] += 1 } }
        var used = Set<String>()
        var domains: [DomainVocabulary.Domain] = []
        for c in keep.sorted(by: { members[$0].count > members[$1].count || (members[$0].count == members[$1].count && $0 < $1) }) {
            let share = Double(members[c].count) / total
            var df: [String: Int] = [:]
            for i in members[c] { for w in docs[i] { df[w, default: 0] += 1 } }
            let n = Double(members[c].count)
            let rest = max(1, total - n)
            let scored = df.compactMap { (w, count) -> (String, Double)? in
                guard count >= min(2, members[c].count) else { return nil }
                let inside = Double(count) / n
                let outside = Double(globalDF[w, default: 0] - count) / rest
                return (w, inside - outside)
            }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            let terms = Array(scored.prefix(termsPerName).map(\.0))
            var name: String
            if share < minShare {
                name = DomainVocabulary.otherName
            } else {
                name = terms.isEmpty ? "domain" : terms.joined(separator: "-")
                if used.contains(name) || name == DomainVocabulary.otherName {
                    var k = 2
                    while used.contains("\(name)-\(k)") { k += 1 }
                    name = "\(name)-\(k)"
                }
                used.insert(name)
            }
            domains.append(.init(name: name, centroid: centroids[c], share: share, terms: terms))
        }
        return DomainVocabulary(domains: domains)
    }

    /// Lower-cased alphabetic words of 3+ letters, stop words removed, each once per prompt.
    static func words(_ text: String) -> Set<String> {
        var result = Set<String>()
        var current = ""
        for ch in text.lowercased() {
            if ch.isLetter { current.append(ch) } else {
                if current.count >= 3, !stopWords.contains(current) { result.insert(current) }
                current = ""
            }
        }
        if current.count >= 3, !stopWords.contains(current) { result.insert(current) }
        return result
    }

    static let stopWords: Set<String> = [
        "the", "and", "for", "that", "this", "with", "from", "are", "was", "were", "has", "have", "had", "not",
        "but", "his", "her", "its", "they", "them", "their", "there", "what", "which", "who", "when", "where",
        "how", "you", "your", "all", "any", "can", "each", "one", "two", "into", "than", "then", "also", "will",
        "would", "should", "could", "been", "being", "our", "out", "she", "him", "does", "did", "these", "those",
        "such", "some", "more", "most", "other", "only", "over", "very", "just", "about", "after", "before",
    ]
}
