import Embedding
import Foundation
import SwitchyardCore

/// Turns prompts into the dense vectors routing strategies are trained on.
///
/// Options (compared on dev by `profile build`, recorded in the artifact): template stripping, hashed
/// TF-IDF word/char n-grams (`LexicalFeaturizer`), a dense `Embedder` (MiniLM), or both concatenated
/// (each part L2-normalised, weighted, the whole re-normalised). Safe to share between threads.
public struct Featurizer: Sendable {
    /// What the featurizer is made of; stored in the artifact.
    public struct Configuration: Sendable, Codable, Hashable {
        /// Drop the learned instruction template before featurising (default true).
        public var stripTemplate: Bool
        /// Hashed TF-IDF part, or nil for none (default: 4096 buckets, word 1-2 grams).
        public var lexical: LexicalFeaturizer.Configuration?
        /// Name of the dense embedder part (`Embedder.name`), or nil for none (default nil).
        public var embedder: String?
        /// Weight of the dense part against the lexical part when both are present (default 1).
        public var embeddingWeight: Float
        /// Template learning knobs.
        public var template: TemplateStripper.Configuration

        public init(
            stripTemplate: Bool = true,
            lexical: LexicalFeaturizer.Configuration? = LexicalFeaturizer.Configuration(),
            embedder: String? = nil,
            embeddingWeight: Float = 1,
            template: TemplateStripper.Configuration = TemplateStripper.Configuration()
        ) {
            self.stripTemplate = stripTemplate
            self.lexical = lexical
            self.embedder = embedder
            self.embeddingWeight = embeddingWeight
            self.template = template
        }

        /// A short label for tables and logs, e.g. `strip+tfidf4096w1-2`.
        public var label: String {
            var parts: [String] = []
            if let lexical {
                var text = "tfidf\(lexical.dimension)w\(lexical.wordNGrams.lowerBound)-\(lexical.wordNGrams.upperBound)"
                if let c = lexical.charNGrams { text += "c\(c.lowerBound)-\(c.upperBound)" }
                parts.append(text)
            }
            if let embedder { parts.append(embedder) }
            return (stripTemplate ? "strip+" : "") + parts.joined(separator: "+")
        }
    }

    public let configuration: Configuration
    public let stripper: TemplateStripper
    public let lexical: LexicalFeaturizer?
    public let embedder: (any Embedder)?

    /// Length of every vector.
    public var dimension: Int { (lexical?.configuration.dimension ?? 0) + (embedder?.dimension ?? 0) }

    public init(configuration: Configuration, stripper: TemplateStripper, lexical: LexicalFeaturizer?, embedder: (any Embedder)?) throws(ProfilingError) {
        if configuration.lexical == nil && configuration.embedder == nil {
            throw .invalidConfiguration("a featurizer needs a lexical part, an embedder, or both")
        }
        if (configuration.lexical == nil) != (lexical == nil) {
            throw .invalidConfiguration("lexical configuration and learned lexical state disagree")
        }
        if let name = configuration.embedder {
            guard let embedder else { throw .embedderMissing(name) }
            guard embedder.name == name else { throw .embedderMismatch(expected: name, got: embedder.name) }
        }
        self.configuration = configuration
        self.stripper = stripper
        self.lexical = lexical
        self.embedder = configuration.embedder == nil ? nil : embedder
    }

    /// Learns the template and idf from training `(prompt, task)` pairs.
    public static func learn(
        from prompts: [(prompt: String, task: String?)], configuration: Configuration, embedder: (any Embedder)? = nil
    ) throws -> Featurizer {
        let stripper = configuration.stripTemplate
            ? TemplateStripper.learn(from: prompts, configuration: configuration.template) : TemplateStripper()
        let lexical = try configuration.lexical.map { lexicalConfiguration in
            try LexicalFeaturizer.learn(from: prompts.map { stripper.strip($0.prompt) }, configuration: lexicalConfiguration)
        }
        return try Featurizer(configuration: configuration, stripper: stripper, lexical: lexical, embedder: embedder)
    }

    /// One L2-normalised vector per prompt, same order.
    public func vectors(_ prompts: [String]) throws -> [[Float]] {
        try featureVectors(prompts).map(\.values)
    }

    /// `vectors(_:)` with the non-zeros' positions where the featurizer knows them (lexical only; a
    /// dense embedding has no zeros worth listing).
    public func featureVectors(_ prompts: [String]) throws -> [FeatureVector] {
        let texts = prompts.map { stripper.strip($0) }
        let lexicalVectors = lexical.map { featurizer in texts.map { featurizer.sparseVector($0) } }
        let denseVectors = try embedder.map { try $0.embed(texts) }
        switch (lexicalVectors, denseVectors) {
        case let (lex?, dense?):
            let w = max(0, configuration.embeddingWeight)
            let scale = 1 / (1 + w * w).squareRoot()
            return zip(lex, dense).map { l, d in
                FeatureVector(values: l.values.map { $0 * scale } + Self.normalised(d).map { $0 * w * scale })
            }
        case let (lex?, nil): return lex
        case let (nil, dense?): return dense.map { FeatureVector(values: Self.normalised($0)) }
        case (nil, nil): return prompts.map { _ in FeatureVector(values: []) }
        }
    }

    static func normalised(_ v: [Float]) -> [Float] {
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? v.map { $0 / norm } : v
    }

    // MARK: Artifact

    struct Stored: Codable {
        var configuration: Configuration
        var templateLines: [String]
        var dimension: Int
    }

    /// Writes `featurizer.json` and, with a lexical part, `idf.f32` into `directory`.
    public func save(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let stored = Stored(configuration: configuration, templateLines: stripper.lines.sorted(), dimension: dimension)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(stored).write(to: directory.appendingPathComponent("featurizer.json"))
        if let lexical {
            try FloatMatrix(rows: 1, cols: lexical.idf.count, values: lexical.idf)
                .write(to: directory.appendingPathComponent("idf.f32"))
        }
    }

    /// Loads what `save` wrote; `embedder` must be given (and match by name) when the artifact used one.
    public static func load(from directory: URL, embedder: (any Embedder)? = nil) throws -> Featurizer {
        let file = directory.appendingPathComponent("featurizer.json")
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw SwitchyardError.unreadableFile(file: file.path, reason: "missing; rebuild with `switchyard profile build`")
        }
        let stored: Stored
        do {
            stored = try JSONDecoder().decode(Stored.self, from: data)
        } catch {
            throw SwitchyardError.badFile(file: file.path, reason: "corrupt (\(DecodingErrorDescription.describe(error))); rebuild with `switchyard profile build`")
        }
        let lexical = try stored.configuration.lexical.map { configuration in
            let idf = try FloatMatrix.read(from: directory.appendingPathComponent("idf.f32"), rows: 1, cols: configuration.dimension)
            return try LexicalFeaturizer(configuration: configuration, idf: idf.values)
        }
        let featurizer = try Featurizer(
            configuration: stored.configuration, stripper: TemplateStripper(lines: Set(stored.templateLines)),
            lexical: lexical, embedder: embedder
        )
        guard featurizer.dimension == stored.dimension else {
            throw SwitchyardError.badFile(file: file.path, reason: "dimension \(stored.dimension) but the parts give \(featurizer.dimension); rebuild")
        }
        return featurizer
    }
}

/// Errors of profiling, each saying what to do next.
public enum ProfilingError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalidConfiguration(String)
    case embedderMissing(String)
    case embedderMismatch(expected: String, got: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let message): return "featurizer: \(message)"
        case .embedderMissing(let name):
            return "the artifact was built with the embedder '\(name)': load that embedder and pass it in (or rebuild without it)"
        case .embedderMismatch(let expected, let got):
            return "the artifact was built with the embedder '\(expected)' but '\(got)' was given: use the same embedder or rebuild"
        }
    }
}

/// A feature vector and, when the featurizer knows them, the positions of its non-zeros in increasing
/// order (what a scan of `values` would find; nil: unknown).
public struct FeatureVector: Sendable, Hashable {
    public var values: [Float]
    public var nonZeros: [Int32]?

    public init(values: [Float], nonZeros: [Int32]? = nil) {
        self.values = values
        self.nonZeros = nonZeros
    }
}
