import Foundation
import Testing

/// The command line as a new user meets it: the README's examples, `--version`, help, error messages,
/// `eval`'s report. Real binary throughout.
@Suite("end to end: the command line, the README's stage example, eval's report", .serialized)
struct CommandLineEndToEndTests {
    /// Runs a bash script in the harness directory (each background job its own process group, all of them
    /// stopped if the script is), at most `timeout` seconds: exit status and output.
    static func bash(_ script: String, in harness: SwitchyardHarness, timeout: Double) async throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        let wrapped = "set -m\ntrap 'kill $(jobs -p) 2>/dev/null' TERM EXIT\n" + script
        process.arguments = ["-c", wrapped]
        process.currentDirectoryURL = harness.directory
        let log = harness.directory.appendingPathComponent("script.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let child = SwitchyardHarness.Child(process: process, name: "script", log: log)
        let status = try await child.wait(timeout: timeout)
        return (status, child.output)
    }

    @Test("the README's stage-mode example finishes (and leaves nothing running)")
    func readmeStageExampleFinishes() async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let readme = try String(contentsOf: SwitchyardHarness.repoRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.range(of: "## One process or many"))
        let after = readme[section.upperBound...]
        let start = try #require(after.range(of: "```bash\n"))
        let end = try #require(after[start.upperBound...].range(of: "```"))
        var script = String(after[start.upperBound..<end.lowerBound])
        #expect(script.contains("stage ingest"))

        let (first, second) = (try SwitchyardHarness.freePort(), try SwitchyardHarness.freePort())
        let configuration = try harness.writeConfiguration(healthyPort: first, failingPort: second, coordinatorPort: try SwitchyardHarness.freePort())
        let (input, malformed) = try harness.writeInput(count: 200)
        let output = harness.directory.appendingPathComponent("out")
        // The same commands, on this test's files and free ports.
        for (from, to) in [
            ("switchyard ", SwitchyardHarness.binary.path + " "), ("--port 8101", "--port \(first)"), ("--port 8102", "--port \(second)"),
            ("data/routing/zeroeval/test.jsonl", SwitchyardHarness.testData.path), ("pipeline.yaml", configuration.path),
            ("batch.jsonl", input.path), ("--output out/", "--output \(output.path)"),
        ] { script = script.replacingOccurrences(of: from, with: to) }
        // After the example: everything it started must end by itself.
        let (status, log) = try await Self.bash(script + "\nwait\n", in: harness, timeout: 240)
        #expect(status == 0, "the README example failed:\n\(log.suffix(3000))")
        let result = try SwitchyardHarness.checkInvariant(output: output, inputLines: 200)
        #expect(result.errors.count == malformed)
    }

    @Test("--version, help per stage role, help wrapped once")
    func versionAndHelp() async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let (status, version) = try await harness.runToEnd("version", ["--version"], timeout: 60)
        #expect(status == 0)
        #expect(version.output.hasPrefix("switchyard "), "\(version.output)")
        #expect(version.output.contains("wire format"))

        let roles = [
            "coordinator": "leases", "ingest": "submit every line", "profile": "what each request needs",
            "score": "budget", "dispatch": "GET /v1/models", "sink": "summary.json",
        ]
        for (role, phrase) in roles {
            let (roleStatus, help) = try await harness.runToEnd("help-\(role)", ["stage", role, "--help"], timeout: 60)
            #expect(roleStatus == 0)
            #expect(help.output.contains(phrase), "stage \(role) --help does not say what it does:\n\(help.output)")
        }
        let (_, eval) = try await harness.runToEnd("help-eval", ["eval", "--help"], timeout: 60)
        #expect(eval.output.contains("README") && !eval.output.contains("Sources/"), "\(eval.output)")

        // Help text is wrapped once, by the help printer: no prose line ends early and goes on below.
        for verb in [["--help"], ["run", "--help"], ["stage", "--help"], ["stage", "score", "--help"], ["eval", "--help"],
                     ["route", "--help"], ["profile", "build", "--help"], ["models", "add", "--help"], ["replay-backend", "--help"],
                     ["collect", "--help"], ["models", "onboard", "--help"], ["models", "aptitude-set", "--help"]] {
            let (_, help) = try await harness.runToEnd("help", verb, timeout: 60)
            let lines = help.output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for (line, next) in zip(lines, lines.dropFirst()) {
                let text = line.trimmingCharacters(in: .whitespaces)
                let following = next.trimmingCharacters(in: .whitespaces)
                guard !text.isEmpty, !following.isEmpty, !text.hasPrefix("-"), !text.hasPrefix("switchyard"),
                      line.count < 56, following.first?.isLowercase == true,
                      line.prefix { $0 == " " }.count == next.prefix { $0 == " " }.count else { continue }
                Issue.record("`switchyard \(verb.joined(separator: " "))`: a sentence breaks early:\n\(line)\n\(next)")
            }
        }
    }

    @Test("route lists the strategies for an unknown one; eval's cheapest is its own router and the headline is auto's")
    func routeAndEvalOnABuiltArtifact() async throws {
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        // A small artifact: baselines and one learned strategy on part of the train split.
        let data = SwitchyardHarness.routingData.appendingPathComponent("zeroeval")
        let train = harness.directory.appendingPathComponent("train.jsonl")
        let trainLines = try String(contentsOf: data.appendingPathComponent("train.jsonl"), encoding: .utf8).split(separator: "\n").prefix(600)
        try (trainLines.joined(separator: "\n") + "\n").write(to: train, atomically: true, encoding: .utf8)
        let profiles = harness.directory.appendingPathComponent("profiles")
        let (built, build) = try await harness.runToEnd("build", [
            "profile", "build", "--train", train.path, "--dev", data.appendingPathComponent("dev.jsonl").path,
            "--models", data.appendingPathComponent("models.json").path, "--out", profiles.path,
            // Two folds (two fits on half the prompts each, not five on four fifths): with the default five a
            // debug build on a loaded machine ran past the 15-minute timeout; this test is about route and eval.
            "--strategies", "best-single,cheapest,uniroute-cluster", "--folds", "2", "--log-level", "warning",
        ], timeout: 900)
        try #require(built == 0, "profile build failed:\n\(build.output.suffix(3000))")

        let decisions = harness.directory.appendingPathComponent("decisions.jsonl")
        let (routeStatus, route) = try await harness.runToEnd("route", [
            "route", "--profiles", profiles.path, "--input", SwitchyardHarness.testData.path, "--output", decisions.path, "--strategy", "bogus",
        ], timeout: 120)
        #expect(routeStatus != 0)
        #expect(route.output.contains("unknown strategy 'bogus'") && route.output.contains("best-single, cheapest"), "\(route.output)")

        // Hashed features route without a dense product, so the process never opens OpenBLAS (whose pthreads
        // build starts a spinning worker per core when it loads). The dynamic loader says what it opened.
        let (clusterStatus, cluster) = try await harness.runToEnd("route-cluster", [
            "route", "--profiles", profiles.path, "--input", SwitchyardHarness.testData.path, "--output", decisions.path,
            "--strategy", "uniroute-cluster",
        ], timeout: 120, environment: ["LD_DEBUG": "files"])
        #expect(clusterStatus == 0, "route failed:\n\(cluster.output.suffix(3000))")
        #expect(cluster.output.contains("file=libzmq.so.5"), "LD_DEBUG printed no library loads: \(cluster.output.prefix(500))")
        #expect(!cluster.output.contains("libopenblas"), "route on hashed features opened OpenBLAS")

        let report = harness.directory.appendingPathComponent("report")
        let (evalStatus, eval) = try await harness.runToEnd("eval", [
            "eval", "--profiles", profiles.path, "--data", SwitchyardHarness.testData.path, "--out", report.path, "--log-level", "warning",
        ], timeout: 600)
        try #require(evalStatus == 0, "eval failed:\n\(eval.output.suffix(3000))")
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: report.appendingPathComponent("metrics.json"))) as? [String: Any]
        let strategies = try #require(metrics?["strategies"] as? [[String: Any]])
        func points(_ name: String) -> [[String: Double]] {
            (strategies.first { $0["name"] as? String == name }?["points"] as? [[String: Any]] ?? [])
                .map { $0.compactMapValues { $0 as? Double } }
        }
        let cheapest = points("cheapest"), bestSingle = points("best-single")
        #expect(!cheapest.isEmpty && cheapest != bestSingle, "cheapest is a copy of best-single")
        // Cheapest routes on price at every λ: one operating point, far below the best single model's cost.
        #expect(Set(cheapest.compactMap { $0["cost"] }).count == 1)
        #expect((cheapest.first?["cost"] ?? 1) < (bestSingle.first?["cost"] ?? 0) / 2)
        // The headline is the router auto runs (chosen on dev), the others listed below it.
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: profiles.appendingPathComponent("manifest.json"))) as? [String: Any]
        let auto = try #require(manifest?["autoStrategy"] as? String)
        #expect(eval.output.contains("router `auto` (`\(auto)`, chosen on dev)"), "\(eval.output)")
        #expect(eval.output.contains("Other strategies"), "\(eval.output)")
        let markdown = try String(contentsOf: report.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(markdown.contains("**Headline:** router `auto` (`\(auto)`"))
    }
}
