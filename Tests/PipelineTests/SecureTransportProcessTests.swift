import Foundation
import Synchronization
import SwitchyardCore
import Testing
import Wire
import ZeroMQ
@testable import Pipeline
import WorkProtocolTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// CURVE between real processes on loopback: the built `switchyard` binary makes the keys
/// (`keys generate`) and runs `work coordinator` / `work worker` with them.
@Suite("Security: CURVE between real processes", .serialized)
struct SecureTransportProcessTests {
    static let binary = switchyardBinary

    /// A run's directory, key pairs and processes (each with its stderr in a log file).
    final class Secure: @unchecked Sendable {  // used by one test at a time
        let directory: URL
        let port: Int
        var processes: [Process] = []
        var endpoint: String { "tcp://127.0.0.1:\(port)" }
        var output: String { path("results.tsv") }
        var authorized: String { path("authorized") }

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("secure-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: directory.appendingPathComponent("authorized").path, withIntermediateDirectories: true)
            port = try freePort()
        }

        deinit {
            for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
            try? FileManager.default.removeItem(at: directory)
        }

        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

        /// `switchyard keys generate --out keys/NAME`; with `authorize`, its public key goes into `authorized/NAME.key`.
        @discardableResult
        func keys(_ name: String, authorize: Bool) throws -> CurvePublicKey {
            let process = try spawn(["keys", "generate", "--out", path("keys/\(name)")], log: "keys-\(name)")
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "keys generate failed: \(log("keys-\(name)"))")
            if authorize {
                try FileManager.default.copyItem(atPath: path("keys/\(name)/public.key"), toPath: path("authorized/\(name).key"))
            }
            return try CurveKeyFiles.loadKeyPair(directory: path("keys/\(name)")).publicKey
        }

        func coordinator(_ extra: [String], curve: Bool) throws -> (Process, Pipe) {
            let pipe = Pipe()
            var arguments = ["work", "coordinator", "--endpoint", endpoint, "--output", output,
                             "--heartbeat-ms", "100", "--worker-timeout-ms", "1000", "--log-level", "info"] + extra
            if curve { arguments += ["--key-dir", path("keys/coordinator"), "--authorized", authorized] }
            return (try spawn(arguments, log: "coordinator", stdout: pipe), pipe)
        }

        @discardableResult
        func worker(_ name: String, stage: String = "a", endpoint: String? = nil, curve: Bool, _ extra: [String] = []) throws -> (Process, Pipe) {
            let pipe = Pipe()
            var arguments = ["work", "worker", "--endpoint", endpoint ?? self.endpoint, "--stage", stage, "--heartbeat-ms", "100",
                             "--log-level", "info"] + extra
            if curve { arguments += ["--key-dir", path("keys/\(name)"), "--server-key", path("keys/coordinator/public.key")] }
            return (try spawn(arguments, log: name, stdout: pipe), pipe)
        }

        func spawn(_ arguments: [String], log name: String, stdout: Pipe? = nil) throws -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: SecureTransportProcessTests.binary)
            process.arguments = arguments
            FileManager.default.createFile(atPath: path("\(name).log"), contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path("\(name).log")))
            process.standardError = handle
            process.standardOutput = stdout ?? handle
            try process.run()
            processes.append(process)
            return process
        }

        func log(_ name: String) -> String { (try? String(contentsOfFile: path("\(name).log"), encoding: .utf8)) ?? "" }

        /// Waits for the coordinator's summary (fails the test after `seconds`).
        func summary(_ process: Process, _ pipe: Pipe, seconds: Double = 90) async throws -> [String: Double] {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { try await pause(20_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                Issue.record("coordinator did not finish within \(seconds) s; its log:\n\(log("coordinator").suffix(2_000))")
            }
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            return (try JSONSerialization.jsonObject(with: data.isEmpty ? Data("{}".utf8) : data)) as? [String: Double] ?? [:]
        }

        func exited(_ process: Process, within seconds: Double) async throws -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { try await pause(20_000) }
            return !process.isRunning
        }

        func lineCount() -> Int {
            (try? String(contentsOfFile: output, encoding: .utf8))?.split(separator: "\n").count ?? 0
        }

        func expectExactlyOnce(count: Int, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let text = try String(contentsOfFile: output, encoding: .utf8)
            var seen: [String: [String]] = [:]
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: "\t").map(String.init)
                seen[fields[0], default: []].append(fields.count > 1 ? fields[1] : "?")
            }
            #expect(seen.count == count, "every task has a result line", sourceLocation: sourceLocation)
            #expect(seen.values.allSatisfy { $0 == ["completed"] }, "each task written once, completed", sourceLocation: sourceLocation)
        }

        func stopAll() async {
            for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
            for process in processes { await waitForExit(process) }
        }
    }

    func requireBinary() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary),
                     "\(Self.binary) is missing: run `swift build` first (the process tests spawn it)")
        try #require(Curve.isAvailable, "libzmq without CURVE: install Debian's libzmq5 (scripts/setup)")
    }

    @Test("a worker with an unknown key is refused and gets no task; the admitted worker finishes the batch; both ends report CURVE")
    func unknownKeyRefused() async throws {
        try requireBinary()
        let run = try Secure()
        try run.keys("coordinator", authorize: false)
        try run.keys("good", authorize: true)
        let stranger = try run.keys("stranger", authorize: false)
        let count = 2_000
        let (coordinator, pipe) = try run.coordinator(["--count", "\(count)", "--stages", "a"], curve: true)
        let (intruder, intruderOut) = try run.worker("stranger", curve: true)
        let refusedInTime = try await run.exited(intruder, within: 30)
        #expect(refusedInTime, "the refused worker stops instead of waiting forever")
        #expect(intruder.terminationStatus != 0)
        #expect(run.log("stranger").contains("refused this process's CURVE key"), "\(run.log("stranger").suffix(1_000))")
        #expect(intruderOut.fileHandleForReading.readDataToEndOfFile().isEmpty, "no stats: it never served a task")
        #expect(run.lineCount() == 0, "nothing was done before an admitted worker came")

        let (good, goodOut) = try run.worker("good", curve: true, ["--credit", "8"])
        let summary = try await run.summary(coordinator, pipe)
        _ = try await run.exited(good, within: 10)
        await run.stopAll()
        #expect(summary["completed"] == Double(count))
        try run.expectExactlyOnce(count: count)
        let stats = try JSONSerialization.jsonObject(with: goodOut.fileHandleForReading.readDataToEndOfFile()) as? [String: Int]
        #expect(stats?["done"] == count, "the admitted worker did every task")

        let coordinatorLog = run.log("coordinator")
        #expect(coordinatorLog.contains("refused a connection"), "\(coordinatorLog.suffix(2_000))")
        #expect(coordinatorLog.contains("key=\(stranger.z85)") || coordinatorLog.contains("key=\"\(stranger.z85)\""), "the refusal names the key")
        #expect(coordinatorLog.contains("address=127.0.0.1"), "the refusal names the address")
        #expect(coordinatorLog.contains("mechanism=CURVE") && coordinatorLog.contains("coordinator listening"))
        let goodLog = run.log("good")
        #expect(goodLog.contains("connected to coordinator") && goodLog.contains("mechanism=CURVE"), "\(goodLog.suffix(1_000))")
    }

    @Test("an admitted peer sending 10,000 random, truncated and out-of-order frames: good workers finish, nothing lost, every frame refused")
    func hostileFrames() async throws {
        try requireBinary()
        let run = try Secure()
        try run.keys("coordinator", authorize: false)
        try run.keys("good-1", authorize: true)
        try run.keys("good-2", authorize: true)
        try run.keys("hostile", authorize: true)
        let count = 6_000
        let (coordinator, pipe) = try run.coordinator(["--count", "\(count)", "--stages", "a,b"], curve: true)
        try run.worker("good-1", stage: "a", curve: true, ["--credit", "2", "--work-ms", "1"])
        try run.worker("good-2", stage: "b", curve: true, ["--credit", "2", "--work-ms", "1"])
        let deadline = Date().addingTimeInterval(60)
        while run.lineCount() == 0 && coordinator.isRunning && Date() < deadline { try await pause(10_000) }

        let hostilePair = try CurveKeyFiles.loadKeyPair(directory: run.path("keys/hostile"))
        let serverKey = try CurveKeyFiles.publicKey(run.path("keys/coordinator/public.key"))
        let endpoint = run.endpoint
        let frames = HostileFrames.make(count: 10_000, seed: 0x5eed)
        let sent = try await onTimedThread { () throws -> (Bool, Int) in
            let context = try Context()
            let dealer = try context.socket(.dealer, options: SocketOptions(linger: .seconds(2), curve: .client(hostilePair, serverKey: serverKey)))
            try dealer.connect(endpoint)
            for frame in frames.messages { try dealer.send(frame) }
            usleep(1_000_000)
            let stillRunning = coordinator.isRunning
            dealer.close()
            return (stillRunning, frames.messages.count)
        }
        #expect(sent.0, "the run outlasted the flood, so every hostile frame reached a live coordinator")
        let summary = try await run.summary(coordinator, pipe)
        await run.stopAll()
        #expect(summary["completed"] == Double(count))
        try run.expectExactlyOnce(count: count)
        #expect(summary["refusedFrames"] == Double(frames.undecodable), "every undecodable frame refused (\(frames.undecodable) sent)")
        // An ACK of a request not in flight, from a peer that has not joined as consumer, is held for its
        // HELLO (never, here) instead of refused: either way it is not applied.
        #expect((summary["refused"] ?? 0) + (summary["announcementsHeld"] ?? 0) >= Double(frames.outOfOrderRefusals),
                "out-of-order messages refused or held")
        let log = run.log("coordinator")
        for reason in ["reason=malformed", "reason=version", "reason=multipart"] {
            #expect(log.contains(reason), "a refusal logged as \(reason)")
        }
        #expect(log.contains("peer_key=hostile"), "refusals name the admitted peer they came from")
        #expect(log.contains("suppressed_since_last"), "the flood is summarised, not logged line by line")
        #expect(log.components(separatedBy: "refused a frame").count < 2_000, "logging stays bounded")
    }

    @Test("a plaintext capture shows the prompt text without CURVE and none of it with CURVE")
    func capture() async throws {
        try requireBinary()
        let canary = "PROMPT-CANARY-7f3a: summarise the quarterly report for the board"
        for curve in [false, true] {
            let run = try Secure()
            try run.keys("coordinator", authorize: false)
            try run.keys("worker", authorize: true)
            let count = 300
            let (coordinator, pipe) = try run.coordinator(["--count", "\(count)", "--stages", "a", "--payload-text", canary], curve: curve)
            let proxy = try RecordingProxy(upstreamPort: run.port)
            defer { proxy.stop() }
            try run.worker("worker", endpoint: "tcp://127.0.0.1:\(proxy.port)", curve: curve)
            let summary = try await run.summary(coordinator, pipe)
            await run.stopAll()
            #expect(summary["completed"] == Double(count), "curve \(curve)")
            try run.expectExactlyOnce(count: count)
            #expect(proxy.bytes.count > count * canary.utf8.count, "the tasks crossed the proxy (curve \(curve))")
            if curve {
                #expect(!proxy.saw("PROMPT-CANARY"), "no prompt text on the wire under CURVE")
                #expect(!proxy.saw("quarterly report"))
                #expect(run.log("worker").contains("mechanism=CURVE"))
            } else {
                #expect(proxy.saw(canary), "without CURVE the prompt crosses in clear (the capture works)")
                #expect(run.log("worker").contains("mechanism=NULL"))
            }
        }
    }
}

/// 10,000 frames no coordinator should act on, from a deterministic generator: random bytes, valid
/// frames cut short, frames of another wire version, multipart messages, and well-formed messages out
/// of order (DONE, ACK, EXTEND and SUBMIT from a peer that holds no lease and is neither producer nor
/// consumer; messages only the coordinator sends). READY and HELLO are left out: an admitted peer that
/// announces itself as a worker or producer is one (authentication is the boundary).
struct HostileFrames {
    var messages: [[[UInt8]]] = []
    /// Frames the codec cannot decode, plus multipart messages: each counted in `refusedFrames`.
    var undecodable = 0
    /// Out-of-order messages refused by the state machine (stats.refused), or held (an ACK of a request not in flight).
    var outOfOrderRefusals = 0

    static func make(count: Int, seed: UInt64) -> HostileFrames {
        var generator = SplitMix64(seed: seed)
        var result = HostileFrames()
        let valid: [WireMessage] = [
            .ready(stage: "a", credit: 4), .done(taskID: 12, payload: Data(repeating: 1, count: 40)),
            .submit(requestID: "task-1", payload: Data("payload".utf8)), .ack(requestID: "task-2"),
            .hello(role: .consumer, credit: 10), .fail(taskID: 3, permanent: true, reason: "x"), .extend(taskID: 9),
        ]
        while result.messages.count < count {
            switch generator.next() % 8 {
            case 0, 1:  // random bytes of random length (0 to 300)
                let length = Int(generator.next() % 301)
                result.append([(0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }])
            case 2, 3:  // a valid frame (or batch) cut short
                var frame = WireCodec.encode(batch: (0..<Int(1 + generator.next() % 3)).map { _ in valid[Int(generator.next() % UInt64(valid.count))] })
                frame.removeLast(Int(1 + generator.next() % UInt64(frame.count)))
                result.append([frame])
            case 4:  // another wire version
                var frame = WireCodec.encode(valid[Int(generator.next() % UInt64(valid.count))])
                frame[0] = WireFormat.version &+ UInt8(1 + generator.next() % 200)
                result.append([frame])
            case 5:  // a multipart message
                result.messages.append([WireCodec.encode(.heartbeat), WireCodec.encode(.ack(requestID: "x"))])
                result.undecodable += 1
            case 6:  // well-formed, out of order: refused by the state machine
                let message: WireMessage = [.submit(requestID: "forged-\(generator.next() % 1000)", payload: Data("forged".utf8)),
                                            .ack(requestID: "task-\(generator.next() % 100)"), .endOfInput,
                                            .grant(credit: 5), .finished][Int(generator.next() % 5)]
                result.messages.append([WireCodec.encode(message)])
                result.outOfOrderRefusals += 1
            default:  // well-formed answers for leases this peer never held: ignored as stale
                let message: WireMessage = [.done(taskID: generator.next(), payload: Data("forged result".utf8)),
                                            .fail(taskID: generator.next(), permanent: true, reason: "forged"),
                                            .extend(taskID: generator.next())][Int(generator.next() % 3)]
                result.messages.append([WireCodec.encode(message)])
            }
        }
        return result
    }

    /// Adds a one-frame message, counting it as undecodable unless it decodes (a READY or HELLO that
    /// survived by chance is dropped, never sent: see above).
    private mutating func append(_ message: [[UInt8]]) {
        var decoded: [WireMessage] = []
        if (try? WireCodec.decodeAll(message[0], into: &decoded)) != nil {
            if decoded.contains(where: { if case .ready = $0 { return true }; if case .hello = $0 { return true }; return false }) { return }
            messages.append(message)
            return
        }
        messages.append(message)
        undecodable += 1
    }
}
