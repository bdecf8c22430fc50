import Backends
import Foundation
import Logging
import Payloads
import SwitchyardCore

/// What the dispatch stage needs from `Backends`: send one request along its candidates, never throw.
public protocol RequestSender: Sendable {
    func send(_ request: DispatchRequest) async -> DispatchOutcome
}

extension Dispatcher: RequestSender {
    public func send(_ request: DispatchRequest) async -> DispatchOutcome { await dispatch(request) }
}

/// The dispatch stage as a plain type: a routed request in, its final `OutputRecord` out.
///
/// With no sender (`run --dry-run`) it writes the decision without calling any backend:
/// `response` and `error` are null, `routing` holds the decision.
///
/// A request that holds budget (`budgetHold`) is settled on `settler` with its actual cost once the
/// backend answered (0 when it failed before billing), or released when it was never sent. A dry run
/// settles at the estimate, so its decisions show how the budget would be spent.
public struct DispatchStage: Sendable {
    public let sender: (any RequestSender)?
    /// Where actual spend goes back to the score stage's ledger; nil: nobody settles (no budget).
    public let settler: (any SpendSettler)?

    public init(sender: (any RequestSender)?, settler: (any SpendSettler)? = nil) {
        self.sender = sender
        self.settler = settler
    }

    /// The chat completion body sent for a request, and where its fields sit: a batch line's body as the
    /// caller wrote it, or one user message for a plain line. The dispatcher splices the served `model`
    /// (and `max_tokens` where a default applies) into these bytes; nothing is re-encoded.
    public static func body(for request: PipelineRequest) -> (body: Data, layout: ChatBodyLayout) {
        if let body = request.body {
            return (Data(body.bytes), request.bodyLayout ?? ChatBodyLayout(modelValue: nil, completionTokens: nil))
        }
        var writer = JSONWriter(capacity: request.prompt.utf8.count + 64)
        writer.raw("{\"messages\":[{\"role\":\"user\",\"content\":")
        writer.string(request.prompt)
        writer.raw("}]")
        if let maxTokens = request.maxTokens {
            writer.raw(",\"max_tokens\":")
            writer.integer(maxTokens)
        }
        writer.raw("}")
        return (Data(writer.bytes), ChatBodyLayout(modelValue: nil, completionTokens: request.maxTokens))
    }

    /// The body exactly as a backend serving `model` under that name receives it (for tests and tools).
    public static func wireBody(for request: PipelineRequest, model: String) -> Data {
        let (body, layout) = body(for: request)
        return ChatBody.readdressed(body, layout: layout, servedModel: model)
    }

    /// The record of a dry run (no sender): the decision, with no response; a held budget is settled at
    /// its estimate, so the decisions show how the budget would be spent.
    public func decide(_ item: RoutedRequest) -> OutputRecord {
        if let hold = item.budgetHold { settler?.settle(hold, actualUSD: hold.reservation.estimateUSD) }
        return OutputRecord(id: item.request.requestID.description, customID: item.request.customID, response: nil, error: nil,
                            routing: Self.routing(item), metadata: item.request.metadata)
    }

    private static func routing(_ item: RoutedRequest) -> OutputRecord.Routing {
        let decision = item.decision
        var routing = OutputRecord.Routing(
            model: decision.model, strategy: decision.strategy, predictedQuality: item.predictedQuality,
            estimatedCostUSD: decision.estimatedCostUSD, actualCostUSD: nil, attempts: 0, fallbacks: [],
            line: item.request.line)
        routing.budgetDowngraded = item.budgetHold?.downgraded == true ? true : nil
        return routing
    }

    /// `keepAlive` is called about every second while the request waits for an unavailable backend.
    public func process(_ item: RoutedRequest, logger: @autoclosure () -> Logger,
                        keepAlive: @escaping @Sendable () -> Void = {}) async -> OutputRecord {
        guard let sender else { return decide(item) }
        let request = item.request
        let decision = item.decision
        var routing = Self.routing(item)
        let hold = item.budgetHold
        let (bodyData, layout) = Self.body(for: request)
        let candidates = [decision.model] + decision.alternatives.map(\.model)
        let start = ContinuousClock.now
        let outcome = await sender.send(DispatchRequest(
            requestID: request.requestID.description, body: bodyData, layout: layout, candidates: candidates, keepAlive: keepAlive))
        let elapsed = ContinuousClock.now - start
        if let hold { settler?.settle(hold, actualUSD: outcome.actualCostUSD) }
        routing.latencyMS = elapsed.milliseconds
        routing.model = outcome.model ?? decision.model
        if routing.model != decision.model {
            // The estimate and prediction of the model that actually answered.
            if let alternative = decision.alternatives.first(where: { $0.model == routing.model }) {
                routing.estimatedCostUSD = alternative.estimatedCostUSD
                routing.predictedQuality = item.predictedQuality == nil ? nil : alternative.predictedQuality
            }
        }
        routing.actualCostUSD = outcome.actualCostUSD
        routing.attempts = outcome.attemptCount
        routing.fallbacks = outcome.fallbacks.map(\.model)
        if let error = outcome.error {
            logger().debug("dispatch failed", metadata: ["request_id": "\(request.requestID)", "code": "\(error.code.rawValue)"])
            return .failure(requestID: request.requestID, customID: request.customID, code: error.code,
                            message: error.message, routing: routing, metadata: request.metadata)
        }
        let body: RawJSON
        if let data = outcome.responseBody {
            if outcome.responseIsJSON {
                body = RawJSON(validated: data)
            } else {
                // Not read by the dispatcher: check it here; a body that is not JSON is kept as its text.
                body = (try? RawJSON(validating: data)) ?? RawJSON(string: String(decoding: data, as: UTF8.self))
            }
        } else {
            body = RawJSON(trusted: Array("null".utf8))
        }
        return OutputRecord(
            id: request.requestID.description, customID: request.customID,
            response: .init(statusCode: outcome.statusCode ?? 200, body: body), error: nil, routing: routing, metadata: request.metadata)
    }
}
