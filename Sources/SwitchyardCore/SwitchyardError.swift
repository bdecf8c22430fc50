/// Errors that carry what to do next, shared by every module that reads files.
public enum SwitchyardError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file could not be opened or read.
    case unreadableFile(file: String, reason: String)
    /// A file or folder could not be created or written.
    case unwritableFile(file: String, reason: String)
    /// A file was read but is not what it should be.
    case badFile(file: String, reason: String)
    /// One line of a JSON Lines file is wrong.
    case badLine(file: String, line: Int, reason: String)
    /// A value given on the command line or in a configuration is wrong.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .unreadableFile(let file, let reason): return "\(file): cannot read: \(reason)"
        case .unwritableFile(let file, let reason): return "\(file): cannot write: \(reason)"
        case .badFile(let file, let reason): return "\(file): \(reason)"
        case .badLine(let file, let line, let reason): return "\(file):\(line): \(reason)"
        case .invalidArgument(let message): return message
        }
    }
}
