import Foundation
import Testing
@testable import Embedding

@Suite("SafetensorsFile")
struct SafetensorsFileTests {
    /// Writes a safetensors file: the header JSON padded with spaces so the data section starts
    /// 8-byte aligned (as real writers do), then `data`. Returns its path.
    static func write(header: String, data: [UInt8], name: String, lengthOverride: UInt64? = nil) throws -> String {
        var json = Array(header.utf8)
        while (8 + json.count) % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var bytes = [UInt8]()
        var length = (lengthOverride ?? UInt64(json.count)).littleEndian
        withUnsafeBytes(of: &length) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: json)
        bytes.append(contentsOf: data)
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("switchyard-st-\(ProcessInfo.processInfo.processIdentifier)-\(name).safetensors").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func floatBytes(_ values: [Float]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }

    @Test("reads F32 tensors with their shapes from a well-formed file")
    func readsTensors() throws {
        let header = #"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[3],"data_offsets":[16,28]}}"#
        let path = try Self.write(header: header, data: Self.floatBytes([1, 2, 3, 4, 5, 6, 7]), name: "ok")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let file = try SafetensorsFile(path: path)
        #expect(file.metadata["format"] == "pt")
        #expect(file.tensors["a"]?.shape == [2, 2])
        #expect(Array(try file.floats("a", shape: [2, 2])) == [1, 2, 3, 4])
        #expect(Array(try file.floats("b", shape: [3])) == [5, 6, 7])
        #expect(throws: EmbeddingError.self) { try file.floats("a", shape: [4]) }
        #expect(throws: EmbeddingError.self) { try file.floats("missing", shape: [1]) }
    }

    @Test("the real model file has every MiniLM tensor with the expected shapes")
    func realModel() throws {
        let path = try TestPaths.require(TestPaths.modelDirectory + "/model.safetensors", hint: EmbeddingError.fetchHint)
        let file = try SafetensorsFile(path: path)
        #expect(file.tensors.count >= 100)
        let table = try file.floats("embeddings.word_embeddings.weight", shape: [30522, 384])
        #expect(table.count == 30522 * 384)
        _ = try MiniLMWeights(file: file)
    }

    @Test("missing, truncated and non-safetensors files give errors that say how to fetch the model")
    func badFiles() throws {
        func expectFetchHint(_ path: String) {
            #expect {
                _ = try SafetensorsFile(path: path)
            } throws: { error in
                "\(error)".contains("scripts/setup")
            }
        }
        expectFetchHint("/nonexistent/model.safetensors")

        let header = #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#
        let truncated = try Self.write(header: header, data: Self.floatBytes([1, 2]), name: "truncated")
        defer { try? FileManager.default.removeItem(atPath: truncated) }
        expectFetchHint(truncated)

        let inconsistent = #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}"#
        let wrongShape = try Self.write(header: inconsistent, data: Self.floatBytes([1, 2, 3, 4]), name: "shape")
        defer { try? FileManager.default.removeItem(atPath: wrongShape) }
        expectFetchHint(wrongShape)

        let tooLong = try Self.write(header: header, data: [], name: "length", lengthOverride: 1 << 40)
        defer { try? FileManager.default.removeItem(atPath: tooLong) }
        expectFetchHint(tooLong)

        let garbage = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-st-garbage.safetensors").path
        try Data("this is not a model, just text".utf8).write(to: URL(fileURLWithPath: garbage))
        defer { try? FileManager.default.removeItem(atPath: garbage) }
        expectFetchHint(garbage)

        let tiny = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-st-tiny.safetensors").path
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: tiny))
        defer { try? FileManager.default.removeItem(atPath: tiny) }
        expectFetchHint(tiny)
    }
}
