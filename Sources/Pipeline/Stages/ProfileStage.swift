import Logging
import Payloads
import SwitchyardCore

/// The profile stage as a plain type: a batch of requests in, one output per request out (same order).
///
/// Stateless, so any number of workers can run it. A batch the extractor rejects is retried one
/// request at a time, so one bad prompt fails alone as an `internal_error` record.
public struct ProfileStage: Sendable {
    public let extractor: any FeatureExtractor

    public init(extractor: any FeatureExtractor) {
        self.extractor = extractor
    }

    public func process(_ batch: [PipelineRequest], logger: @autoclosure () -> Logger) -> [StageOutput<ProfiledRequest>] {
        if let features = try? extractor.features(batch.map(\.prompt)), features.count == batch.count {
            return zip(batch, features).map { .next(ProfiledRequest(request: $0, features: $1)) }
        }
        return batch.map { request in
            do {
                guard let features = try extractor.features([request.prompt]).first else {
                    throw ProfileStageError.noFeatures
                }
                return .next(ProfiledRequest(request: request, features: features))
            } catch {
                logger().warning("profiling failed", metadata: ["request_id": "\(request.requestID)", "error": "\(error)"])
                return .finished(.failure(
                    requestID: request.requestID, customID: request.customID, code: .internalError,
                    message: "profiling failed: \(error)"))
            }
        }
    }
}

enum ProfileStageError: Error, CustomStringConvertible {
    case noFeatures
    var description: String { "the profiler returned no features" }
}
