import ArgumentParser
import Backends
import Foundation
import Logging
import Pipeline
import ReplayBackend

struct ReplayBackendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay-backend",
        abstract: "Serve an OpenAI-compatible API that answers as the recorded models did.",
        discussion: """
            Answers POST /v1/chat/completions and GET /v1/models for every model of a routing-data \
            file. The prompt (exact text of the last user message) is looked up in the data; the reply \
            says whether the model's recorded outcome was correct and its `usage` reproduces the \
            recorded cost. Unknown prompts get a deterministic pseudo-outcome from the model's mean. \
            With --answers (gold answers and graders by record id, e.g. answers.jsonl beside the \
            ZeroEval data) the reply is an answer in the format the prompt's grader reads: the gold \
            answer where the recorded outcome is 1, a wrong one otherwise, so `switchyard collect` \
            against it reproduces the recorded outcomes. \
            Use it for demos, tests and dry runs of a real batch.
            """
    )

    @Option(help: "Routing data (JSON Lines with prompt, outcomes, costs).")
    var data: String

    @Option(help: "Prices (models.json). Default: models.json beside --data.")
    var models: String?

    @Option(help: "Gold answers ({\"id\", \"answer\", \"grader\"} lines): reply with right or wrong answers as recorded.")
    var answers: String?

    @Option(help: "Port to listen on (0 picks a free one and prints it).")
    var port: Int

    @Option(help: "Address to bind.")
    var host: String = "127.0.0.1"

    @Option(name: .customLong("latency-ms-p50"), help: "Median added latency in ms.")
    var latencyP50: Double = 0

    @Option(name: .customLong("latency-ms-p99"), help: "99th percentile added latency in ms (log-normal).")
    var latencyP99: Double?

    @Option(help: "Fraction of requests that fail with --error-kind.")
    var errorRate: Double = 0

    @Option(help: "Injected failure: 429, 500 or timeout.")
    var errorKind: String = "500"

    @Option(parsing: .upToNextOption, help: "Models that answer 503 to everything.")
    var down: [String] = []

    @Option(parsing: .upToNextOption, help: "Models still listed by GET /v1/models that answer 404 model_not_found (unloaded after start).")
    var unloaded: [String] = []

    @Option(name: .customLong("models-list"), help: "Shape of GET /v1/models: openai (data[].id) or llama-cpp (data[].aliases and models[]).")
    var modelsList: String = "openai"

    @Option(name: .customLong("cost-multiplier"), help: "Scale the usage (and so the billed cost) of every answer, e.g. 1.3 bills 30 % more than recorded.")
    var costMultiplier: Double = 1

    @Option(help: "Seed of the latency and error draws.")
    var seed: UInt64 = 1

    @OptionGroup var logging: LoggingOptions

    @Option(name: .customLong("tls-cert"), help: "Serve https with this PEM certificate (chain); needs --tls-key.")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "The certificate's PEM private key (mode 0600).")
    var tlsKey: String?

    @Option(name: .customLong("tls-client-ca"), help: "Require client certificates signed by this PEM CA (mutual TLS).")
    var tlsClientCA: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard (0...1).contains(errorRate) else { throw ValidationError("--error-rate must be between 0 and 1") }
        guard costMultiplier.isFinite, costMultiplier >= 0 else { throw ValidationError("--cost-multiplier must be 0 or more (1 = as recorded)") }
        guard ReplayConfiguration.ModelsListShape(rawValue: modelsList) != nil else {
            throw ValidationError("--models-list must be openai or llama-cpp")
        }
        guard ReplayConfiguration.ErrorKind(rawValue: errorKind) != nil else {
            throw ValidationError("--error-kind must be 429, 500 or timeout")
        }
        if let latencyP99, latencyP99 < latencyP50 {
            throw ValidationError("--latency-ms-p99 must be at least --latency-ms-p50")
        }
        if (tlsCertificate == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if tlsClientCA != nil && tlsCertificate == nil { throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key") }
    }

    func run() async throws {
        let (logger, _) = logging.bootstrap(label: "switchyard.replay-backend")
        let catalog = try ReplayCatalog.load(dataPath: data, modelsPath: models, answersPath: answers)
        for model in down + unloaded where !catalog.serves(model) {
            throw ValidationError("--down/--unloaded \(model): not a model of \(data); models are: \(catalog.models.joined(separator: ", "))")
        }
        let configuration = ReplayConfiguration(
            host: host, port: port, latencyP50Ms: latencyP50, latencyP99Ms: latencyP99,
            errorRate: errorRate, errorKind: ReplayConfiguration.ErrorKind(rawValue: errorKind) ?? .serverError,
            downModels: Set(down), seed: seed, costMultiplier: costMultiplier, unloadedModels: Set(unloaded),
            modelsListShape: ReplayConfiguration.ModelsListShape(rawValue: modelsList) ?? .openAI
        )
        let server = ReplayServer(responder: ReplayResponder(catalog: catalog, configuration: configuration), logger: logger)
        let modelCount = catalog.models.count
        let host = self.host
        let announce = logger
        let scheme = tlsCertificate == nil ? "http" : "https"
        let onRunning: @Sendable (Int) async -> Void = { port in
            announce.notice("replay backend listening", metadata: [
                "url": "\(scheme)://\(host):\(port)/v1", "models": "\(modelCount)",
            ])
            FileHandle.standardOutput.write(Data("replay-backend: \(scheme)://\(host):\(port)/v1 serving \(modelCount) models\n".utf8))
        }
        if let tlsCertificate, let tlsKey {
            let tls = try ReplayServer.tlsConfiguration(certificate: tlsCertificate, privateKey: tlsKey, clientCA: tlsClientCA)
            try await server.makeApplication(tls: tls, onRunning: onRunning).runService()
        } else {
            try await server.makeApplication(onRunning: onRunning).runService()
        }
    }
}
