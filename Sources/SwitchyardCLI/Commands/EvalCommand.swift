import ArgumentParser
import Foundation

struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Trace cost-quality curves of every strategy on routing data; write a report, metrics and a plot."
    )

    func run() async throws {
        try notImplementedYet("eval")
    }
}
