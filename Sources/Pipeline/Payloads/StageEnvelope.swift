import Foundation
import SwitchyardCore

/// The payload of every work-protocol task between stages (JSON): where a request is in the chain.
///
/// A stage that finishes a request early (a malformed line at ingest, `budget_exhausted` at score)
/// emits `.finished`, which later stages pass through untouched, so the sink still gets exactly one
/// record per input line.
public enum StageEnvelope: Codable, Sendable, Hashable {
    case request(PipelineRequest)
    case profiled(ProfiledRequest)
    case routed(RoutedRequest)
    case finished(OutputRecord)

    public func encoded() throws -> Data {
        try Self.encoder.encode(self)
    }

    public static func decode(_ data: Data) throws -> StageEnvelope {
        try JSONDecoder().decode(StageEnvelope.self, from: data)
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// The input line's `metadata`, when the envelope carries it (for error records made from a lost task).
    public var metadata: JSONValue? {
        switch self {
        case .request(let request): return request.metadata
        case .profiled(let item): return item.request.metadata
        case .routed(let item): return item.request.metadata
        case .finished(let record): return record.metadata
        }
    }

    /// The customer's ID, when the envelope knows it (for error records made from a lost task).
    public var customID: String? {
        switch self {
        case .request(let request): return request.customID
        case .profiled(let item): return item.request.customID
        case .routed(let item): return item.request.customID
        case .finished(let record): return record.customID
        }
    }
}
