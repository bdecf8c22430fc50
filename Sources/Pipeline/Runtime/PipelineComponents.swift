import Backends
import Embedding
import Foundation
import Logging
import Payloads
import Profiling
import Routing
import SwitchyardCore

/// The three middle stages, built from a configuration: what both `run` and `stage` processes execute.
public struct PipelineComponents: Sendable {
    public var profile: ProfileStage
    public var score: ScoreStage
    public var dispatch: DispatchStage
    /// The dispatcher to shut down at the end (nil for dry runs or injected senders).
    public var dispatcher: Dispatcher?

    public init(profile: ProfileStage, score: ScoreStage, dispatch: DispatchStage, dispatcher: Dispatcher? = nil) {
        self.profile = profile
        self.score = score
        self.dispatch = dispatch
        self.dispatcher = dispatcher
    }

    /// Builds profiler, router and dispatcher from `configuration`.
    ///
    /// `budgetUSD` overrides `router.budget_usd`; `dryRun` builds no dispatcher. With a budget, the score
    /// workers share one `ScoreBudget` and dispatch settles actual costs on it directly; `expectedLines`
    /// (the input's line count) lets it stream λ, else λ stays fixed.
    public static func make(
        configuration: PipelineConfiguration, dryRun: Bool, budgetUSD: Double?, expectedLines: Int? = nil, logger: Logger
    ) throws -> PipelineComponents {
        var configuration = configuration
        // `run` starts every profile worker in this one process, sharing one MiniLM: with every core per call they
        // would queue on its lock (measured: 0.62 × `switchyard embed`); one OpenBLAS thread per call lets each
        // worker use a core of its own. An explicit `profiler.threads` is kept.
        if configuration.profiler.threads == nil && configuration.stages.profile.workers > 1 { configuration.profiler.threads = 1 }
        let (extractor, router, lambda) = try makeRouting(configuration: configuration, logger: logger)
        let budget = (budgetUSD ?? configuration.router.budgetUSD).map { limit in
            ScoreBudget(configuration: .init(budgetUSD: limit, expectedLines: expectedLines, fixedLambda: lambda), models: router.models)
        }
        let score = ScoreStage(router: router, budget: budget, poolModels: Set(configuration.models.map(\.name)))
        let dispatcher = dryRun ? nil : try makeDispatcher(configuration, logger: logger)
        return PipelineComponents(
            profile: ProfileStage(extractor: extractor), score: score,
            dispatch: DispatchStage(sender: dispatcher, settler: budget), dispatcher: dispatcher)
    }

    /// The dispatcher of the pool, with the waits of `stages.dispatch` (start-up readiness, unavailable
    /// backends). Call `waitUntilReady()` on it before taking work. `only` keeps just those models (what
    /// `collect` calls): another model's backend or API key is then not required.
    public static func makeDispatcher(_ configuration: PipelineConfiguration, only: Set<String>? = nil, logger: Logger) throws -> Dispatcher {
        var configuration = configuration
        if let only { configuration.models = configuration.models.filter { only.contains($0.name) } }
        try configuration.checkBackends()
        let stage = configuration.stages.dispatch
        var dispatch = DispatcherConfiguration()
        dispatch.unavailableWait = .milliseconds(Int64(stage.unavailableWaitSeconds * 1000))
        dispatch.readiness.timeout = .milliseconds(Int64(stage.readyTimeoutSeconds * 1000))
        return try Dispatcher(endpoints: endpoints(configuration), configuration: dispatch, redactor: ProcessLogging.redactor, logger: logger)
    }

    /// The Backends view of the pool.
    public static func endpoints(_ configuration: PipelineConfiguration) -> [ModelEndpoint] {
        configuration.models.compactMap { model in
            guard let backend = model.backend else { return nil }
            let timeout = Duration.milliseconds(Int64(backend.timeoutSeconds * 1000))
            let tls = backend.caFile == nil && backend.clientCertificate == nil ? nil
                : BackendTLS(caFile: backend.caFile, certificateFile: backend.clientCertificate, privateKeyFile: backend.clientKey)
            return ModelEndpoint(
                name: model.name, baseURL: backend.url, servedModel: backend.model,
                apiKeyEnv: backend.apiKeyEnvironmentVariable, apiKeyFile: backend.apiKeyFile, tls: tls, price: model.price,
                limits: BackendLimits(
                    maxConcurrency: model.limits.concurrency,
                    requestsPerMinute: model.limits.rpm.map(Double.init),
                    tokensPerMinute: model.limits.tpm.map(Double.init)),
                timeouts: BackendTimeouts(firstByte: timeout, total: timeout))
        }
    }

    static func makeEmbedder(_ profiler: ProfilerConfiguration, logger: Logger) throws -> any Embedder {
        switch profiler.embedder {
        case .hashed:
            var hashed = HashedEmbedder.Configuration()
            hashed.dimension = profiler.hashedDimension
            return try HashedEmbedder(configuration: hashed)
        case .minilm:
            return try MiniLMEmbedder(modelDirectory: profiler.modelDirectory, threads: profiler.threads, logger: logger)
        case .remote:
            throw ConfigurationError(keyPath: "profiler.embedder", reason: "the remote embedder is not wired into the pipeline yet: use minilm or hashed")
        }
    }

    /// The embedder an artifact's featurizer was built with (nil when it used none).
    static func artifactEmbedder(named name: String?, profiler: ProfilerConfiguration, logger: Logger) throws -> (any Embedder)? {
        guard let name else { return nil }
        if name == "minilm" {
            return try MiniLMEmbedder(modelDirectory: profiler.modelDirectory, threads: profiler.threads, logger: logger)
        }
        if name.hasPrefix("hashed-"), let dimension = Int(name.dropFirst("hashed-".count)) {
            var hashed = HashedEmbedder.Configuration()
            hashed.dimension = dimension
            return try HashedEmbedder(configuration: hashed)
        }
        throw ConfigurationError(keyPath: "router.profiles", reason: "the profiles were built with embedder '\(name)', which the pipeline cannot make: rebuild them with minilm or hashed")
    }

    /// Profiler and router: every strategy is loaded from the `switchyard profile build` artifact in
    /// `router.profiles`, so the pipeline decides as `switchyard route` does on the same profiles; without
    /// profiles, `cheapest` and `first` route on pipeline.yaml's prices alone (`PriceRouter`), and `first`
    /// always does (no artifact has it). Returns λ too (config, else the artifact's default).
    static func makeRouting(configuration: PipelineConfiguration, logger: Logger) throws -> (any FeatureExtractor, any RequestRouter, Double) {
        let strategy = configuration.router.strategy
        if let preference = PriceRouter.Preference(rawValue: strategy), configuration.router.profiles == nil || preference == .first {
            let extractor = EmbedderFeatureExtractor(embedder: try makeEmbedder(configuration.profiler, logger: logger))
            return (extractor, PriceRouter(preference: preference, models: configuration.models), configuration.router.lambda ?? 0)
        }
        guard let profiles = configuration.router.profiles else {
            throw ConfigurationError(keyPath: "router.profiles", reason: "missing: strategy '\(strategy)' needs trained profiles (switchyard profile build)")
        }
        let directory = URL(fileURLWithPath: profiles)
        let manifest = try RouterManifest.load(from: directory)
        let embedder = try artifactEmbedder(named: manifest.featurizer.embedder, profiler: configuration.profiler, logger: logger)
        let resolved = strategy == "auto" ? manifest.autoStrategy : strategy
        guard manifest.strategies.contains(where: { $0.name == resolved }) else {
            throw ConfigurationError(keyPath: "router.strategy", reason: "strategy '\(strategy)' is not in the profiles at \(profiles); available: auto, \(manifest.strategies.map(\.name).joined(separator: ", "))")
        }
        let artifact = try RouterArtifact.load(from: directory, embedder: embedder, only: [resolved])
        let router = try artifact.router(strategy: resolved, lambda: configuration.router.lambda)
        let pool = Set(configuration.models.map(\.name))
        guard router.models.contains(where: pool.contains) else {
            throw ConfigurationError(keyPath: "models", reason: "none of the pool's models is known to the profiles at \(profiles) (they know \(router.models.prefix(5).joined(separator: ", "))...): name pool models as the routing data does")
        }
        logger.info("router loaded", metadata: ["strategy": "\(resolved)", "lambda": "\(router.lambda)", "profiles": "\(profiles)"])
        return (artifact.profiler(), router, router.lambda)
    }
}
