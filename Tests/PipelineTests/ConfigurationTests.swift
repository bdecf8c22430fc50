import Foundation
import Pipeline
import Testing

@Suite("pipeline.yaml parsing and validation")
struct ConfigurationTests {
    static let minimal = """
        models:
          - name: small
            backend: {url: "http://127.0.0.1:8101/v1"}
            price: {input_usd_per_mtok: 0.1, output_usd_per_mtok: 0.2}
        """

    /// `yaml` written as pipeline.yaml in a fresh temporary directory (the caller removes the directory).
    static func writeConfiguration(_ yaml: String) throws -> (directory: URL, file: URL) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sy-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("pipeline.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        return (directory, file)
    }

    @Test func minimalFileGetsDocumentedDefaults() throws {
        let configuration = try PipelineConfiguration.parse(yaml: Self.minimal)
        #expect(configuration.models.count == 1)
        #expect(configuration.models[0].backend?.model == "small")
        #expect(configuration.coordinator.endpoint == "tcp://127.0.0.1:5555")
        #expect(configuration.stages.profile.workers == 2)
        #expect(configuration.router.strategy == "auto")
        #expect(configuration.router.lambda == nil)
        #expect(configuration.metrics.port == nil)
        #expect(configuration.profiler.threads == nil)   // MiniLM on every core, as before the setting existed
    }

    @Test func fullFileParses() throws {
        let yaml = """
            coordinator: {endpoint: "tcp://0.0.0.0:6000", journal: ./run/j, lease_seconds: 5, max_attempts: 4}
            stages: {profile: {workers: 3, batch: 8}, score: {workers: 1}, dispatch: {workers: 2, concurrency: 32}}
            ingest: {max_prompt_chars: 1000, default_max_tokens: 512}
            profiler: {embedder: hashed, dimension: 256, threads: 1}
            router: {profiles: ./profiles, strategy: knn, lambda: 2.5, budget_usd: 3}
            metrics: {port: 9300}
            output: {dir: out, ordered: true}
            models:
              - name: a
                backend: {url: "https://${HOST}/v1", model: served-a, api_key_env: A_KEY, timeout_seconds: 30}
                price: {input_usd_per_mtok: 1, output_usd_per_mtok: 2}
                limits: {concurrency: 4, rpm: 600, tpm: 100000}
              - name: b
                price: {input_usd_per_mtok: 0, output_usd_per_mtok: 0}
            """
        let configuration = try PipelineConfiguration.parse(yaml: yaml, environment: ["HOST": "api.example.com"])
        #expect(configuration.coordinator.maxAttempts == 4)
        #expect(configuration.profiler.threads == 1)
        #expect(configuration.ingest.defaultMaxTokens == 512)
        #expect(configuration.stages.dispatch.concurrency == 32)
        #expect(configuration.router.lambda == 2.5)
        #expect(configuration.router.budgetUSD == 3)
        #expect(configuration.models[0].backend?.url == "https://api.example.com/v1")
        #expect(configuration.models[0].backend?.apiKeyEnvironmentVariable == "A_KEY")
        #expect(configuration.models[0].limits.rpm == 600)
        #expect(configuration.models[1].backend == nil)
        #expect(configuration.output.ordered)
    }

    /// Every broken file names the key path at fault.
    @Test(arguments: [
        ("models: []", "models", "empty"),
        ("coordinator: {endpoint: tcp://x:1}", "models", "missing"),
        ("colour: blue\n" + minimal, "colour", "unknown key"),
        ("stages: {profile: {workers: two}}\n" + minimal, "stages.profile.workers", "whole number"),
        ("stages: {profile: {workers: 0}}\n" + minimal, "stages.profile.workers", "at least 1"),
        ("router: {lambda: -1}\n" + minimal, "router.lambda", "0 or more"),
        ("router: {budget_usd: lots}\n" + minimal, "router.budget_usd", "number"),
        ("profiler: {embedder: word2vec}\n" + minimal, "profiler.embedder", "unknown embedder"),
        ("profiler: {threads: 0}\n" + minimal, "profiler.threads", "at least 1"),
        ("profiler: {threads: -2}\n" + minimal, "profiler.threads", "at least 1"),
        ("profiler: {threads: 1.5}\n" + minimal, "profiler.threads", "whole number"),
        ("profiler: {threads: all}\n" + minimal, "profiler.threads", "whole number"),
        ("coordinator: {endpoint: http://x}\n" + minimal, "coordinator.endpoint", "ZeroMQ endpoint"),
        ("metrics: {port: 70000}\n" + minimal, "metrics.port", "TCP port"),
        ("output: {ordered: maybe}\n" + minimal, "output.ordered", "true or false"),
        ("models: {name: a}", "models", "expected a list"),
        ("""
         models:
           - name: a
             price: {input_usd_per_mtok: 1, output_usd_per_mtok: 1}
           - name: a
             price: {input_usd_per_mtok: 1, output_usd_per_mtok: 1}
         """, "models[1].name", "duplicate model name"),
        ("""
         models:
           - name: a
             price: {input_usd_per_mtok: 1, output_usd_per_mtok: 1}
           - name: b
             price: {input_usd_per_mtok: 1, output_usd_per_mtok: 1}
           - name: c
             backend: {url: "ftp://host/v1"}
             price: {input_usd_per_mtok: 1, output_usd_per_mtok: 1}
         """, "models[2].backend.url", "not a valid http(s) URL"),
        ("""
         models:
           - name: a
             backend: {url: "not a url"}
             price: {input_usd_per_mtok: 1, output_usd_per_mtok: 1}
         """, "models[0].backend.url", "not a valid http(s) URL"),
        ("""
         models:
           - backend: {url: "http://h/v1"}
             price: {input_usd_per_mtok: 1, output_usd_per_mtok: 1}
         """, "models[0].name", "missing"),
        ("""
         models:
           - name: a
         """, "models[0].price", "missing"),
        ("""
         models:
           - name: a
             price: {input_usd_per_mtok: -1, output_usd_per_mtok: 1}
         """, "models[0].price.input_usd_per_mtok", "0 or more"),
        ("""
         models:
           - name: a
             price: {input_usd_per_mtok: 1}
         """, "models[0].price.output_usd_per_mtok", "missing"),
        ("""
         models:
           - name: a
             backend: {url: "http://h/v1", api_key: sk-secret}
             price: {input_usd_per_mtok: 1, output_usd_per_mtok: 1}
         """, "models[0].backend.api_key", "environment variable"),
        ("""
         models:
           - name: a
             backend: {url: "http://${UNSET_HOST}/v1"}
             price: {input_usd_per_mtok: 1, output_usd_per_mtok: 1}
         """, "models[0].backend.url", "UNSET_HOST is not set"),
        ("""
         models:
           - name: a
             limits: {concurrency: 2.5}
             price: {input_usd_per_mtok: 1, output_usd_per_mtok: 1}
         """, "models[0].limits.concurrency", "whole number"),
        ("models: [", "", "not valid YAML"),
    ])
    func brokenFilesNameTheKeyPath(yaml: String, keyPath: String, reason: String) {
        #expect {
            _ = try PipelineConfiguration.parse(yaml: yaml)
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.keyPath == keyPath && error.reason.contains(reason)
        }
    }

    /// A bad `profiler.threads` in a file is reported with the file's path, the key path and the fix.
    @Test func badThreadsNameFileAndField() throws {
        let (directory, file) = try Self.writeConfiguration("router: {strategy: first}\nprofiler: {threads: 0}\n" + Self.minimal)
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            _ = try PipelineConfiguration.load(path: file.path)
            Issue.record("expected an error for threads: 0")
        } catch {
            #expect(error.file == file.path)
            #expect(error.keyPath == "profiler.threads")
            #expect("\(error)".contains(file.path))
            #expect("\(error)".contains("profiler.threads"))
        }
    }

    @Test func secretsNeverAppearInErrors() {
        let yaml = """
            models:
              - name: a
                backend: {url: "http://h/v1", api_key: sk-very-secret}
                price: {input_usd_per_mtok: "${PRICE}", output_usd_per_mtok: 1}
            """
        do {
            _ = try PipelineConfiguration.parse(yaml: yaml, environment: ["PRICE": "sk-also-secret"])
            Issue.record("expected an error")
        } catch {
            #expect(!"\(error)".contains("sk-very-secret"))
            #expect(!"\(error)".contains("sk-also-secret"))
        }
    }

    @Test func profilesAreCheckedBeforeWorkStarts() throws {
        let yaml = "router: {strategy: knn, profiles: /nonexistent/profiles}\n" + Self.minimal
        let configuration = try PipelineConfiguration.parse(yaml: yaml)
        #expect(throws: ConfigurationError.self) { try configuration.checkFiles() }
        let missing = try PipelineConfiguration.parse(yaml: "router: {strategy: auto}\n" + Self.minimal)
        do {
            try missing.checkFiles()
            Issue.record("expected an error")
        } catch {
            #expect(error.keyPath == "router.profiles")
        }
        let priceOnly = try PipelineConfiguration.parse(yaml: "router: {strategy: cheapest}\n" + Self.minimal)
        try priceOnly.checkFiles()
    }

    @Test func backendsAndKeysAreCheckedUnlessDryRun() throws {
        let yaml = """
            models:
              - name: a
                backend: {url: "http://h/v1", api_key_env: SWITCHYARD_TEST_KEY}
                price: {input_usd_per_mtok: 1, output_usd_per_mtok: 1}
              - name: b
                price: {input_usd_per_mtok: 1, output_usd_per_mtok: 1}
            """
        let configuration = try PipelineConfiguration.parse(yaml: yaml)
        do {
            try configuration.checkBackends(environment: [:])
            Issue.record("expected an error")
        } catch {
            #expect(error.keyPath == "models[0].backend.api_key_env")
        }
        do {
            try configuration.checkBackends(environment: ["SWITCHYARD_TEST_KEY": "sk-x"])
            Issue.record("expected an error")
        } catch {
            #expect(error.keyPath == "models[1].backend")
            #expect(!"\(error)".contains("sk-x"))
        }
    }

    @Test func loadResolvesPathsAgainstTheFile() throws {
        let (directory, file) = try Self.writeConfiguration("router: {strategy: first}\noutput: {dir: out}\n" + Self.minimal)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configuration = try PipelineConfiguration.load(path: file.path)
        #expect(configuration.output.directory == directory.appendingPathComponent("out").path)
        #expect(throws: ConfigurationError.self) { try PipelineConfiguration.load(path: directory.appendingPathComponent("nope.yaml").path) }
    }
}
