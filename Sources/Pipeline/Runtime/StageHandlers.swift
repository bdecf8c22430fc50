import Foundation
import Logging
import Wire
import SwitchyardCore

/// The work-protocol handlers of the three middle stages: decode the envelope, run the plain stage
/// type, encode the next envelope. `.finished` envelopes pass through untouched.
public enum StageHandlers {
    /// Stage names in chain order, as the coordinator and workers must agree on them.
    public static let chain = ["profile", "score", "dispatch"]

    public static func profile(_ stage: ProfileStage, metrics: StageMetrics = StageMetrics()) -> StageHandler {
        { context, payload in
            let envelope = try decode(payload)
            guard case .request(let request) = envelope else { return try passThrough(envelope, stage: "profile") }
            let output = metrics.time("profile", count: 1) { stage.process([request], logger: context.logger) }
            switch output.first {
            case .next(let profiled)?: return try StageEnvelope.profiled(profiled).encoded()
            case .finished(let record)?:
                metrics.count(record)
                return try StageEnvelope.finished(record.carrying(request.metadata)).encoded()
            case nil: throw StageFailure.retryable("the profiler returned nothing")
            }
        }
    }

    public static func score(_ stage: ScoreStage, metrics: StageMetrics = StageMetrics()) -> StageHandler {
        { context, payload in
            let envelope = try decode(payload)
            guard case .profiled(let item) = envelope else { return try passThrough(envelope, stage: "score") }
            await stage.waitForBudget(keepAlive: { context.extendLease() })
            switch metrics.time("score", count: 1, { stage.process(item, logger: context.logger) }) {
            case .next(let routed): return try StageEnvelope.routed(routed).encoded()
            case .finished(let record):
                metrics.count(record)
                return try StageEnvelope.finished(record.carrying(item.request.metadata)).encoded()
            }
        }
    }

    public static func dispatch(_ stage: DispatchStage, metrics: StageMetrics = StageMetrics()) -> StageHandler {
        { context, payload in
            let envelope = try decode(payload)
            guard case .routed(let item) = envelope else { return try passThrough(envelope, stage: "dispatch") }
            context.extendLease()
            let start = ContinuousClock.now
            let record = await stage.process(item, logger: context.logger, keepAlive: { context.extendLease() })
            metrics.observe("dispatch", since: start)
            metrics.count(record)
            return try StageEnvelope.finished(record.carrying(item.request.metadata)).encoded()
        }
    }

    /// The sink's record for a work-protocol result: the last stage's `.finished` record, or an error
    /// record for a request the protocol gave up on.
    public static func record(for result: WireResult) -> OutputRecord {
        let requestID = RequestID(result.requestID) ?? RequestID(fileDigest: result.requestID, line: 0)
        let envelope = try? StageEnvelope.decode(result.payload)
        switch result.status {
        case .completed:
            if case .finished(let record)? = envelope { return record }
            return .failure(requestID: requestID, customID: envelope?.customID, code: .internalError,
                            message: "the stage chain ended without a record (stage \(result.stage)): check that every stage runs the same version",
                            metadata: envelope?.metadata)
        case .failed:
            return .failure(requestID: requestID, customID: envelope?.customID, code: .internalError,
                            message: "stage \(result.stage) failed permanently: \(result.reason)", metadata: envelope?.metadata)
        case .exhausted:
            return .failure(requestID: requestID, customID: envelope?.customID, code: .maxAttemptsExceeded,
                            message: "stage \(result.stage) gave up after \(result.attempts) attempts: \(result.reason)",
                            metadata: envelope?.metadata)
        }
    }

    static func decode(_ payload: Data) throws -> StageEnvelope {
        do {
            return try StageEnvelope.decode(payload)
        } catch {
            throw StageFailure.permanent("undecodable stage payload: \(DecodingErrorDescription.describe(error))")
        }
    }

    static func passThrough(_ envelope: StageEnvelope, stage: String) throws -> Data {
        guard case .finished = envelope else {
            throw StageFailure.permanent("stage \(stage) got a payload for another stage: check the coordinator's stage chain")
        }
        return try envelope.encoded()
    }
}
