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

    @Test func decodeEachSkipsBlankLinesAndNamesFileLineAndField() throws {
        struct Line: Decodable { var id: String; var n: Int }
        let path = try temporaryFile("{\"id\":\"a\",\"n\":1}\n\n{\"id\":\"b\",\"n\":2}\n{\"id\":\"c\",\"n\":\"three\"}\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        var seen: [(String, Int)] = []
        #expect {
            try JSONLinesReader(path: path).decodeEach(Line.self) { line, number throws(SwitchyardError) in seen.append((line.id, number)) }
        } throws: { error in
            guard case SwitchyardError.badLine(let file, let line, let reason) = error else { return false }
            return file == path && line == 4 && reason.contains("'n'")
        }
        #expect(seen.map(\.0) == ["a", "b"])
        #expect(seen.map(\.1) == [1, 3])
        // The body's own errors pass through unchanged.
        #expect(throws: SwitchyardError.badLine(file: path, line: 1, reason: "stop")) {
            try JSONLinesReader(path: path).decodeEach(Line.self) { _, number throws(SwitchyardError) in
                throw .badLine(file: path, line: number, reason: "stop")
            }
        }
    }

    @Test func requestIDRoundTrips() {
        let id = RequestID(fileDigest: "ab12", line: 42)
        #expect(RequestID(id.description) == id)
    }
}
