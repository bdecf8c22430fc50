/// Why ingest cannot start at all (a bad line is never this: it becomes an error record).
public enum IngestError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadableInput(path: String)

    public var description: String {
        switch self {
        case .unreadableInput(let path): return "cannot read input file \(path): check the --input path and its permissions"
        }
    }
}
