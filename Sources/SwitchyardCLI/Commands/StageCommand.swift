import ArgumentParser
import Foundation

struct StageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stage",
        abstract: "Run one pipeline stage as its own process (coordinator, ingest, profile, score, dispatch, sink)."
    )

    func run() async throws {
        try notImplementedYet("stage")
    }
}
