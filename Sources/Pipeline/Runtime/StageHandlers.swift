import Foundation
import Logging
import Payloads
import SwitchyardCore
import Wire
import WorkProtocol

/// The work-protocol handlers of the three middle stages: decode the envelope, run the plain stage
/// type, encode the next envelope (binary, `Payloads`). `.finished` envelopes pass through untouched.
public enum StageHandlers {
    /// Stage names in chain order, as the coordinator and workers must agree on them.
    public static let chain = ["profile", "score", "dispatch"]

    /// The profile stage: CPU work, run on the worker's loop thread.
    public static func profile(_ stage: ProfileStage, metrics: StageMetrics = StageMetrics()) -> StageWork {
        let domains = stage.extractor.domainCodes
        return .synchronous { context, payload in
            try StageCPU.measure(.profile) { () throws -> Data in
                let envelope = try decode(payload)
                guard case .request(let request) = envelope else { return try passThrough(payload, envelope, stage: "profile") }
                let output = metrics.time("profile", count: 1) { stage.process([request], logger: context.logger) }
                switch output.first {
                case .next(let profiled)?: return StageEnvelope.profiled(profiled).encoded(domains: domains)
                case .finished(let record)?:
                    metrics.count(record)
                    return StageEnvelope.finished(record.carrying(request.metadata)).encoded()
                case nil: throw StageFailure.retryable("the profiler returned nothing")
                }
            }
        }
    }

    /// The score stage: on the worker's loop thread, unless the budget paces it (then it may wait for
    /// settles, asynchronously). `domains`: the profiles' domain codes, as the profile stage wrote them.
    public static func score(_ stage: ScoreStage, domains: DomainCodes? = nil, metrics: StageMetrics = StageMetrics()) -> StageWork {
        @Sendable func score(_ item: ProfiledRequest, _ context: TaskContext) -> Data {
            StageCPU.measure(.score) { () -> Data in
                switch metrics.time("score", count: 1, { stage.process(item, logger: context.logger) }) {
                case .next(let routed): return StageEnvelope.routed(routed).encoded()
                case .finished(let record):
                    metrics.count(record)
                    return StageEnvelope.finished(record.carrying(item.request.metadata)).encoded()
                }
            }
        }
        guard stage.budget?.configuration.inFlightShare != nil else {
            return .synchronous { context, payload in
                let envelope = try StageCPU.measure(.score) { () throws -> StageEnvelope in try decode(payload, domains: domains) }
                guard case .profiled(let item) = envelope else { return try passThrough(payload, envelope, stage: "score") }
                return score(item, context)
            }
        }
        return .async { context, payload in
            let envelope = try StageCPU.measure(.score) { () throws -> StageEnvelope in try decode(payload, domains: domains) }
            guard case .profiled(let item) = envelope else { return try passThrough(payload, envelope, stage: "score") }
            await stage.waitForBudget(keepAlive: { context.extendLease() })
            return score(item, context)
        }
    }

    /// The dispatch stage: a Swift task per request while it calls backends; a dry run on the worker's
    /// loop thread.
    public static func dispatch(_ stage: DispatchStage, metrics: StageMetrics = StageMetrics()) -> StageWork {
        @Sendable func finish(_ record: OutputRecord) -> Data {
            StageCPU.measure(.dispatch) { () -> Data in
                metrics.count(record)
                return StageEnvelope.finished(record).encoded()
            }
        }
        guard stage.sender != nil else {
            return .synchronous { _, payload in
                try StageCPU.measure(.dispatch) { () throws -> Data in
                    let envelope = try decode(payload)
                    guard case .routed(let item) = envelope else { return try passThrough(payload, envelope, stage: "dispatch") }
                    let start = ContinuousClock.now
                    let record = stage.decide(item).carrying(item.request.metadata)
                    metrics.observe("dispatch", since: start)
                    metrics.count(record)
                    return StageEnvelope.finished(record).encoded()
                }
            }
        }
        return .async { context, payload in
            let envelope = try StageCPU.measure(.dispatch) { () throws -> StageEnvelope in try decode(payload) }
            guard case .routed(let item) = envelope else { return try passThrough(payload, envelope, stage: "dispatch") }
            context.extendLease()
            let start = ContinuousClock.now
            let record = await stage.process(item, logger: context.logger, keepAlive: { context.extendLease() })
            metrics.observe("dispatch", since: start)
            return finish(record.carrying(item.request.metadata))
        }
    }

    /// The sink's record for a work-protocol result: the last stage's `.finished` record, or an error
    /// record for a request the protocol gave up on.
    public static func record(for result: WireResult) -> OutputRecord {
        if result.status == .completed, case .finished(let record)? = try? StageEnvelope.decode(result.payload) { return record }
        let requestID = RequestID(result.requestID) ?? RequestID(fileDigest: result.requestID, line: 0)
        let leading = StageEnvelope.leadingFields(in: result.payload)
        switch result.status {
        case .completed:
            return .failure(requestID: requestID, customID: leading?.customID, code: .internalError,
                            message: "the stage chain ended without a record (stage \(result.stage)): check that every stage runs the same version",
                            metadata: leading?.metadata)
        case .failed:
            return .failure(requestID: requestID, customID: leading?.customID, code: .internalError,
                            message: "stage \(result.stage) failed permanently: \(result.reason)", metadata: leading?.metadata)
        case .exhausted:
            return .failure(requestID: requestID, customID: leading?.customID, code: .maxAttemptsExceeded,
                            message: "stage \(result.stage) gave up after \(result.attempts) attempts: \(result.reason)",
                            metadata: leading?.metadata)
        }
    }

    static func decode(_ payload: Data, domains: DomainCodes? = nil) throws -> StageEnvelope {
        do {
            return try StageEnvelope.decode(payload, domains: domains)
        } catch {
            throw StageFailure.permanent("undecodable stage payload: \(error)")
        }
    }

    /// A finished record goes on as the bytes it came in.
    static func passThrough(_ payload: Data, _ envelope: StageEnvelope, stage: String) throws -> Data {
        guard case .finished = envelope else {
            throw StageFailure.permanent("stage \(stage) got a payload for another stage: check the coordinator's stage chain")
        }
        return payload
    }
}
