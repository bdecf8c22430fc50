import Foundation
import Testing
@testable import Backends

@Suite("Request rewriting and usage parsing without JSONSerialization")
struct ChatBodyTests {
    private func object(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func replacesOnlyTheTopLevelModel() throws {
        let json = #"{"messages":[{"role":"user","content":"say \"model\": {x}","model":"inner"}], "model" : "auto","max_tokens":64}"#
        let body = try ChatBody(json: Data(json.utf8), defaultCompletionTokens: 256)
        let out = try object(body.encoded(servedModel: "served-\"q\""))
        #expect(out["model"] as? String == "served-\"q\"")
        let messages = try #require(out["messages"] as? [[String: Any]])
        #expect(messages[0]["model"] as? String == "inner")
        #expect(messages[0]["content"] as? String == "say \"model\": {x}")
        #expect(out["max_tokens"] as? Int == 64)
        #expect(body.estimatedTokens == Double(json.utf8.count) / 4 + 64)
    }

    @Test func insertsTheModelWhenAbsent() throws {
        let body = try ChatBody(json: Data(#"  {"messages":[]}"#.utf8), defaultCompletionTokens: 100)
        let out = try object(body.encoded(servedModel: "m"))
        #expect(out["model"] as? String == "m")
        #expect((out["messages"] as? [Any])?.isEmpty == true)
        let empty = try ChatBody(json: Data("{ }".utf8), defaultCompletionTokens: 1)
        #expect(try object(empty.encoded(servedModel: "m"))["model"] as? String == "m")
    }

    @Test func rejectsWhatIsNotAnObject() {
        for bad in ["", "[1]", "{\"a\":", "{\"a\" 1}", "{\"a\":\"unterminated}", "{\"a\":1} trailing", "{\"a\":[1,2}"] {
            #expect(throws: ChatBodyError.self, "\(bad)") {
                try ChatBody(json: Data(bad.utf8), defaultCompletionTokens: 1)
            }
        }
    }

    @Test func readsUsageFromAResponse() {
        let response = #"{"id":"x","choices":[{"message":{"content":"\"usage\":{\"prompt_tokens\":1}"}}],"usage":{"prompt_tokens":12,"completion_tokens":34,"total_tokens":46,"prompt_tokens_details":{"cached_tokens":0}}}"#
        #expect(CompletionUsage.parse(Data(response.utf8)).usage == TokenUsage(promptTokens: 12, completionTokens: 34))
        #expect(CompletionUsage.parse(Data(response.utf8)).isJSON)
        #expect(CompletionUsage.parse(Data(#"{"usage":null}"#.utf8)).usage == nil)
        #expect(CompletionUsage.parse(Data(#"{"usage":null}"#.utf8)).isJSON)
        #expect(CompletionUsage.parse(Data("not json".utf8)).usage == nil)
        #expect(!CompletionUsage.parse(Data("not json".utf8)).isJSON)
    }

    /// A layout found upstream (the pipeline's ingest) is trusted: the model is spliced where it says and a
    /// default cap goes in front; every other byte stays.
    @Test func splicesAKnownLayoutWithoutScanning() throws {
        let json = #"{"temperature":1e-7,"model":"auto","messages":[]}"#
        let layout = ChatBody.Layout(modelValue: 28..<34, completionTokens: nil, insertMaxTokens: 64)
        let out = ChatBody(trusted: Data(json.utf8), layout: layout, defaultCompletionTokens: 256).encoded(servedModel: "m")
        #expect(String(decoding: out, as: UTF8.self) == #"{"max_tokens":64,"temperature":1e-7,"model":"m","messages":[]}"#)
        let noModel = ChatBody(trusted: Data(#"{"messages":[]}"#.utf8), layout: .init(modelValue: nil, completionTokens: 8), defaultCompletionTokens: 256)
        #expect(String(decoding: noModel.encoded(servedModel: "m"), as: UTF8.self) == #"{"model":"m","messages":[]}"#)
        #expect(noModel.estimatedTokens == Double(15) / 4 + 8)
    }
}
