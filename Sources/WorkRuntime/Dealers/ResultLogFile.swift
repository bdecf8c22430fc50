import Foundation
import Wire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal exactly-once result file for the synthetic `switchyard work` runs, tests and the
/// benchmark: one line `requestID<TAB>status<TAB>stage<TAB>attempts` per request.
///
/// On open it reads the IDs already written (a resumed run) and cuts a torn last line, so a
/// redelivered result is skipped instead of written twice. `flush()` fsyncs. Not thread-safe:
/// use it from the consumer's callbacks only.
public final class ResultLogFile: @unchecked Sendable {
    public let path: String
    private let descriptor: Int32
    private var written: Set<String> = []
    private var buffer: [UInt8] = []
    /// Results skipped because their ID was already in the file.
    public private(set) var duplicatesSkipped = 0

    public init(path: String) throws(WorkRuntimeError) {
        self.path = path
        let existing = FileManager.default.contents(atPath: path) ?? Data()
        var goodLength = 0
        var lineStart = 0
        for (index, byte) in existing.enumerated() where byte == UInt8(ascii: "\n") {
            let line = existing[existing.startIndex + lineStart..<existing.startIndex + index]
            if let tab = line.firstIndex(of: UInt8(ascii: "\t")) {
                written.insert(String(decoding: line[line.startIndex..<tab], as: UTF8.self))
            }
            lineStart = index + 1
            goodLength = lineStart
        }
        descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .system(operation: "open \(path)", errno: errno) }
        guard ftruncate(descriptor, off_t(goodLength)) == 0, lseek(descriptor, 0, SEEK_END) >= 0 else {
            throw .system(operation: "truncate \(path)", errno: errno)
        }
    }

    deinit { close(descriptor) }

    /// Request IDs in the file.
    public var count: Int { written.count }

    /// Buffers `result`'s line unless its ID is already written.
    public func write(_ result: WireResult) {
        guard written.insert(result.requestID).inserted else {
            duplicatesSkipped += 1
            return
        }
        let status: String
        switch result.status {
        case .completed: status = "completed"
        case .failed: status = "failed"
        case .exhausted: status = "exhausted"
        }
        buffer.append(contentsOf: "\(result.requestID)\t\(status)\t\(result.stage)\t\(result.attempts)\n".utf8)
    }

    /// Writes the buffered lines and fsyncs.
    public func flush() throws(WorkRuntimeError) {
        var offset = 0
        while offset < buffer.count {
            let count = buffer.withUnsafeBytes { raw in Glibc.write(descriptor, raw.baseAddress!.advanced(by: offset), raw.count - offset) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .system(operation: "write \(path)", errno: errno)
            }
            offset += count
        }
        buffer.removeAll(keepingCapacity: true)
        guard fsync(descriptor) == 0 else { throw .system(operation: "fsync \(path)", errno: errno) }
    }
}
