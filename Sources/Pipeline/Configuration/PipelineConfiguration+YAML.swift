import Foundation
import SwitchyardCore
import Yams

extension PipelineConfiguration {
    /// Reads, substitutes `${ENV}`, parses and validates `pipeline.yaml`.
    ///
    /// Relative paths in the file (journal, profiles, model_dir) are resolved against the file's directory,
    /// so a run works from any working directory. Throws one `ConfigurationError` naming the key path.
    public static func load(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        checkFiles: Bool = true
    ) throws(ConfigurationError) -> PipelineConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(file: path, keyPath: "", reason: "cannot read the file: check the path (see pipeline.yaml at the repository root for an example)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(file: path, keyPath: "", reason: "not UTF-8 text")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do throws(ConfigurationError) {
            var configuration = try parse(yaml: text, environment: environment)
            configuration.resolvePaths(relativeTo: base)
            if checkFiles { try configuration.checkFiles() }
            return configuration
        } catch {
            var error = error
            error.file = path
            throw error
        }
    }

    /// Parses and validates YAML text (no file-system checks; see `checkFiles`).
    public static func parse(yaml text: String, environment: [String: String] = [:]) throws(ConfigurationError) -> PipelineConfiguration {
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError(keyPath: "", reason: "not valid YAML: \(error)")
        }
        guard let root else {
            throw ConfigurationError(keyPath: "", reason: "the file is empty: it needs at least a 'models' list")
        }
        let reader = YAMLNodeReader(node: root, path: "", environment: environment)
        let top = try reader.mapping(allowed: ["coordinator", "stages", "ingest", "profiler", "router", "models", "metrics", "output", "security"])

        var configuration = PipelineConfiguration(models: [])
        if let node = top["coordinator"] { configuration.coordinator = try parseCoordinator(node) }
        if let node = top["stages"] { configuration.stages = try parseStages(node) }
        if let node = top["ingest"] {
            let map = try node.mapping(allowed: ["max_prompt_chars", "default_max_tokens"])
            if let value = map["max_prompt_chars"] { configuration.ingest.maxPromptCharacters = try value.positiveInt() }
            if let value = map["default_max_tokens"] { configuration.ingest.defaultMaxTokens = try value.positiveInt() }
        }
        if let node = top["profiler"] { configuration.profiler = try parseProfiler(node) }
        if let node = top["router"] { configuration.router = try parseRouter(node) }
        guard let modelsNode = top["models"] else {
            throw ConfigurationError(keyPath: "models", reason: "missing: list the model pool (name, backend, price) as in the example pipeline.yaml")
        }
        configuration.models = try parseModels(modelsNode)
        if let node = top["metrics"] {
            let map = try node.mapping(allowed: ["host", "port"])
            if let value = map["host"] { configuration.metrics.host = try value.nonEmptyString() }
            if let value = map["port"], !value.isNull { configuration.metrics.port = try port(value, allowZero: true) }
        }
        if let node = top["output"] {
            let map = try node.mapping(allowed: ["dir", "ordered"])
            if let value = map["dir"] { configuration.output.directory = try value.nonEmptyString() }
            if let value = map["ordered"] { configuration.output.ordered = try value.bool() }
        }
        if let node = top["security"] { configuration.security = try parseSecurity(node) }
        return configuration
    }

    /// Checks what lives outside the file: the profiles a strategy needs, the MiniLM model directory.
    public func checkFiles() throws(ConfigurationError) {
        if router.needsProfiles {
            guard let profiles = router.profiles else {
                throw ConfigurationError(keyPath: "router.profiles", reason: "missing: strategy '\(router.strategy)' needs trained profiles (run `switchyard profile build --train FILE --out DIR`), or use strategy cheapest|first")
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: profiles, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ConfigurationError(keyPath: "router.profiles", reason: "no profiles directory at \(profiles): run `switchyard profile build --train FILE --out \(profiles)` first")
            }
        }
        if profiler.embedder == .minilm {
            let weights = (profiler.modelDirectory as NSString).appendingPathComponent("model.safetensors")
            guard FileManager.default.fileExists(atPath: weights) else {
                throw ConfigurationError(keyPath: "profiler.model_dir", reason: "no MiniLM model at \(weights): run scripts/setup, or use embedder: hashed")
            }
        }
    }

    /// Checks that every model can be called: needed unless the run is `--dry-run`.
    public func checkBackends(environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) {
        for (index, model) in models.enumerated() {
            guard let backend = model.backend else {
                throw ConfigurationError(keyPath: "models[\(index)].backend", reason: "missing: every model needs a backend unless the run is --dry-run")
            }
            if let variable = backend.apiKeyEnvironmentVariable, environment[variable] == nil {
                throw ConfigurationError(keyPath: "models[\(index)].backend.api_key_env", reason: "environment variable \(variable) is not set: export it before the run")
            }
            if let file = backend.apiKeyFile {
                do {
                    try SecretFile.checkPermissions(file)
                } catch {
                    throw ConfigurationError(keyPath: "models[\(index)].backend.api_key_file", reason: "\(error)")
                }
            }
            if let file = backend.clientKey {
                do {
                    try SecretFile.checkPermissions(file)
                } catch {
                    throw ConfigurationError(keyPath: "models[\(index)].backend.client_key", reason: "\(error)")
                }
            }
            for (key, path) in [("ca_file", backend.caFile), ("client_cert", backend.clientCertificate)] {
                if let path, !FileManager.default.isReadableFile(atPath: path) {
                    throw ConfigurationError(keyPath: "models[\(index)].backend.\(key)", reason: "cannot read \(path): give the path of a PEM file")
                }
            }
        }
    }

    mutating func resolvePaths(relativeTo base: String) {
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") ? path : URL(fileURLWithPath: base).appendingPathComponent(path).standardizedFileURL.path
        }
        if let journal = coordinator.journal { coordinator.journal = resolve(journal) }
        if let profiles = router.profiles { router.profiles = resolve(profiles) }
        profiler.modelDirectory = resolve(profiler.modelDirectory)
        output.directory = resolve(output.directory)
        for index in models.indices {
            guard var backend = models[index].backend else { continue }
            backend.apiKeyFile = backend.apiKeyFile.map(resolve)
            backend.caFile = backend.caFile.map(resolve)
            backend.clientCertificate = backend.clientCertificate.map(resolve)
            backend.clientKey = backend.clientKey.map(resolve)
            models[index].backend = backend
        }
        if var curve = security.curve {
            curve.keyDirectory = curve.keyDirectory.map(resolve)
            curve.authorizedKeys = curve.authorizedKeys.map(resolve)
            curve.coordinatorKey = curve.coordinatorKey.map { CurveKeyFiles.isInlineKey($0) ? $0 : resolve($0) }
            curve.spendFeedKey = curve.spendFeedKey.map { CurveKeyFiles.isInlineKey($0) ? $0 : resolve($0) }
            security.curve = curve
        }
    }

    // MARK: sections

    private static func parseCoordinator(_ node: YAMLNodeReader) throws(ConfigurationError) -> CoordinatorConfiguration {
        var result = CoordinatorConfiguration()
        let map = try node.mapping(allowed: ["endpoint", "journal", "lease_seconds", "max_attempts", "max_worker_credit"])
        if let value = map["endpoint"] {
            let endpoint = try value.nonEmptyString()
            guard endpoint.hasPrefix("tcp://") || endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") else {
                throw value.fail("not a ZeroMQ endpoint: expected tcp://HOST:PORT")
            }
            result.endpoint = endpoint
        }
        if let value = map["journal"] { result.journal = value.isNull ? nil : try value.nonEmptyString() }
        if let value = map["lease_seconds"] {
            result.leaseSeconds = try value.double()
            guard result.leaseSeconds > 0 else { throw value.fail("must be more than 0") }
        }
        if let value = map["max_attempts"] { result.maxAttempts = try value.positiveInt() }
        if let value = map["max_worker_credit"] { result.maxWorkerCredit = try value.positiveInt() }
        return result
    }

    private static func parseSecurity(_ node: YAMLNodeReader) throws(ConfigurationError) -> SecurityConfiguration {
        var result = SecurityConfiguration()
        let map = try node.mapping(allowed: ["curve", "insecure", "max_message_bytes"])
        if let value = map["insecure"] { result.insecure = try value.bool() }
        if let value = map["max_message_bytes"] {
            result.maxMessageBytes = try value.positiveInt()
            guard result.maxMessageBytes >= 1 << 20 else {
                throw value.fail("must be at least 1048576 (1 MiB): a batch frame alone may carry 256 KiB")
            }
        }
        if let curveNode = map["curve"], !curveNode.isNull {
            let fields = try curveNode.mapping(allowed: ["key_dir", "coordinator_key", "spend_feed_key", "authorized_keys"])
            var curve = CurveConfiguration()
            if let value = fields["key_dir"] { curve.keyDirectory = try value.nonEmptyString() }
            if let value = fields["coordinator_key"] { curve.coordinatorKey = try value.nonEmptyString() }
            if let value = fields["spend_feed_key"] { curve.spendFeedKey = try value.nonEmptyString() }
            if let value = fields["authorized_keys"] { curve.authorizedKeys = try value.nonEmptyString() }
            result.curve = curve
        }
        return result
    }

    private static func parseStages(_ node: YAMLNodeReader) throws(ConfigurationError) -> StagesConfiguration {
        var result = StagesConfiguration()
        let map = try node.mapping(allowed: ["profile", "score", "dispatch"])
        func stage(_ node: YAMLNodeReader, into stage: inout StageConfiguration, dispatch: Bool = false) throws(ConfigurationError) {
            let dispatchKeys = dispatch ? ["ready_timeout_seconds", "unavailable_wait_seconds"] : []
            let map = try node.mapping(allowed: ["workers", "batch", "concurrency"] + dispatchKeys)
            if let value = map["workers"] { stage.workers = try value.positiveInt() }
            if let value = map["batch"] { stage.batch = try value.positiveInt() }
            if let value = map["concurrency"] { stage.concurrency = try value.positiveInt() }
            if let value = map["ready_timeout_seconds"] {
                stage.readyTimeoutSeconds = try value.double()
                guard stage.readyTimeoutSeconds >= 0 else { throw value.fail("must be 0 or more") }
            }
            if let value = map["unavailable_wait_seconds"] {
                stage.unavailableWaitSeconds = try value.double()
                guard stage.unavailableWaitSeconds >= 0 else { throw value.fail("must be 0 or more") }
            }
        }
        if let value = map["profile"] { try stage(value, into: &result.profile) }
        if let value = map["score"] { try stage(value, into: &result.score) }
        if let value = map["dispatch"] { try stage(value, into: &result.dispatch, dispatch: true) }
        return result
    }

    private static func parseProfiler(_ node: YAMLNodeReader) throws(ConfigurationError) -> ProfilerConfiguration {
        var result = ProfilerConfiguration()
        let map = try node.mapping(allowed: ["embedder", "model_dir", "dimension", "url", "threads"])
        if let value = map["embedder"] {
            let name = try value.string()
            guard let kind = ProfilerConfiguration.EmbedderKind(rawValue: name) else {
                throw value.fail("unknown embedder '\(value.raw)': use minilm, hashed or remote")
            }
            result.embedder = kind
        }
        if let value = map["model_dir"] { result.modelDirectory = try value.nonEmptyString() }
        if let value = map["dimension"] { result.hashedDimension = try value.positiveInt() }
        if let value = map["url"] { result.remoteURL = try httpURL(value) }
        if let value = map["threads"] { result.threads = try value.positiveInt() }
        if result.embedder == .remote && result.remoteURL == nil {
            throw node.fail("missing: embedder remote needs a url", at: node.child("url"))
        }
        return result
    }

    private static func parseRouter(_ node: YAMLNodeReader) throws(ConfigurationError) -> RouterConfiguration {
        var result = RouterConfiguration()
        let map = try node.mapping(allowed: ["profiles", "strategy", "lambda", "budget_usd", "spend_feed"])
        if let value = map["profiles"] { result.profiles = value.isNull ? nil : try value.nonEmptyString() }
        if let value = map["strategy"] { result.strategy = try value.nonEmptyString() }
        if let value = map["lambda"], !value.isNull {
            if try value.string() != "auto" {
                let lambda = try value.double()
                guard lambda >= 0 else { throw value.fail("must be 0 or more (or auto)") }
                result.lambda = lambda
            }
        }
        if let value = map["budget_usd"], !value.isNull {
            let budget = try value.double()
            guard budget >= 0 else { throw value.fail("must be 0 or more") }
            result.budgetUSD = budget
        }
        if let value = map["spend_feed"], !value.isNull {
            let endpoint = try value.nonEmptyString()
            guard endpoint.contains("://") else { throw value.fail("must be a ZeroMQ endpoint such as tcp://127.0.0.1:5556") }
            result.spendFeed = endpoint
        }
        return result
    }

    private static func parseModels(_ node: YAMLNodeReader) throws(ConfigurationError) -> [ModelConfiguration] {
        let items = try node.sequence()
        guard !items.isEmpty else { throw node.fail("empty: list at least one model") }
        var models: [ModelConfiguration] = []
        var seen: [String: Int] = [:]
        for item in items {
            let map = try item.mapping(allowed: ["name", "backend", "price", "limits"])
            guard let nameNode = map["name"] else { throw item.fail("missing: every model needs a name", at: item.child("name")) }
            let name = try nameNode.nonEmptyString()
            if let first = seen[name] {
                throw nameNode.fail("duplicate model name '\(name)' (also models[\(first)].name): names must be unique")
            }
            seen[name] = models.count
            var backend: BackendConfiguration?
            if let backendNode = map["backend"], !backendNode.isNull {
                let fields = try backendNode.mapping(allowed: ["url", "model", "api_key_env", "api_key_file", "timeout_seconds",
                                                               "ca_file", "client_cert", "client_key"])
                guard let urlNode = fields["url"] else {
                    throw backendNode.fail("missing: the backend's base URL, e.g. http://127.0.0.1:8001/v1", at: backendNode.child("url"))
                }
                var config = BackendConfiguration(url: try httpURL(urlNode), model: name)
                if let value = fields["model"] { config.model = try value.nonEmptyString() }
                if let value = fields["api_key_env"] {
                    let variable = try value.nonEmptyString()
                    guard variable.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                        throw value.fail("must be the NAME of an environment variable (letters, digits, _), not the key itself")
                    }
                    config.apiKeyEnvironmentVariable = variable
                }
                if let value = fields["api_key_file"] {
                    guard config.apiKeyEnvironmentVariable == nil else {
                        throw value.fail("give the key in api_key_env or in api_key_file, not both")
                    }
                    config.apiKeyFile = try value.nonEmptyString()
                }
                if let value = fields["ca_file"] { config.caFile = try value.nonEmptyString() }
                if let value = fields["client_cert"] { config.clientCertificate = try value.nonEmptyString() }
                if let value = fields["client_key"] { config.clientKey = try value.nonEmptyString() }
                guard (config.clientCertificate == nil) == (config.clientKey == nil) else {
                    throw backendNode.fail("client_cert and client_key go together: give both or neither",
                                           at: backendNode.child(config.clientKey == nil ? "client_key" : "client_cert"))
                }
                if config.caFile != nil || config.clientCertificate != nil, !config.url.lowercased().hasPrefix("https://") {
                    throw backendNode.fail("ca_file, client_cert and client_key apply to https backends: make the url https://",
                                           at: backendNode.child("url"))
                }
                if let value = fields["timeout_seconds"] {
                    config.timeoutSeconds = try value.double()
                    guard config.timeoutSeconds > 0 else { throw value.fail("must be more than 0") }
                }
                backend = config
            }
            guard let priceNode = map["price"] else {
                throw item.fail("missing: price {input_usd_per_mtok, output_usd_per_mtok}", at: item.child("price"))
            }
            let priceFields = try priceNode.mapping(allowed: ["input_usd_per_mtok", "output_usd_per_mtok"])
            func priceValue(_ key: String) throws(ConfigurationError) -> Double {
                guard let value = priceFields[key] else { throw priceNode.fail("missing: USD per million tokens", at: priceNode.child(key)) }
                let number = try value.double()
                guard number >= 0 else { throw value.fail("must be 0 or more") }
                return number
            }
            let price = ModelPrice(inputUSDPerMTok: try priceValue("input_usd_per_mtok"), outputUSDPerMTok: try priceValue("output_usd_per_mtok"))
            var limits = ModelLimits()
            if let limitsNode = map["limits"] {
                let fields = try limitsNode.mapping(allowed: ["concurrency", "rpm", "tpm"])
                if let value = fields["concurrency"] { limits.concurrency = try value.positiveInt() }
                if let value = fields["rpm"] { limits.rpm = try value.positiveInt() }
                if let value = fields["tpm"] { limits.tpm = try value.positiveInt() }
            }
            models.append(ModelConfiguration(name: name, backend: backend, price: price, limits: limits))
        }
        return models
    }

    private static func httpURL(_ node: YAMLNodeReader) throws(ConfigurationError) -> String {
        let text = try node.nonEmptyString()
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty else {
            throw node.fail("not a valid http(s) URL")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    private static func port(_ node: YAMLNodeReader, allowZero: Bool) throws(ConfigurationError) -> Int {
        let value = try node.int()
        guard (allowZero ? 0 : 1)...65535 ~= value else { throw node.fail("not a TCP port (1-65535)") }
        return value
    }
}
