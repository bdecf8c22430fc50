import Foundation

/// The digests ingest uses, exposed for tests and for tools that want to compute request IDs themselves.
public enum InputDigest {
    /// Lowercase hex SHA-256 of `data`.
    public static func sha256Hex(_ data: Data) -> String { InputScan.hexDigest(of: data) }

    /// The `fileDigest` part of request IDs for the file at `path`: the first 16 hex digits of its SHA-256.
    public static func requestDigest(ofFile path: String) throws(IngestError) -> String {
        String(try InputScan.scanFile(path).digest.prefix(16))
    }
}
