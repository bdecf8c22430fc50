import ArgumentParser
import Foundation
import Routing
import Wire

/// The release of this build (`switchyard --version`), with the formats it speaks: stage processes must
/// share the wire format, and a router artifact must be one of the formats it reads.
enum SwitchyardVersion {
    static let release = "0.19.0"

    static var text: String {
        "switchyard \(release) (wire format \(WireFormat.version), router artifacts \(RouterManifest.readableFormatVersions.lowerBound)-\(RouterManifest.readableFormatVersions.upperBound))"
    }
}

/// The `switchyard` command: routes a batch of LLM requests to the model that should answer each.
public struct SwitchyardCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "Route a batch of LLM requests to the right model, within a budget, and run it.",
        discussion: """
            Reads a batch (JSON Lines: OpenAI Batch lines or {"id", "prompt"}), decides for every request \
            which model of your pool should answer it (predicted quality against cost and a batch budget), \
            sends it to that model's OpenAI-compatible backend, and writes exactly one result or error \
            record per input line.

            A typical session:
              switchyard collect --config pipeline.yaml --prompts labelled.jsonl --out data/
              switchyard profile build --train data/routing.jsonl --dev dev.jsonl --out profiles/
              switchyard eval --profiles profiles/ --data test.jsonl --out report/
              switchyard route --profiles profiles/ --input batch.jsonl --output d.jsonl
              switchyard run pipeline.yaml --input batch.jsonl --output out/ --budget-usd 5

            Every stage can also run as its own process, on any number of hosts, connected over ZeroMQ: \
            switchyard stage ROLE --config pipeline.yaml (see switchyard stage --help);
            across machines with CURVE keys: switchyard keys generate --out DIR.
            """,
        version: SwitchyardVersion.text,
        subcommands: [
            RunCommand.self,
            StageCommand.self,
            ProfileCommand.self,
            CollectCommand.self,
            ModelsCommand.self,
            RouteCommand.self,
            EvalCommand.self,
            ReplayBackendCommand.self,
            EmbedCommand.self,
            KeysCommand.self,
            WorkCommand.self,
        ]
    )

    public init() {}
}

/// Called by a verb that is registered but not built yet: says so on stderr and exits 2,
/// so that nothing pretends to work.
func notImplementedYet(_ verb: String) throws -> Never {
    FileHandle.standardError.write(Data("switchyard \(verb): not implemented yet\n".utf8))
    throw ExitCode(2)
}
