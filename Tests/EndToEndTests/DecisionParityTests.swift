import Foundation
import Testing

/// One behaviour on every path: for every strategy of a router built on each shared data set,
/// `switchyard run --dry-run` and the seven `switchyard stage` processes write exactly the decisions
/// (model, predicted quality, estimated cost) that `switchyard route` writes for the same lines and λ.
/// The LLMRouter artifact keeps the task prior that reads the whole prompt (its mix travels from the
/// profile stage to the score stage), so a mix lost on the way shows here.
///
/// Cost: a debug `profile build` on the whole of a data set takes several CPU minutes (kNN's leave-one-out
/// tuning most of it), so the artifacts are built by the real (debug) binary from a deterministic subset:
/// every 8th train and dev record (ZeroEval 213 + 36, LLMRouter 450 + 75); the LLMRouter one is told to keep
/// the whole-prompt task prior (`--task-prior whole-prompt`: on so few dev prompts the build might not
/// choose it). 40 test prompts are routed per strategy. The suite is CPU-heavy and runs in the Makefile's
/// heavy phase.
@Suite("decision parity: run, stage and route decide alike", .serialized)
struct DecisionParityTests {
    static let lines = Int(ProcessInfo.processInfo.environment["SWITCHYARD_PARITY_LINES"] ?? "") ?? 40
    /// Every `subsample`-th train and dev record builds the artifact.
    static let subsample = 8

    struct DataSet: Sendable, CustomStringConvertible {
        var name: String
        /// The artifact must keep the whole-prompt task prior (LLMRouter's build does).
        var wholePromptPrior: Bool
        var description: String { name }
    }

    static let dataSets = [DataSet(name: "zeroeval", wholePromptPrior: false), DataSet(name: "llmrouter", wholePromptPrior: true)]

    /// (model, predicted quality, estimated cost) per custom ID.
    typealias Decisions = [String: Decision]

    struct Decision: Equatable, CustomStringConvertible {
        var model: String
        var quality: Double
        var cost: Double
        var description: String { "\(model) q=\(quality) $\(cost)" }
    }

    @Test(arguments: dataSets)
    func everyStrategyDecidesAlikeOnEveryPath(dataSet: DataSet) async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let source = SwitchyardHarness.routingData.appendingPathComponent(dataSet.name)
        let profiles = try await Self.buildArtifact(harness, source: source, wholePromptPrior: dataSet.wholePromptPrior)
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: profiles.appendingPathComponent("manifest.json"))) as? [String: Any])
        let strategies = try #require(manifest["strategies"] as? [[String: Any]]).compactMap { $0["name"] as? String }
        let models = try #require(manifest["models"] as? [String])
        let prices = try #require(manifest["prices"] as? [String: [String: Double]])
        if dataSet.wholePromptPrior {
            #expect(FileManager.default.fileExists(atPath: profiles.appendingPathComponent("task_featurizer/featurizer.json").path),
                    "the \(dataSet.name) artifact does not keep the whole-prompt task prior: the test would not cover the task mix")
        }
        #expect(strategies.count >= 5)
        // A λ where cost matters: a tenth of a quality point per cent.
        let lambda = 10.0
        let input = try Self.writeInput(harness, test: source.appendingPathComponent("test.jsonl"))

        for strategy in strategies {
            let route = try await Self.route(harness, profiles: profiles, strategy: strategy, lambda: lambda, input: input)
            let configuration = try Self.writeConfiguration(harness, profiles: profiles, strategy: strategy, lambda: lambda,
                                                            models: models, prices: prices)
            let run = try await Self.runDry(harness, configuration: configuration, input: input, strategy: strategy)
            let staged = try await Self.runStages(harness, configuration: configuration, input: input, strategy: strategy)
            #expect(route.count == Self.lines, "\(dataSet.name) \(strategy): route decided \(route.count) of \(Self.lines) lines")
            for (name, decisions) in [("run --dry-run", run), ("stage", staged)] {
                let differing = route.keys.sorted().filter { route[$0] != decisions[$0] }
                #expect(differing.isEmpty, """
                    \(dataSet.name) \(strategy): \(name) differs from route on \(differing.count) of \(route.count) lines, e.g. \
                    \(differing.prefix(3).map { "\($0): route \(route[$0].map(String.init(describing:)) ?? "-") vs \(decisions[$0].map(String.init(describing:)) ?? "-")" })
                    """)
            }
        }
    }

    /// `profile build` on every `subsample`-th train and dev record (models.json beside them).
    static func buildArtifact(_ harness: SwitchyardHarness, source: URL, wholePromptPrior: Bool) async throws -> URL {
        let data = harness.directory.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for split in ["train", "dev"] {
            let lines = try String(contentsOf: source.appendingPathComponent("\(split).jsonl"), encoding: .utf8).split(separator: "\n")
            let kept = lines.enumerated().filter { $0.offset % subsample == 0 }.map(\.element).joined(separator: "\n") + "\n"
            try kept.write(to: data.appendingPathComponent("\(split).jsonl"), atomically: true, encoding: .utf8)
        }
        try FileManager.default.copyItem(at: source.appendingPathComponent("models.json"), to: data.appendingPathComponent("models.json"))
        let profiles = harness.directory.appendingPathComponent("profiles")
        let build = try harness.start("profile-build", [
            "profile", "build", "--train", data.appendingPathComponent("train.jsonl").path, "--dev", data.appendingPathComponent("dev.jsonl").path,
            // Two folds: the choices do not matter for parity, and five (the default) took most of the
            // 15-minute timeout for the LLMRouter subset in a debug build on a loaded machine.
            "--out", profiles.path, "--folds", "2", "--log-level", "warning",
        ] + (wholePromptPrior ? ["--task-prior", "whole-prompt"] : []))
        let status = try await build.wait(timeout: 900)
        #expect(status == 0, "profile build failed:\n\(build.output.suffix(3000))")
        return profiles
    }

    /// The first test prompts, alternately as plain and OpenAI Batch lines (a system message on some).
    static func writeInput(_ harness: SwitchyardHarness, test: URL) throws -> URL {
        var text = ""
        for (index, line) in try String(contentsOf: test, encoding: .utf8).split(separator: "\n").prefix(lines).enumerated() {
            let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let prompt = try #require(record["prompt"] as? String)
            let object: [String: Any]
            if index % 2 == 0 {
                object = ["id": "line-\(index)", "prompt": prompt]
            } else {
                var messages: [[String: Any]] = [["role": "user", "content": prompt]]
                if index % 4 == 1 { messages.insert(["role": "system", "content": ""], at: 0) }
                object = ["custom_id": "line-\(index)", "method": "POST", "url": "/v1/chat/completions",
                          "body": ["model": "auto", "temperature": 0, "messages": messages]]
            }
            text += String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self) + "\n"
        }
        let url = harness.directory.appendingPathComponent("parity-input.jsonl")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static func writeConfiguration(
        _ harness: SwitchyardHarness, profiles: URL, strategy: String, lambda: Double, models: [String], prices: [String: [String: Double]]
    ) throws -> URL {
        var yaml = """
            coordinator: {endpoint: "tcp://127.0.0.1:\(try SwitchyardHarness.freePort())", journal: ./stage-journal-\(strategy)/journal, lease_seconds: 60}
            stages: {profile: {workers: 2, batch: 8}, score: {workers: 1}, dispatch: {workers: 1, concurrency: 8}}
            router: {profiles: \(profiles.path), strategy: \(strategy), lambda: \(lambda)}
            models:

            """
        for model in models {
            let price = prices[model] ?? [:]
            yaml += """
                  - name: "\(model)"
                    price: {input_usd_per_mtok: \(price["input_usd_per_mtok"] ?? 0), output_usd_per_mtok: \(price["output_usd_per_mtok"] ?? 0)}

                """
        }
        let url = harness.directory.appendingPathComponent("pipeline-\(strategy).yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static func route(_ harness: SwitchyardHarness, profiles: URL, strategy: String, lambda: Double, input: URL) async throws -> Decisions {
        let output = harness.directory.appendingPathComponent("route-\(strategy).jsonl")
        let route = try harness.start("route-\(strategy)", [
            "route", "--profiles", profiles.path, "--input", input.path, "--output", output.path, "--strategy", strategy, "--lambda", "\(lambda)",
        ])
        let status = try await route.wait(timeout: 300)
        #expect(status == 0, "route failed:\n\(route.output.suffix(3000))")
        var decisions: Decisions = [:]
        for record in try SwitchyardHarness.readLines(output) {
            guard let id = record["id"] as? String, let model = record["model"] as? String else { continue }
            decisions[id] = Decision(model: model, quality: record["predicted_quality"] as? Double ?? .nan, cost: record["estimated_cost_usd"] as? Double ?? .nan)
        }
        return decisions
    }

    static func decisions(inResultsOf output: URL) throws -> Decisions {
        let result = try SwitchyardHarness.checkInvariant(output: output, inputLines: lines)
        #expect(result.errors.isEmpty, "error records: \(result.errors.prefix(3))")
        var decisions: Decisions = [:]
        for record in result.results {
            guard let id = record["custom_id"] as? String, let routing = record["routing"] as? [String: Any],
                  let model = routing["model"] as? String else { continue }
            decisions[id] = Decision(model: model, quality: routing["predicted_quality"] as? Double ?? .nan,
                                     cost: routing["estimated_cost_usd"] as? Double ?? .nan)
        }
        return decisions
    }

    static func runDry(_ harness: SwitchyardHarness, configuration: URL, input: URL, strategy: String) async throws -> Decisions {
        let output = harness.directory.appendingPathComponent("run-\(strategy)")
        let run = try harness.start("run-\(strategy)", [
            "run", configuration.path, "--input", input.path, "--output", output.path, "--dry-run", "--log-level", "warning",
        ])
        let status = try await run.wait(timeout: 300)
        #expect(status == 0, "run failed:\n\(run.output.suffix(3000))")
        return try decisions(inResultsOf: output)
    }

    /// Coordinator, ingest, two profile workers, score, dispatch (dry) and sink as seven processes.
    static func runStages(_ harness: SwitchyardHarness, configuration: URL, input: URL, strategy: String) async throws -> Decisions {
        let output = harness.directory.appendingPathComponent("stage-\(strategy)")
        let common = ["--config", configuration.path, "--log-level", "warning"]
        var children: [SwitchyardHarness.Child] = []
        defer { children.forEach { $0.stop() } }
        for index in 1...2 { children.append(try harness.start("\(strategy)-profile-\(index)", ["stage", "profile"] + common)) }
        children.append(try harness.start("\(strategy)-score", ["stage", "score"] + common))
        children.append(try harness.start("\(strategy)-dispatch", ["stage", "dispatch", "--dry-run"] + common))
        let sink = try harness.start("\(strategy)-sink", ["stage", "sink", "--dry-run", "--output", output.path, "--input", input.path] + common)
        children.append(sink)
        let coordinator = try harness.start("\(strategy)-coordinator", ["stage", "coordinator"] + common)
        children.append(coordinator)
        children.append(try harness.start("\(strategy)-ingest", ["stage", "ingest", "--input", input.path] + common))
        let status = try await sink.wait(timeout: 300)
        #expect(status == 0, "stage sink failed:\n\(sink.output.suffix(3000))")
        _ = try? await coordinator.wait(timeout: 30)
        return try decisions(inResultsOf: output)
    }
}
