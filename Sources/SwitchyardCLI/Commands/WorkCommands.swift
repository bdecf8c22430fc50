import ArgumentParser
import Dispatch
import Foundation
import Logging
import Pipeline
import Wire
import WorkProtocol
import WorkRuntime
import ZeroMQ

/// `switchyard work ...`: the work protocol with synthetic tasks, as real processes, for the
/// kill/stop/restart tests and the protocol benchmark. Hidden: not a user-facing verb.
struct WorkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "work",
        abstract: "Synthetic runs of the work protocol (tests and benchmarks).",
        shouldDisplay: false,
        subcommands: [WorkCoordinatorCommand.self, WorkWorkerCommand.self]
    )
}

/// Coordinator plus a synthetic producer (`task-0` ... `task-N-1`) and a consumer that writes
/// each outcome once to `--output`. Prints a JSON summary on stdout when the run is finished.
struct WorkCoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Run a coordinator with a synthetic producer and a result-file consumer."
    )

    @Option(help: "Endpoint to bind, e.g. tcp://127.0.0.1:5555.") var endpoint: String
    @Option(help: "Comma-separated stage chain.") var stages: String = "profile,score,dispatch"
    @Option(help: "Synthetic requests to submit.") var count: Int = 10_000
    @Option(name: .customLong("payload-bytes"), help: "Bytes of each synthetic payload.") var payloadBytes: Int = 64
    @Option(help: "Journal file (resume after a crash); none when unset.") var journal: String?
    @Option(help: "Result file (one line per request; resumed runs skip IDs already there).") var output: String
    @Option(help: "Most requests in flight (accepted, not acknowledged).") var window: Int = 1_000
    @Option(name: .customLong("max-attempts")) var maxAttempts: UInt16 = 3
    @Option(name: .customLong("lease-ms")) var leaseMillis: UInt32 = 60_000
    @Option(name: .customLong("worker-timeout-ms")) var workerTimeoutMillis: UInt64 = 3_000
    @Option(name: .customLong("heartbeat-ms")) var heartbeatMillis: UInt64 = 500
    @Option(name: .customLong("log-level")) var logLevel: String = "warning"
    @Option(name: .customLong("payload-text"), help: "Each payload is this text and the request's number (instead of x bytes).")
    var payloadText: String?
    @Option(name: .customLong("key-dir"), help: "CURVE: this coordinator's key pair directory (with --authorized).") var keyDir: String?
    @Option(help: "CURVE: directory of the workers' public keys (NAME.key) the coordinator admits.") var authorized: String?
    @Option(name: .customLong("max-worker-credit")) var maxWorkerCredit: Int = 1_024

    func run() async throws {
        let logger = ProcessLogging.bootstrap(label: "switchyard.work.coordinator", level: logLevel, console: Console())
        let work = WorkCoordinatorConfiguration(
            stages: stages.split(separator: ",").map(String.init), maxAttempts: maxAttempts, leaseMillis: leaseMillis,
            workerTimeoutMillis: workerTimeoutMillis, heartbeatIntervalMillis: heartbeatMillis, window: window,
            maxWorkerCredit: maxWorkerCredit)
        let context = try Context()
        // CURVE: the in-process producer and consumer connect with the coordinator's own pair, which the ZAP policy admits too.
        var serverSecurity = LinkSecurity.plain
        var clientSecurity = LinkSecurity.plain
        var authenticator: ZAPHandler?
        if let keyDir, let authorized {
            let pair = try CurveKeyFiles.loadKeyPair(directory: keyDir)
            let keys = try AuthorizedKeys(directory: authorized, logger: logger)
            let zap = try ZAPHandler(context: context) { request in
                request.clientKey == pair.publicKey ? .allow(userID: "coordinator") : keys.decide(request)
            }
            authenticator = zap
            serverSecurity = LinkSecurity(role: .curveServer(keyPair: pair, authenticator: zap))
            clientSecurity = LinkSecurity(role: .curveClient(keyPair: pair, serverKey: pair.publicKey))
        }
        defer { authenticator?.stop() }
        let server = try CoordinatorServer(
            configuration: .init(endpoint: endpoint, work: work, journalPath: journal, security: serverSecurity), context: context, logger: logger)
        let started = Date()
        async let served = server.run()
        guard let bound = await Task.detached(operation: { server.waitUntilBound() }).value else {
            _ = try await served
            throw ExitCode(1)
        }
        let connect = bound.replacingOccurrences(of: "0.0.0.0", with: "127.0.0.1")
        let results = try ResultLogFile(path: output)
        let consumer = WorkConsumer(configuration: .init(endpoint: connect, heartbeatIntervalMillis: heartbeatMillis, security: clientSecurity),
                                    context: context, logger: logger)
        let producer = WorkProducer(configuration: .init(endpoint: connect, heartbeatIntervalMillis: heartbeatMillis, security: clientSecurity),
                                    context: context, logger: logger)
        let total = count
        let body = Data(repeating: UInt8(ascii: "x"), count: payloadBytes)
        let text = payloadText
        async let consumed = consumer.run(write: { results.write($0) }, flush: { try results.flush() })
        async let produced = producer.run {
            var index = 0
            return AnyIterator<WorkItem> {
                guard index < total else { return nil }
                defer { index += 1 }
                return WorkItem(requestID: "task-\(index)", payload: text.map { Data("\($0) #\(index)".utf8) } ?? body)
            }
        }
        let (recovery, stats) = try await served
        let producerStats = try await produced
        _ = try await consumed
        let summary: [String: Double] = [
            "elapsedSeconds": Date().timeIntervalSince(started),
            "accepted": Double(stats.accepted), "completed": Double(stats.completed),
            "alreadyDone": Double(stats.alreadyDone), "requeued": Double(stats.requeued),
            "staleIgnored": Double(stats.staleIgnored), "exhausted": Double(stats.exhausted),
            "workersLost": Double(stats.workersLost), "duplicateSubmits": Double(stats.duplicateSubmits),
            "refused": Double(stats.refused), "refusedFrames": Double(stats.refusedFrames),
            "announcementsHeld": Double(stats.announcementsHeld),
            "producerRestarts": Double(producerStats.restarts), "resultsInFile": Double(results.count),
            "duplicatesSkipped": Double(results.duplicatesSkipped),
            "journalRecords": Double(recovery.records), "journalTruncatedBytes": Double(recovery.truncatedBytes),
            "journalUnfinished": Double(recovery.unfinished),
        ]
        let json = try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys])
        FileHandle.standardOutput.write(json + Data("\n".utf8))
    }
}

/// A stage worker whose handler appends the stage name to the payload after `--work-ms`.
/// SIGTERM/SIGINT drain it: leased tasks finish, then it leaves.
struct WorkWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a synthetic stage worker."
    )

    @Option(help: "Coordinator endpoint, e.g. tcp://127.0.0.1:5555.") var endpoint: String
    @Option(help: "Stage to serve.") var stage: String
    @Option(help: "Tasks held at once.") var credit: UInt32 = 16
    @Option(name: .customLong("work-ms"), help: "Simulated work per task in milliseconds.") var workMillis: Int = 0
    @Option(name: .customLong("fail-every"), help: "Answer a permanent FAIL for every Nth task (0: never).") var failEvery: Int = 0
    @Option(name: .customLong("heartbeat-ms")) var heartbeatMillis: UInt64 = 500
    @Option(name: .customLong("log-level")) var logLevel: String = "warning"
    @Option(name: .customLong("key-dir"), help: "CURVE: this worker's key pair directory (with --server-key).") var keyDir: String?
    @Option(name: .customLong("server-key"), help: "CURVE: the coordinator's public key (file or 40 Z85 characters).") var serverKey: String?

    func run() async throws {
        let logger = ProcessLogging.bootstrap(label: "switchyard.work.worker", level: logLevel, console: Console())
        let context = try Context()
        var security = LinkSecurity.plain
        if let keyDir, let serverKey {
            security = LinkSecurity(role: .curveClient(keyPair: try CurveKeyFiles.loadKeyPair(directory: keyDir),
                                                       serverKey: try CurveKeyFiles.publicKey(serverKey)))
        }
        let suffix = Data("|\(stage)".utf8)
        let work = workMillis
        let failEvery = failEvery
        let worker = try StageWorker(
            configuration: .init(endpoint: endpoint, stage: stage, credit: credit, heartbeatIntervalMillis: heartbeatMillis, security: security),
            context: context, logger: logger
        ) { task, payload in
            if work > 0 { try await Task.sleep(for: .milliseconds(work)) }
            if failEvery > 0, let line = Int(task.requestID.split(separator: "-").last ?? ""), line % failEvery == 0 {
                throw StageFailure.permanent("synthetic failure of \(task.requestID)")
            }
            return payload + suffix
        }
        // One ServiceGroup: SIGTERM/SIGINT drain the worker (leased tasks finish, then it leaves).
        try await StageProcess.run(StageWorkerService(workers: [worker], context: context, logger: logger), metrics: nil, logger: logger)
        let stats = worker.stats
        FileHandle.standardOutput.write(Data("{\"done\":\(stats.done),\"failed\":\(stats.failed),\"resets\":\(stats.resets)}\n".utf8))
    }
}
