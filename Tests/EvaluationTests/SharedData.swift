import Foundation
import SwitchyardCore
import Testing

/// Locates the routing data the repository carries (`data/routing`, repo root = 3 levels up from this file);
/// a missing folder fails the test with a clear message instead of silently passing.
enum SharedData {
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("data/routing")
    }

    static func dataset(_ name: String, _ split: String) throws -> RoutingDataset {
        let path = root.appendingPathComponent(name).appendingPathComponent("\(split).jsonl").path
        try #require(FileManager.default.fileExists(atPath: path), "routing data missing at \(path): it ships in the repository under data/routing (scripts/sync-data refreshes it)")
        return try RoutingDataset.load(path: path)
    }
}
