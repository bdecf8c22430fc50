import Foundation
import Logging
import Synchronization
import SwitchyardCore

/// Every stage in one process: ingest → profile ×N → score ×N → dispatch ×N → sink, connected by
/// in-memory queues, with at most `RunOptions.window` requests between ingest and the sink.
///
/// The stage logic is the same plain types the `stage` processes run; only the transport differs.
/// Resumable: records already in the output directory are skipped, so a rerun after a crash finishes
/// the batch without duplicates.
public struct LocalPipeline: Sendable {
    public let configuration: PipelineConfiguration
    public let components: PipelineComponents
    public let options: RunOptions

    public init(configuration: PipelineConfiguration, components: PipelineComponents, options: RunOptions) {
        self.configuration = configuration
        self.components = components
        self.options = options
    }

    /// Runs the batch to the end and writes `summary.json`. `onProgress` is called after records are
    /// written (at most every 100 ms) and once at the end, from the sink task.
    public func run(logger: Logger, onProgress: @escaping @Sendable (RunProgress) -> Void = { _ in }) async throws -> RunSummary {
        let started = ContinuousClock.now
        let parser = LineParser(poolModels: Set(configuration.models.map(\.name)),
                                maxPromptCharacters: configuration.ingest.maxPromptCharacters)
        let ingest = try Ingest(path: options.input, parser: parser)
        let sink = try ResultSink(directory: options.outputDirectory, ordered: options.ordered)
        let alreadyDone = sink.completedCount
        let skip = Set((1...max(1, ingest.lineCount)).map { RequestID(fileDigest: ingest.fileDigest, line: $0).description }
            .filter { sink.isCompleted($0) })
        logger.info("run starting", metadata: [
            "input": "\(options.input)", "lines": "\(ingest.lineCount)", "digest": "\(ingest.fileDigest)",
            "resumed": "\(alreadyDone)", "output": "\(options.outputDirectory)", "dry_run": "\(options.dryRun)",
        ])

        let window = InFlightWindow(size: options.window)
        let profileQueue = WorkQueue<PipelineRequest>()
        let scoreQueue = WorkQueue<ProfiledRequest>()
        let dispatchQueue = WorkQueue<RoutedRequest>()
        let sinkQueue = WorkQueue<OutputRecord>()
        let stages = StageMetrics()
        let components = self.components
        let stagesConfiguration = configuration.stages
        let total = ingest.lineCount

        let input = options.input
        let budgetUSD = options.budgetUSD ?? configuration.router.budgetUSD
        let dryRun = options.dryRun
        // The sink is owned by this task alone from here on.
        let sinkTask = Task { () throws -> (RunSummary, duplicates: Int) in
            var lastReport = ContinuousClock.now
            while let record = await sinkQueue.next() {
                try sink.write(record)
                window.release()
                let now = ContinuousClock.now
                if now - lastReport >= .milliseconds(100) {
                    lastReport = now
                    onProgress(Self.progress(sink, total: total, since: started, resumed: alreadyDone))
                }
            }
            onProgress(Self.progress(sink, total: total, since: started, resumed: alreadyDone))
            let summary = try sink.finish(
                input: input, inputLines: total, budgetUSD: budgetUSD,
                wallSeconds: Self.seconds(ContinuousClock.now - started), dryRun: dryRun)
            return (summary, sink.duplicatesDropped)
        }

        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for item in ingest {
                    guard let id = item.requestID, !skip.contains(id.description) else { continue }
                    await window.acquire()
                    switch item {
                    case .request(let request): profileQueue.send(request)
                    case .rejected(let record):
                        stages.count(record)
                        sinkQueue.send(record)
                    }
                }
                profileQueue.finish()
            }
            group.addTask {
                await Self.workers(stagesConfiguration.profile.workers) { worker in
                    let log = Self.logger(logger, stage: "profile", worker: worker)
                    while true {
                        let batch = await profileQueue.nextBatch(maximum: stagesConfiguration.profile.batch)
                        if batch.isEmpty { break }
                        let outputs = stages.time("profile", count: batch.count) { components.profile.process(batch, logger: log) }
                        for output in outputs {
                            switch output {
                            case .next(let profiled): scoreQueue.send(profiled)
                            case .finished(let record): stages.count(record); sinkQueue.send(record)
                            }
                        }
                    }
                }
                scoreQueue.finish()
            }
            group.addTask {
                await Self.workers(stagesConfiguration.score.workers) { worker in
                    let log = Self.logger(logger, stage: "score", worker: worker)
                    while let item = await scoreQueue.next() {
                        switch stages.time("score", count: 1, { components.score.process(item, logger: log) }) {
                        case .next(let routed): dispatchQueue.send(routed)
                        case .finished(let record): stages.count(record); sinkQueue.send(record)
                        }
                    }
                }
                dispatchQueue.finish()
            }
            group.addTask {
                let lanes = stagesConfiguration.dispatch.workers * stagesConfiguration.dispatch.concurrency
                await Self.workers(lanes) { lane in
                    let log = Self.logger(logger, stage: "dispatch", worker: lane)
                    while let item = await dispatchQueue.next() {
                        let start = ContinuousClock.now
                        let record = await components.dispatch.process(item, logger: log)
                        stages.observe("dispatch", since: start)
                        stages.count(record)
                        sinkQueue.send(record)
                    }
                }
                sinkQueue.finish()
            }
        }
        let (summary, duplicates) = try await sinkTask.value
        try? await components.dispatcher?.shutdown()
        logger.info("run finished", metadata: [
            "results": "\(summary.results)", "errors": "\(summary.errors)",
            "wall_seconds": "\(String(format: "%.2f", summary.wallSeconds))", "duplicates_dropped": "\(duplicates)",
        ])
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

    static func workers(_ count: Int, _ body: @escaping @Sendable (Int) async -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<max(1, count) { group.addTask { await body(worker) } }
        }
    }
}
