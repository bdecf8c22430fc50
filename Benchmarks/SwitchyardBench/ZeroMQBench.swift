import ArgumentParser
import Foundation
import SwitchyardCore
import ZeroMQ

/// `SwitchyardBench zmq`: one-way throughput of the Swift ZeroMQ wrapper beside the same
/// measurement made by a C program straight against libzmq (`Benchmarks/zmq/zmq_bench.c`,
/// built by `Benchmarks/zmq.sh`), as a ratio Swift/C. Both run interleaved in the same
/// process tree, best of `--repetitions`, so machine noise hits both alike.
struct ZeroMQBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zmq",
        abstract: "ZeroMQ wrapper throughput vs C libzmq (PUSH/PULL, DEALER/ROUTER; inproc, tcp; 64 B, 4 KiB)."
    )

    @Option(help: "Path of the C baseline binary (built by Benchmarks/zmq.sh). Without it only Swift is measured.")
    var cBench: String?

    @Option(help: "Messages per 64-byte case.")
    var messages: Int = 500_000

    @Option(help: "Messages per 4 KiB case.")
    var largeMessages: Int = 100_000

    @Option(help: "Repetitions; the best of each is kept.")
    var repetitions: Int = 5

    @Option(help: "Where to write the JSON results.")
    var out: String = "bench-results/zmq.json"

    func run() async throws {
        var c: [ZMQBenchCase: ZMQThroughput] = [:]
        var swift: [ZMQBenchCase: ZMQThroughput] = [:]
        var convenience: [ZMQBenchCase: ZMQThroughput] = [:]
        let cases = ZMQBenchCase.all(small: messages, large: largeMessages)
        for repetition in 1...max(1, repetitions) {
            FileHandle.standardError.write(Data("zmq bench: repetition \(repetition)/\(repetitions)\n".utf8))
            if let cBench {
                for (key, value) in try ZMQCBaseline.run(path: cBench, small: messages, large: largeMessages) {
                    c[key] = best(c[key], value)
                }
            }
            for benchCase in cases {
                swift[benchCase] = best(swift[benchCase], try ZMQSwiftThroughput.measure(benchCase, api: .hotPath))
                convenience[benchCase] = best(
                    convenience[benchCase], try ZMQSwiftThroughput.measure(benchCase, api: .convenience))
            }
        }
        let rows = cases.map { benchCase in
            ZMQBenchRow(
                pattern: benchCase.pattern, transport: benchCase.transport, size: benchCase.size,
                messages: benchCase.messages, c: c[benchCase], swift: swift[benchCase],
                swiftConvenience: convenience[benchCase])
        }
        let report = ZMQBenchReport(
            benchmark: "zmq", repetitions: repetitions, cores: ProcessInfo.processInfo.activeProcessorCount,
            method: "one-way throughput, sender thread -> receiver thread, best of repetitions; "
                + "swift = send(bytes:) + receive(into:) reused Message; "
                + "swift_convenience = send([[UInt8]]) + receiveMultipart()",
            rows: rows,
            minRatio: rows.compactMap(\.ratio).min())
        try write(report)
        print(table(rows))
    }

    private func best(_ current: ZMQThroughput?, _ new: ZMQThroughput) -> ZMQThroughput {
        guard let current else { return new }
        return new.msgsPerSecond > current.msgsPerSecond ? new : current
    }

    private func write(_ report: ZMQBenchReport) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let url = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try encoder.encode(report).write(to: url)
    }

    private func table(_ rows: [ZMQBenchRow]) -> String {
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
        }
        func rate(_ value: Double?) -> String { value.map { String(format: "%.0f", $0) } ?? "-" }
        func mb(_ value: Double?) -> String { value.map { String(format: "%.1f", $0) } ?? "-" }
        func ratio(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "-" }
        var lines = [
            [
                "pattern".padding(toLength: 14, withPad: " ", startingAt: 0), "transport".padding(toLength: 18, withPad: " ", startingAt: 0),
                pad("size", 5),
                pad("C msg/s", 11), pad("Swift msg/s", 12), pad("Swift/C", 8), pad("conv msg/s", 11), pad("conv/C", 7),
                pad("C MB/s", 9), pad("Swift MB/s", 11),
            ].joined(separator: " ")
        ]
        for row in rows {
            lines.append(
                [
                    row.pattern.padding(toLength: 14, withPad: " ", startingAt: 0),
                    row.transport.padding(toLength: 18, withPad: " ", startingAt: 0), pad("\(row.size)", 5),
                    pad(rate(row.c?.msgsPerSecond), 11), pad(rate(row.swift?.msgsPerSecond), 12), pad(ratio(row.ratio), 8),
                    pad(rate(row.swiftConvenience?.msgsPerSecond), 11), pad(ratio(row.convenienceRatio), 7),
                    pad(mb(row.c?.mbPerSecond), 9), pad(mb(row.swift?.mbPerSecond), 11),
                ].joined(separator: " "))
        }
        if let worst = rows.compactMap(\.ratio).min() {
            lines.append(String(format: "min Swift/C = %.2f (target >= 0.90): %@", worst, worst >= 0.9 ? "met" : "NOT met"))
        }
        return lines.joined(separator: "\n")
    }
}

/// One measured configuration.
struct ZMQBenchCase: Hashable, Sendable {
    let pattern: String  // push_pull | dealer_router
    let transport: String  // inproc | tcp
    let size: Int
    let messages: Int

    static func all(small: Int, large: Int) -> [ZMQBenchCase] {
        var cases: [ZMQBenchCase] = []
        for pattern in ["push_pull", "dealer_router"] {
            for transport in ["inproc", "tcp"] {
                cases.append(ZMQBenchCase(pattern: pattern, transport: transport, size: 64, messages: small))
                cases.append(ZMQBenchCase(pattern: pattern, transport: transport, size: 4096, messages: large))
            }
        }
        // One thread, bursts of 100: the per-call cost alone, free of scheduling noise.
        cases.append(ZMQBenchCase(pattern: "push_pull", transport: "inproc_same_thread", size: 64, messages: small))
        return cases
    }
}

struct ZMQThroughput: Codable, Sendable {
    let seconds: Double
    let msgsPerSecond: Double
    let mbPerSecond: Double

    init(seconds: Double, messages: Int, size: Int) {
        self.seconds = seconds
        msgsPerSecond = Double(messages) / seconds
        mbPerSecond = Double(messages * size) / seconds / 1e6
    }
}

struct ZMQBenchRow: Encodable {
    let pattern: String
    let transport: String
    let size: Int
    let messages: Int
    let c: ZMQThroughput?
    let swift: ZMQThroughput?
    let swiftConvenience: ZMQThroughput?
    var ratio: Double? { ratio(of: swift) }
    var convenienceRatio: Double? { ratio(of: swiftConvenience) }

    private func ratio(of value: ZMQThroughput?) -> Double? {
        guard let value, let c, c.msgsPerSecond > 0 else { return nil }
        return value.msgsPerSecond / c.msgsPerSecond
    }

    enum CodingKeys: String, CodingKey {
        case pattern, transport, size, messages, c, swift, swiftConvenience, ratio, convenienceRatio
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(pattern, forKey: .pattern)
        try container.encode(transport, forKey: .transport)
        try container.encode(size, forKey: .size)
        try container.encode(messages, forKey: .messages)
        try container.encodeIfPresent(c, forKey: .c)
        try container.encodeIfPresent(swift, forKey: .swift)
        try container.encodeIfPresent(swiftConvenience, forKey: .swiftConvenience)
        try container.encodeIfPresent(ratio, forKey: .ratio)
        try container.encodeIfPresent(convenienceRatio, forKey: .convenienceRatio)
    }
}

struct ZMQBenchReport: Encodable {
    let benchmark: String
    let repetitions: Int
    let cores: Int
    let method: String
    let rows: [ZMQBenchRow]
    let minRatio: Double?
}

/// Runs the C baseline once (all cases) and parses its JSON lines.
enum ZMQCBaseline {
    private struct Line: Decodable {
        let pattern: String
        let transport: String
        let size: Int
        let messages: Int
        let seconds: Double
    }

    static func run(path: String, small: Int, large: Int) throws -> [ZMQBenchCase: ZMQThroughput] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["\(small)", "\(large)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("C baseline \(path) exited with status \(process.terminationStatus)")
        }
        var results: [ZMQBenchCase: ZMQThroughput] = [:]
        for line in output.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
            let parsed = try JSONDecoder().decode(Line.self, from: Data(line))
            let key = ZMQBenchCase(
                pattern: parsed.pattern, transport: parsed.transport, size: parsed.size, messages: parsed.messages)
            results[key] = ZMQThroughput(seconds: parsed.seconds, messages: parsed.messages, size: parsed.size)
        }
        return results
    }
}

/// The Swift side, structured exactly like zmq_bench.c: receiver binds on this thread, a
/// sender thread makes its own socket, connects, and sends; timing covers the whole transfer.
enum ZMQSwiftThroughput {
    enum API { case hotPath, convenience }

    static func measure(_ benchCase: ZMQBenchCase, api: API) throws -> ZMQThroughput {
        if benchCase.transport == "inproc_same_thread" { return try measureSameThread(benchCase, api: api) }
        let router = benchCase.pattern == "dealer_router"
        let context = try Context()
        let receiver = try context.socket(router ? .router : .pull, options: SocketOptions(linger: .zero))
        let endpoint: String
        if benchCase.transport == "inproc" {
            endpoint = "inproc://bench"
            try receiver.bind(endpoint)
        } else {
            try receiver.bind("tcp://127.0.0.1:*")
            endpoint = try receiver.lastEndpoint
        }
        let count = benchCase.messages
        let size = benchCase.size
        let senderType: SocketType = router ? .dealer : .push
        let done = DispatchSemaphore(value: 0)
        let failure = ZMQBenchFailure()

        let message = Message()
        let clock = ContinuousClock()
        let start = clock.now
        let sender = Thread {
            defer { done.signal() }
            do {
                let socket = try context.socket(senderType, options: SocketOptions(linger: .seconds(1)))
                try socket.connect(endpoint)
                let payload = [UInt8](repeating: 0, count: size)
                switch api {
                case .hotPath:
                    try payload.withUnsafeBytes { buffer in
                        for _ in 0..<count { try socket.send(bytes: buffer) }
                    }
                case .convenience:
                    for _ in 0..<count { try socket.send([payload]) }
                }
                socket.close()
            } catch {
                failure.record(error)
            }
        }
        sender.start()
        switch api {
        case .hotPath:
            for _ in 0..<count {
                if router { try receiver.receive(into: message) }
                try receiver.receive(into: message)
                guard message.count == size else { throw ValidationError("wrong payload size \(message.count)") }
            }
        case .convenience:
            for _ in 0..<count {
                let frames = try receiver.receiveMultipart()
                guard frames.last?.count == size else { throw ValidationError("wrong payload size") }
            }
        }
        let elapsed = clock.now - start
        done.wait()
        if let error = failure.error { throw error }
        return ZMQThroughput(seconds: elapsed.seconds, messages: count, size: size)
    }

    /// PUSH and PULL on this thread, bursts of 100 sends then 100 receives (as zmq_bench.c).
    static func measureSameThread(_ benchCase: ZMQBenchCase, api: API) throws -> ZMQThroughput {
        let context = try Context()
        let receiver = try context.socket(.pull, options: SocketOptions(linger: .zero))
        let push = try context.socket(.push, options: SocketOptions(linger: .zero))
        try receiver.bind("inproc://same")
        try push.connect("inproc://same")
        let size = benchCase.size
        let burst = 100
        let bursts = (benchCase.messages + burst - 1) / burst
        let payload = [UInt8](repeating: 0, count: size)
        let message = Message()
        let clock = ContinuousClock()
        let start = clock.now
        switch api {
        case .hotPath:
            try payload.withUnsafeBytes { buffer in
                for _ in 0..<bursts {
                    for _ in 0..<burst { try push.send(bytes: buffer) }
                    for _ in 0..<burst {
                        try receiver.receive(into: message)
                        guard message.count == size else { throw ValidationError("wrong payload size") }
                    }
                }
            }
        case .convenience:
            for _ in 0..<bursts {
                for _ in 0..<burst { try push.send([payload]) }
                for _ in 0..<burst {
                    guard try receiver.receiveMultipart().last?.count == size else { throw ValidationError("wrong payload size") }
                }
            }
        }
        let elapsed = clock.now - start
        return ZMQThroughput(seconds: elapsed.seconds, messages: bursts * burst, size: size)
    }
}

private final class ZMQBenchFailure: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: (any Error)?
    var error: (any Error)? { lock.withLock { stored } }
    func record(_ error: any Error) { lock.withLock { stored = error } }
}
