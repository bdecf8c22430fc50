import ArgumentParser
import Dispatch
import Foundation
import Logging
import Pipeline
import SwitchyardCore
import Wire
import WorkProtocol
import WorkRuntime
import ZeroMQ

/// `SwitchyardBench protocol`: the work protocol against its peers, measured in the same run:
/// binary frames vs length-prefixed JSON; tasks/s through coordinator + N workers vs raw
/// PUSH/PULL on tcp loopback for several credits (alternating pairs, medians); the protocol with CURVE
/// vs plain text (alternating pairs); end-to-end latency at one request in flight; RSS over a long run.
struct ProtocolBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "protocol", abstract: "Work protocol throughput, latency and memory.")

    @Option(help: "Tasks per throughput case.") var tasks: Int = 100_000
    @Option(help: "Stage workers.") var workers: Int = 4
    @Option(help: "Credits to measure (comma-separated).") var credits: String = "1,10,100,1000"
    @Option(help: "Raw/protocol pairs per credit (alternating); the medians are reported, since the 2 cores are shared.")
    var rounds: Int = 3
    @Option(name: .customLong("rss-tasks"), help: "Tasks of the memory run (0 skips it).") var rssTasks: Int = 1_000_000
    @Option(name: .customLong("latency-samples")) var latencySamples: Int = 2_000
    @Option(name: .customLong("codec-iterations"), help: "Frames of the codec comparison (0 skips it, e.g. to profile the rest).")
    var codecIterations: Int = 200_000
    @Option(name: .customLong("warmup-ms"), help: "Wait before the protocol's clock starts, as raw PUSH/PULL waits for its workers to connect (0: connecting counts).")
    var warmupMillis: Int = 200
    @Option(name: .customLong("inline-handlers"), help: "Workers start the (echo) handler on their loop thread (StageWorker.Configuration.inlineHandlers).")
    var inlineHandlers: Bool = true
    @Option(name: .customLong("synchronous-handler"), help: "Workers call the (echo) handler directly on their loop thread, no Swift task per call (StageWorker's synchronousHandler); overrides --inline-handlers.")
    var synchronousHandler: Bool = true
    @Option(help: "Coordinator window of the throughput runs (0: max(1000, 2 × credit × workers)).") var window: Int = 0
    @Option(name: .customLong("consumer-credit"), help: "Results the consumer holds unacknowledged.") var consumerCredit: Int = 256
    @Option(help: "Where to write the JSON results.") var out: String = "bench-results/protocol.json"
    @Option(help: "Run raw PUSH/PULL beside the protocol (false: protocol only, e.g. under `perf stat` to count its CPU alone).")
    var raw: Bool = true
    @Option(name: .customLong("curve-credits"), help: "Credits of the CURVE vs plain comparison (comma-separated; empty skips it).")
    var curveCredits: String = "10,100"
    @Option(name: .customLong("io-threads"), help: "libzmq I/O threads of the CURVE vs plain runs (both; CURVE encrypts on them).")
    var ioThreads: Int32 = 1
    @Option(name: .customLong("process-tasks"), help: "Tasks of the CURVE vs plain runs as real processes (`switchyard work`; 0 skips them).")
    var processTasks: Int = 100_000
    @Option(help: "The switchyard binary for the process runs.") var switchyard: String = ".build/release/switchyard"

    func run() async throws {
        var logger = Logger(label: "bench.protocol")
        logger.logLevel = .error
        var report: [String: Any] = [:]

        // 1. Codec: binary vs length-prefixed JSON, one TASK frame with a 256-byte payload.
        if codecIterations > 0 {
            let codec = CodecBench.run(iterations: codecIterations)
            report["codec"] = codec
            print(String(format: "codec  binary %.0f ns/frame  json %.0f ns/frame  json/binary %.1fx  size %d vs %d bytes",
                         codec["binaryNanos"]!, codec["jsonNanos"]!, codec["jsonNanos"]! / codec["binaryNanos"]!,
                         Int(codec["binaryBytes"]!), Int(codec["jsonBytes"]!)))
            print(String(format: "codec  batch frames of 100 TASKs (reused encoder, shared-payload decode) %.0f ns/message",
                         codec["batchedBinaryNanosPerMessage"]!))
        }

        // 2. Throughput vs raw PUSH/PULL, interleaved in the same run.
        var rows: [[String: Any]] = []
        report["loadAverageAtStart"] = loadAverage()
        print("throughput, tcp loopback, \(workers) workers: medians of \(rounds) alternating raw/protocol pairs")
        print("credit   protocol tasks/s   raw PUSH/PULL msgs/s   ratio   ratio min-max   protocol CPU-µs/task")
        for credit in credits.split(separator: ",").compactMap({ Int($0) }) {
            let count = credit == 1 ? min(tasks, 20_000) : tasks
            var raws: [Double] = []
            var protocols: [Double] = []
            var ratios: [Double] = []
            var cpuPerTask: [Double] = []
            for _ in 0..<max(1, rounds) {
                let raw = self.raw ? try RawPipeline.throughput(count: count, workers: workers) : 0
                let cpuBefore = processCPUMicros()
                let protocolRate = try await ProtocolRun.throughput(count: count, workers: workers, credit: credit, window: window,
                                                                    consumerCredit: consumerCredit, warmupMillis: warmupMillis,
                                                                    inlineHandlers: inlineHandlers, synchronousHandler: synchronousHandler,
                                                                    logger: logger)
                cpuPerTask.append((processCPUMicros() - cpuBefore) / Double(count))
                raws.append(raw)
                protocols.append(protocolRate)
                ratios.append(raw > 0 ? protocolRate / raw : 0)
            }
            let raw = median(raws)
            let protocolRate = median(protocols)
            let ratio = median(ratios)
            rows.append(["credit": Double(credit), "tasks": Double(count), "protocolPerSecond": protocolRate,
                         "rawPerSecond": raw, "ratio": ratio, "ratioMin": ratios.min() ?? 0, "ratioMax": ratios.max() ?? 0,
                         "rounds": Double(ratios.count), "protocolRounds": protocols, "rawRounds": raws, "ratioRounds": ratios,
                         "protocolCPUMicrosPerTask": median(cpuPerTask), "protocolCPUMicrosPerTaskRounds": cpuPerTask])
            print(String(format: "%6d   %16.0f   %20.0f   %5.2f   %4.2f-%4.2f   %20.1f", credit, protocolRate, raw, ratio,
                         ratios.min() ?? 0, ratios.max() ?? 0, median(cpuPerTask)))
        }
        report["throughput"] = rows

        // 2b. The same protocol with CURVE on every link vs plain text, alternating pairs in one run.
        var curveRows: [[String: Any]] = []
        let curveList = curveCredits.split(separator: ",").compactMap { Int($0) }
        if !curveList.isEmpty {
            print("CURVE vs plain, tcp loopback, \(workers) workers: medians of \(rounds) alternating plain/CURVE pairs")
            print("credit   plain tasks/s   CURVE tasks/s   ratio   ratio min-max   plain CPU-µs/task   CURVE CPU-µs/task   CPU ratio (plain/CURVE)")
        }
        for credit in curveList {
            var plains: [Double] = []
            var curves: [Double] = []
            var ratios: [Double] = []
            var plainCPU: [Double] = []
            var curveCPU: [Double] = []
            for _ in 0..<max(1, rounds) {
                var rates: [Bool: Double] = [:]
                for curve in [false, true] {
                    let cpuBefore = processCPUMicros()
                    rates[curve] = try await ProtocolRun.run(
                        count: tasks, workers: workers, credit: credit, window: window > 0 ? window : max(1_000, 2 * credit * workers),
                        consumerCredit: consumerCredit, warmupMillis: warmupMillis, inlineHandlers: inlineHandlers,
                        synchronousHandler: synchronousHandler, curve: curve, ioThreads: ioThreads, logger: logger) { _ in }
                    let cpu = (processCPUMicros() - cpuBefore) / Double(tasks)
                    if curve { curveCPU.append(cpu) } else { plainCPU.append(cpu) }
                }
                let plain = rates[false] ?? 0
                let secured = rates[true] ?? 0
                plains.append(plain)
                curves.append(secured)
                ratios.append(plain > 0 ? secured / plain : 0)
            }
            // On shared cores wall time swings with the neighbours' load; CPU per task is steadier: plain/CURVE
            // CPU per task is the throughput ratio a CPU-bound machine would see.
            let cpuRatio = median(curveCPU) > 0 ? median(plainCPU) / median(curveCPU) : 0
            curveRows.append(["credit": Double(credit), "tasks": Double(tasks), "plainPerSecond": median(plains), "curvePerSecond": median(curves),
                              "ratio": median(ratios), "ratioMin": ratios.min() ?? 0, "ratioMax": ratios.max() ?? 0, "ratioRounds": ratios,
                              "plainCPUMicrosPerTask": median(plainCPU), "curveCPUMicrosPerTask": median(curveCPU),
                              "plainCPURounds": plainCPU, "curveCPURounds": curveCPU, "cpuRatio": cpuRatio])
            print(String(format: "%6d   %13.0f   %13.0f   %5.2f   %4.2f-%4.2f   %17.1f   %17.1f   %23.2f", credit, median(plains), median(curves),
                         median(ratios), ratios.min() ?? 0, ratios.max() ?? 0, median(plainCPU), median(curveCPU), cpuRatio))
        }
        if !curveRows.isEmpty { report["curve"] = curveRows }

        // 2c. The same comparison as real processes: `switchyard work coordinator` (with its producer and
        // consumer) and one worker per stage of two, each process with its own context, as stage mode runs.
        if processTasks > 0 {
            guard FileManager.default.isExecutableFile(atPath: switchyard) else {
                throw ValidationError("\(switchyard) not found: swift build -c release --product switchyard (or --process-tasks 0)")
            }
            print("CURVE vs plain, real processes on tcp loopback (coordinator + 2 workers, stages a,b, credit 100): \(rounds) alternating pairs")
            print("round   plain s   CURVE s   ratio (plain s / CURVE s)   plain CPU-µs/task   CURVE CPU-µs/task")
            var pairs: [[String: Double]] = []
            for round in 1...max(1, rounds) {
                let plain = try ProcessRun.run(binary: switchyard, tasks: processTasks, curve: false)
                let secured = try ProcessRun.run(binary: switchyard, tasks: processTasks, curve: true)
                pairs.append(["plainSeconds": plain.seconds, "curveSeconds": secured.seconds, "ratio": plain.seconds / secured.seconds,
                              "plainCPUMicrosPerTask": plain.cpuMicros / Double(processTasks),
                              "curveCPUMicrosPerTask": secured.cpuMicros / Double(processTasks)])
                print(String(format: "%5d   %7.2f   %7.2f   %25.2f   %17.1f   %17.1f", round, plain.seconds, secured.seconds,
                             plain.seconds / secured.seconds, plain.cpuMicros / Double(processTasks), secured.cpuMicros / Double(processTasks)))
            }
            let ratios = pairs.compactMap { $0["ratio"] }
            let plainCPU = median(pairs.compactMap { $0["plainCPUMicrosPerTask"] })
            let curveCPU = median(pairs.compactMap { $0["curveCPUMicrosPerTask"] })
            let cpuRatio = curveCPU > 0 ? plainCPU / curveCPU : 0
            print(String(format: "median wall ratio %.2f (min %.2f, max %.2f); CPU ratio (plain/CURVE, medians of all processes' CPU per task) %.2f",
                         median(ratios), ratios.min() ?? 0, ratios.max() ?? 0, cpuRatio))
            report["curveProcesses"] = ["tasks": Double(processTasks), "rounds": pairs, "ratio": median(ratios),
                                        "ratioMin": ratios.min() ?? 0, "ratioMax": ratios.max() ?? 0,
                                        "plainCPUMicrosPerTask": plainCPU, "curveCPUMicrosPerTask": curveCPU, "cpuRatio": cpuRatio]
        }
        report["inlineHandlers"] = inlineHandlers
        report["synchronousHandler"] = synchronousHandler
        report["warmupMillis"] = warmupMillis

        // 3. Latency with one request in flight.
        let rawLatency = try RawPipeline.latency(samples: latencySamples)
        let protocolLatency = try await ProtocolRun.latency(samples: latencySamples, inlineHandlers: inlineHandlers,
                                                             synchronousHandler: synchronousHandler, logger: logger)
        let latency: [String: Double] = [
            "rawP50Micros": rawLatency.p50, "rawP99Micros": rawLatency.p99, "rawHops": 2,
            "protocolP50Micros": protocolLatency.p50, "protocolP99Micros": protocolLatency.p99, "protocolHops": 4,
            "addedPerHopP50Micros": (protocolLatency.p50 / 4) - (rawLatency.p50 / 2),
            "addedPerHopP99Micros": (protocolLatency.p99 / 4) - (rawLatency.p99 / 2),
        ]
        report["latency"] = latency
        print("latency, one request in flight (µs)   p50     p99")
        print(String(format: "raw PUSH/PULL, end to end (2 hops)   %5.0f   %5.0f", rawLatency.p50, rawLatency.p99))
        print(String(format: "protocol, end to end (4 hops)        %5.0f   %5.0f", protocolLatency.p50, protocolLatency.p99))
        print(String(format: "raw per hop                          %5.0f   %5.0f", rawLatency.p50 / 2, rawLatency.p99 / 2))
        print(String(format: "protocol per hop                     %5.0f   %5.0f", protocolLatency.p50 / 4, protocolLatency.p99 / 4))

        // 4. Memory over a long run.
        if rssTasks > 0 {
            let memory = try await ProtocolRun.memory(count: rssTasks, workers: workers, inlineHandlers: inlineHandlers,
                                                        synchronousHandler: synchronousHandler, logger: logger)
            report["memory"] = memory
            print(String(format: "memory %d tasks in %.1f s: RSS at 10%% %.0f MiB, at 50%% %.0f MiB, at end %.0f MiB, max %.0f MiB",
                         rssTasks, memory["seconds"]!, memory["rssAt10PercentMiB"]!, memory["rssAt50PercentMiB"]!,
                         memory["rssAtEndMiB"]!, memory["rssMaxMiB"]!))
        }
        report["loadAverageAtEnd"] = loadAverage()
        let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        try FileManager.default.createDirectory(atPath: (out as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: out))
    }
}

/// Binary `WireCodec` vs the same TASK as length-prefixed JSON (Codable), encode + decode.
enum CodecBench {
    struct JSONTask: Codable {
        var taskID: UInt64
        var requestID: String
        var stage: String
        var attempt: UInt16
        var leaseMillis: UInt32
        var payload: Data
    }

    static func run(iterations: Int) -> [String: Double] {
        let payload = Data(repeating: 0x61, count: 256)
        let task = WireTask(taskID: 123_456, requestID: "3f2a9c0d1e:4711", stage: "profile", attempt: 1, leaseMillis: 60_000, payload: payload)
        var check = 0
        var start = DispatchTime.now().uptimeNanoseconds
        var binaryBytes = 0
        for index in 0..<iterations {
            var copy = task
            copy.taskID = UInt64(index)
            let frame = WireCodec.encode(.task(copy))
            binaryBytes = frame.count
            if case .task(let decoded)? = try? WireCodec.decode(frame) { check &+= Int(decoded.taskID & 1) }
        }
        let binary = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(iterations)
        let encoder = JSONEncoder()
        let decoder = JSONDecoder()
        var jsonBytes = 0
        start = DispatchTime.now().uptimeNanoseconds
        for index in 0..<iterations {
            let value = JSONTask(taskID: UInt64(index), requestID: task.requestID, stage: task.stage, attempt: 1, leaseMillis: 60_000, payload: payload)
            guard let body = try? encoder.encode(value) else { continue }
            var frame = Data()
            withUnsafeBytes(of: UInt32(body.count).littleEndian) { frame.append(contentsOf: $0) }
            frame.append(body)
            jsonBytes = frame.count
            if let decoded = try? decoder.decode(JSONTask.self, from: frame.dropFirst(4)) { check &+= Int(decoded.taskID & 1) }
        }
        let json = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(iterations)
        // The hot path: TASKs appended to a reused batch encoder, 100 a frame, decoded with shared payloads.
        var frameEncoder = WireFrameEncoder()
        var decoded: [WireMessage] = []
        let perFrame = 100
        start = DispatchTime.now().uptimeNanoseconds
        for frameIndex in 0..<max(1, iterations / perFrame) {
            for index in 0..<perFrame {
                frameEncoder.appendTask(taskID: UInt64(frameIndex * perFrame + index), requestID: task.requestID, stage: task.stage,
                                   attempt: 1, leaseMillis: 60_000, payload: payload)
            }
            let frame = frameEncoder.withFrame { Data($0) }
            frameEncoder.reset()
            decoded.removeAll(keepingCapacity: true)
            try? WireCodec.decodeAll(sharing: frame, into: &decoded)
            check &+= decoded.count
        }
        let batched = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(max(1, iterations / perFrame) * perFrame)
        precondition(check > 0)
        return ["binaryNanos": binary, "jsonNanos": json, "binaryBytes": Double(binaryBytes), "jsonBytes": Double(jsonBytes),
                "batchedBinaryNanosPerMessage": batched, "iterations": Double(iterations)]
    }
}

/// The peer: producer PUSH → N worker threads (PULL, PUSH) → sink PULL, on tcp loopback.
enum RawPipeline {
    static func throughput(count: Int, workers: Int) throws -> Double {
        let context = try Context()
        let source = try context.socket(.push, options: SocketOptions(sendHighWaterMark: 1_000))
        try source.bind("tcp://127.0.0.1:*")
        let sourceEndpoint = try source.lastEndpoint
        let sink = try context.socket(.pull)
        try sink.bind("tcp://127.0.0.1:*")
        let sinkEndpoint = try sink.lastEndpoint
        let group = DispatchGroup()
        for _ in 0..<workers {
            let thread = Thread {
                do {
                    let input = try context.socket(.pull)
                    let output = try context.socket(.push)
                    try input.connect(sourceEndpoint)
                    try output.connect(sinkEndpoint)
                    defer {
                        input.close()
                        output.close()
                    }
                    let message = Message()
                    while true {
                        try input.receive(into: message)
                        try output.send(message.bytes)
                    }
                } catch {
                    // contextTerminated at the end of the case: expected.
                }
                group.leave()
            }
            group.enter()
            thread.start()
        }
        usleep(200_000)  // let every worker connect, so PUSH spreads over all of them
        let payload = [UInt8](repeating: 0x61, count: 256)
        let start = DispatchTime.now().uptimeNanoseconds
        let sender = Thread {
            for _ in 0..<count { try? source.send(payload) }
        }
        source.transfer(to: .nextUser)
        sender.start()
        let message = Message()
        for _ in 0..<count { try sink.receive(into: message) }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        // Unblock the worker threads: their receive fails with contextTerminated and they close.
        context.shutdown()
        group.wait()
        sink.close()
        return Double(count) / elapsed
    }

    /// Round-trip times (µs) with one message in flight.
    static func latency(samples: Int) throws -> (p50: Double, p99: Double) {
        let context = try Context()
        let source = try context.socket(.push)
        try source.bind("tcp://127.0.0.1:*")
        let sourceEndpoint = try source.lastEndpoint
        let sink = try context.socket(.pull)
        try sink.bind("tcp://127.0.0.1:*")
        let sinkEndpoint = try sink.lastEndpoint
        let thread = Thread {
            guard let input = try? context.socket(.pull), let output = try? context.socket(.push) else { return }
            try? input.connect(sourceEndpoint)
            try? output.connect(sinkEndpoint)
            let message = Message()
            for _ in 0..<(samples + 1) {
                guard (try? input.receive(into: message)) != nil else { break }
                try? output.send(message.bytes)
            }
        }
        thread.start()
        let payload = [UInt8](repeating: 0x61, count: 256)
        var times: [Double] = []
        let message = Message()
        for index in 0...samples {
            let start = DispatchTime.now().uptimeNanoseconds
            try source.send(payload)
            try sink.receive(into: message)
            if index > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000) }
        }
        return percentiles(times)
    }
}

/// User + system CPU time of the whole process (every thread: coordinator, workers, ZeroMQ I/O threads), in µs.
/// Around a protocol run it counts that run's CPU (plus the warm-up's idle polling, a few ms): on the shared
/// 2 cores this is steadier than throughput.
func processCPUMicros() -> Double {
    var usage = rusage()
    guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
    func micros(_ time: timeval) -> Double { Double(time.tv_sec) * 1e6 + Double(time.tv_usec) }
    return micros(usage.ru_utime) + micros(usage.ru_stime)
}

/// 1, 5 and 15-minute load averages: the 2 cores are shared, so every result says how busy they were.
func loadAverage() -> [Double] {
    var loads = [Double](repeating: 0, count: 3)
    return getloadavg(&loads, 3) == 3 ? loads : []
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func percentiles(_ values: [Double]) -> (p50: Double, p99: Double) {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return (0, 0) }
    return (sorted[sorted.count / 2], sorted[min(sorted.count - 1, sorted.count * 99 / 100)])
}

/// Resident set size of this process, from /proc/self/statm.
func residentMiB() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
    return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
}

/// The producer's input: `task-<n>` IDs and 256-byte payloads (a value iterator: an `AnyIterator`
/// closure would box its counter and pay an exclusivity check per item).
struct BenchItems: IteratorProtocol {
    static let payload = Data(repeating: 0, count: 256)
    let count: Int
    let timestamped: Bool
    var index = 0

    init(count: Int, timestamped: Bool) {
        self.count = count
        self.timestamped = timestamped
    }

    mutating func next() -> WorkItem? {
        guard index < count else { return nil }
        defer { index += 1 }
        var payload = Self.payload
        if timestamped {
            let now = DispatchTime.now().uptimeNanoseconds
            withUnsafeBytes(of: now) { payload.replaceSubrange(0..<8, with: $0) }
        }
        return WorkItem(requestID: "task-\(index)", payload: payload)
    }
}

/// The work protocol in one process over tcp loopback: coordinator, N workers (echo handler), producer, consumer.
enum ProtocolRun {
    final class Observer: @unchecked Sendable {
        let lock = NSLock()
        var received = 0
        var latencies: [Double] = []
        var rss: [Int: Double] = [:]
        let count: Int
        init(count: Int) { self.count = count }
    }

    /// `warmupMillis`: between starting workers and consumer and starting the clock (and the producer);
    /// 200 is the wait `RawPipeline` gives its workers to connect; 0 counts connecting in the run.
    /// `timestamped`: each payload carries its send time (for latency); otherwise all share one
    /// 256-byte payload, as raw PUSH/PULL sends one buffer, so the producer's clock reads and
    /// allocations are not counted against the protocol.
    /// `curve`: every link authenticated and encrypted (a ZAP handler admits the one client key all the
    /// clients share), as `security.curve` runs stage processes; otherwise plain text.
    static func run(count: Int, workers: Int, credit: Int, window: Int, consumerCredit: Int = 256, warmupMillis: Int = 0,
                    inlineHandlers: Bool = true, synchronousHandler: Bool = true, timestamped: Bool = false, curve: Bool = false,
                    ioThreads: Int32 = 1, logger: Logger, observe: @escaping @Sendable (WireResult) -> Void) async throws -> Double {
        let context = try Context(configuration: .init(ioThreads: ioThreads))
        let work = WorkCoordinatorConfiguration(stages: ["work"], window: window)
        var serverSecurity = LinkSecurity.plain
        var clientSecurity = LinkSecurity.plain
        var zap: ZAPHandler?
        if curve {
            let serverPair = try CurveKeyPair.generate()
            let clientPair = try CurveKeyPair.generate()
            let handler = try ZAPHandler(context: context) { request in
                request.clientKey == clientPair.publicKey ? .allow(userID: "bench") : .deny(reason: "unknown")
            }
            zap = handler
            serverSecurity = LinkSecurity(role: .curveServer(keyPair: serverPair, authenticator: handler))
            clientSecurity = LinkSecurity(role: .curveClient(keyPair: clientPair, serverKey: serverPair.publicKey))
        }
        defer { zap?.stop() }
        let server = try CoordinatorServer(configuration: .init(endpoint: "tcp://127.0.0.1:*", work: work, security: serverSecurity),
                                           context: context, logger: logger)
        async let served = server.run()
        guard let endpoint = await Task.detached(operation: { server.waitUntilBound() }).value else {
            _ = try await served
            throw ValidationError("coordinator did not bind")
        }
        let stageWorkers = try (0..<workers).map { _ in
            let configuration = StageWorker.Configuration(endpoint: endpoint, stage: "work", credit: UInt32(credit), inlineHandlers: inlineHandlers,
                                                          security: clientSecurity)
            if synchronousHandler {
                return try StageWorker(configuration: configuration, context: context, logger: logger, synchronousHandler: { _, payload in payload })
            }
            return try StageWorker(configuration: configuration, context: context, logger: logger) { _, payload in payload }
        }
        let producer = WorkProducer(configuration: .init(endpoint: endpoint, security: clientSecurity), context: context, logger: logger)
        let consumer = WorkConsumer(configuration: .init(endpoint: endpoint, credit: UInt32(consumerCredit), security: clientSecurity),
                                    context: context, logger: logger)
        let running = stageWorkers.map { worker in Task { try await worker.run() } }
        do {
            async let consumed = consumer.run(write: observe, flush: {})
            // As for raw PUSH/PULL: let every worker connect (and say READY) before the clock starts.
            if warmupMillis > 0 { try await Task.sleep(for: .milliseconds(warmupMillis)) }
            let start = DispatchTime.now().uptimeNanoseconds
            async let produced = producer.run { BenchItems(count: count, timestamped: timestamped) }
            _ = try await served
            _ = try await produced
            _ = try await consumed
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            for task in running { try await task.value }
            return Double(count) / elapsed
        }
    }

    static func throughput(count: Int, workers: Int, credit: Int, window: Int, consumerCredit: Int, warmupMillis: Int,
                           inlineHandlers: Bool, synchronousHandler: Bool, logger: Logger) async throws -> Double {
        try await run(count: count, workers: workers, credit: credit, window: window > 0 ? window : max(1_000, 2 * credit * workers),
                      consumerCredit: consumerCredit, warmupMillis: warmupMillis, inlineHandlers: inlineHandlers,
                      synchronousHandler: synchronousHandler, logger: logger) { _ in }
    }

    static func latency(samples: Int, inlineHandlers: Bool, synchronousHandler: Bool, logger: Logger) async throws -> (p50: Double, p99: Double) {
        let observer = Observer(count: samples)
        _ = try await run(count: samples, workers: 1, credit: 1, window: 1, inlineHandlers: inlineHandlers,
                          synchronousHandler: synchronousHandler, timestamped: true,
                          logger: logger) { result in
            let now = DispatchTime.now().uptimeNanoseconds
            let sent = result.payload.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
            observer.lock.withLock { observer.latencies.append(Double(now - sent) / 1_000) }
        }
        return percentiles(Array(observer.latencies.dropFirst(10)))
    }

    static func memory(count: Int, workers: Int, inlineHandlers: Bool, synchronousHandler: Bool, logger: Logger) async throws -> [String: Double] {
        let observer = Observer(count: count)
        let start = DispatchTime.now().uptimeNanoseconds
        _ = try await run(count: count, workers: workers, credit: 100, window: 1_000, inlineHandlers: inlineHandlers,
                          synchronousHandler: synchronousHandler, logger: logger) { _ in
            observer.lock.withLock {
                observer.received += 1
                if observer.received % max(1, count / 20) == 0 { observer.rss[observer.received * 100 / count] = residentMiB() }
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let rss = observer.rss
        return ["tasks": Double(count), "seconds": Double(seconds),
                "rssAt10PercentMiB": rss[10] ?? 0, "rssAt50PercentMiB": rss[50] ?? 0,
                "rssAtEndMiB": rss[100] ?? residentMiB(), "rssMaxMiB": rss.values.max() ?? 0]
    }
}

/// The work protocol as real processes: `switchyard work coordinator` (producer and consumer inside) and one
/// `switchyard work worker` per stage, plain or with CURVE keys made for the run.
enum ProcessRun {
    /// Wall seconds the coordinator reports for the run and the CPU (user + sys, µs) of every process.
    static func run(binary: String, tasks: Int, curve: Bool) throws -> (seconds: Double, cpuMicros: Double) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("protocol-bench-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        let endpoint = "tcp://127.0.0.1:\(try LoopbackPort.free())"
        var coordinatorSecurity: [String] = []
        var workerSecurity: [String] = []
        if curve {
            _ = try CurveKeyFiles.generate(into: path("coordinator"))
            _ = try CurveKeyFiles.generate(into: path("worker"))
            try FileManager.default.createDirectory(atPath: path("authorized"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: path("worker/public.key"), toPath: path("authorized/worker.key"))
            coordinatorSecurity = ["--key-dir", path("coordinator"), "--authorized", path("authorized")]
            workerSecurity = ["--key-dir", path("worker"), "--server-key", path("coordinator/public.key")]
        }
        let before = childrenCPUMicros()
        let workers = try ["a", "b"].map { stage in
            try spawn(binary, ["work", "worker", "--endpoint", endpoint, "--stage", stage, "--credit", "100"] + workerSecurity, stdout: nil)
        }
        let output = Pipe()
        let coordinator = try spawn(binary, ["work", "coordinator", "--endpoint", endpoint, "--count", "\(tasks)", "--stages", "a,b",
                                             "--payload-bytes", "256", "--output", path("results.tsv")] + coordinatorSecurity, stdout: output)
        let summary = output.fileHandleForReading.readDataToEndOfFile()
        coordinator.waitUntilExit()
        for worker in workers { worker.waitUntilExit() }
        let cpu = childrenCPUMicros() - before
        let fields = (try JSONSerialization.jsonObject(with: summary)) as? [String: Double] ?? [:]
        guard fields["completed"] == Double(tasks), let seconds = fields["elapsedSeconds"] else {
            throw ValidationError("process run (curve \(curve)) did not complete: \(String(decoding: summary, as: UTF8.self))")
        }
        return (seconds, cpu)
    }

    static func spawn(_ binary: String, _ arguments: [String], stdout: Pipe?) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = stdout ?? FileHandle.nullDevice
        try process.run()
        return process
    }

    /// User + system CPU of the children waited for so far, in µs.
    static func childrenCPUMicros() -> Double {
        var usage = rusage()
        guard getrusage(RUSAGE_CHILDREN.rawValue, &usage) == 0 else { return 0 }
        func micros(_ time: timeval) -> Double { Double(time.tv_sec) * 1e6 + Double(time.tv_usec) }
        return micros(usage.ru_utime) + micros(usage.ru_stime)
    }
}
