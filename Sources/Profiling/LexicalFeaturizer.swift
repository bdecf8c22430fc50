import Foundation
import SwitchyardCore

/// Hashed TF-IDF of word n-grams (and optionally character n-grams inside words), L2-normalised.
///
/// This is the lexical featurizer the TF-IDF reference routers of `BASELINES.md` use, made fixed-size
/// by hashing so it needs no vocabulary file: sublinear term frequency (1 + ln tf), smoothed inverse
/// document frequency learned from the training prompts, and the feature hashing trick (FNV-1a).
/// A pure value: safe to share between threads.
public struct LexicalFeaturizer: Sendable {
    /// Shape of the features; part of the artifact, so route uses exactly what build used.
    public struct Configuration: Sendable, Codable, Hashable {
        /// Number of hash buckets = vector length (default 4096).
        public var dimension: Int
        /// Word n-gram lengths (default 1...2, as the reference).
        public var wordNGrams: ClosedRange<Int>
        /// Character n-gram lengths inside words, or nil for none (default nil).
        public var charNGrams: ClosedRange<Int>?

        public init(dimension: Int = 4096, wordNGrams: ClosedRange<Int> = 1...2, charNGrams: ClosedRange<Int>? = nil) {
            self.dimension = dimension
            self.wordNGrams = wordNGrams
            self.charNGrams = charNGrams
        }
    }

    public let configuration: Configuration
    /// Inverse document frequency per bucket (`dimension` values).
    public let idf: [Float]

    public init(configuration: Configuration, idf: [Float]) throws(SwitchyardError) {
        guard configuration.dimension > 0, idf.count == configuration.dimension else {
            throw .invalidArgument("lexical featurizer: idf has \(idf.count) values, dimension is \(configuration.dimension)")
        }
        self.configuration = configuration
        self.idf = idf
    }

    /// Learns idf = ln((1 + n) / (1 + df)) + 1 per bucket from training texts.
    public static func learn(from texts: [String], configuration: Configuration = Configuration()) throws(SwitchyardError) -> LexicalFeaturizer {
        var documentFrequency = [Int](repeating: 0, count: configuration.dimension)
        for text in texts {
            for bucket in tally(text, configuration).orderedBuckets() { documentFrequency[Int(bucket)] += 1 }
        }
        let n = Float(texts.count)
        let idf = documentFrequency.map { logf((1 + n) / (1 + Float($0))) + 1 }
        return try LexicalFeaturizer(configuration: configuration, idf: idf)
    }

    /// The L2-normalised TF-IDF vector of `text` (all zeros for a text with no tokens).
    public func vector(_ text: String) -> [Float] { sparseVector(text).values }

    /// `vector(_:)` with the positions of its non-zeros: the counted buckets are those positions, so the
    /// router need not scan the whole dimension to find them again (perf of the dry pipeline: two such
    /// scans per request, 7.6 % of its CPU).
    public func sparseVector(_ text: String) -> FeatureVector {
        let tally = Self.tally(text, configuration)
        let buckets = tally.orderedBuckets()
        // The tally's counts become the vector in place: one allocation of `dimension` floats per text.
        var out = tally.counts
        var nonZeros: [Int32] = []
        nonZeros.reserveCapacity(buckets.count)
        var norm: Float = 0
        // In bucket order, so the float sum (and the vector's bits) do not depend on hashing order.
        for bucket in buckets {
            let index = Int(bucket)
            let value = (1 + logf(out[index])) * idf[index]
            out[index] = value
            norm += value * value
            if value != 0 { nonZeros.append(bucket) }
        }
        if norm > 0 {
            let scale = 1 / norm.squareRoot()
            for i in nonZeros { out[Int(i)] *= scale }
        }
        return FeatureVector(values: out, nonZeros: nonZeros)
    }

    /// Words as the reference tokenizer sees them: lower-cased runs of letters and digits, 2+ long.
    static func words(_ text: String) -> [Substring] {
        let lowered = text.lowercased()
        return lowered.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }).filter { $0.count >= 2 }
    }

    /// How often each hash bucket occurs in `text`, by increasing bucket.
    static func bucketCounts(_ text: String, _ configuration: Configuration) -> [(bucket: Int, count: Int)] {
        tally(text, configuration).counted()
    }

    /// The n-gram buckets of `text`: over bytes for plain ASCII (`PlainASCII`), over `Character`s otherwise.
    static func tally(_ text: String, _ configuration: Configuration) -> BucketTally {
        var tally = BucketTally(dimension: configuration.dimension)
        if PlainASCII.withBytes(text, { asciiBuckets($0, configuration, into: &tally) }) == nil {
            unicodeBuckets(text, configuration, into: &tally)
        }
        return tally
    }

    /// `bucketCounts` by the `Character` path alone, whatever the text: what the byte path must equal.
    static func unicodeBucketCounts(_ text: String, _ configuration: Configuration) -> [(bucket: Int, count: Int)] {
        var tally = BucketTally(dimension: configuration.dimension)
        unicodeBuckets(text, configuration, into: &tally)
        return tally.counted()
    }

    /// The n-grams of `words`, over `Character`s: every text that is not plain ASCII.
    static func unicodeBuckets(_ text: String, _ configuration: Configuration, into tally: inout BucketTally) {
        let tokens = words(text)
        let dimension = UInt64(configuration.dimension)
        for n in configuration.wordNGrams where n >= 1 && tokens.count >= n {
            for start in 0...(tokens.count - n) {
                var hash = fnvOffset
                hash = fnv(hash, byte: UInt8(n))
                for (k, token) in tokens[start..<(start + n)].enumerated() {
                    if k > 0 { hash = fnv(hash, byte: 0x20) }
                    for byte in token.utf8 { hash = fnv(hash, byte: byte) }
                }
                tally.add(Int(hash % dimension))
            }
        }
        if let charNGrams = configuration.charNGrams {
            for token in tokens {
                let bytes = Array(" \(token) ".utf8)
                for n in charNGrams where n >= 1 && bytes.count >= n {
                    for start in 0...(bytes.count - n) {
                        var hash = fnv(fnvOffset, byte: 0xFF &- UInt8(truncatingIfNeeded: n))
                        for byte in bytes[start..<(start + n)] { hash = fnv(hash, byte: byte) }
                        tally.add(Int(hash % dimension))
                    }
                }
            }
        }
    }

    /// `unicodeBuckets` over bytes (see `PlainASCII`): words are runs of letters, digits and `_`,
    /// lower-cased as they are hashed; the same hashes.
    static func asciiBuckets(_ text: UnsafeBufferPointer<UInt8>, _ configuration: Configuration, into tally: inout BucketTally) {
        var tokens: [Range<Int>] = []
        var i = 0
        while i < text.count {
            guard PlainASCII.isWordByte(text[i]) else { i += 1; continue }
            let start = i
            while i < text.count && PlainASCII.isWordByte(text[i]) { i += 1 }
            if i - start >= 2 { tokens.append(start..<i) }
        }
        let dimension = UInt64(configuration.dimension)
        for n in configuration.wordNGrams where n >= 1 && tokens.count >= n {
            for start in 0...(tokens.count - n) {
                var hash = fnv(fnvOffset, byte: UInt8(n))
                for k in 0..<n {
                    if k > 0 { hash = fnv(hash, byte: 0x20) }
                    for index in tokens[start + k] { hash = fnv(hash, byte: PlainASCII.lowered(text[index])) }
                }
                tally.add(Int(hash % dimension))
            }
        }
        if let charNGrams = configuration.charNGrams {
            var bytes: [UInt8] = []
            for token in tokens {
                bytes.removeAll(keepingCapacity: true)
                bytes.append(0x20)
                for index in token { bytes.append(PlainASCII.lowered(text[index])) }
                bytes.append(0x20)
                for n in charNGrams where n >= 1 && bytes.count >= n {
                    for start in 0...(bytes.count - n) {
                        var hash = fnv(fnvOffset, byte: 0xFF &- UInt8(truncatingIfNeeded: n))
                        for byte in bytes[start..<(start + n)] { hash = fnv(hash, byte: byte) }
                        tally.add(Int(hash % dimension))
                    }
                }
            }
        }
    }

    private static let fnvOffset: UInt64 = 0xcbf2_9ce4_8422_2325
    @inline(__always) private static func fnv(_ hash: UInt64, byte: UInt8) -> UInt64 {
        (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
    }
}

/// How often each hash bucket occurs, counted in a table as long as the hash space.
///
/// Why a table: the featurizer needs its buckets in increasing order (the vector's float sum must not
/// depend on hashing order). Sorting every n-gram's bucket to get there was 6 % of the dry pipeline's CPU;
/// counting in place and reading the set buckets back through a bitmap costs a step per distinct bucket.
struct BucketTally {
    /// Occurrences per bucket (exact as Float up to 2^24, far above any prompt's n-gram count).
    var counts: [Float]
    /// Buckets in first-seen order.
    private(set) var touched: [Int32] = []

    init(dimension: Int) {
        counts = [Float](repeating: 0, count: dimension)
    }

    @inline(__always)
    mutating func add(_ bucket: Int) {
        if counts[bucket] == 0 { touched.append(Int32(truncatingIfNeeded: bucket)) }
        counts[bucket] += 1
    }

    /// The counted buckets, by increasing bucket.
    func orderedBuckets() -> [Int32] {
        // One bit per bucket, read back word by word (trailing zeros): dimension/64 words and one step per
        // bucket, where a pass over the float table was dimension steps and a sort t·log₂t. A table far
        // longer than the text (a few buckets in millions) sorts them instead.
        let words = (counts.count + 63) / 64
        if touched.count * 8 < words { return touched.sorted() }
        var bits = [UInt64](repeating: 0, count: words)
        for bucket in touched { bits[Int(bucket) >> 6] |= 1 << (UInt64(bucket) & 63) }
        var ordered: [Int32] = []
        ordered.reserveCapacity(touched.count)
        for (index, word) in bits.enumerated() {
            var rest = word
            while rest != 0 {
                ordered.append(Int32(truncatingIfNeeded: index << 6 | rest.trailingZeroBitCount))
                rest &= rest &- 1
            }
        }
        return ordered
    }

    /// (bucket, occurrences), by increasing bucket.
    func counted() -> [(bucket: Int, count: Int)] {
        orderedBuckets().map { (Int($0), Int(counts[Int($0)])) }
    }
}
