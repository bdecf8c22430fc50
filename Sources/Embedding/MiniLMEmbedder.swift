import Dispatch
import Foundation
import Logging

/// Carries non-Sendable values into `concurrentPerform`; safe where each worker touches only its
/// own slot and the call returns after every worker is done.
struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// all-MiniLM-L6-v2 sentence embeddings (384-d, L2-normalised) in pure Swift on OpenBLAS, matching
/// sentence-transformers' `encode(normalize_embeddings=True)` to float32 precision.
///
/// Thread-safety: calls may come from any thread; tokenisation runs concurrently. With several threads
/// the forward pass is serialised by a lock (it already uses every core through OpenBLAS); with
/// `threads: 1` each concurrent caller runs on an encoder of its own, so W callers (the profile workers
/// of one `switchyard run`) use W cores instead of queueing on the lock. Memory: the weights are
/// memory-mapped (~90 MB, of which the rows of the embedding table never looked up stay on disk)
/// plus scratch that grows to the largest batch seen (batch 32 × 256 tokens ≈ 125 MB).
public final class MiniLMEmbedder: Embedder, @unchecked Sendable {
    public let name = "minilm"
    public let dimension = MiniLMWeights.hidden
    /// The model's tokenizer: also the input-token proxy (`tokenizer.tokenCount(text)`).
    public let tokenizer: WordPieceTokenizer
    /// Texts per forward pass (default 32). Larger batches give bigger, more efficient sgemms.
    public let batchSize: Int
    /// Token limit per text, [CLS]/[SEP] included (default 256, as sentence-transformers).
    public let maxLength: Int
    /// OpenBLAS threads in use (process-wide setting).
    public let threads: Int

    private let weights: MiniLMWeights
    /// One encoder (own scratch) per thread: a batch is split into groups of whole sequences, each
    /// run start to finish on its own thread with single-threaded OpenBLAS, so there is no
    /// synchronisation inside the forward pass and the small attention sgemms run in parallel too.
    private let encoders: [MiniLMEncoder]
    /// With `threads == 1`: encoders not in use, one taken per call (made when none is free); `idleLock` guards it.
    private var idleEncoders: [MiniLMEncoder] = []
    private let idleLock = NSLock()
    private let lock = NSLock()
    private let logger: Logger?

    /// Loads `vocab.txt` and `model.safetensors` from `modelDirectory`.
    /// - Parameters:
    ///   - threads: OpenBLAS threads; default all cores. OpenBLAS has one process-wide pool, so this
    ///     also changes it for any other OpenBLAS user in the process (see `OpenBLASThreads`).
    ///   - batchSize: texts per forward pass (default 32).
    ///   - maxLength: tokens per text incl. [CLS]/[SEP], at most 512 (default 256).
    /// - Throws: `EmbeddingError` when a file is missing or malformed (the message says how to fetch it), or
    ///   when OpenBLAS cannot be opened.
    public init(
        modelDirectory: String,
        threads: Int? = nil,
        batchSize: Int = 32,
        maxLength: Int = WordPieceTokenizer.defaultMaxLength,
        logger: Logger? = nil
    ) throws {
        guard batchSize >= 1 else { throw EmbeddingError.invalidConfiguration("batch size must be ≥ 1, got \(batchSize)") }
        guard (2...MiniLMWeights.maxPositions).contains(maxLength) else {
            throw EmbeddingError.invalidConfiguration("maxLength must be in 2...\(MiniLMWeights.maxPositions), got \(maxLength)")
        }
        if let threads, threads < 1 { throw EmbeddingError.invalidConfiguration("threads must be ≥ 1, got \(threads)") }
        try BLAS.open()
        let directory = URL(fileURLWithPath: modelDirectory)
        guard FileManager.default.fileExists(atPath: directory.path) else {
            throw EmbeddingError.modelFileMissing(path: directory.path)
        }
        let vocabPath = directory.appendingPathComponent("vocab.txt").path
        tokenizer = try WordPieceTokenizer(vocabularyFile: vocabPath)
        guard tokenizer.vocabularySize <= MiniLMWeights.vocabulary else {
            throw EmbeddingError.badModelFile(path: vocabPath, reason: "\(tokenizer.vocabularySize) tokens, the model has \(MiniLMWeights.vocabulary)")
        }
        let file = try SafetensorsFile(path: directory.appendingPathComponent("model.safetensors").path)
        let weights = try MiniLMWeights(file: file)
        self.weights = weights
        let count = threads ?? ProcessInfo.processInfo.activeProcessorCount
        encoders = (0..<max(1, count)).map { _ in MiniLMEncoder(weights: weights) }
        self.batchSize = batchSize
        self.maxLength = maxLength
        self.threads = max(1, count)
        // One thread: the single encoder is the pool's first, so the first caller makes no second one.
        if self.threads == 1 { idleEncoders = encoders }
        self.logger = logger
        logger?.debug("MiniLM loaded", metadata: [
            "directory": "\(directory.path)", "threads": "\(self.threads)", "batchSize": "\(batchSize)",
        ])
    }

    public func embed(_ texts: [String]) throws -> [[Float]] {
        try embed(tokenized: texts.map { tokenizer.encode($0, maxLength: maxLength) })
    }

    /// Embeds already-tokenised texts (from `tokenizer.encode`), e.g. to time the encoder alone.
    /// Sequences are sorted by length so each batch holds similar lengths; results come back in order.
    /// - Throws: `EmbeddingError.invalidConfiguration` for an empty sequence, one longer than 512,
    ///   or an id outside the vocabulary.
    public func embed(tokenized: [[Int32]], batchSize requestedBatchSize: Int? = nil) throws -> [[Float]] {
        let batchSize = max(1, requestedBatchSize ?? self.batchSize)
        for (i, ids) in tokenized.enumerated() {
            guard (1...MiniLMWeights.maxPositions).contains(ids.count),
                  ids.allSatisfy({ $0 >= 0 && Int($0) < MiniLMWeights.vocabulary }) else {
                throw EmbeddingError.invalidConfiguration(
                    "token sequence \(i) has \(ids.count) ids or an id outside 0..<\(MiniLMWeights.vocabulary); use tokenizer.encode")
            }
        }
        let order = tokenized.indices.sorted { (tokenized[$0].count, $0) > (tokenized[$1].count, $1) }
        var result = [[Float]](repeating: [], count: tokenized.count)
        if threads == 1 {
            // One OpenBLAS thread is the same setting for every caller, so callers need not take turns.
            OpenBLASThreads.set(1)
            let encoder = idleLock.withLock { idleEncoders.popLast() } ?? MiniLMEncoder(weights: weights)
            defer { idleLock.withLock { idleEncoders.append(encoder) } }
            for chunk in order.chunks(of: batchSize) { Self.encode(chunk, of: tokenized, on: encoder, into: &result) }
            return result
        }
        lock.lock()
        defer { lock.unlock() }
        for chunk in order.chunks(of: batchSize) {
            if chunk.count == 1 || encoders.count == 1 {
                // One sequence: let OpenBLAS split each sgemm over all threads instead.
                OpenBLASThreads.set(threads)
                Self.encode(chunk, of: tokenized, on: encoders[0], into: &result)
            } else {
                OpenBLASThreads.set(1)
                let groups = Self.balancedGroups(Array(chunk), lengths: { tokenized[$0].count }, count: encoders.count)
                let outputs = UnsafeMutableBufferPointer<[[Float]]>.allocate(capacity: groups.count)
                outputs.initialize(repeating: [])
                defer { outputs.deinitialize(); outputs.deallocate() }
                let work = UnsafeSendable((encoders, groups, tokenized, outputs))
                DispatchQueue.concurrentPerform(iterations: groups.count) { g in
                    let (encoders, groups, tokenized, outputs) = work.value
                    var vectors: [[Float]] = []
                    encoders[g].encode(groups[g].map { tokenized[$0] }, into: &vectors)
                    outputs[g] = vectors
                }
                for (group, vectors) in zip(groups, outputs) {
                    for (index, vector) in zip(group, vectors) { result[index] = vector }
                }
            }
        }
        return result
    }

    /// Encodes the sequences `chunk` names (indices into `tokenized`) on one encoder; each vector goes to its index in `result`.
    private static func encode(_ chunk: ArraySlice<Int>, of tokenized: [[Int32]], on encoder: MiniLMEncoder, into result: inout [[Float]]) {
        var vectors: [[Float]] = []
        encoder.encode(chunk.map { tokenized[$0] }, into: &vectors)
        for (index, vector) in zip(chunk, vectors) { result[index] = vector }
    }

    /// Splits sequence indices into at most `count` non-empty groups with nearly equal token totals
    /// (longest first, each to the lightest group). Deterministic for a given input.
    static func balancedGroups(_ indices: [Int], lengths: (Int) -> Int, count: Int) -> [[Int]] {
        let groupCount = min(count, indices.count)
        var groups = [[Int]](repeating: [], count: groupCount)
        var load = [Int](repeating: 0, count: groupCount)
        for index in indices.sorted(by: { (lengths($0), $1) > (lengths($1), $0) }) {
            var lightest = 0
            for g in 1..<groupCount where load[g] < load[lightest] { lightest = g }
            groups[lightest].append(index)
            // Attention makes cost grow faster than length; weigh it in roughly.
            let n = lengths(index)
            load[lightest] += n * (2304 + n)
        }
        return groups.filter { !$0.isEmpty }
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements, in order (the last may be shorter).
    fileprivate func chunks(of size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: Swift.max(1, size)).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
