/// Lexical embedder with no model files: signed feature hashing ("hashing trick") of word unigrams,
/// word bigrams and character n-grams, L2-normalised. It is the zero-dependency fallback when the
/// MiniLM model is not installed, and a cheap, fully deterministic baseline for routing experiments.
///
/// Deterministic across processes, hosts and runs (FNV-1a, never Swift's seeded `Hasher`), so
/// vectors stored in a router's artifacts stay valid. Stateless, so safe to share between threads.
public struct HashedEmbedder: Embedder {
    /// What gets hashed and how much each feature family weighs.
    public struct Configuration: Sendable, Equatable {
        /// Vector length. Default 4096: few collisions for prompt-sized texts, 16 KiB a vector.
        public var dimension: Int
        /// Smallest character n-gram (default 3).
        public var minCharNGram: Int
        /// Largest character n-gram (default 5).
        public var maxCharNGram: Int
        /// Weight of each word unigram (default 1).
        public var unigramWeight: Float
        /// Weight of each word bigram (default 1).
        public var bigramWeight: Float
        /// Weight of each character n-gram (default 0.5: there are many more of them than words).
        public var charNGramWeight: Float

        public init(
            dimension: Int = 4096,
            minCharNGram: Int = 3,
            maxCharNGram: Int = 5,
            unigramWeight: Float = 1,
            bigramWeight: Float = 1,
            charNGramWeight: Float = 0.5
        ) {
            self.dimension = dimension
            self.minCharNGram = minCharNGram
            self.maxCharNGram = maxCharNGram
            self.unigramWeight = unigramWeight
            self.bigramWeight = bigramWeight
            self.charNGramWeight = charNGramWeight
        }
    }

    public let configuration: Configuration

    public var name: String { "hashed-\(configuration.dimension)" }
    public var dimension: Int { configuration.dimension }

    /// - Throws: `EmbeddingError.invalidConfiguration` when the dimension is not positive or the
    ///   n-gram range is empty.
    public init(configuration: Configuration = Configuration()) throws {
        guard configuration.dimension > 0 else {
            throw EmbeddingError.invalidConfiguration("hashed embedder dimension must be > 0, got \(configuration.dimension)")
        }
        guard configuration.minCharNGram >= 1, configuration.maxCharNGram >= configuration.minCharNGram else {
            throw EmbeddingError.invalidConfiguration(
                "hashed embedder character n-gram range \(configuration.minCharNGram)...\(configuration.maxCharNGram) is empty; use e.g. 3...5")
        }
        self.configuration = configuration
    }

    /// Convenience: default weights with the given dimension.
    public init(dimension: Int) throws {
        try self.init(configuration: Configuration(dimension: dimension))
    }

    public func embed(_ texts: [String]) throws -> [[Float]] {
        texts.map(embedOne)
    }

    /// One vector. An empty or whitespace-only text gives the zero vector (nothing to normalise).
    public func embedOne(_ text: String) -> [Float] {
        var vector = [Float](repeating: 0, count: configuration.dimension)
        let words = Self.words(of: text)

        // Word unigrams and bigrams; a per-family tag keeps "ab" the word apart from "ab" the n-gram.
        for (i, word) in words.enumerated() {
            var h = FNV1a()
            h.combine(byte: 0x01)
            for s in word { h.combine(scalar: s) }
            add(h.value, weight: configuration.unigramWeight, to: &vector)
            if i + 1 < words.count {
                var b = FNV1a()
                b.combine(byte: 0x02)
                for s in word { b.combine(scalar: s) }
                b.combine(byte: 0x20)
                for s in words[i + 1] { b.combine(scalar: s) }
                add(b.value, weight: configuration.bigramWeight, to: &vector)
            }
        }

        // Character n-grams over the words joined by single spaces, with a space at each end, so
        // n-grams see word boundaries (" th", "he ") the way fastText-style subwords do.
        var chars: [Unicode.Scalar] = [" "]
        for word in words {
            chars.append(contentsOf: word)
            chars.append(" ")
        }
        if !words.isEmpty {
            for n in configuration.minCharNGram...configuration.maxCharNGram where n <= chars.count {
                for start in 0...(chars.count - n) {
                    var h = FNV1a()
                    h.combine(byte: 0x10 &+ UInt8(truncatingIfNeeded: n))
                    for k in start..<(start + n) { h.combine(scalar: chars[k]) }
                    add(h.value, weight: configuration.charNGramWeight, to: &vector)
                }
            }
        }

        var norm: Float = 0
        for v in vector { norm += v * v }
        if norm > 0 {
            let inv = 1 / norm.squareRoot()
            for i in vector.indices { vector[i] *= inv }
        }
        return vector
    }

    @inline(__always)
    private func add(_ hash: UInt64, weight: Float, to vector: inout [Float]) {
        // Low bits pick the slot, the top bit the sign (signed hashing keeps inner products unbiased).
        let index = Int(hash % UInt64(configuration.dimension))
        let sign: Float = (hash >> 63) == 0 ? 1 : -1
        vector[index] += sign * weight
    }

    /// Lower-cased runs of letters and digits; every other scalar separates words.
    static func words(of text: String) -> [[Unicode.Scalar]] {
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for scalar in text.lowercased().unicodeScalars {
            let p = scalar.properties
            if p.isAlphabetic || p.numericType != nil {
                current.append(scalar)
            } else if !current.isEmpty {
                words.append(current)
                current.removeAll(keepingCapacity: true)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }
}
