import ArgumentParser
import Foundation

struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Manage the model pool of a profile directory.",
        subcommands: [ModelsAddCommand.self]
    )
}

struct ModelsAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Onboard a new model from its aptitude-test outcomes and price alone: no retraining."
    )

    func run() async throws {
        try notImplementedYet("models add")
    }
}
