import SwitchyardCore

/// Everything one pipeline run needs, parsed from `pipeline.yaml` and fully validated before any work
/// starts (see `PipelineConfiguration.load(path:environment:)`).
///
/// Every field has a documented default so a minimal file only lists `models`. Secrets are never
/// stored here: a backend names the environment variable that holds its API key (`api_key_env`),
/// and the key is read only when a request is sent.
public struct PipelineConfiguration: Sendable, Equatable {
    public var coordinator: CoordinatorConfiguration
    public var stages: StagesConfiguration
    public var ingest: IngestConfiguration
    public var profiler: ProfilerConfiguration
    public var router: RouterConfiguration
    /// The model pool, in the order given (the order breaks routing ties).
    public var models: [ModelConfiguration]
    public var metrics: MetricsConfiguration
    public var output: OutputConfiguration
    /// How stage processes guard their tcp links (CURVE keys, plain text where allowed, message limit).
    public var security: SecurityConfiguration

    public init(
        coordinator: CoordinatorConfiguration = .init(),
        stages: StagesConfiguration = .init(),
        ingest: IngestConfiguration = .init(),
        profiler: ProfilerConfiguration = .init(),
        router: RouterConfiguration = .init(),
        models: [ModelConfiguration],
        metrics: MetricsConfiguration = .init(),
        output: OutputConfiguration = .init(),
        security: SecurityConfiguration = .init()
    ) {
        self.coordinator = coordinator
        self.stages = stages
        self.ingest = ingest
        self.profiler = profiler
        self.router = router
        self.models = models
        self.metrics = metrics
        self.output = output
        self.security = security
    }

    /// The pool model called `name`, if any.
    public func model(named name: String) -> ModelConfiguration? {
        models.first { $0.name == name }
    }
}

/// Where the coordinator (broker) of the work protocol listens and journals.
public struct CoordinatorConfiguration: Sendable, Equatable {
    /// ZeroMQ endpoint the coordinator binds and every stage process connects to. Default `tcp://127.0.0.1:5555`.
    public var endpoint: String
    /// Append-only journal of accepted and completed request IDs, so a restarted run resumes. Default `./run/journal`.
    public var journal: String?
    /// Seconds a worker may hold a task without a heartbeat before it is requeued. Default 30.
    public var leaseSeconds: Double
    /// Deliveries of one task before the request becomes a `max_attempts_exceeded` error record. Default 3.
    public var maxAttempts: Int
    /// Most tasks one worker may hold at once, whatever credit it claims. Default 1024.
    public var maxWorkerCredit: Int

    public init(endpoint: String = "tcp://127.0.0.1:5555", journal: String? = "./run/journal",
                leaseSeconds: Double = 30, maxAttempts: Int = 3, maxWorkerCredit: Int = 1_024) {
        self.endpoint = endpoint
        self.journal = journal
        self.leaseSeconds = leaseSeconds
        self.maxAttempts = maxAttempts
        self.maxWorkerCredit = maxWorkerCredit
    }
}

/// Worker counts and batching of one stage.
public struct StageConfiguration: Sendable, Equatable {
    /// Workers started by `switchyard run` (in `stage` mode, one process is one worker). Default 1.
    public var workers: Int
    /// Requests handed to a worker at once (profile embeds a batch in one call). Default 1.
    public var batch: Int
    /// Requests one worker keeps in flight at once (dispatch: concurrent HTTP calls). Default 1.
    public var concurrency: Int
    /// Dispatch: seconds to wait at start for every backend to answer `GET /v1/models`. Default 60.
    public var readyTimeoutSeconds: Double
    /// Dispatch: seconds a request whose backends are all unavailable (circuits open) waits for a probe
    /// before it is a `backend_unavailable` error. Default 60; 0 fails at once.
    public var unavailableWaitSeconds: Double

    public init(workers: Int = 1, batch: Int = 1, concurrency: Int = 1, readyTimeoutSeconds: Double = 60,
                unavailableWaitSeconds: Double = 60) {
        self.workers = workers
        self.batch = batch
        self.concurrency = concurrency
        self.readyTimeoutSeconds = readyTimeoutSeconds
        self.unavailableWaitSeconds = unavailableWaitSeconds
    }
}

/// The three scalable stages. Ingest, coordinator and sink are always one each.
public struct StagesConfiguration: Sendable, Equatable {
    /// Default 2 workers, batches of 32.
    public var profile: StageConfiguration
    /// Default 1 worker (the batch budget lives here).
    public var score: StageConfiguration
    /// Default 1 worker with 64 concurrent calls.
    public var dispatch: StageConfiguration

    public init(
        profile: StageConfiguration = .init(workers: 2, batch: 32),
        score: StageConfiguration = .init(workers: 1, batch: 16),
        dispatch: StageConfiguration = .init(workers: 1, batch: 1, concurrency: 64)
    ) {
        self.profile = profile
        self.score = score
        self.dispatch = dispatch
    }
}

/// Limits ingest applies to every input line.
public struct IngestConfiguration: Sendable, Equatable {
    /// Longest prompt accepted, in characters (longer: a `prompt_too_long` error record). Default 200,000.
    public var maxPromptCharacters: Int
    /// `max_tokens` given to every line that sets none (plain lines, and batch bodies without `max_tokens`
    /// or `max_completion_tokens`). Default nil: the backend's own limit, which for a local server can be
    /// its whole context.
    public var defaultMaxTokens: Int?

    public init(maxPromptCharacters: Int = 200_000, defaultMaxTokens: Int? = nil) {
        self.maxPromptCharacters = maxPromptCharacters
        self.defaultMaxTokens = defaultMaxTokens
    }
}

/// How the profile stage turns a prompt into `QueryFeatures`.
public struct ProfilerConfiguration: Sendable, Equatable {
    public enum EmbedderKind: String, Sendable, Equatable, CaseIterable {
        case minilm, hashed, remote
    }

    /// Default `hashed` (no model files needed); `minilm` needs `model_dir`.
    public var embedder: EmbedderKind
    /// MiniLM model directory. Default `.models/all-MiniLM-L6-v2`.
    public var modelDirectory: String
    /// Dimension of the hashed embedder. Default 1024.
    public var hashedDimension: Int
    /// Base URL of a remote `/v1/embeddings` server (for `remote`).
    public var remoteURL: String?
    /// MiniLM's OpenBLAS threads per process (`profiler.threads`); nil = every core. Set 1 when several
    /// profile processes share a host, so each uses one core instead of all of them contending for every core.
    public var threads: Int?

    public init(embedder: EmbedderKind = .hashed, modelDirectory: String = ".models/all-MiniLM-L6-v2",
                hashedDimension: Int = 1024, remoteURL: String? = nil, threads: Int? = nil) {
        self.embedder = embedder
        self.modelDirectory = modelDirectory
        self.hashedDimension = hashedDimension
        self.remoteURL = remoteURL
        self.threads = threads
    }
}

/// How the score stage decides.
public struct RouterConfiguration: Sendable, Equatable {
    /// Strategies that need no trained profiles: without `profiles` they route on the configured prices
    /// alone; with `profiles`, `cheapest` is the artifact's (its cost model, as `switchyard route` decides).
    public static let profileFreeStrategies: Set<String> = ["cheapest", "first"]

    /// Directory written by `switchyard profile build`. Required by every strategy except the profile-free ones.
    public var profiles: String?
    /// Strategy name (`auto` lets the artifact choose). Default `auto`.
    public var strategy: String
    /// Quality-vs-cost trade-off λ; `nil` means `auto` (chosen from the budget or the artifact). Default auto.
    public var lambda: Double?
    /// Total USD the batch may spend; `nil` means no batch budget. `--budget-usd` overrides it.
    public var budgetUSD: Double?
    /// Stage mode: ZeroMQ endpoint of the spend feed. The score process binds it (SUB), dispatch processes
    /// connect to it (PUB) and send each budgeted request's actual cost back. `nil` (default): off, so
    /// reservations are never settled and the budget only counts estimates. `switchyard run` needs none.
    public var spendFeed: String?

    public init(profiles: String? = nil, strategy: String = "auto", lambda: Double? = nil, budgetUSD: Double? = nil,
                spendFeed: String? = nil) {
        self.profiles = profiles
        self.strategy = strategy
        self.lambda = lambda
        self.budgetUSD = budgetUSD
        self.spendFeed = spendFeed
    }

    /// True when `strategy` needs `profiles`.
    public var needsProfiles: Bool { !Self.profileFreeStrategies.contains(strategy) }
}

/// One model of the pool: where it is served, what it costs, how hard it may be driven.
public struct ModelConfiguration: Sendable, Equatable {
    public var name: String
    /// `nil` is allowed only for `run --dry-run` (decisions only, nothing is sent).
    public var backend: BackendConfiguration?
    public var price: ModelPrice
    public var limits: ModelLimits

    public init(name: String, backend: BackendConfiguration?, price: ModelPrice, limits: ModelLimits = .init()) {
        self.name = name
        self.backend = backend
        self.price = price
        self.limits = limits
    }
}

/// An OpenAI-compatible endpoint.
public struct BackendConfiguration: Sendable, Equatable {
    /// Base URL up to `/v1`, e.g. `http://127.0.0.1:8001/v1`.
    public var url: String
    /// Model name the backend expects (defaults to the pool name).
    public var model: String
    /// Name of the environment variable holding the API key; the key itself never appears in the file.
    public var apiKeyEnvironmentVariable: String?
    /// Or a file holding the key, readable by its owner alone (mode 0600; anything wider is refused).
    public var apiKeyFile: String?
    /// Seconds one HTTP call may take. Default 120.
    public var timeoutSeconds: Double
    /// https only: PEM file of the CA(s) to trust instead of the system trust store (a private CA).
    public var caFile: String?
    /// https only: PEM client certificate (chain) presented to a backend that asks for one (mutual TLS).
    public var clientCertificate: String?
    /// The client certificate's PEM private key, readable by its owner alone.
    public var clientKey: String?

    public init(url: String, model: String, apiKeyEnvironmentVariable: String? = nil, apiKeyFile: String? = nil,
                timeoutSeconds: Double = 120, caFile: String? = nil, clientCertificate: String? = nil, clientKey: String? = nil) {
        self.url = url
        self.model = model
        self.apiKeyEnvironmentVariable = apiKeyEnvironmentVariable
        self.apiKeyFile = apiKeyFile
        self.timeoutSeconds = timeoutSeconds
        self.caFile = caFile
        self.clientCertificate = clientCertificate
        self.clientKey = clientKey
    }
}

/// Client-side limits for one backend.
public struct ModelLimits: Sendable, Equatable {
    /// Concurrent calls. Default 16.
    public var concurrency: Int
    /// Requests per minute; `nil` means unlimited.
    public var rpm: Int?
    /// Tokens per minute; `nil` means unlimited.
    public var tpm: Int?

    public init(concurrency: Int = 16, rpm: Int? = nil, tpm: Int? = nil) {
        self.concurrency = concurrency
        self.rpm = rpm
        self.tpm = tpm
    }
}

/// Prometheus `/metrics` endpoint of each process.
public struct MetricsConfiguration: Sendable, Equatable {
    /// Host the endpoint binds. Default `127.0.0.1`.
    public var host: String
    /// Port; `nil` (the default) turns the endpoint off. In `stage` mode `--metrics-port` overrides it.
    public var port: Int?

    public init(host: String = "127.0.0.1", port: Int? = nil) {
        self.host = host
        self.port = port
    }
}

/// Where and how the sink writes.
public struct OutputConfiguration: Sendable, Equatable {
    /// Output directory (`results.jsonl`, `errors.jsonl`, `summary.json`). Default `./out`; `--output` overrides it.
    public var directory: String
    /// Write records in input-line order. Default false (completion order); `--ordered` overrides it.
    public var ordered: Bool

    public init(directory: String = "./out", ordered: Bool = false) {
        self.directory = directory
        self.ordered = ordered
    }
}

/// How the stage processes of a run guard the links between them (`switchyard run`, one process over
/// `inproc://`, needs none of it).
public struct SecurityConfiguration: Sendable, Equatable {
    /// CURVE on every tcp link of the work protocol and the spend feed. `nil` (default): plain text,
    /// which is allowed only on loopback or with `insecure`.
    public var curve: CurveConfiguration?
    /// Allow plain text over tcp to non-loopback addresses (anyone on the network could read prompts,
    /// join as a worker or forge spend). Warns at every start. Default false.
    public var insecure: Bool
    /// Largest message a socket accepts from a peer (`ZMQ_MAXMSGSIZE`); a bigger one drops the peer.
    /// Default 64 MiB.
    public var maxMessageBytes: Int

    public init(curve: CurveConfiguration? = nil, insecure: Bool = false, maxMessageBytes: Int = 64 << 20) {
        self.curve = curve
        self.insecure = insecure
        self.maxMessageBytes = maxMessageBytes
    }
}

/// CURVE keys of a stage process (`switchyard keys generate --out DIR` makes a pair).
public struct CurveConfiguration: Sendable, Equatable {
    /// This process's key pair directory (`public.key`, `secret.key`); `stage --key-dir` overrides it,
    /// so one file can serve every process of a host.
    public var keyDirectory: String?
    /// The coordinator's public key (a `public.key` file, or its 40 Z85 characters): clients talk only to it.
    public var coordinatorKey: String?
    /// The public key of the score process that binds `router.spend_feed`: dispatch publishes only to it.
    public var spendFeedKey: String?
    /// Directory of the public keys (`NAME.key`) the coordinator and the spend feed admit.
    public var authorizedKeys: String?

    public init(keyDirectory: String? = nil, coordinatorKey: String? = nil, spendFeedKey: String? = nil, authorizedKeys: String? = nil) {
        self.keyDirectory = keyDirectory
        self.coordinatorKey = coordinatorKey
        self.spendFeedKey = spendFeedKey
        self.authorizedKeys = authorizedKeys
    }
}
