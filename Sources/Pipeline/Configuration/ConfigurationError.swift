/// A `pipeline.yaml` that cannot run, with the key path at fault and what to do about it.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file the error is in (empty for a configuration built in code).
    public var file: String
    /// Dotted key path such as `models[2].backend.url`; empty for the whole file.
    public var keyPath: String
    public var reason: String

    public init(file: String = "", keyPath: String, reason: String) {
        self.file = file
        self.keyPath = keyPath
        self.reason = reason
    }

    public var description: String {
        let location = keyPath.isEmpty ? "" : "\(keyPath): "
        return file.isEmpty ? "\(location)\(reason)" : "\(file): \(location)\(reason)"
    }
}
