/// Why the coordinator's journal could not be opened or written.
public enum JournalError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be opened or created.
    case cannotOpen(path: String, errno: Int32)
    /// The file exists but does not start with the journal header: it is some other file.
    case notAJournal(path: String)
    /// A write, fsync or truncate failed (disk full, file system gone).
    case ioFailed(path: String, operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let code):
            return "cannot open journal \(path): \(String(cString: strerror(code))); check that its directory exists and is writable"
        case .notAJournal(let path):
            return "\(path) is not a Switchyard journal; point `coordinator.journal` at a new path or remove that file"
        case .ioFailed(let path, let operation, let code):
            return "journal \(path): \(operation) failed: \(String(cString: strerror(code))); check free disk space, then restart to resume"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
