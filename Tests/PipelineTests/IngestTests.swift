import Foundation
import Payloads
import Pipeline
import SwitchyardCore
import Testing

@Suite("ingest: streaming, request IDs, malformed lines")
struct IngestTests {
    static let pool: Set<String> = ["small", "large"]

    /// A malformed line and the error code it must produce.
    static let malformed: [(line: String, code: ErrorCode)] = [
        ("{not json", .invalidJSON),
        ("[1, 2, 3]", .invalidJSON),
        ("\"just a string\"", .invalidJSON),
        ("", .invalidJSON),
        ("{}", .missingField),
        (#"{"id": "x"}"#, .missingField),
        (#"{"prompt": "hello"}"#, .missingField),
        (#"{"id": 7, "prompt": "hello"}"#, .invalidField),
        (#"{"id": "y", "prompt": 42}"#, .invalidField),
        (#"{"id": "z", "prompt": "   "}"#, .emptyPrompt),
        (#"{"id": "w", "prompt": "hi", "max_cost_usd": "cheap"}"#, .invalidField),
        (#"{"id": "v", "prompt": "hi", "max_cost_usd": -1}"#, .invalidField),
        (#"{"id": "t", "prompt": "hi", "max_tokens": 0}"#, .invalidField),
        (#"{"id": "t", "prompt": "hi", "max_tokens": 2.5}"#, .invalidField),
        (#"{"id": "t", "prompt": "hi", "max_tokens": "many"}"#, .invalidField),
        (#"{"custom_id": "b", "method": "GET", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "hi"}]}}"#, .unsupportedEndpoint),
        (#"{"custom_id": "b", "method": "POST", "url": "/v1/embeddings", "body": {"input": "hi"}}"#, .unsupportedEndpoint),
        (#"{"custom_id": "b", "method": "POST", "url": "/v1/chat/completions"}"#, .missingField),
        (#"{"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {}}"#, .missingField),
        (#"{"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": []}}"#, .invalidField),
        (#"{"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": "hi"}}"#, .invalidField),
        (#"{"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": [{"content": "hi"}]}}"#, .missingField),
        (#"{"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": 5}]}}"#, .invalidField),
        (#"{"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": ""}]}}"#, .emptyPrompt),
        (#"{"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]}}"#, .unknownModel),
        (#"{"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"model": 3, "messages": [{"role": "user", "content": "hi"}]}}"#, .invalidField),
        (#"{"custom_id": 12, "method": "POST", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "hi"}]}}"#, .invalidField),
        (#"{"method": "POST", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "hi"}]}}"#, .missingField),
        (#"{"id": "long", "prompt": "\#(String(repeating: "a", count: 2_001))"}"#, .promptTooLong),
    ]

    static func goodLine(_ index: Int) -> String {
        if index % 2 == 0 {
            return #"{"id": "p\#(index)", "prompt": "What is \#(index) + \#(index)?", "metadata": {"n": \#(index)}}"#
        }
        let model = index % 3 == 0 ? "\"small\"" : "\"auto\""
        return #"{"custom_id": "c\#(index)", "method": "POST", "url": "/v1/chat/completions", "body": {"model": \#(model), "max_tokens": 16, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Say \#(index)."}]}]}}"#
    }

    /// Writes 1,000 lines: good lines with a malformed one (cycling through every kind, invalid UTF-8
    /// and duplicate IDs included) every third line. Returns the expected code per line (nil = good).
    static func writeFuzzFile(to url: URL) throws -> [ErrorCode?] {
        var data = Data()
        var expected: [ErrorCode?] = []
        var malformedIndex = 0
        for index in 1...1000 {
            if index % 3 == 0 {
                let kind = malformedIndex % (malformed.count + 2)
                malformedIndex += 1
                if kind == malformed.count {
                    data.append(Data(#"{"id": "bad-utf8", "prompt": "caf"#.utf8))
                    data.append(contentsOf: [0xC3, 0x28, 0xFF])
                    data.append(Data(#""}"#.utf8))
                    expected.append(.invalidUTF8)
                } else if kind == malformed.count + 1 {
                    data.append(Data(goodLine(index - 1).utf8))  // the previous good line's ID again
                    expected.append(.duplicateID)
                } else {
                    data.append(Data(malformed[kind].line.utf8))
                    expected.append(malformed[kind].code)
                }
            } else {
                data.append(Data(goodLine(index).utf8))
                expected.append(nil)
            }
            data.append(0x0A)
        }
        try data.write(to: url)
        return expected
    }

    @Test func everyLineBecomesOneRequestOrOneErrorRecord() throws {
        let directory = try TemporaryDirectory()
        let file = directory.url.appendingPathComponent("fuzz.jsonl")
        let expected = try Self.writeFuzzFile(to: file)
        let ingest = try Ingest(path: file.path, parser: LineParser(poolModels: Self.pool, maxPromptCharacters: 2_000))
        #expect(ingest.lineCount == 1000)
        var lines: [Int] = []
        var requests = 0
        for item in ingest {
            switch item {
            case .request(let request):
                lines.append(request.line)
                #expect(expected[request.line - 1] == nil, "line \(request.line) should have been rejected")
                #expect(!request.prompt.isEmpty)
                requests += 1
            case .rejected(let record):
                let error = try #require(record.error)
                lines.append(error.line)
                #expect(expected[error.line - 1] == error.code, "line \(error.line): got \(error.code) \(error.message)")
                #expect(record.response == nil)
                #expect(!error.message.isEmpty)
            }
        }
        #expect(lines == Array(1...1000))
        #expect(requests == expected.filter { $0 == nil }.count)
    }

    @Test func requestIDsAreStableAndNameTheFileAndLine() throws {
        let directory = try TemporaryDirectory()
        let file = directory.url.appendingPathComponent("ids.jsonl")
        try (Self.goodLine(1) + "\n" + Self.goodLine(2) + "\n").write(to: file, atomically: true, encoding: .utf8)
        let parser = LineParser(poolModels: Self.pool)
        let first = try Ingest(path: file.path, parser: parser).compactMap(\.requestID)
        let second = try Ingest(path: file.path, parser: parser).compactMap(\.requestID)
        #expect(first == second)
        #expect(first.map(\.line) == [1, 2])
        #expect(first[0].fileDigest.count == 16)
        try (Self.goodLine(1) + "\n" + Self.goodLine(4) + "\n").write(to: file, atomically: true, encoding: .utf8)
        let changed = try Ingest(path: file.path, parser: parser).compactMap(\.requestID)
        #expect(changed[0].fileDigest != first[0].fileDigest)
    }

    /// `switchyard run` scans the input once (digest + line count) and the ingest stage reuses that
    /// scan with its own parser: same IDs, same count, as a fresh scan.
    @Test func aReparsedScanYieldsWhatAFreshScanYields() throws {
        let directory = try TemporaryDirectory()
        let file = directory.url.appendingPathComponent("scan.jsonl")
        try (Self.goodLine(1) + "\nnot json\n" + Self.goodLine(3) + "\n").write(to: file, atomically: true, encoding: .utf8)
        let parser = LineParser(poolModels: Self.pool)
        let scanned = try Ingest(path: file.path, parser: LineParser(poolModels: []))
        let reused = scanned.reparsed(with: parser)
        let fresh = try Ingest(path: file.path, parser: parser)
        #expect(reused.lineCount == 3 && reused.fileDigest == fresh.fileDigest)
        #expect(reused.compactMap(\.requestID) == fresh.compactMap(\.requestID))
        #expect(reused.filter { if case .rejected = $0 { return true } else { return false } }.count == 1)
    }

    /// The body a backend receives for `request` when routed to `small`, as a tree.
    static func wire(_ request: PipelineRequest) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: DispatchStage.wireBody(for: request, model: "small")) as? [String: Any])
    }

    @Test func maxTokensComeFromTheLineElseTheConfiguredDefault() throws {
        let id = RequestID(fileDigest: "d", line: 1)
        let parser = LineParser(poolModels: Self.pool, defaultMaxTokens: 64)
        let own = try parser.parse(Data(#"{"id": "a", "prompt": "hi", "max_tokens": 8}"#.utf8), requestID: id).get()
        #expect(own.maxTokens == 8)
        let defaulted = try parser.parse(Data(#"{"id": "b", "prompt": "hi"}"#.utf8), requestID: id).get()
        #expect(defaulted.maxTokens == 64)
        #expect(try Self.wire(defaulted)["max_tokens"] as? Int == 64)
        #expect(try Self.wire(defaulted)["model"] as? String == "small")
        // A batch body keeps its own cap; one without gets the default.
        let capped = try parser.parse(Data(Self.goodLine(3).utf8), requestID: id).get()
        #expect(try Self.wire(capped)["max_tokens"] as? Int == 16)
        let uncapped = try parser.parse(Data(#"{"custom_id": "c", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": [{"role": "user", "content": "hi"}]}}"#.utf8), requestID: id).get()
        #expect(uncapped.bodyLayout?.insertMaxTokens == 64)
        #expect(try Self.wire(uncapped)["max_tokens"] as? Int == 64)
        let completionCapped = try parser.parse(Data(#"{"custom_id": "c", "method": "POST", "url": "/v1/chat/completions", "body": {"max_completion_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}}"#.utf8), requestID: id).get()
        #expect(try Self.wire(completionCapped)["max_tokens"] == nil)
        #expect(try Self.wire(completionCapped)["max_completion_tokens"] as? Int == 5)
        // Without a default nothing is added.
        let bare = try LineParser(poolModels: Self.pool).parse(Data(#"{"id": "b", "prompt": "hi"}"#.utf8), requestID: id).get()
        #expect(bare.maxTokens == nil)
        #expect(try Self.wire(bare)["max_tokens"] == nil)
    }

    /// The caller's body reaches the backend byte for byte except the routed `model`: key order, spacing
    /// and number text (`1e-7`) are kept.
    @Test func batchBodiesTravelAsTheCallersBytes() throws {
        let body = #"{"temperature": 1e-7, "model" : "auto", "messages": [{"role": "user", "content": "caf\u00e9 \"q\""}], "top_p": 0.50, "seed": 12345678901234567890}"#
        let line = #"{"custom_id": "k", "method": "POST", "url": "/v1/chat/completions", "body": "# + body + "}"
        let request = try LineParser(poolModels: Self.pool).parse(Data(line.utf8), requestID: RequestID(fileDigest: "d", line: 1)).get()
        #expect(request.body?.text == body)
        #expect(request.prompt == "café \"q\"")
        let sent = String(decoding: DispatchStage.wireBody(for: request, model: "served/large-v2"), as: UTF8.self)
        #expect(sent == body.replacingOccurrences(of: #""auto""#, with: #""served/large-v2""#))
        // A default cap goes in front of the caller's members; nothing else moves.
        let capped = try LineParser(poolModels: Self.pool, defaultMaxTokens: 32).parse(Data(line.utf8), requestID: RequestID(fileDigest: "d", line: 1)).get()
        let cappedSent = String(decoding: DispatchStage.wireBody(for: capped, model: "m"), as: UTF8.self)
        #expect(cappedSent == #"{"max_tokens":32,"# + body.dropFirst().replacingOccurrences(of: #""auto""#, with: #""m""#))
    }

    @Test func unreadableInputIsAClearError() {
        #expect(throws: IngestError.self) {
            _ = try Ingest(path: "/nonexistent/input.jsonl", parser: LineParser(poolModels: []))
        }
    }

    @Test func sha256MatchesPublishedVectors() {
        #expect(InputDigest.sha256Hex(Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(InputDigest.sha256Hex(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(InputDigest.sha256Hex(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(InputDigest.sha256Hex(Data(repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}

/// A fresh directory under the system temporary directory, removed when the value goes away.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}
