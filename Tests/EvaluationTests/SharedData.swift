import Foundation
import SwitchyardCore
import Testing

/// Locates `../shared/data` from this file (repo root = 3 levels up); a missing folder fails the test
/// with a clear message instead of silently passing.
enum SharedData {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data")
    }

    static func dataset(_ name: String, _ split: String) throws -> RoutingDataset {
        let path = root.appendingPathComponent(name).appendingPathComponent("\(split).jsonl").path
        try #require(FileManager.default.fileExists(atPath: path), "shared routing data missing at \(path): the shared folder must sit beside the repository")
        return try RoutingDataset.load(path: path)
    }
}
