import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import SwitchyardCore
import Testing

/// Runs the real `switchyard` binary for end-to-end tests: replay backends, one-process runs and
/// multi-process pipelines on loopback, and checks the output invariant.
///
/// One test body can run in either mode (`Mode.oneProcess` or `Mode.processes`), as Hummingbird's
/// `.router`/`.live` testing does.
struct SwitchyardHarness {
    enum Mode: String, CustomStringConvertible {
        case oneProcess = "run"
        case processes = "stage"
        var description: String { rawValue }
    }

    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let routingData = repoRoot.appendingPathComponent("data/routing")
    static let binary = repoRoot.appendingPathComponent(".build/debug/switchyard")
    static let testData = routingData.appendingPathComponent("zeroeval/test.jsonl")

    /// Fails with a clear message when the binary or the shared data are missing.
    static func requirePrerequisites() throws {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw HarnessError("no switchyard binary at \(binary.path): run `swift build --product switchyard` first")
        }
        guard FileManager.default.fileExists(atPath: testData.path) else {
            throw HarnessError("no routing data at \(testData.path): the repository's data/routing folder is missing")
        }
    }

    let directory: URL

    init() throws {
        try Self.requirePrerequisites()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func cleanUp() { try? FileManager.default.removeItem(at: directory) }

    // MARK: processes

    final class Child: @unchecked Sendable {  // the Process is only touched from the test's task
        let process: Process
        let name: String
        let log: URL
        /// stderr alone, when it was asked for apart from stdout (`start(separateStderr:)`).
        let errorLog: URL?

        init(process: Process, name: String, log: URL, errorLog: URL? = nil) {
            self.process = process
            self.name = name
            self.log = log
            self.errorLog = errorLog
        }

        func stop() {
            if process.isRunning { process.terminate() }
        }

        /// Sends SIGTERM (a graceful stop), like `stop()`, but says what it is for.
        func terminate() { stop() }

        var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        /// stderr when kept apart, else the merged output.
        var errors: String { errorLog.flatMap { try? String(contentsOf: $0, encoding: .utf8) } ?? output }

        /// Waits for exit (polling), killing the process after `timeout` seconds.
        func wait(timeout: Double) async throws -> Int32 {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning {
                if Date() > deadline {
                    process.terminate()
                    throw HarnessError("\(name) did not finish within \(Int(timeout)) s; its log:\n\(output.suffix(3000))")
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            return process.terminationStatus
        }
    }

    /// Starts `switchyard ARGS` with stdout and stderr to a log file (stderr to a file of its own with
    /// `separateStderr`).
    func start(_ name: String, _ arguments: [String], environment: [String: String] = [:], separateStderr: Bool = false) throws -> Child {
        let process = Process()
        process.executableURL = Self.binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        // A test process that traps leaves no server behind: the child stops when this process is gone.
        env["SWITCHYARD_WATCH_PID"] = "\(ProcessInfo.processInfo.processIdentifier)"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let log = directory.appendingPathComponent("\(name).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        var errorLog: URL?
        if separateStderr {
            let url = directory.appendingPathComponent("\(name).err")
            FileManager.default.createFile(atPath: url.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: url)
            errorLog = url
        } else {
            process.standardError = handle
        }
        try process.run()
        return Child(process: process, name: name, log: log, errorLog: errorLog)
    }

    /// Runs `switchyard ARGS` to its end (at most `timeout` seconds): its exit status and the child.
    func runToEnd(_ name: String, _ arguments: [String], timeout: Double = 240, separateStderr: Bool = false,
                  environment: [String: String] = [:]) async throws -> (Int32, Child) {
        let child = try start(name, arguments, environment: environment, separateStderr: separateStderr)
        return (try await child.wait(timeout: timeout), child)
    }

    /// One pipeline as separate `switchyard stage` processes, started workers first and coordinator later
    /// (the order must not matter). `stopAll()` ends whatever is still running.
    struct StageProcesses {
        var all: [Child]
        let score: Child
        let dispatch: Child
        let sink: Child
        let coordinator: Child
        let ingest: Child

        func stopAll() { all.forEach { $0.stop() } }
    }

    /// Starts profile workers, score, dispatch, sink, coordinator and ingest with `common` arguments;
    /// `score`, `dispatch` and `sink` are extra arguments for those stages.
    func startStages(
        common: [String], input: URL, output: URL, profileWorkers: Int = 1, score: [String] = [], dispatch: [String] = [],
        sink: [String] = [], environment: [String: String] = [:]
    ) throws -> StageProcesses {
        var all: [Child] = []
        for index in 1...profileWorkers { all.append(try start("profile-\(index)", ["stage", "profile"] + common, environment: environment)) }
        let scoreChild = try start("score", ["stage", "score"] + score + common, environment: environment)
        all.append(scoreChild)
        let dispatchChild = try start("dispatch", ["stage", "dispatch"] + dispatch + common, environment: environment)
        all.append(dispatchChild)
        let sinkChild = try start("sink", ["stage", "sink", "--output", output.path, "--input", input.path] + sink + common, environment: environment)
        all.append(sinkChild)
        let coordinator = try start("coordinator", ["stage", "coordinator"] + common, environment: environment)
        all.append(coordinator)
        let ingest = try start("ingest", ["stage", "ingest", "--input", input.path] + common, environment: environment)
        all.append(ingest)
        return StageProcesses(all: all, score: scoreChild, dispatch: dispatchChild, sink: sinkChild, coordinator: coordinator, ingest: ingest)
    }

    /// Starts a replay backend on a free port (or `port`), over the test split unless `data` says
    /// otherwise, and returns it with its port.
    func startReplayBackend(_ name: String, data: URL = Self.testData, port: Int = 0, extra: [String] = []) async throws -> (Child, Int) {
        let child = try start(name, ["replay-backend", "--data", data.path, "--port", "\(port)", "--log-level", "warning"] + extra)
        let deadline = Date().addingTimeInterval(120)
        while true {
            if let range = child.output.range(of: #"https?://127\.0\.0\.1:(\d+)/v1"#, options: .regularExpression) {
                let url = child.output[range]
                let prefix = url.hasPrefix("https") ? "https://127.0.0.1:" : "http://127.0.0.1:"
                if let port = Int(url.dropFirst(prefix.count).dropLast("/v1".count)) { return (child, port) }
            }
            guard child.process.isRunning else { throw HarnessError("replay backend exited:\n\(child.output)") }
            // Looked at the output first: a test whose thread CPU-heavy tests held past the deadline (the heavy
            // phase of `make test`) still finds the announcement the backend made meanwhile.
            guard Date() < deadline else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        child.stop()
        throw HarnessError("replay backend did not announce its port within 120 s (a debug build on a loaded machine):\n\(child.output)")
    }

    /// GET `url`: status and body (10 s timeout).
    static func get(_ url: String) async throws -> (Int, Data) {
        guard let address = URL(string: url) else { throw HarnessError("bad URL \(url)") }
        var request = URLRequest(url: address)
        request.timeoutInterval = 10
        return try await withCheckedThrowingContinuation { continuation in
            URLSession.shared.dataTask(with: request) { data, response, error in
                if let error { continuation.resume(throwing: error); return }
                continuation.resume(returning: ((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data()))
            }.resume()
        }
    }

    /// A free TCP port on 127.0.0.1 (bound and released; good enough for a test).
    static func freePort() throws -> Int {
        try LoopbackPort.free()
    }

    // MARK: inputs and outputs

    /// Writes `count` lines: prompts of the test data as plain and OpenAI Batch lines, with a
    /// malformed line every `malformedEvery` lines. Returns the file and the malformed line count.
    func writeInput(count: Int, malformedEvery: Int = 50, pinned: String? = nil) throws -> (URL, Int) {
        var prompts: [String] = []
        for line in try String(contentsOf: Self.testData, encoding: .utf8).split(separator: "\n") {
            if let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
               let prompt = object["prompt"] as? String {
                prompts.append(prompt)
            }
        }
        guard !prompts.isEmpty else { throw HarnessError("no prompts in \(Self.testData.path)") }
        let broken = [#"{"id": "x", "prompt": ""}"#, "{not json", #"{"custom_id": "y", "method": "GET", "url": "/v1/chat/completions", "body": {}}"#, #"{"id": 5}"#]
        var text = ""
        var malformed = 0
        for index in 1...count {
            if index % malformedEvery == 0 {
                text += broken[(index / malformedEvery) % broken.count] + "\n"
                malformed += 1
                continue
            }
            let prompt = prompts[index % prompts.count]
            let object: [String: Any]
            if index % 2 == 0 {
                object = ["id": "plain-\(index)", "prompt": prompt]
            } else {
                var body: [String: Any] = ["model": "auto", "messages": [["role": "user", "content": prompt]]]
                if let pinned, index % 7 == 1 { body["model"] = pinned }
                object = ["custom_id": "batch-\(index)", "method": "POST", "url": "/v1/chat/completions", "body": body]
            }
            text += String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self) + "\n"
        }
        let url = directory.appendingPathComponent("input-\(count).jsonl")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return (url, malformed)
    }

    /// The demo-like configuration: four models on two backends, price routing (no profiles needed).
    /// `extra` is appended at the top level (e.g. a `router` budget); `dispatch` goes into `stages.dispatch`.
    func writeConfiguration(healthyPort: Int, failingPort: Int, coordinatorPort: Int, strategy: String = "cheapest",
                            dispatch: String = "", router: String = "", name: String = "pipeline.yaml") throws -> URL {
        let models: [(String, Int, Double, Double)] = [
            ("gpt-4o-mini-2024-07-18", healthyPort, 0.15, 0.60),
            ("Meta-Llama-3.1-8B-Instruct", healthyPort, 0.18, 0.18),
            ("claude-3-5-sonnet-20240620", healthyPort, 3.0, 15.0),
            ("gemini-1.5-flash", failingPort, 0.05, 0.10),
        ]
        var yaml = """
            coordinator: {endpoint: "tcp://127.0.0.1:\(coordinatorPort)", journal: ./run/journal, lease_seconds: 20}
            stages: {profile: {workers: 2, batch: 32}, score: {workers: 1}, dispatch: {workers: 1, concurrency: 64\(dispatch)}}
            profiler: {embedder: hashed, dimension: 256}
            router: {strategy: \(strategy)\(router)}
            models:

            """
        for (name, port, input, output) in models {
            yaml += """
                  - name: \(name)
                    backend: {url: "http://127.0.0.1:\(port)/v1"}
                    price: {input_usd_per_mtok: \(input), output_usd_per_mtok: \(output)}
                    limits: {concurrency: 64}

                """
        }
        let url = directory.appendingPathComponent(name)
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    struct Output {
        var results: [[String: Any]]
        var errors: [[String: Any]]
        var summary: [String: Any]
    }

    static func readLines(_ url: URL) throws -> [[String: Any]] {
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw HarnessError("not a JSON object in \(url.lastPathComponent): \(line.prefix(200))")
            }
            return object
        }
    }

    /// Reads the output directory and checks the invariant: lines(input) == results + errors, each ID once.
    static func checkInvariant(output: URL, inputLines: Int) throws -> Output {
        let results = try readLines(output.appendingPathComponent("results.jsonl"))
        let errors = try readLines(output.appendingPathComponent("errors.jsonl"))
        let summaryData = try Data(contentsOf: output.appendingPathComponent("summary.json"))
        let summary = try JSONSerialization.jsonObject(with: summaryData) as? [String: Any] ?? [:]
        #expect(results.count + errors.count == inputLines, "lines(input) \(inputLines) != results \(results.count) + errors \(errors.count)")
        let ids = (results + errors).compactMap { $0["id"] as? String }
        #expect(ids.count == inputLines)
        #expect(Set(ids).count == ids.count, "an ID was written twice")
        let lines = Set((results + errors).compactMap { record -> Int? in
            (record["routing"] as? [String: Any])?["line"] as? Int ?? (record["error"] as? [String: Any])?["line"] as? Int
        })
        #expect(lines == Set(1...inputLines), "some input lines have no record")
        #expect(summary["results"] as? Int == results.count)
        #expect(summary["errors"] as? Int == errors.count)
        return Output(results: results, errors: errors, summary: summary)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
