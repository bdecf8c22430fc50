import ArgumentParser
import Foundation

struct ReplayBackendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay-backend",
        abstract: "Serve an OpenAI-compatible API that answers as the recorded models did."
    )

    func run() async throws {
        try notImplementedYet("replay-backend")
    }
}
