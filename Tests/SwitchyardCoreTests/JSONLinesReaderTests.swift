import Foundation
import Testing
@testable import SwitchyardCore

@Suite struct JSONLinesReaderTests {
    private func temporaryFile(_ contents: String) throws -> String {
        let path = NSTemporaryDirectory() + "switchyard-jsonl-\(UUID().uuidString).jsonl"
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func numbersLinesAndStripsLineEndings() throws {
        let path = try temporaryFile("{\"a\":1}\r\n\n{\"b\":2}")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let lines = Array(try JSONLinesReader(path: path))
        #expect(lines.map(\.number) == [1, 2, 3])
        #expect(String(decoding: lines[0].bytes, as: UTF8.self) == "{\"a\":1}")
        #expect(lines[1].isBlank)
        #expect(String(decoding: lines[2].bytes, as: UTF8.self) == "{\"b\":2}")
        #expect(lines[2].offset == 10)
    }

    @Test func missingFileNamesThePath() {
        #expect(throws: SwitchyardError.self) { try JSONLinesReader(path: "/nonexistent/x.jsonl") }
    }

    @Test func routingDatasetErrorNamesLineAndField() throws {
        let path = try temporaryFile("""
            {"id":"a","prompt":"p","outcomes":{"m":1},"costs":{"m":0.1}}
            {"id":"b","outcomes":{"m":1},"costs":{"m":0.1}}
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: SwitchyardError.badLine(file: path, line: 2, reason: "missing field 'prompt'")) {
            try RoutingDataset.load(path: path)
        }
    }

    @Test func requestIDRoundTrips() {
        let id = RequestID(fileDigest: "ab12", line: 42)
        #expect(RequestID(id.description) == id)
    }
}
