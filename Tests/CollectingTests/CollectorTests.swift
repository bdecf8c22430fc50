import Backends
@testable import Collecting
import Foundation
import Grading
import HTTPTestSupport
import Hummingbird
import Logging
import ReplayBackend
import Synchronization
import SwitchyardCore
import Testing

/// The collector against a real replay backend over HTTP, through the real dispatcher: outcomes
/// reproduced, resume after a crash, the budget, a dead backend. Small slices of the dev split keep it
/// fast; the whole dev split × 26 models runs end to end (`CollectEndToEndTests`).
@Suite("collect: labelled prompts through the dispatcher, graded, into routing data")
struct CollectorTests {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data/routing/zeroeval")
    static let models = ["gpt-4o-2024-08-06", "gemma-2-9b-it", "Meta-Llama-3.1-8B-Instruct"]

    static let quiet: Logger = {
        var logger = Logger(label: "test.collect", factory: { _ in SwiftLogNoOpLogHandler() })
        logger.logLevel = .critical
        return logger
    }()

    struct Fixture {
        var records: [RoutingRecord]
        var prompts: [LabelledPrompt]
        var catalog: ReplayCatalog
        var prices: [String: ModelPrice]
    }

    static func fixture(count: Int) throws -> Fixture {
        let dev = try RoutingDataset.load(path: data.appendingPathComponent("dev.jsonl").path)
        let records = Array(dev.records.prefix(count))
        let answers = try LabelledPrompts.loadAnswers(path: data.appendingPathComponent("answers.jsonl").path)
        let prices = Dictionary(uniqueKeysWithValues: try ModelInfo.loadCatalog(path: data.appendingPathComponent("models.json").path).map { ($0.name, $0.price) })
        let prompts = try records.map { record in
            let gold = try #require(answers[record.id])
            return LabelledPrompt(id: record.id, prompt: record.prompt, task: record.task, answer: gold.answer, grader: gold.grader)
        }
        let catalog = ReplayCatalog(dataset: RoutingDataset(records: records), prices: prices, answers: answers)
        return Fixture(records: records, prompts: prompts, catalog: catalog, prices: prices)
    }

    static func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("collect-test-\(UUID().uuidString)")
    }

    static func collector(port: Int, fixture: Fixture, out: URL, budget: Double? = nil, concurrency: Int = 8) throws -> (Collector, Dispatcher) {
        let endpoints = models.map {
            ModelEndpoint(name: $0, baseURL: "http://127.0.0.1:\(port)/v1", price: fixture.prices[$0]!, limits: BackendLimits(maxConcurrency: concurrency))
        }
        var configuration = DispatcherConfiguration(seed: 7)
        configuration.retry.baseDelay = .milliseconds(5)
        let dispatcher = try Dispatcher(endpoints: endpoints, configuration: configuration, logger: quiet)
        let collector = Collector(
            sender: DispatcherSender(dispatcher: dispatcher),
            configuration: .init(models: endpoints.map { CollectModel(name: $0.name, price: $0.price, concurrency: concurrency) }, budgetUSD: budget),
            output: out, logger: quiet)
        return (collector, dispatcher)
    }

    @Test func reproducesTheRecordedOutcomesCostsAndTokens() async throws {
        let fixture = try Self.fixture(count: 24)
        let out = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let summary = try await withReplayServer(catalog: fixture.catalog) { port, _ in
            let (collector, dispatcher) = try Self.collector(port: port, fixture: fixture, out: out)
            defer { Task { try? await dispatcher.shutdown() } }
            return try await collector.run(prompts: fixture.prompts)
        }
        #expect(summary.answered == 24 * 3)
        #expect(summary.errors.isEmpty)
        #expect(summary.routingPrompts == 24 && summary.incompletePrompts == 0)
        let written = try RoutingDataset.load(path: out.appendingPathComponent("routing.jsonl").path)
        #expect(written.models == Self.models.sorted())
        for (got, want) in zip(written.records, fixture.records) {
            #expect(got.id == want.id && got.prompt == want.prompt && got.task == want.task)
            for model in Self.models {
                #expect(got.outcomes[model] == want.outcomes[model], "\(got.id) \(model)")
                #expect(abs((got.costs[model] ?? -1) - (want.costs[model] ?? 0)) < 1e-12, "\(got.id) \(model)")
                #expect(got.outputTokens?[model] == want.outputTokens?[model])
            }
            #expect(got.inputTokens == want.inputTokens)
        }
        // Prices beside the data, so `profile build --train routing.jsonl` finds them.
        let catalog = try ModelInfo.loadCatalog(path: out.appendingPathComponent("models.json").path)
        #expect(catalog.map(\.name) == Self.models.sorted())
        let spent = fixture.records.flatMap { r in Self.models.map { r.costs[$0] ?? 0 } }.reduce(0, +)
        #expect(abs(summary.spendUSD - spent) < 1e-9)
    }

    @Test func aRerunSendsOnlyWhatIsMissingAndCutsATornLine() async throws {
        let fixture = try Self.fixture(count: 10)
        let out = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        try await withReplayServer(catalog: fixture.catalog) { port, responder in
            let (collector, dispatcher) = try Self.collector(port: port, fixture: fixture, out: out)
            _ = try await collector.run(prompts: fixture.prompts)
            #expect(responder.requestCounts().values.reduce(0, +) == 30)
            // The process "died" while writing its last reply: drop that line, leave half of it.
            let replies = out.appendingPathComponent("replies.jsonl")
            var lines = try String(contentsOf: replies, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            lines.removeLast()  // the empty string after the final newline
            let torn = lines.removeLast()
            try (lines.joined(separator: "\n") + "\n" + torn.prefix(torn.count / 2)).write(to: replies, atomically: true, encoding: .utf8)
            let again = try await collector.run(prompts: fixture.prompts)
            #expect(again.resumed == 29)
            #expect(again.answered == 1)
            #expect(responder.requestCounts().values.reduce(0, +) == 31, "exactly the lost pair is sent again")
            let third = try await collector.run(prompts: fixture.prompts)
            #expect(third.answered == 0 && third.resumed == 30)
            #expect(responder.requestCounts().values.reduce(0, +) == 31)
            let records = try collector.replies()
            #expect(records.count == 30)
            #expect(Set(records.map { "\($0.id)|\($0.model)" }).count == 30)
            try await dispatcher.shutdown()
        }
    }

    @Test func theBudgetStopsSendingAndEveryPairEndsAsAReplyOrAnError() async throws {
        let fixture = try Self.fixture(count: 20)
        let out = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let budget = 0.01
        let summary = try await withReplayServer(catalog: fixture.catalog) { port, responder in
            let (collector, dispatcher) = try Self.collector(port: port, fixture: fixture, out: out, budget: budget, concurrency: 1)
            defer { Task { try? await dispatcher.shutdown() } }
            let summary = try await collector.run(prompts: fixture.prompts)
            #expect(responder.requestCounts().values.reduce(0, +) == summary.answered, "a pair over the budget is never sent")
            return summary
        }
        let exhausted = summary.errors["budget_exhausted"] ?? 0
        #expect(exhausted > 0)
        #expect(summary.answered + exhausted == 60)
        // One call per model in flight: the overshoot is at most what those calls cost beyond their estimate.
        #expect(summary.spendUSD <= budget * 1.5, "spent \(summary.spendUSD) of \(budget)")
        let errors = try String(contentsOf: out.appendingPathComponent("errors.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(errors.count == exhausted)
        #expect(errors.allSatisfy { $0.contains("rerun with a larger --budget-usd") })
        #expect(summary.incompletePrompts + summary.routingPrompts == 20)
    }

    @Test func aDeadBackendLeavesErrorRecordsAndARerunFillsThemIn() async throws {
        let fixture = try Self.fixture(count: 6)
        let out = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let down = ReplayConfiguration(downModels: ["gemma-2-9b-it"])
        let first = try await withReplayServer(catalog: fixture.catalog, configuration: down) { port, _ in
            let (collector, dispatcher) = try Self.collector(port: port, fixture: fixture, out: out)
            defer { Task { try? await dispatcher.shutdown() } }
            return try await collector.run(prompts: fixture.prompts)
        }
        #expect(first.answered == 12)
        #expect(first.errors.values.reduce(0, +) == 6)
        #expect(first.routingPrompts == 0, "no prompt has every model yet")
        let errorLines = try String(contentsOf: out.appendingPathComponent("errors.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(errorLines.count == 6 && errorLines.allSatisfy { $0.contains("gemma-2-9b-it") })
        let second = try await withReplayServer(catalog: fixture.catalog) { port, _ in
            let (collector, dispatcher) = try Self.collector(port: port, fixture: fixture, out: out)
            defer { Task { try? await dispatcher.shutdown() } }
            return try await collector.run(prompts: fixture.prompts)
        }
        #expect(second.resumed == 12 && second.answered == 6 && second.errors.isEmpty)
        #expect(second.routingPrompts == 6)
        #expect(try String(contentsOf: out.appendingPathComponent("errors.jsonl"), encoding: .utf8).isEmpty)
    }

    /// A judging model on its own HTTP server: it reads the rubric prompt's REFERENCE ANSWER and
    /// RESPONSE and answers `{"correct": ...}` as ZeroEval's first-number rule decides, with fixed usage.
    static func withJudge<T: Sendable>(_ body: (Int, JudgeCalls) async throws -> T) async throws -> T {
        let calls = JudgeCalls()
        let router = Router(context: BasicRequestContext.self)
        router.post("/v1/chat/completions") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 1 << 20)
            let json = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any]
            let prompt = ((json?["messages"] as? [[String: Any]])?.last?["content"] as? String) ?? ""
            func section(_ name: String, until next: String) -> String {
                guard let start = prompt.range(of: name + ":\n"), let end = prompt.range(of: next, range: start.upperBound..<prompt.endIndex) else { return "" }
                return String(prompt[start.upperBound..<end.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let reference = section("REFERENCE ANSWER", until: "RESPONSE:")
            let response = section("RESPONSE", until: "Reply with one JSON object")
            let correct = FirstNumberGrader().grade(reply: response, answer: reference).isCorrect
            calls.add()
            let reply: [String: Any] = [
                "id": "judge", "object": "chat.completion", "model": "judge",
                "choices": [["index": 0, "message": ["role": "assistant", "content": "{\"correct\": \(correct)}"], "finish_reason": "stop"]],
                "usage": ["prompt_tokens": 1000, "completion_tokens": 10, "total_tokens": 1010],
            ]
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: reply))))
        }
        return try await withRunningApplication({ onRunning in
            Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { await onRunning($0.localAddress?.port ?? 0) }, logger: quiet)
        }) { port in
            try await body(port, calls)
        }
    }

    final class JudgeCalls: Sendable {
        private let count = Mutex(0)
        func add() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    @Test func aJudgeGradesThroughTheDispatcherAndItsCostIsSpentButNotTheModels() async throws {
        // The gsm8k and MATH prompts of a dev slice, graded by a judge instead of the rule.
        var fixture = try Self.fixture(count: 284)
        let judge = "judge-model"
        fixture.prompts = fixture.prompts.filter { $0.grader == "first-number" }.prefix(16).map { prompt in
            var judged = prompt
            judged.grader = "judge:\(judge)"
            return judged
        }
        let judged = fixture.prompts.count
        #expect(judged == 16)
        let out = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let judgePrice = ModelPrice(inputUSDPerMTok: 1, outputUSDPerMTok: 2)
        let perJudgement = judgePrice.cost(inputTokens: 1000, outputTokens: 10)
        let (summary, calls) = try await withReplayServer(catalog: fixture.catalog) { port, _ in
            try await Self.withJudge { judgePort, calls in
                var endpoints = Self.models.map {
                    ModelEndpoint(name: $0, baseURL: "http://127.0.0.1:\(port)/v1", price: fixture.prices[$0]!, limits: BackendLimits(maxConcurrency: 4))
                }
                endpoints.append(ModelEndpoint(name: judge, baseURL: "http://127.0.0.1:\(judgePort)/v1", price: judgePrice, limits: BackendLimits(maxConcurrency: 4)))
                let dispatcher = try Dispatcher(endpoints: endpoints, configuration: DispatcherConfiguration(seed: 7), logger: Self.quiet)
                defer { Task { try? await dispatcher.shutdown() } }
                let collector = Collector(
                    sender: DispatcherSender(dispatcher: dispatcher),
                    configuration: .init(models: Self.models.map { CollectModel(name: $0, price: fixture.prices[$0]!, concurrency: 4) }),
                    output: out, logger: Self.quiet)
                return (try await collector.run(prompts: fixture.prompts), calls.value)
            }
        }
        #expect(summary.answered == judged * 3 && summary.errors.isEmpty)
        #expect(calls == judged * 3, "one judge call per pair")
        let replies = try CollectStore(directory: out).loadReplies(logger: Self.quiet)
        let byID = Dictionary(uniqueKeysWithValues: fixture.records.map { ($0.id, $0) })
        for reply in replies {
            #expect(abs(reply.gradingCostUSD - perJudgement) < 1e-15)
            #expect(reply.outcome == byID[reply.id]?.outcomes[reply.model], "the judge reproduces the recorded outcome of \(reply.id) \(reply.model)")
            #expect(abs(reply.costUSD - (byID[reply.id]?.costs[reply.model] ?? -1)) < 1e-12, "the model's cost leaves the judge's out")
        }
        let models = replies.map(\.costUSD).reduce(0, +)
        #expect(abs(summary.spendUSD - (models + Double(calls) * perJudgement)) < 1e-9, "the spend counts the judge")
    }

    @Test func completionTextIsReadFromStringOrParts() {
        let parts = ChatCompletionReply.parse(Data(#"{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":4}}"#.utf8))
        #expect(parts.text == "ab" && parts.finishReason == "length" && parts.promptTokens == 3 && parts.completionTokens == 4)
        let none = ChatCompletionReply.parse(Data("[]".utf8))
        #expect(none.text == nil && none.error != nil)
    }
}
