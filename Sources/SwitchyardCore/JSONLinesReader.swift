#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// One line of a JSON Lines file, as raw bytes (UTF-8 is validated by the caller).
public struct JSONLine: Sendable {
    /// 1-based line number in the file.
    public var number: Int
    /// The line without its terminating newline (and without a trailing `\r`).
    public var bytes: Data
    /// Byte offset of the start of this line in the file.
    public var offset: Int

    public init(number: Int, bytes: Data, offset: Int) {
        self.number = number
        self.bytes = bytes
        self.offset = offset
    }

    /// True for an empty line or one holding only spaces and tabs.
    public var isBlank: Bool {
        bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 }
    }
}

/// Streams a file line by line without loading it whole: memory stays bounded by the longest line.
///
/// Not thread-safe: iterate it from one thread. Iterating twice re-reads from the start.
public struct JSONLinesReader: Sequence {
    public let path: String

    public init(path: String) throws(SwitchyardError) {
        guard let file = fopen(path, "rb") else {
            throw .unreadableFile(file: path, reason: FileErrors.posix(errno, path: path, writing: false))
        }
        fclose(file)
        self.path = path
    }

    public func makeIterator() -> Iterator { Iterator(path: path) }

    public final class Iterator: IteratorProtocol {
        private var file: UnsafeMutablePointer<FILE>?
        private var buffer: UnsafeMutablePointer<CChar>? = nil
        private var capacity: Int = 0
        private var lineNumber = 0
        private var offset = 0

        init(path: String) { file = fopen(path, "rb") }

        deinit {
            if let file { fclose(file) }
            free(buffer)
        }

        public func next() -> JSONLine? {
            guard let file else { return nil }
            let count = getline(&buffer, &capacity, file)
            guard count >= 0, let buffer else {
                fclose(file)
                self.file = nil
                return nil
            }
            lineNumber += 1
            let start = offset
            offset += count
            var length = count
            let raw = UnsafeRawPointer(buffer).assumingMemoryBound(to: UInt8.self)
            if length > 0 && raw[length - 1] == 0x0A { length -= 1 }
            if length > 0 && raw[length - 1] == 0x0D { length -= 1 }
            return JSONLine(number: lineNumber, bytes: Data(bytes: raw, count: length), offset: start)
        }
    }
}

/// Appends JSON Lines to a file; each `write` is one line. Used by every writer of outputs.
public final class JSONLinesWriter {
    private let handle: UnsafeMutablePointer<FILE>
    public let path: String
    private let encoder: JSONEncoder

    /// Opens `path` for writing (`append: false` truncates).
    public init(path: String, append: Bool = false) throws(SwitchyardError) {
        guard let handle = fopen(path, append ? "ab" : "wb") else {
            throw .unwritableFile(file: path, reason: FileErrors.posix(errno, path: path, writing: true))
        }
        self.handle = handle
        self.path = path
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        self.encoder = encoder
    }

    deinit { fclose(handle) }

    public func write<T: Encodable>(_ value: T) throws {
        var data = try encoder.encode(value)
        data.append(0x0A)
        try writeRaw(data)
    }

    /// Writes bytes that already form one or more complete lines.
    public func writeRaw(_ data: Data) throws(SwitchyardError) {
        let written = data.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
        if written != data.count {
            throw .unwritableFile(file: path, reason: "short write: \(FileErrors.posix(errno, path: path, writing: true))")
        }
    }

    /// Writes bytes that already form one or more complete lines.
    public func writeRaw(_ bytes: [UInt8]) throws(SwitchyardError) {
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
        if written != bytes.count {
            throw .unreadableFile(file: path, reason: "short write: \(String(cString: strerror(errno)))")
        }
    }

    public func flush() { fflush(handle) }

    /// Flushes and forces the data to disk (for journals).
    public func sync() {
        fflush(handle)
        fsync(fileno(handle))
    }
}
