import Foundation
import SwitchyardCore
import Wire

/// The payload of every work-protocol task between stages: where a request is in the chain.
///
/// A stage that finishes a request early (a malformed line at ingest, `budget_exhausted` at score)
/// emits `.finished`, which later stages pass through untouched, so the sink still gets exactly one
/// record per input line.
///
/// On the wire it is compact versioned binary (`PayloadFormat`): the feature vector sparse, request and
/// response bodies as their bytes; see `PayloadCodec` for the layout.
public enum StageEnvelope: Sendable, Hashable {
    case request(PipelineRequest)
    case profiled(ProfiledRequest)
    case routed(RoutedRequest)
    case finished(OutputRecord)

    /// The payload bytes. `domains` codes the profiled query's knowledge domains as small integers
    /// (the profile stage passes its artifact's vocabulary; nil writes them as text).
    public func encoded(domains: DomainCodes? = nil) -> Data {
        var writer = PayloadWriter(capacity: estimatedSize, domains: domains)
        writer.envelope(self)
        return Data(writer.writer.bytes)
    }

    /// Decodes a payload (untrusted bytes: every field is checked, a payload of another version is
    /// refused). `domains` must be the encoder's vocabulary when the payload codes domains.
    public static func decode(_ data: Data, domains: DomainCodes? = nil) throws(PayloadError) -> StageEnvelope {
        let result = data.withUnsafeBytes { raw in
            Result { () throws(PayloadError) -> StageEnvelope in
                var reader = PayloadReader(raw, domains: domains)
                return try reader.envelope()
            }
        }
        return try result.get()
    }

    /// The customer's ID and the line's metadata of a payload, read from its head (for the error record of a
    /// task the work protocol gave up on, whatever state the rest of its payload is in); nil when unreadable.
    public static func leadingFields(in data: Data) -> (customID: String?, metadata: RawJSON?)? {
        data.withUnsafeBytes { raw in
            var reader = PayloadReader(raw, domains: nil)
            return (try? reader.leading()) ?? nil
        }
    }

    /// The input line's `metadata`, when the envelope carries it.
    public var metadata: RawJSON? {
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

    /// Bytes to reserve up front: one allocation for the common payload.
    private var estimatedSize: Int {
        func request(_ r: PipelineRequest) -> Int {
            96 + r.customID.utf8.count + r.prompt.utf8.count + (r.body?.bytes.count ?? 0) + (r.metadata?.bytes.count ?? 0)
        }
        switch self {
        case .request(let r): return request(r)
        case .profiled(let p):
            let nonZeros = p.features.nonZeros?.count ?? p.features.vector.count
            return request(p.request) + 64 + 8 * min(nonZeros, p.features.vector.count) + 4 * (p.features.taskMix?.count ?? 0)
        case .routed(let r): return request(r.request) + 256 + 48 * r.decision.alternatives.count
        case .finished(let record):
            return 256 + record.id.utf8.count + (record.response?.body.bytes.count ?? 0) + (record.metadata?.bytes.count ?? 0)
        }
    }
}

/// The payload format's version and limits.
public enum PayloadFormat {
    /// First byte of every payload; bumped whenever the layout changes. A payload of another version is
    /// refused with `PayloadError.unsupportedVersion`.
    public static let version: UInt8 = 1
    /// Largest feature-vector dimension a payload may declare (bounds what a bad payload can allocate).
    public static let maxDimension = 1 << 20
}

/// Why a stage payload could not be decoded: a peer of another version, or corrupt bytes.
public enum PayloadError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    /// A JSON payload: a switchyard from before the binary format.
    case jsonPayload
    case unsupportedVersion(UInt8)
    case unknownKind(UInt8)
    case wire(WireError)
    case invalid(field: String, reason: String)
    /// The payload codes domains against another vocabulary than this process's.
    case domainVocabularyMismatch

    public var description: String {
        switch self {
        case .empty: return "empty stage payload"
        case .jsonPayload:
            return "stage payload is JSON, from a switchyard before payload version \(PayloadFormat.version): run the same switchyard version in every stage"
        case .unsupportedVersion(let version):
            return "stage payload version \(version), but this build speaks version \(PayloadFormat.version): run the same switchyard version in every stage"
        case .unknownKind(let kind): return "stage payload kind \(kind) is unknown: run the same switchyard version in every stage"
        case .wire(let error): return "stage payload: \(error)"
        case .invalid(let field, let reason): return "stage payload field \(field): \(reason)"
        case .domainVocabularyMismatch:
            return "stage payload codes knowledge domains of other profiles than this process loaded: run every stage on the same router.profiles"
        }
    }
}
