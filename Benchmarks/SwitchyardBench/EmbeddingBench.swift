import ArgumentParser
import Embedding
import Foundation
import SwitchyardCore

/// `SwitchyardBench embedding`: MiniLM throughput on real prompts (batch 1 and 32), the encoder's
/// achieved GFLOP/s against the machine's sgemm rate measured in the same run, peak RSS, and, when
/// `--peer-json` is given, the PyTorch peer (sentence-transformers) on the same texts.
struct EmbeddingBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embedding", abstract: "MiniLM embedding throughput vs sgemm peak and the PyTorch peer.")

    @Option(help: "Folder with routing data (its */train.jsonl prompts are used).") var dataDir = "data/routing"
    @Option(help: "MiniLM model folder.") var modelDir = ".models/all-MiniLM-L6-v2"
    @Option(help: "Number of prompts.") var texts = 2000
    @Option(help: "OpenBLAS threads (default: all cores).") var threads: Int?
    @Option(help: "Texts for the batch-1 run (default: all).") var batchOneTexts: Int?
    @Option(help: "Write the prompts here (one {\"text\"} a line) for the peer, then exit.") var writeTexts: String?
    @Option(help: "PyTorch peer results (JSON from Benchmarks/embedding/peer.py) to put beside ours.") var peerJson: String?
    @Option(help: "Where to write the JSON results.") var out = "bench-results/embedding.json"

    struct Run: Codable {
        var batchSize: Int
        var texts: Int
        var tokens: Int
        var tokenizerSeconds: Double
        var encoderSeconds: Double
        var textsPerSecond: Double
        var tokensPerSecond: Double
        var encoderGFLOPs: Double
    }

    struct Result: Codable {
        var texts: Int
        var tokens: Int
        var meanLength: Double
        var maxLength: Int
        var threads: Int
        var openblas: String
        var sgemm1024GFLOPs: Double
        var sgemmFFNShapeGFLOPs: Double
        var batch32: Run
        var batch1: Run
        var encoderFractionOfSgemmPeak: Double
        var peakRSSMB: Double
        var peer: PeerResult?
        var peerSource: String
        var textsPerSecondVsPeer: Double?
        var targets: [String: Bool]
    }

    struct PeerResult: Codable {
        var texts_per_s: Double
        var tokens_per_s: Double?
        var n_texts: Int?
        var threads: Int?
        var median_seconds: Double?
        var same_texts: Bool?
        var source: String?
    }

    func run() async throws {
        let prompts = try Self.loadPrompts(dataDir: dataDir, count: texts)
        if let writeTexts {
            var data = Data()
            for p in prompts {
                data.append(try JSONSerialization.data(withJSONObject: ["text": p]))
                data.append(0x0A)
            }
            try data.write(to: URL(fileURLWithPath: writeTexts))
            print("wrote \(prompts.count) prompts to \(writeTexts)")
            return
        }
        let embedder = try MiniLMEmbedder(modelDirectory: modelDir, threads: threads, batchSize: 32)
        let n = prompts.count
        print("embedding bench: \(n) prompts from \(dataDir), \(embedder.threads) OpenBLAS threads")

        // The machine's limit, measured now: square sgemm and the FFN-shaped one the encoder runs.
        let peak = BLASProbe.sgemmGFLOPs(m: 1024, n: 1024, k: 1024)
        let ffnShape = BLASProbe.sgemmGFLOPs(m: 2176, n: 1536, k: 384)

        let tokStart = ContinuousClock.now
        let ids = prompts.map { embedder.tokenizer.encode($0) }
        let tokenizerSeconds = Self.seconds(since: tokStart)
        let lengths = ids.map(\.count)
        let tokens = lengths.reduce(0, +)
        let flops = lengths.reduce(0.0) { $0 + EncoderCost.flops(length: $1) }

        _ = try embedder.embed(tokenized: Array(ids.prefix(64)))   // warm-up: page in weights, grow scratch
        let batch32 = try Self.measure(embedder: embedder, ids: ids, batchSize: 32,
                                       tokenizerSeconds: tokenizerSeconds, flops: flops)
        let oneCount = min(batchOneTexts ?? n, n)
        let oneIDs = Array(ids.prefix(oneCount))
        let oneFlops = oneIDs.reduce(0.0) { $0 + EncoderCost.flops(length: $1.count) }
        let oneTokenizer = tokenizerSeconds * Double(oneCount) / Double(max(n, 1))
        _ = try embedder.embed(tokenized: Array(ids.prefix(8)), batchSize: 1)
        let batch1 = try Self.measure(embedder: embedder, ids: oneIDs, batchSize: 1,
                                      tokenizerSeconds: oneTokenizer, flops: oneFlops)

        var peer: PeerResult?
        var peerSource = "not run"
        if let peerJson, let data = FileManager.default.contents(atPath: peerJson) {
            peer = try? JSONDecoder().decode(PeerResult.self, from: data)
            peerSource = peer?.source ?? peerJson
        }
        let fraction = batch32.encoderGFLOPs / peak
        let rss = Self.peakRSSMB()
        let vsPeer = peer.map { batch32.textsPerSecond / $0.texts_per_s }
        let result = Result(
            texts: n, tokens: tokens, meanLength: Double(tokens) / Double(max(n, 1)), maxLength: lengths.max() ?? 0,
            threads: embedder.threads, openblas: BLASProbe.configuration,
            sgemm1024GFLOPs: peak, sgemmFFNShapeGFLOPs: ffnShape, batch32: batch32, batch1: batch1,
            encoderFractionOfSgemmPeak: fraction, peakRSSMB: rss, peer: peer, peerSource: peerSource,
            textsPerSecondVsPeer: vsPeer,
            targets: [
                "texts_per_s >= 1.2 x PyTorch": (vsPeer ?? 0) >= 1.2,
                "encoder >= 80% of sgemm peak": fraction >= 0.8,
                "peak RSS <= 300 MB": rss <= 300,
            ])

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileManager.default.createDirectory(
            at: URL(fileURLWithPath: out).deletingLastPathComponent(), withIntermediateDirectories: true)
        try encoder.encode(result).write(to: URL(fileURLWithPath: out))

        func f(_ x: Double, _ digits: Int = 1) -> String { String(format: "%.\(digits)f", x) }
        print("""

            | measure | value |
            | --- | --- |
            | prompts / tokens (incl. [CLS]/[SEP], ≤ 256) | \(n) / \(tokens) (mean \(f(result.meanLength)), max \(result.maxLength)) |
            | sgemm 1024³ (\(embedder.threads) threads), the machine's limit | \(f(peak)) GFLOP/s |
            | sgemm 2176×1536×384 (FFN shape) | \(f(ffnShape)) GFLOP/s |
            | ours, batch 32 | \(f(batch32.textsPerSecond)) texts/s, \(f(batch32.tokensPerSecond, 0)) tokens/s |
            | ours, batch 1 (\(oneCount) texts) | \(f(batch1.textsPerSecond)) texts/s, \(f(batch1.tokensPerSecond, 0)) tokens/s |
            | encoder achieved (batch 32) | \(f(batch32.encoderGFLOPs)) GFLOP/s = \(f(100 * fraction))% of sgemm peak (target ≥ 80%) |
            | tokenizer | \(f(Double(n) / max(tokenizerSeconds, 1e-9), 0)) texts/s |
            | peak RSS | \(f(rss)) MB (target ≤ 300) |
            | PyTorch peer (\(peerSource)) | \(peer.map { f($0.texts_per_s) + " texts/s" } ?? "not measured") |
            | ours / PyTorch, texts/s | \(vsPeer.map { f($0, 2) + "×" } ?? "n/a") (target ≥ 1.2×) |

            results: \(out)
            """)
    }

    static func measure(embedder: MiniLMEmbedder, ids: [[Int32]], batchSize: Int,
                        tokenizerSeconds: Double, flops: Double) throws -> Run {
        let start = ContinuousClock.now
        _ = try embedder.embed(tokenized: ids, batchSize: batchSize)
        let encoderSeconds = seconds(since: start)
        let total = encoderSeconds + tokenizerSeconds
        let tokens = ids.reduce(0) { $0 + $1.count }
        return Run(batchSize: batchSize, texts: ids.count, tokens: tokens, tokenizerSeconds: tokenizerSeconds,
                   encoderSeconds: encoderSeconds, textsPerSecond: Double(ids.count) / total,
                   tokensPerSecond: Double(tokens) / total, encoderGFLOPs: flops / encoderSeconds / 1e9)
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        (ContinuousClock.now - start).seconds
    }

    /// Peak resident set (VmHWM) of this process in MB.
    static func peakRSSMB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return .nan }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
            return kb / 1024
        }
        return .nan
    }

    /// `count` prompts taken alternately from every `*/train.jsonl` under `dataDir` (sorted by path).
    static func loadPrompts(dataDir: String, count: Int) throws -> [String] {
        let root = URL(fileURLWithPath: dataDir)
        let dirs = try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
        var sources: [[String]] = []
        for dir in dirs {
            let file = root.appendingPathComponent(dir).appendingPathComponent("train.jsonl")
            guard let data = FileManager.default.contents(atPath: file.path) else { continue }
            var prompts: [String] = []
            for line in data.split(separator: UInt8(ascii: "\n")) {
                if let obj = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                   let prompt = obj["prompt"] as? String {
                    prompts.append(prompt)
                }
            }
            if !prompts.isEmpty { sources.append(prompts) }
        }
        guard !sources.isEmpty else {
            throw ValidationError("no */train.jsonl with prompts under \(dataDir)")
        }
        var result: [String] = []
        var index = 0
        while result.count < count {
            var added = false
            for s in sources where index < s.count && result.count < count {
                result.append(s[index]); added = true
            }
            if !added { break }
            index += 1
        }
        return result
    }
}
