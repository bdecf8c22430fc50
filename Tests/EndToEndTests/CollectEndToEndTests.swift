import Foundation
import Testing

/// `switchyard collect` and `switchyard models onboard`, the real binary against real replay backends
/// that answer with gold or wrong answers (`--answers`): collecting reproduces the recorded outcomes,
/// and onboarding a model left out of training equals `models add` with its recorded outcomes.
@Suite("end to end: collect and models onboard against replay backends that answer", .serialized)
struct CollectEndToEndTests {
    static let zeroeval = SwitchyardHarness.routingData.appendingPathComponent("zeroeval")
    static let answers = zeroeval.appendingPathComponent("answers.jsonl")

    static func lines(_ url: URL) throws -> [[String: Any]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    static func write(_ objects: [[String: Any]], to url: URL) throws {
        let text = try objects.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
        try (text.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
    }

    /// A pipeline.yaml whose models all live on one replay backend, priced as models.json says.
    static func configuration(_ harness: SwitchyardHarness, port: Int, models: [String]) throws -> URL {
        let catalog = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: zeroeval.appendingPathComponent("models.json"))) as? [[String: Any]])
        var yaml = "models:\n"
        for model in models {
            let info = try #require(catalog.first { $0["name"] as? String == model })
            yaml += """
                  - name: \(model)
                    backend: {url: "http://127.0.0.1:\(port)/v1"}
                    price: {input_usd_per_mtok: \(info["input_usd_per_mtok"] ?? 0), output_usd_per_mtok: \(info["output_usd_per_mtok"] ?? 0)}
                    limits: {concurrency: 16}

                """
        }
        let url = harness.directory.appendingPathComponent("pipeline-\(port).yaml")
        try yaml.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// A ZeroEval router learned from the first `train` and `dev` records (aptitude, both UniRoute
    /// strategies; answers kept), optionally without one model. Returns the artifact and the records used.
    static func buildSmallArtifact(
        _ harness: SwitchyardHarness, train trainCount: Int, dev devCount: Int, leaving leftOut: String? = nil
    ) async throws -> (URL, [[String: Any]], [[String: Any]]) {
        let dir = harness.directory
        let train = Array(try lines(zeroeval.appendingPathComponent("train.jsonl")).prefix(trainCount))
        let dev = Array(try lines(zeroeval.appendingPathComponent("dev.jsonl")).prefix(devCount))
        func without(_ records: [[String: Any]]) -> [[String: Any]] {
            guard let leftOut else { return records }
            return records.map { record in
                var r = record
                for key in ["outcomes", "costs", "output_tokens"] {
                    var table = r[key] as? [String: Any] ?? [:]
                    table[leftOut] = nil
                    r[key] = table
                }
                return r
            }
        }
        let trainFile = dir.appendingPathComponent("train.jsonl")
        let devFile = dir.appendingPathComponent("dev.jsonl")
        try write(without(train), to: trainFile)
        try write(without(dev), to: devFile)
        if !FileManager.default.fileExists(atPath: dir.appendingPathComponent("models.json").path) {
            try FileManager.default.copyItem(at: zeroeval.appendingPathComponent("models.json"), to: dir.appendingPathComponent("models.json"))
        }
        let built = dir.appendingPathComponent("built")
        let build = try harness.start("build", [
            "profile", "build", "--train", trainFile.path, "--dev", devFile.path, "--out", built.path,
            "--strategies", "aptitude,uniroute-cluster,uniroute-learned-map", "--answers", answers.path, "--log-level", "warning",
        ])
        #expect(try await build.wait(timeout: 900) == 0, "\(build.output.suffix(3000))")
        #expect(build.output.contains("aptitude set: answers and graders kept for"), "\(build.output.suffix(3000))")
        return (built, train, dev)
    }

    @Test func collectReproducesTheRecordedOutcomesOfTheDevSplitForAll26Models() async throws {
        try SwitchyardHarness.requirePrerequisites()
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let dev = Self.zeroeval.appendingPathComponent("dev.jsonl")
        let (backend, port) = try await harness.startReplayBackend("replay", data: dev, extra: ["--answers", Self.answers.path])
        defer { backend.stop() }
        let recorded = try Self.lines(dev)
        let models = try #require(recorded.first?["outcomes"] as? [String: Any]).keys.sorted()
        #expect(models.count == 26)
        let configuration = try Self.configuration(harness, port: port, models: models)
        let out = harness.directory.appendingPathComponent("collected")
        let started = Date()
        let collect = try harness.start("collect", [
            "collect", "--config", configuration.path, "--prompts", dev.path, "--answers", Self.answers.path,
            "--out", out.path, "--log-level", "warning",
        ])
        #expect(try await collect.wait(timeout: 600) == 0, "collect failed:\n\(collect.output.suffix(3000))")
        let seconds = Date().timeIntervalSince(started)
        print("collect: \(recorded.count) prompts x \(models.count) models in \(String(format: "%.1f", seconds)) s")

        let written = try Self.lines(out.appendingPathComponent("routing.jsonl"))
        #expect(written.count == recorded.count)
        var mismatches: [String] = []
        for (got, want) in zip(written, recorded) {
            #expect(got["id"] as? String == want["id"] as? String)
            #expect(got["prompt"] as? String == want["prompt"] as? String)
            #expect(got["task"] as? String == want["task"] as? String)
            let (gotOutcomes, wantOutcomes) = (got["outcomes"] as? [String: Double] ?? [:], want["outcomes"] as? [String: Double] ?? [:])
            let (gotCosts, wantCosts) = (got["costs"] as? [String: Double] ?? [:], want["costs"] as? [String: Double] ?? [:])
            let (gotTokens, wantTokens) = (got["output_tokens"] as? [String: Int] ?? [:], want["output_tokens"] as? [String: Int] ?? [:])
            for model in models {
                if gotOutcomes[model] != wantOutcomes[model] { mismatches.append("\(want["id"] ?? "?") \(model): outcome \(gotOutcomes[model] ?? -1) != \(wantOutcomes[model] ?? -1)") }
                if abs((gotCosts[model] ?? -1) - (wantCosts[model] ?? 0)) > 1e-12 { mismatches.append("\(want["id"] ?? "?") \(model): cost") }
                if gotTokens[model] != wantTokens[model] { mismatches.append("\(want["id"] ?? "?") \(model): output_tokens") }
            }
            #expect(got["input_tokens"] as? Int == want["input_tokens"] as? Int)
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches: \(mismatches.prefix(10))")
        let replies = try Self.lines(out.appendingPathComponent("replies.jsonl"))
        #expect(replies.count == recorded.count * models.count, "every pair exactly once")
        #expect(try String(contentsOf: out.appendingPathComponent("errors.jsonl"), encoding: .utf8).isEmpty)
        #expect(collect.output.contains("routing data: \(recorded.count) prompts × 26 models"))

        // A rerun finds every pair done and sends nothing.
        let again = try harness.start("collect-again", [
            "collect", "--config", configuration.path, "--prompts", dev.path, "--answers", Self.answers.path,
            "--out", out.path, "--log-level", "warning",
        ])
        #expect(try await again.wait(timeout: 300) == 0, "\(again.output)")
        #expect(again.output.contains("\(recorded.count * 26) done before, 0 answered now"), "\(again.output)")
    }

    /// Train without one model, then onboard it twice: `models add` from its recorded aptitude
    /// outcomes, and `models onboard` against a replay backend that answers as it did. Same artifact.
    @Test func onboardGivesTheSameArtifactAsModelsAddWithTheRecordedOutcomes() async throws {
        try SwitchyardHarness.requirePrerequisites()
        let harness = try SwitchyardHarness()
        defer { harness.cleanUp() }
        let leftOut = "gemma-2-9b-it"
        let dir = harness.directory
        let (built, train, dev) = try await Self.buildSmallArtifact(harness, train: 400, dev: 80, leaving: leftOut)

        // The aptitude set, with answers: a labelled prompts file.
        let setFile = dir.appendingPathComponent("aptitude-set.jsonl")
        let listing = try harness.start("aptitude-set", ["models", "aptitude-set", "--profiles", built.path, "--output", setFile.path])
        #expect(try await listing.wait(timeout: 120) == 0, "\(listing.output)")
        let set = try Self.lines(setFile)
        #expect(set.allSatisfy { $0["answer"] is String && $0["grader"] is String })

        // models add: the left-out model's recorded lines for exactly the aptitude prompts (sampled from
        // train + dev, which the saved fits are refitted on).
        let byID = Dictionary(uniqueKeysWithValues: (train + dev).map { ($0["id"] as? String ?? "", $0) })
        let aptitudeFile = dir.appendingPathComponent("recorded-aptitude.jsonl")
        try Self.write(try set.map { try #require(byID[$0["id"] as? String ?? ""]) }, to: aptitudeFile)
        let catalog = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("models.json"))) as? [[String: Any]])
        let price = try #require(catalog.first { $0["name"] as? String == leftOut })
        let added = dir.appendingPathComponent("added")
        let onboarded = dir.appendingPathComponent("onboarded")
        let validated = dir.appendingPathComponent("validated")
        for copy in [added, onboarded, validated] { try FileManager.default.copyItem(at: built, to: copy) }
        let add = try harness.start("add", [
            "models", "add", "--profiles", added.path, "--name", leftOut, "--aptitude", aptitudeFile.path,
            "--input-usd-per-mtok", "\(price["input_usd_per_mtok"] ?? 0)", "--output-usd-per-mtok", "\(price["output_usd_per_mtok"] ?? 0)",
        ])
        #expect(try await add.wait(timeout: 120) == 0, "\(add.output)")

        // models onboard: the same model, live (a replay backend answering as it did, train + dev).
        let served = dir.appendingPathComponent("served.jsonl")
        try Self.write(train + dev, to: served)
        let (backend, port) = try await harness.startReplayBackend(
            "replay", data: served, extra: ["--answers", Self.answers.path, "--models", dir.appendingPathComponent("models.json").path])
        defer { backend.stop() }
        let configuration = try Self.configuration(harness, port: port, models: [leftOut])
        let onboard = try harness.start("onboard", [
            "models", "onboard", "--profiles", onboarded.path, "--config", configuration.path, "--name", leftOut,
            "--out", dir.appendingPathComponent("onboard-replies").path, "--log-level", "warning",
        ])
        #expect(try await onboard.wait(timeout: 300) == 0, "\(onboard.output)")
        #expect(onboard.output.contains("| category | task | asked | mean outcome |"), "\(onboard.output)")
        #expect(onboard.output.contains("decisions \(leftOut) would take at the default lambda"), "\(onboard.output)")

        let files = try FileManager.default.subpathsOfDirectory(atPath: added.path).sorted()
        #expect(try FileManager.default.subpathsOfDirectory(atPath: onboarded.path).sorted() == files)
        var differing: [String] = []
        for file in files {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: added.appendingPathComponent(file).path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            if try Data(contentsOf: added.appendingPathComponent(file)) != Data(contentsOf: onboarded.appendingPathComponent(file)) {
                differing.append(file)
            }
        }
        #expect(differing.isEmpty, "models onboard and models add wrote different files: \(differing)")
        #expect(files.contains("strategies/aptitude/aptitude.json"))

        // With a validation set (and the short test), UniRoute's per-cluster quality comes from the validation prompts.
        let validationFile = dir.appendingPathComponent("validation.jsonl")
        try Self.write(dev.map { ["id": $0["id"] ?? "", "prompt": $0["prompt"] ?? ""] }, to: validationFile)
        let withValidation = try harness.start("onboard-validation", [
            "models", "onboard", "--profiles", validated.path, "--config", configuration.path, "--name", leftOut,
            "--validation", validationFile.path, "--answers", Self.answers.path, "--per-category", "1",
            "--out", dir.appendingPathComponent("validation-replies").path, "--log-level", "warning",
        ])
        #expect(try await withValidation.wait(timeout: 300) == 0, "\(withValidation.output)")
        #expect(withValidation.output.contains("uniroute per-cluster quality from \(dev.count) validation prompts"), "\(withValidation.output)")
        #expect(withValidation.output.contains("on \(dev.count) prompts (the validation prompts)"), "\(withValidation.output)")
        let clusterFile = "strategies/uniroute-cluster"
        let names = try FileManager.default.contentsOfDirectory(atPath: validated.appendingPathComponent(clusterFile).path)
        let changed = try names.filter {
            try Data(contentsOf: validated.appendingPathComponent(clusterFile).appendingPathComponent($0))
                != Data(contentsOf: added.appendingPathComponent(clusterFile).appendingPathComponent($0))
        }
        #expect(!changed.isEmpty, "the validation set should have changed UniRoute's table")
    }
}
