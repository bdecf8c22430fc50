import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The coordinator's append-only journal of accepted and completed request IDs, so a restarted
/// coordinator skips work that finished before a crash.
///
/// Layout: the 8-byte header `SWJRNL01`, then records `kind:u8, length:u16, id bytes, crc32:u32`
/// (little-endian; the CRC covers kind, length and id). Records are buffered by `append*` and
/// written + fsync'ed together by `sync()` (one fsync per batch). On `open`, a torn or corrupt
/// tail is detected by its CRC or length, cut back to the last good record, logged and reported.
///
/// Not thread-safe: owned by the coordinator's serial queue.
public final class WorkJournal {
    enum Kind: UInt8 {
        case accepted = 1
        case completed = 2
    }

    static let header = Array("SWJRNL01".utf8)

    public let path: String
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private let logger: Logger

    /// Bytes waiting for `sync()`.
    public var pendingBytes: Int { buffer.count }

    /// Opens (or creates) the journal at `path`, replays it and repairs a bad tail.
    public static func open(path: String, logger: Logger) throws(JournalError) -> (WorkJournal, JournalRecovery) {
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .cannotOpen(path: path, errno: errno) }
        do {
            let recovery = try replay(fd: fd, path: path, logger: logger)
            return (WorkJournal(path: path, descriptor: fd, logger: logger), recovery)
        } catch {
            close(fd)
            throw error
        }
    }

    private init(path: String, descriptor: Int32, logger: Logger) {
        self.path = path
        self.descriptor = descriptor
        self.logger = logger
    }

    deinit { close(descriptor) }

    /// Buffers "accepted `requestID`".
    public func appendAccepted(_ requestID: String) { append(.accepted, requestID) }

    /// Buffers "completed `requestID`".
    public func appendCompleted(_ requestID: String) { append(.completed, requestID) }

    private func append(_ kind: Kind, _ requestID: String) {
        var requestID = requestID
        requestID.withUTF8 { utf8 in  // the ID's bytes in place: no array per record
            let id = UnsafeBufferPointer(rebasing: utf8.prefix(Int(UInt16.max)))
            let start = buffer.count
            buffer.append(kind.rawValue)
            buffer.append(UInt8(truncatingIfNeeded: id.count))
            buffer.append(UInt8(truncatingIfNeeded: id.count >> 8))
            buffer.append(contentsOf: id)
            let crc = CRC32.checksum(buffer[start...])
            for shift in stride(from: 0, to: 32, by: 8) { buffer.append(UInt8(truncatingIfNeeded: crc >> UInt32(shift))) }
        }
    }

    /// Writes buffered records and fsyncs; call once per batch of messages.
    public func sync() throws(JournalError) {
        guard !buffer.isEmpty else { return }
        var written = 0
        while written < buffer.count {
            let result = buffer.withUnsafeBytes { raw in
                write(descriptor, raw.baseAddress!.advanced(by: written), raw.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw .ioFailed(path: path, operation: "write", errno: errno)
            }
            written += result
        }
        buffer.removeAll(keepingCapacity: true)
        guard fsync(descriptor) == 0 else { throw .ioFailed(path: path, operation: "fsync", errno: errno) }
    }

    private static func replay(fd: Int32, path: String, logger: Logger) throws(JournalError) -> JournalRecovery {
        let size = Int(lseek(fd, 0, SEEK_END))
        guard size >= 0, lseek(fd, 0, SEEK_SET) == 0 else { throw .ioFailed(path: path, operation: "seek", errno: errno) }
        if size == 0 {
            var headerBytes = header
            guard write(fd, &headerBytes, headerBytes.count) == headerBytes.count else {
                throw .ioFailed(path: path, operation: "write header", errno: errno)
            }
            guard fsync(fd) == 0 else { throw .ioFailed(path: path, operation: "fsync", errno: errno) }
            return JournalRecovery()
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var read = 0
        while read < size {
            let result = bytes.withUnsafeMutableBytes { raw in Glibc.read(fd, raw.baseAddress!.advanced(by: read), size - read) }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else { throw .ioFailed(path: path, operation: "read", errno: errno) }
            read += result
        }
        guard size >= header.count, Array(bytes[0..<header.count]) == header else {
            if size < header.count && header.starts(with: bytes) {
                // A crash while writing the header of a new journal: start it again.
                guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
                    throw .ioFailed(path: path, operation: "truncate", errno: errno)
                }
                return try replay(fd: fd, path: path, logger: logger)
            }
            throw .notAJournal(path: path)
        }
        var recovery = JournalRecovery()
        var accepted: Set<String> = []
        var offset = header.count
        while offset < size {
            guard let (kind, id, next) = decodeRecord(bytes, at: offset) else { break }
            switch kind {
            case .accepted: accepted.insert(id)
            case .completed:
                accepted.remove(id)
                recovery.completed.insert(id)
            }
            recovery.records += 1
            offset = next
        }
        recovery.unfinished = accepted.subtracting(recovery.completed).count
        if offset < size {
            recovery.truncatedBytes = size - offset
            recovery.corruptionOffset = offset
            logger.warning("journal tail corrupt or truncated; cut back to the last good record", metadata: [
                "path": "\(path)", "offset": "\(offset)", "bytes_cut": "\(size - offset)", "good_records": "\(recovery.records)",
            ])
            guard ftruncate(fd, off_t(offset)) == 0, fsync(fd) == 0 else {
                throw .ioFailed(path: path, operation: "truncate", errno: errno)
            }
        }
        guard lseek(fd, 0, SEEK_END) >= 0 else { throw .ioFailed(path: path, operation: "seek", errno: errno) }
        return recovery
    }

    private static func decodeRecord(_ bytes: [UInt8], at offset: Int) -> (Kind, String, Int)? {
        guard bytes.count - offset >= 3, let kind = Kind(rawValue: bytes[offset]) else { return nil }
        let length = Int(bytes[offset + 1]) | Int(bytes[offset + 2]) << 8
        let end = offset + 3 + length
        guard end + 4 <= bytes.count else { return nil }
        var stored: UInt32 = 0
        for index in 0..<4 { stored |= UInt32(bytes[end + index]) << UInt32(8 * index) }
        guard CRC32.checksum(bytes[offset..<end]) == stored,
              let id = String(validating: bytes[(offset + 3)..<end], as: UTF8.self) else { return nil }
        return (kind, id, end + 4)
    }
}
