import ArgumentParser
import Foundation

struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed texts (one JSON object a line) with MiniLM, hashed n-grams or a remote server."
    )

    func run() async throws {
        try notImplementedYet("embed")
    }
}
