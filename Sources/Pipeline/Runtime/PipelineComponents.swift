import Backends
import Embedding
import Logging
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
    /// `budgetUSD` overrides `router.budget_usd`; `dryRun` builds no dispatcher. The score stage shares
    /// one `BatchBudget` between its workers (in `stage` mode each score process gets its own).
    public static func make(
        configuration: PipelineConfiguration, dryRun: Bool, budgetUSD: Double?, logger: Logger
    ) throws -> PipelineComponents {
        let budget = BatchBudget(limitUSD: budgetUSD ?? configuration.router.budgetUSD)
        let (extractor, router) = try makeRouting(configuration: configuration, logger: logger)
        let score = ScoreStage(router: router, lambda: configuration.router.lambda ?? 0, budget: budget)
        var dispatcher: Dispatcher?
        if !dryRun {
            try configuration.checkBackends()
            dispatcher = try Dispatcher(endpoints: endpoints(configuration), logger: logger)
        }
        return PipelineComponents(
            profile: ProfileStage(extractor: extractor), score: score,
            dispatch: DispatchStage(sender: dispatcher), dispatcher: dispatcher)
    }

    /// The Backends view of the pool.
    public static func endpoints(_ configuration: PipelineConfiguration) -> [ModelEndpoint] {
        configuration.models.compactMap { model in
            guard let backend = model.backend else { return nil }
            let timeout = Duration.milliseconds(Int64(backend.timeoutSeconds * 1000))
            return ModelEndpoint(
                name: model.name, baseURL: backend.url, servedModel: backend.model,
                apiKeyEnv: backend.apiKeyEnvironmentVariable, price: model.price,
                limits: BackendLimits(
                    maxConcurrency: model.limits.concurrency,
                    requestsPerMinute: model.limits.rpm.map(Double.init),
                    tokensPerMinute: model.limits.tpm.map(Double.init)),
                timeouts: BackendTimeouts(firstByte: timeout, total: timeout))
        }
    }

    static func makeEmbedder(_ profiler: ProfilerConfiguration) throws -> any Embedder {
        switch profiler.embedder {
        case .hashed:
            var hashed = HashedEmbedder.Configuration()
            hashed.dimension = profiler.hashedDimension
            return try HashedEmbedder(configuration: hashed)
        case .minilm, .remote:
            throw ConfigurationError(keyPath: "profiler.embedder", reason: "embedder '\(profiler.embedder.rawValue)' is not available to the pipeline yet: use hashed")
        }
    }

    static func makeRouting(configuration: PipelineConfiguration, logger: Logger) throws -> (any FeatureExtractor, any RequestRouter) {
        if let preference = PriceRouter.Preference(rawValue: configuration.router.strategy) {
            let extractor = EmbedderFeatureExtractor(embedder: try makeEmbedder(configuration.profiler))
            return (extractor, PriceRouter(preference: preference, models: configuration.models))
        }
        throw ConfigurationError(
            keyPath: "router.strategy",
            reason: "strategy '\(configuration.router.strategy)' needs the trained-profiles loader, which this build does not have yet: use cheapest or first")
    }
}
