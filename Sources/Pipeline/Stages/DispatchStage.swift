import Backends
import Foundation
import Logging
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

    /// The chat completion body sent for a request: the batch line's body, or one user message for a plain line.
    public static func body(for request: PipelineRequest, model: String) -> JSONValue {
        var body = request.body?.objectValue ?? [
            "messages": .array([.object(["role": .string("user"), "content": .string(request.prompt)])]),
        ]
        if request.body == nil, let maxTokens = request.maxTokens { body["max_tokens"] = .number(Double(maxTokens)) }
        body["model"] = .string(model)
        return .object(body)
    }

    /// `keepAlive` is called about every second while the request waits for an unavailable backend.
    public func process(_ item: RoutedRequest, logger: Logger, keepAlive: @escaping @Sendable () -> Void = {}) async -> OutputRecord {
        let request = item.request
        let decision = item.decision
        var routing = OutputRecord.Routing(
            model: decision.model, strategy: decision.strategy, predictedQuality: item.predictedQuality,
            estimatedCostUSD: decision.estimatedCostUSD, actualCostUSD: nil, attempts: 0, fallbacks: [],
            line: request.line)
        routing.budgetDowngraded = item.budgetHold?.downgraded == true ? true : nil
        let hold = item.budgetHold
        guard let sender else {
            if let hold { settler?.settle(hold, actualUSD: hold.reservation.estimateUSD) }
            return OutputRecord(id: request.requestID.description, customID: request.customID, response: nil, error: nil, routing: routing,
                                metadata: request.metadata)
        }
        let bodyData: Data
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            bodyData = try encoder.encode(Self.body(for: request, model: decision.model))
        } catch {
            if let hold { settler?.release(hold) }
            return .failure(requestID: request.requestID, customID: request.customID, code: .internalError,
                            message: "cannot encode the request body: \(error)", routing: routing, metadata: request.metadata)
        }
        let candidates = [decision.model] + decision.alternatives.map(\.model)
        let start = ContinuousClock.now
        let outcome = await sender.send(DispatchRequest(requestID: request.requestID.description, body: bodyData, candidates: candidates,
                                                        keepAlive: keepAlive))
        let elapsed = ContinuousClock.now - start
        if let hold { settler?.settle(hold, actualUSD: outcome.actualCostUSD) }
        routing.latencyMS = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
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
            logger.debug("dispatch failed", metadata: ["request_id": "\(request.requestID)", "code": "\(error.code.rawValue)"])
            return .failure(requestID: request.requestID, customID: request.customID, code: error.code,
                            message: error.message, routing: routing, metadata: request.metadata)
        }
        let body: JSONValue
        if let data = outcome.responseBody {
            body = (try? JSONDecoder().decode(JSONValue.self, from: data)) ?? .string(String(decoding: data, as: UTF8.self))
        } else {
            body = .null
        }
        return OutputRecord(
            id: request.requestID.description, customID: request.customID,
            response: .init(statusCode: outcome.statusCode ?? 200, body: body), error: nil, routing: routing, metadata: request.metadata)
    }
}
