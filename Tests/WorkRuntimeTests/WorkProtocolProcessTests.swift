import Foundation
import Testing
import WorkProtocolTestSupport

/// Real processes on loopback: the built `switchyard` binary runs `work coordinator` and
/// `work worker`; the tests kill, stop and restart them and check the result file.
@Suite("Work protocol: real processes", .serialized)
struct WorkProtocolProcessTests {
    static let binary = switchyardBinary

    func requireBinary() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary),
                     "\(Self.binary) is missing: run `swift build` first (the process tests spawn it)")
    }

    final class Run: @unchecked Sendable {  // used by one test at a time (and its timed thread, in turn)
        let directory: URL
        let port: Int
        var endpoint: String { "tcp://127.0.0.1:\(port)" }
        var output: String { directory.appendingPathComponent("results.tsv").path }
        var journal: String { directory.appendingPathComponent("journal").path }
        var workers: [Process] = []

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("work-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            port = try freePort()
        }

        deinit {
            for worker in workers where worker.isRunning { kill(worker.processIdentifier, SIGKILL) }
            try? FileManager.default.removeItem(at: directory)
        }

        func coordinator(_ extra: [String]) throws -> (Process, Pipe) {
            let pipe = Pipe()
            let process = try spawn(["work", "coordinator", "--endpoint", endpoint, "--output", output,
                                     "--heartbeat-ms", "100", "--worker-timeout-ms", "600"] + extra, stdout: pipe)
            return (process, pipe)
        }

        @discardableResult
        func worker(stage: String, _ extra: [String] = []) throws -> Process {
            let process = try spawn(["work", "worker", "--endpoint", endpoint, "--stage", stage, "--heartbeat-ms", "100"] + extra,
                                    stdout: Pipe())
            workers.append(process)
            return process
        }

        func spawn(_ arguments: [String], stdout: Pipe) throws -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: WorkProtocolProcessTests.binary)
            process.arguments = arguments
            process.standardOutput = stdout
            try process.run()
            return process
        }

        /// Waits for the coordinator to finish (fails the test after `seconds`) and decodes its summary.
        func summary(_ process: Process, _ pipe: Pipe, seconds: Double = 60) async throws -> [String: Double] {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { try await pause(20_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                Issue.record("coordinator did not finish within \(seconds) s")
            }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            let object = try JSONSerialization.jsonObject(with: data.isEmpty ? Data("{}".utf8) : data)
            return object as? [String: Double] ?? [:]
        }

        /// The result file as requestID → [status], checking each line is well formed.
        func results() throws -> [String: [String]] {
            let text = try String(contentsOfFile: output, encoding: .utf8)
            var seen: [String: [String]] = [:]
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: "\t").map(String.init)
                seen[fields[0], default: []].append(fields.count > 1 ? fields[1] : "?")
            }
            return seen
        }

        func lineCount() -> Int {
            (try? String(contentsOfFile: output, encoding: .utf8))?.split(separator: "\n").count ?? 0
        }

        func stopWorkers() async {
            for worker in workers where worker.isRunning { kill(worker.processIdentifier, SIGKILL) }
            for worker in workers { await waitForExit(worker) }
        }
    }

    func expectExactlyOnce(_ run: Run, count: Int) throws {
        let results = try run.results()
        #expect(results.count == count, "every task has a result line")
        #expect(results.values.allSatisfy { $0 == ["completed"] }, "each task written once, completed")
        for index in [0, count / 2, count - 1] { #expect(results["task-\(index)"] != nil) }
    }

    @Test("kill -9 one of 4 workers every 100 ms of a 100k-task run: every task done exactly once")
    func killWorkers() async throws {
        try requireBinary()
        let run = try Run()
        let count = 100_000
        let (coordinator, pipe) = try run.coordinator(["--count", "\(count)", "--stages", "a,b", "--max-attempts", "20", "--window", "400"])
        let first = [("a", try run.worker(stage: "a")), ("a", try run.worker(stage: "a")),
                     ("b", try run.worker(stage: "b")), ("b", try run.worker(stage: "b"))]
        // The kills follow the wall clock, so they run on their own thread: a starved cooperative pool
        // (other suites running) must not let the whole run finish between two kills.
        let kills = try await onTimedThread { () throws -> Int in
            var live = first
            var kills = 0
            var victim = 0
            while coordinator.isRunning && kills < 60 {
                usleep(100_000)
                guard coordinator.isRunning else { break }
                let (stage, process) = live[victim % live.count]
                kill(process.processIdentifier, SIGKILL)
                live[victim % live.count] = (stage, try run.worker(stage: stage))
                victim += 1
                kills += 1
            }
            return kills
        }
        let summary = try await run.summary(coordinator, pipe)
        await run.stopWorkers()
        #expect(kills >= 3, "the run was long enough to kill workers during it")
        #expect(summary["completed"] == Double(count))
        try expectExactlyOnce(run, count: count)
    }

    @Test("SIGSTOP a worker past its lease: its tasks go to another worker, its late answers are ignored")
    func stopWorker() async throws {
        try requireBinary()
        let run = try Run()
        let count = 4_000
        let (coordinator, pipe) = try run.coordinator(["--count", "\(count)", "--stages", "a"])
        let stopped = try run.worker(stage: "a", ["--work-ms", "5", "--credit", "2"])
        let outlasted = try await onTimedThread { () throws -> Bool in
            // The worker to be stopped runs alone until results appear: then it has joined and, with the
            // queue full, always holds tasks (a fixed delay was not enough under the other suites' load:
            // it was stopped before it joined, so it had nothing to lose).
            let deadline = Date().addingTimeInterval(30)
            while run.lineCount() == 0 && coordinator.isRunning && Date() < deadline { usleep(10_000) }
            try run.worker(stage: "a", ["--work-ms", "5", "--credit", "2"])
            kill(stopped.processIdentifier, SIGSTOP)
            usleep(1_500_000)  // well past the 600 ms worker timeout
            let running = coordinator.isRunning
            kill(stopped.processIdentifier, SIGCONT)
            return running
        }
        #expect(outlasted, "the run outlasted the stop, so late answers can arrive")
        let summary = try await run.summary(coordinator, pipe)
        await run.stopWorkers()
        #expect(summary["workersLost"] ?? 0 >= 1)
        #expect(summary["requeued"] ?? 0 >= 1)
        #expect(summary["staleIgnored"] ?? 0 >= 1, "the stopped worker's late DONEs were ignored")
        try expectExactlyOnce(run, count: count)
    }

    @Test("kill -9 the coordinator mid-run and restart it: the run resumes, no duplicates")
    func restartCoordinator() async throws {
        try requireBinary()
        let run = try Run()
        let count = 6_000
        let arguments = ["--count", "\(count)", "--stages", "a,b", "--journal", run.journal]
        let (first, firstPipe) = try run.coordinator(arguments)
        try run.worker(stage: "a")
        try run.worker(stage: "b")
        let deadline = Date().addingTimeInterval(30)
        while run.lineCount() < count / 4 && first.isRunning && Date() < deadline { try await pause(10_000) }
        #expect(first.isRunning, "the first coordinator was still running when killed")
        kill(first.processIdentifier, SIGKILL)
        await waitForExit(first)
        _ = firstPipe
        let before = run.lineCount()
        #expect(before > 0 && before < count)
        let (second, secondPipe) = try run.coordinator(arguments)
        let summary = try await run.summary(second, secondPipe)
        await run.stopWorkers()
        #expect(summary["alreadyDone"] ?? 0 > 0, "journaled completions were skipped")
        #expect(summary["producerRestarts"] == 0)
        try expectExactlyOnce(run, count: count)
    }

    @Test("a worker joining mid-run gets work")
    func joinMidRun() async throws {
        try requireBinary()
        let run = try Run()
        // The first worker alone would need 200 × 20 ms = 4 s (one task at a time), so the late one joins
        // with most of the run left even when a loaded machine is slow to start it (a CI run once saw a
        // faster first worker finish everything before the late one connected).
        let count = 200
        let (coordinator, pipe) = try run.coordinator(["--count", "\(count)", "--stages", "a"])
        try run.worker(stage: "a", ["--work-ms", "20", "--credit", "1"])
        try await pause(300_000)
        let latePipe = Pipe()
        let late = try run.spawn(["work", "worker", "--endpoint", run.endpoint, "--stage", "a", "--credit", "4",
                                  "--work-ms", "3", "--heartbeat-ms", "100"], stdout: latePipe)
        run.workers.append(late)
        _ = try await run.summary(coordinator, pipe)
        let deadline = Date().addingTimeInterval(5)
        while late.isRunning && Date() < deadline { try await pause(20_000) }
        if late.isRunning { kill(late.processIdentifier, SIGTERM) }
        await waitForExit(late)
        let stats = try JSONSerialization.jsonObject(with: latePipe.fileHandleForReading.readDataToEndOfFile()) as? [String: Int]
        #expect((stats?["done"] ?? 0) > 0, "the late worker did tasks")
        await run.stopWorkers()
        try expectExactlyOnce(run, count: count)
    }
}
