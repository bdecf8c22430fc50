import ArgumentParser
import BlockingHTTP
import Embedding
import Foundation
import Logging
import Pipeline
import SwitchyardCore

/// `switchyard embed`: one `{"embedding": [...]}` line per input line, same order.
struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed texts (one JSON object a line) with MiniLM, hashed n-grams or a remote server.",
        discussion: """
            Each input line is {"text": "..."} or {"id": "...", "prompt": "..."}; each output line is \
            {"embedding": [...]} (L2-normalised), in input order. A bad line stops the run with \
            FILE:LINE and the field at fault. Progress goes to stderr.
            """
    )

    enum EmbedderKind: String, ExpressibleByArgument, CaseIterable {
        case minilm, hashed, remote
    }

    @Option(help: "JSON Lines input: {\"text\"} or {\"id\", \"prompt\"} a line.")
    var input: String

    @Option(help: "JSON Lines output, one {\"embedding\": [...]} a line.")
    var output: String

    @Option(help: "minilm | hashed | remote.")
    var embedder: EmbedderKind = .minilm

    @Option(help: "MiniLM model folder (fetch it with scripts/setup).")
    var modelDir: String = ".models/all-MiniLM-L6-v2"

    @Option(help: "Texts per forward pass (minilm) or per request (remote).")
    var batchSize: Int = 32

    @Option(help: "OpenBLAS threads for minilm (default: all cores).")
    var threads: Int?

    @Option(help: "Vector length of the hashed embedder.")
    var dimension: Int = 4096

    @Option(help: "Remote: API root, e.g. http://127.0.0.1:8080/v1.")
    var remoteUrl: String?

    @Option(help: "Remote: model name sent with each request.")
    var remoteModel: String = "text-embedding-3-small"

    @Option(help: "Remote: vector length the model returns.")
    var remoteDimension: Int = 1536

    @Option(help: "Remote: name of the environment variable holding the API key (the key is never printed).")
    var apiKeyEnv: String?

    @OptionGroup var logging: LoggingOptions

    /// Embedders are synchronous (MiniLM computes, the remote one waits for HTTP): the whole command
    /// runs on NIO's thread pool, never on a thread of the cooperative pool.
    func run() async throws {
        let command = self
        try await BlockingWork.run { try command.embedAll() }
    }

    /// The whole command, synchronous (embedders are synchronous; this blocks the calling thread).
    func embedAll() throws {
        let (logger, _) = logging.bootstrap(label: "switchyard.embed")
        let embedder = try makeEmbedder(logger: logger)
        let reader: JSONLinesReader
        let writer: JSONLinesWriter
        do {
            reader = try JSONLinesReader(path: input)
            writer = try JSONLinesWriter(path: output)
        } catch {
            throw ExitStatus.exit("embed", "\(error)", status: ExitStatus.failed)
        }
        let chunkSize = max(batchSize, 256)
        var texts: [String] = []
        var done = 0
        let started = Date()
        var lastReport = started
        func flushChunk() throws {
            guard !texts.isEmpty else { return }
            let vectors = try embedder.embed(texts)
            var out = Data()
            for v in vectors { Self.appendLine(v, to: &out) }
            try writer.writeRaw(out)
            done += texts.count
            texts.removeAll(keepingCapacity: true)
            let now = Date()
            if now.timeIntervalSince(lastReport) >= 2 {
                lastReport = now
                let rate = Double(done) / max(now.timeIntervalSince(started), 1e-9)
                logger.info("progress", metadata: ["lines": "\(done)", "texts_per_s": "\(Int(rate))"])
            }
        }
        do {
            for line in reader {
                texts.append(try Self.text(of: line, file: input))
                if texts.count >= chunkSize { try flushChunk() }
            }
            try flushChunk()
        } catch where error is SwitchyardError || error is EmbeddingError {
            throw ExitStatus.exit("embed", "\(error)", status: ExitStatus.failed)
        }
        writer.flush()
        let seconds = Date().timeIntervalSince(started)
        logger.info("embed finished", metadata: [
            "lines": "\(done)", "output": "\(output)", "embedder": "\(embedder.name)", "seconds": "\(String(format: "%.2f", seconds))",
        ])
    }

    private func makeEmbedder(logger: Logger) throws -> any Embedder {
        do {
            switch embedder {
            case .minilm:
                return try MiniLMEmbedder(modelDirectory: modelDir, threads: threads, batchSize: batchSize, logger: logger)
            case .hashed:
                return try HashedEmbedder(dimension: dimension)
            case .remote:
                guard let remoteUrl, let url = URL(string: remoteUrl), url.scheme != nil else {
                    throw EmbeddingError.invalidConfiguration("--embedder remote needs --remote-url http://HOST:PORT/v1")
                }
                return try RemoteEmbedder(
                    configuration: .init(baseURL: url, model: remoteModel, dimension: remoteDimension,
                                         apiKeyEnvironmentVariable: apiKeyEnv, maxBatchSize: batchSize),
                    logger: logger)
            }
        } catch let error as EmbeddingError {
            throw ExitStatus.exit("embed", "\(error)", status: ExitStatus.failed)
        }
    }

    /// The text of one input line: `text`, else `prompt`; anything else names file:line and field.
    static func text(of line: JSONLine, file: String) throws -> String {
        guard !line.isBlank else {
            throw SwitchyardError.badLine(file: file, line: line.number, reason: "blank line; expected {\"text\": ...} or {\"id\", \"prompt\"}")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: line.bytes)
        } catch {
            throw SwitchyardError.badLine(file: file, line: line.number, reason: "not valid JSON")
        }
        guard let dict = object as? [String: Any] else {
            throw SwitchyardError.badLine(file: file, line: line.number, reason: "expected a JSON object")
        }
        if let value = dict["text"] {
            guard let text = value as? String else {
                throw SwitchyardError.badLine(file: file, line: line.number, reason: "field \"text\" must be a string")
            }
            return text
        }
        if let value = dict["prompt"] {
            guard let text = value as? String else {
                throw SwitchyardError.badLine(file: file, line: line.number, reason: "field \"prompt\" must be a string")
            }
            return text
        }
        throw SwitchyardError.badLine(file: file, line: line.number, reason: "missing field \"text\" (or \"prompt\")")
    }

    /// `{"embedding":[...]}\n` with each float printed in Swift's shortest round-trip form.
    static func appendLine(_ vector: [Float], to out: inout Data) {
        var s = "{\"embedding\":["
        s.reserveCapacity(vector.count * 12 + 20)
        for (i, x) in vector.enumerated() {
            if i > 0 { s += "," }
            s += x.isFinite ? x.description : "0"
        }
        s += "]}\n"
        out.append(contentsOf: s.utf8)
    }
}
