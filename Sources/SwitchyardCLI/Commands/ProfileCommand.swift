import ArgumentParser
import Foundation

struct ProfileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Learn the router from routing data.",
        subcommands: [ProfileBuildCommand.self]
    )
}

struct ProfileBuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Learn model profiles, clusters and scorers from routing data (train, and dev for selection)."
    )

    func run() async throws {
        try notImplementedYet("profile build")
    }
}
