import Foundation
import Testing

/// Where the shared fixture and the model files live, relative to this file (repo = 3 levels up).
enum TestPaths {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let modelDirectory = repo.appendingPathComponent(".models/all-MiniLM-L6-v2").path
    static let referenceFile = repo.appendingPathComponent("Tests/Fixtures/minilm/reference.jsonl").path
    static let fixturesDirectory = repo.appendingPathComponent("Tests/EmbeddingTests/Fixtures").path

    /// Fails the test with a clear message (never a silent pass) when a required file is missing.
    static func require(_ path: String, hint: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("missing \(path): \(hint)")
            throw MissingFile(path: path)
        }
        return path
    }

    struct MissingFile: Error { let path: String }
}

/// One line of `Tests/Fixtures/minilm/reference.jsonl`.
struct ReferenceCase: Decodable {
    let text: String
    let input_ids: [Int32]
    let embedding: [Float]

    static func loadAll() throws -> [ReferenceCase] {
        let path = try TestPaths.require(TestPaths.referenceFile, hint: "the MiniLM reference fixture ships in the repository at Tests/Fixtures/minilm")
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let decoder = JSONDecoder()
        return try data.split(separator: UInt8(ascii: "\n")).map { try decoder.decode(ReferenceCase.self, from: Data($0)) }
    }
}
