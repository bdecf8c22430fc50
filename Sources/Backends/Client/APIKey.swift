/// A bearer token read from the environment. Its description is always redacted, so it cannot
/// leak through string interpolation into logs, errors or outputs.
public struct APIKey: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    let value: String

    public init(_ value: String) { self.value = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}
