import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file that holds a secret (an API key, a CURVE secret key, a TLS private key), refusing one
/// that the group or others may read: a secret on a shared machine is only as safe as its file mode.
public enum SecretFile {
    /// Why a secret file cannot be used; each message says what to do.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case missing(path: String)
        case unreadable(path: String, reason: String)
        /// Group or others have some permission on the file.
        case tooOpen(path: String, mode: UInt16)
        case notAFile(path: String)
        case empty(path: String)

        public var description: String {
            switch self {
            case .missing(let path): return "\(path): no such file"
            case .unreadable(let path, let reason): return "\(path): cannot read: \(reason)"
            case .tooOpen(let path, let mode):
                return "\(path) is readable by others (mode \(String(mode, radix: 8))): a secret must be readable by its owner alone: run chmod 600 \(path)"
            case .notAFile(let path): return "\(path) is not a regular file"
            case .empty(let path): return "\(path) is empty"
            }
        }
    }

    /// Checks that `path` is a regular file with no group or other permissions (mode 0600 or 0400).
    public static func checkPermissions(_ path: String) throws(Failure) {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { throw .missing(path: path) }
            throw .unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw .notAFile(path: path) }
        let mode = UInt16(info.st_mode & 0o777)
        guard mode & 0o077 == 0 else { throw .tooOpen(path: path, mode: mode) }
    }

    /// The file's bytes, after `checkPermissions`.
    public static func read(_ path: String) throws(Failure) -> Data {
        try checkPermissions(path)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadable(path: path, reason: "permission denied or I/O error")
        }
        return data
    }

    /// The secret as text: the first line that is neither empty nor a `#` comment, trimmed.
    public static func readLine(_ path: String) throws(Failure) -> String {
        let text = String(decoding: try read(path), as: UTF8.self)
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty && !trimmed.hasPrefix("#") { return trimmed }
        }
        throw .empty(path: path)
    }
}
