import ArgumentParser

/// `switchyard-bench`: performance measurements, never part of `make test`.
/// Each subcommand writes machine-readable JSON to `--out` and prints a ratio table.
@main
struct SwitchyardBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "SwitchyardBench",
        abstract: "Switchyard benchmarks (run them with `make bench`).",
        subcommands: [ZeroMQBench.self, DispatchBench.self, RoutingBench.self, ProtocolBench.self, BudgetBench.self, EmbeddingBench.self,
                      PipelineBench.self]
    )
}
