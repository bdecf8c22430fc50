import Backends
import Foundation
import HTTPTestSupport
import Hummingbird
import Logging
import ReplayBackend
import SwitchyardCore
@testable import Backends

/// A logger that drops everything (servers in tests).
let quietLogger: Logger = {
    var logger = Logger(label: "test.quiet", factory: { _ in SwiftLogNoOpLogHandler() })
    logger.logLevel = .critical
    return logger
}()

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// What a scripted test server saw: one entry per chat request.
struct SeenRequest: Sendable {
    var model: String
    var authorization: String?
    var arrival: ContinuousClock.Instant
}

/// A tiny server whose `/v1/chat/completions` answers are scripted per call number (0-based,
/// counted over all models), for 429/Retry-After, 500, timeouts and rate limit checks.
final class ScriptedServer: Sendable {
    struct Step: Sendable {
        var status: Int
        var headers: [(String, String)] = []
        var delay: Duration = .zero
    }

    let script: @Sendable (Int, String) -> Step
    private let seen = LockedState<[SeenRequest]>([])

    init(script: @escaping @Sendable (_ call: Int, _ model: String) -> Step) {
        self.script = script
    }

    var requests: [SeenRequest] { seen.withLock { $0 } }

    func run<T: Sendable>(_ body: (Int) async throws -> T) async throws -> T {
        let router = Router(context: BasicRequestContext.self)
        router.post("/v1/chat/completions") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 1 << 20)
            let data = buffer.withUnsafeReadableBytes { Data($0) }
            let model = ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["model"] as? String ?? "?"
            let authorization = request.headers[.authorization]
            let call = self.seen.withLock { list -> Int in
                list.append(SeenRequest(model: model, authorization: authorization, arrival: .now))
                return list.count - 1
            }
            let step = self.script(call, model)
            if step.delay > .zero { try await Task.sleep(for: step.delay) }
            let body: String
            if step.status == 200 {
                body = """
                    {"id":"x","object":"chat.completion","model":"\(model)","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":100,"completion_tokens":50,"total_tokens":150}}
                    """
            } else {
                body = "{\"error\":{\"message\":\"scripted \(step.status) for call \(call)\",\"type\":\"test\"}}"
            }
            return ReplayServer.response(step.status, headers: [("Content-Type", "application/json")] + step.headers, body: Data(body.utf8))
        }
        return try await withRunningApplication({ onRunning in
            Application(
                router: router,
                configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
                logger: quietLogger
            )
        }, body)
    }
}

/// Collects every log line (message and metadata rendered) for secret-leak checks.
final class CapturingLogHandler: LogHandler, @unchecked Sendable {
    let store: LockedState<[String]>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    init(store: LockedState<[String]>) { self.store = store }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let line = "\(event.level) \(event.message) \(all.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " "))"
        store.withLock { $0.append(line) }
    }
}

/// A small in-memory pool: three models, three prompts, known prices.
enum TestData {
    static let prices: [String: ModelPrice] = [
        "alpha": ModelPrice(inputUSDPerMTok: 1, outputUSDPerMTok: 2),
        "beta": ModelPrice(inputUSDPerMTok: 0.5, outputUSDPerMTok: 1),
        "gamma": ModelPrice(inputUSDPerMTok: 10, outputUSDPerMTok: 30),
    ]

    static let records: [RoutingRecord] = [
        RoutingRecord(
            id: "p1", prompt: "What is 2+2?", task: "math",
            outcomes: ["alpha": 1, "beta": 0, "gamma": 1],
            costs: ["alpha": (100 * 1 + 20 * 2) / 1e6, "beta": (100 * 0.5 + 40 * 1) / 1e6, "gamma": (100 * 10 + 10 * 30) / 1e6],
            inputTokens: 100, outputTokens: ["alpha": 20, "beta": 40, "gamma": 10]
        ),
        RoutingRecord(
            id: "p2", prompt: "Name a prime.", task: "math",
            outcomes: ["alpha": 0, "beta": 1, "gamma": 1],
            costs: ["alpha": (50 * 1 + 30 * 2) / 1e6, "beta": (50 * 0.5 + 70 * 1) / 1e6, "gamma": (50 * 10 + 5 * 30) / 1e6],
            inputTokens: 50
        ),
        RoutingRecord(
            id: "p3", prompt: "Say hi.", task: "chat",
            outcomes: ["alpha": 1, "beta": 1, "gamma": 0],
            costs: ["alpha": 1e-4, "beta": 1e-4, "gamma": 1e-3], inputTokens: 10
        ),
    ]

    static let catalog = ReplayCatalog(dataset: RoutingDataset(records: records), prices: prices)

    static func body(prompt: String, model: String = "auto", maxTokens: Int? = nil) -> Data {
        var object: [String: Any] = ["model": model, "messages": [["role": "user", "content": prompt]]]
        if let maxTokens { object["max_tokens"] = maxTokens }
        return (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
    }

    static func endpoint(
        _ name: String, port: Int, limits: BackendLimits = BackendLimits(),
        timeouts: BackendTimeouts = BackendTimeouts(connect: .seconds(2), firstByte: .seconds(5), total: .seconds(10)),
        apiKeyEnv: String? = nil
    ) -> ModelEndpoint {
        ModelEndpoint(
            name: name, baseURL: "http://127.0.0.1:\(port)/v1", apiKeyEnv: apiKeyEnv,
            price: prices[name] ?? ModelPrice(inputUSDPerMTok: 1, outputUSDPerMTok: 1),
            limits: limits, timeouts: timeouts
        )
    }

    /// Fast retries so tests stay quick; seeded jitter.
    static func configuration(
        maxAttempts: Int = 3, failureThreshold: Int = 5, cooldown: Duration = .seconds(30)
    ) -> DispatcherConfiguration {
        DispatcherConfiguration(
            maxInFlight: 64,
            retry: RetryPolicy(maxAttemptsPerModel: maxAttempts, baseDelay: .milliseconds(5), maxDelay: .milliseconds(20)),
            breaker: CircuitBreakerConfiguration(failureThreshold: failureThreshold, cooldown: cooldown),
            seed: 7
        )
    }
}
