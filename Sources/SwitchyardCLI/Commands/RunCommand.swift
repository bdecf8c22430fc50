import ArgumentParser
import Foundation

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run every stage in one process over a batch file and write results, errors and a summary."
    )

    func run() async throws {
        try notImplementedYet("run")
    }
}
