import ArgumentParser
import Foundation

struct RouteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Decide a model for every line of a batch, without calling any backend."
    )

    func run() async throws {
        try notImplementedYet("route")
    }
}
