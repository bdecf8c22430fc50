extension Featurizer.Configuration {
    /// Named featurizers for the command line and the dev comparison of `profile build`.
    ///
    /// `strip-` learns and removes the instruction template; `tfidf` is hashed TF-IDF of word 1-2 grams
    /// (4096 buckets), `tfidf-char` adds character 3-5 grams (8192 buckets); `hashed` is the
    /// `HashedEmbedder` (signed hashing, no idf); `minilm` the MiniLM sentence embedding.
    public static let presets: [String: Featurizer.Configuration] = [
        "strip-tfidf": .init(),
        "tfidf": .init(stripTemplate: false),
        "strip-tfidf-char": .init(lexical: .init(dimension: 8192, wordNGrams: 1...2, charNGrams: 3...5)),
        "strip-hashed": .init(lexical: nil, embedder: "hashed-4096"),
        "minilm": .init(stripTemplate: false, lexical: nil, embedder: "minilm"),
        "strip-minilm": .init(lexical: nil, embedder: "minilm"),
        "strip-tfidf+minilm": .init(embedder: "minilm"),
    ]

    /// The default featurizer (`strip-tfidf`); `profile build --compare-featurizers` measures the others on dev.
    public static let defaultPresetName = "strip-tfidf"
}
