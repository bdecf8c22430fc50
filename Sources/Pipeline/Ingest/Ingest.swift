import Foundation
import Payloads
import SwitchyardCore

/// Streams an input file and yields, for every line, either a request or an error record: never both,
/// never neither, so `lines(input) == lines(results) + lines(errors)` holds by construction.
///
/// Memory is bounded by the longest line plus the set of IDs seen (for `duplicate_id`).
/// Not thread-safe: iterate from one task.
public struct Ingest: Sequence, Sendable {
    public enum Item: Sendable {
        case request(PipelineRequest)
        case rejected(OutputRecord)

        public var requestID: RequestID? {
            switch self {
            case .request(let request): return request.requestID
            case .rejected(let record): return RequestID(record.id)
            }
        }
    }

    public let path: String
    /// First 16 hex digits of the file's SHA-256: the stable part of every request ID.
    public let fileDigest: String
    public let parser: LineParser
    /// Lines in the file: exactly the number of records the run will write.
    public let lineCount: Int

    /// Reads the file once to digest it and count its lines (streamed), so IDs are stable across restarts.
    public init(path: String, parser: LineParser) throws(IngestError) {
        let scan = try InputScan.scanFile(path)
        self.path = path
        self.fileDigest = String(scan.digest.prefix(16))
        self.lineCount = scan.lines
        self.parser = parser
    }

    private init(path: String, fileDigest: String, parser: LineParser, lineCount: Int) {
        self.path = path
        self.fileDigest = fileDigest
        self.parser = parser
        self.lineCount = lineCount
    }

    /// The same scanned file read with another parser: no second pass over the file (the run counts
    /// lines before the stages start, and the ingest stage reuses that scan).
    public func reparsed(with parser: LineParser) -> Ingest {
        Ingest(path: path, fileDigest: fileDigest, parser: parser, lineCount: lineCount)
    }

    public func makeIterator() -> Iterator {
        // The file was readable a moment ago; if it vanished, the iterator simply ends.
        let reader = try? JSONLinesReader(path: path)
        return Iterator(lines: reader?.makeIterator(), digest: fileDigest, parser: parser)
    }

    public struct Iterator: IteratorProtocol {
        var lines: JSONLinesReader.Iterator?
        let digest: String
        let parser: LineParser
        var seenIDs: Set<String> = []

        public mutating func next() -> Item? {
            guard let line = lines?.next() else { return nil }
            let requestID = RequestID(fileDigest: digest, line: line.number)
            switch parser.parse(line.bytes, requestID: requestID) {
            case .success(let request):
                guard seenIDs.insert(request.customID).inserted else {
                    let field = request.format == .openAIBatch ? "custom_id" : "id"
                    return .rejected(.failure(
                        requestID: requestID, customID: request.customID, code: .duplicateID,
                        message: "\(field) '\(request.customID.prefix(80))' already appeared on an earlier line: IDs must be unique",
                        field: field, metadata: request.metadata))
                }
                return .request(request)
            case .failure(let rejection):
                return .rejected(.failure(
                    requestID: requestID, customID: rejection.customID, code: rejection.code,
                    message: rejection.message, field: rejection.field, metadata: rejection.metadata))
            }
        }
    }
}
