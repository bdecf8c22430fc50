import Foundation
import Logging
import Synchronization
import SwitchyardCore
import ZeroMQ

/// Every stage in one process (`switchyard run`): the coordinator, ingest, the profile, score and
/// dispatch worker pools and the sink, connected by the same work protocol as `switchyard stage`
/// processes, over ZeroMQ `inproc://` in one shared `Context`.
///
/// The stage logic and the protocol are exactly those of the multi-process deployment; only the
/// transport differs. At most `RunOptions.window` requests are between ingest and the sink, so memory
/// stays flat however long the input is. Resumable: records already in the output directory (and IDs
/// in the coordinator's journal) are not redone, so a rerun after a crash finishes the batch without
/// duplicates.
public struct LocalPipeline: Sendable {
    public let configuration: PipelineConfiguration
    public let components: PipelineComponents
    public let options: RunOptions

    /// How long workers may take to leave after the sink wrote the last record before the context is
    /// shut down under them (a worker blocked on a send to a coordinator that already ended).
    static let drainGrace: Duration = .seconds(2)

    public init(configuration: PipelineConfiguration, components: PipelineComponents, options: RunOptions) {
        self.configuration = configuration
        self.components = components
        self.options = options
    }

    /// Runs the batch to the end and writes `summary.json`. `onProgress` is called after records are
    /// written (at most every 100 ms) and once at the end, from the sink.
    public func run(logger: Logger, onProgress: @escaping @Sendable (RunProgress) -> Void = { _ in }) async throws -> RunSummary {
        let configuration = self.configuration
        let options = self.options
        let context = try Context()
        defer { context.shutdown() }
        let endpoint = "inproc://switchyard-run-\(UUID().uuidString)"
        // The journal lives with the output it describes: a new output directory is a new run, and
        // rerunning into the same one resumes (the sink's files and the journal agree).
        try FileManager.default.createDirectory(atPath: options.outputDirectory, withIntermediateDirectories: true)
        let journal = (options.outputDirectory as NSString).appendingPathComponent("journal")
        let server = try CoordinatorServer(
            configuration: .init(endpoint: endpoint, work: StageProcess.workConfiguration(configuration, window: options.window),
                                 journalPath: journal),
            context: context, logger: logger)
        let pools: [(role: StageRole, handler: StageWork, credit: Int, workers: Int)] = [
            (.profile, StageHandlers.profile(components.profile), max(2, configuration.stages.profile.batch), configuration.stages.profile.workers),
            (.score, StageHandlers.score(components.score, domains: components.profile.extractor.domainCodes),
             max(2, configuration.stages.score.batch), configuration.stages.score.workers),
            (.dispatch, StageHandlers.dispatch(components.dispatch), configuration.stages.dispatch.concurrency, configuration.stages.dispatch.workers),
        ]
        logger.info("run starting", metadata: [
            "input": "\(options.input)", "output": "\(options.outputDirectory)", "transport": "\(endpoint)",
            "dry_run": "\(options.dryRun)",
        ])

        // One pass over the input (digest + line count) serves the sink's total and the ingest stage; an
        // unreadable input is left for the ingest stage to report as its error.
        let scanned = options.scannedInput ?? (try? Ingest(path: options.input, parser: LineParser(poolModels: [])))
        let summary: RunSummary = try await withThrowingTaskGroup(of: RunSummary?.self) { group in
            group.addTask {
                let (recovery, _) = try await server.run()
                if !recovery.completed.isEmpty {
                    logger.info("coordinator resumed from its journal", metadata: ["completed": "\(recovery.completed.count)"])
                }
                return nil
            }
            // inproc needs the bind before any connect. The wait blocks a thread, so it happens off
            // Swift's cooperative pool (two threads on two cores: blocking one there can stall the run).
            await withCheckedContinuation { (bound: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async {
                    _ = server.waitUntilBound()
                    bound.resume()
                }
            }
            for pool in pools {
                for worker in 0..<max(1, pool.workers) {
                    let workerLogger = Self.logger(logger, stage: pool.role.rawValue, worker: worker)
                    group.addTask {
                        try await StageProcess.runWorker(role: pool.role, handler: pool.handler, credit: pool.credit,
                                                         endpoint: endpoint, context: context, logger: workerLogger)
                        return nil
                    }
                }
            }
            group.addTask {
                try await StageProcess.runSink(
                    configuration: configuration, outputDirectory: options.outputDirectory, ordered: options.ordered,
                    input: options.input, inputLines: scanned?.lineCount, dryRun: options.dryRun, budgetUSD: options.budgetUSD,
                    endpoint: endpoint, context: context, logger: logger, onProgress: onProgress,
                    budgetReport: { [budget = components.score.budget] in budget?.report() })
            }
            group.addTask {
                _ = try await StageProcess.runIngest(configuration: configuration, input: options.input, scanned: scanned, endpoint: endpoint,
                                                     context: context, logger: logger)
                return nil
            }

            var summary: RunSummary?
            do {
                while summary == nil, let value = try await group.next() {
                    summary = value
                }
            } catch {
                // Something failed before the sink finished: stop every socket so nothing waits forever.
                context.shutdown()
                group.cancelAll()
                throw error
            }
            // The sink has every record. The coordinator drains the workers; whatever has not left after
            // the grace period is blocked on a socket and ends when the context shuts down.
            let closer = Task {
                try? await Task.sleep(for: Self.drainGrace)
                context.shutdown()
            }
            while true {
                do {
                    guard try await group.next() != nil else { break }
                } catch {
                    logger.debug("stage ended at shutdown", metadata: ["reason": "\(error)"])
                }
            }
            closer.cancel()
            guard let summary else {
                throw LocalPipelineError.endedWithoutSummary
            }
            return summary
        }
        try? await components.dispatcher?.shutdown()
        var finished: Logger.Metadata = [
            "results": "\(summary.results)", "errors": "\(summary.errors)",
            "wall_seconds": "\(String(format: "%.2f", summary.wallSeconds))",
            "estimated_usd": "\(String(format: "%.6f", summary.spend.estimatedUSD))",
            "actual_usd": "\(String(format: "%.6f", summary.spend.actualUSD))",
        ]
        if let budget = summary.budget { finished["budget"] = "\(budget.logLine)" }
        logger.info("run finished", metadata: finished)
        return summary
    }

    static func progress(_ sink: ResultSink, total: Int, since start: ContinuousClock.Instant, resumed: Int) -> RunProgress {
        let elapsed = ContinuousClock.now - start
        let statistics = sink.statistics
        return RunProgress(
            done: statistics.completed, total: total, errors: statistics.errors,
            estimatedSpendUSD: statistics.estimatedUSD, actualSpendUSD: statistics.actualUSD,
            elapsedSeconds: seconds(elapsed), resumed: resumed)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func logger(_ base: Logger, stage: String, worker: Int) -> Logger {
        var logger = base
        logger[metadataKey: "stage"] = "\(stage)"
        logger[metadataKey: "worker"] = "\(worker)"
        return logger
    }
}

/// Why a one-process run stopped without a summary.
public enum LocalPipelineError: Error, CustomStringConvertible {
    /// Every stage ended but the sink never finished: a bug, since the protocol turns every request into
    /// a record. The output so far is kept; rerunning into the same directory resumes.
    case endedWithoutSummary

    public var description: String {
        "the run ended before the sink wrote its summary; rerun into the same output directory to resume"
    }
}
