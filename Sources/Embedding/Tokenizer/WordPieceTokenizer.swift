import Foundation

/// BERT uncased WordPiece tokenizer that reproduces Hugging Face `tokenizers` (BertNormalizer +
/// BertPreTokenizer + WordPiece + BertProcessing) id for id, as sentence-transformers feeds
/// all-MiniLM-L6-v2. Immutable after init, so one instance can be shared by every thread.
public struct WordPieceTokenizer: Sendable {
    public static let clsToken = "[CLS]"
    public static let sepToken = "[SEP]"
    public static let unkToken = "[UNK]"
    /// Words longer than this many scalars become one `[UNK]` (HF `max_input_chars_per_word`).
    public static let maxCharsPerWord = 100
    /// sentence-transformers' `max_seq_length` for all-MiniLM-L6-v2, [CLS] and [SEP] included.
    public static let defaultMaxLength = 256

    private let vocabulary: [String: Int32]
    /// Special tokens matched in the raw text before normalisation (case-sensitive), longest first.
    private let specialTokens: [(scalars: [Unicode.Scalar], id: Int32)]
    public let clsID: Int32
    public let sepID: Int32
    public let unkID: Int32
    public let padID: Int32
    public var vocabularySize: Int { vocabulary.count }

    /// - Parameter tokens: the vocabulary, one token a line; a token's id is its line number.
    /// - Throws: `EmbeddingError.badModelFile` when [CLS], [SEP] or [UNK] are missing.
    public init(tokens: [String], source: String = "vocabulary") throws {
        var vocab: [String: Int32] = [:]
        vocab.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where vocab[t] == nil { vocab[t] = Int32(i) }
        guard let cls = vocab[Self.clsToken], let sep = vocab[Self.sepToken], let unk = vocab[Self.unkToken] else {
            throw EmbeddingError.badModelFile(path: source, reason: "vocabulary lacks [CLS], [SEP] or [UNK]")
        }
        vocabulary = vocab
        clsID = cls; sepID = sep; unkID = unk
        padID = vocab["[PAD]"] ?? 0
        specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
            .compactMap { t in vocab[t].map { (Array(t.unicodeScalars), $0) } }
    }

    /// Loads `vocab.txt` (one token a line).
    /// - Throws: `EmbeddingError.modelFileMissing` / `.badModelFile`, saying how to fetch the model.
    public init(vocabularyFile path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw EmbeddingError.modelFileMissing(path: path) }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw EmbeddingError.badModelFile(path: path, reason: "not readable as UTF-8 text")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        if lines.last == "" { lines.removeLast() }
        guard lines.count > 1000 else {
            throw EmbeddingError.badModelFile(path: path, reason: "only \(lines.count) lines; expected a BERT vocabulary (30,522 lines)")
        }
        try self.init(tokens: lines, source: path)
    }

    /// Model input ids: `[CLS] wordpieces [SEP]`, truncated so the whole is at most `maxLength`.
    public func encode(_ text: String, maxLength: Int = WordPieceTokenizer.defaultMaxLength) -> [Int32] {
        var ids: [Int32] = [clsID]
        let limit = max(maxLength - 2, 0)
        appendWordPieces(of: text, to: &ids, limit: limit + 1)
        if ids.count > limit + 1 { ids.removeSubrange((limit + 1)...) }
        ids.append(sepID)
        return ids
    }

    /// Number of WordPiece tokens of `text` without [CLS]/[SEP] and without truncation: a cheap,
    /// model-consistent proxy for an LLM's input token count.
    public func tokenCount(_ text: String) -> Int {
        var ids: [Int32] = []
        appendWordPieces(of: text, to: &ids, limit: Int.max)
        return ids.count
    }

    /// The WordPiece strings (for debugging and explanations), no [CLS]/[SEP], no truncation.
    public func tokenize(_ text: String) -> [String] {
        var ids: [Int32] = []
        appendWordPieces(of: text, to: &ids, limit: Int.max)
        var inverse: [Int32: String] = [:]
        for (k, v) in vocabulary { inverse[v] = k }
        return ids.map { inverse[$0] ?? Self.unkToken }
    }

    /// Appends ids until `ids.count` reaches `limit` (early exit for long texts).
    private func appendWordPieces(of text: String, to ids: inout [Int32], limit: Int) {
        let scalars = Array(text.unicodeScalars)
        var segmentStart = 0
        var i = 0
        while i < scalars.count, ids.count < limit {
            if scalars[i] == "[", let (length, id) = matchSpecial(scalars, at: i) {
                appendSegment(scalars[segmentStart..<i], to: &ids, limit: limit)
                if ids.count < limit { ids.append(id) }
                i += length
                segmentStart = i
            } else {
                i += 1
            }
        }
        if segmentStart < scalars.count { appendSegment(scalars[segmentStart..<scalars.count], to: &ids, limit: limit) }
    }

    private func matchSpecial(_ scalars: [Unicode.Scalar], at i: Int) -> (Int, Int32)? {
        var best: (Int, Int32)?
        for (token, id) in specialTokens where i + token.count <= scalars.count {
            if scalars[i..<(i + token.count)].elementsEqual(token), token.count > (best?.0 ?? 0) {
                best = (token.count, id)
            }
        }
        return best
    }

    private func appendSegment(_ segment: ArraySlice<Unicode.Scalar>, to ids: inout [Int32], limit: Int) {
        guard !segment.isEmpty, ids.count < limit else { return }
        let normalized = BertNormalizer.normalize(segment)
        for word in BertNormalizer.preTokenize(normalized) {
            if ids.count >= limit { return }
            appendWord(word, to: &ids)
        }
    }

    /// Greedy longest-match-first WordPiece; a word with no full segmentation is one [UNK].
    private func appendWord(_ word: ArraySlice<Unicode.Scalar>, to ids: inout [Int32]) {
        if word.count > Self.maxCharsPerWord { ids.append(unkID); return }
        let chars = Array(word)
        var pieces: [Int32] = []
        var start = 0
        var candidate = String.UnicodeScalarView()
        while start < chars.count {
            var end = chars.count
            var found: Int32?
            while start < end {
                candidate.removeAll(keepingCapacity: true)
                if start > 0 { candidate.append("#"); candidate.append("#") }
                candidate.append(contentsOf: chars[start..<end])
                if let id = vocabulary[String(candidate)] { found = id; break }
                end -= 1
            }
            guard let id = found else { ids.append(unkID); return }
            pieces.append(id)
            start = end
        }
        ids.append(contentsOf: pieces)
    }
}
