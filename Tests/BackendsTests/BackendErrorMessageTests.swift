import Foundation
import Testing
@testable import Backends

/// Error bodies as real servers send them (llama.cpp `llama-server` b11434, llama-cpp-python,
/// OpenAI): the record's message must say why, in words and by kind.
@Suite("Backend error bodies become clear messages")
struct BackendErrorMessageTests {
    private func message(_ json: String) -> String { BackendErrorMessage.extract(from: Data(json.utf8)) }

    @Test func llamaServerContextOverflowKeepsKindAndTokenCounts() {
        // b11434 says the counts in the message; older builds only in the fields.
        let body = #"{"error":{"code":400,"message":"request (5031 tokens) exceeds the available context size (1024 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":5031,"n_ctx":1024}}"#
        #expect(message(body) == "request (5031 tokens) exceeds the available context size (1024 tokens), try increasing it (exceed_context_size_error)")
        let older = #"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":6012,"n_ctx":1024}}"#
        #expect(message(older) == "the request exceeds the available context size, try increasing it (exceed_context_size_error; 6012 prompt tokens, context 1024)")
    }

    @Test func openAIStyleCodeIsPreferredToType() {
        let body = #"{"error":{"message":"Requested tokens (9000) exceed context window of 4096","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#
        #expect(message(body) == "Requested tokens (9000) exceed context window of 4096 (context_length_exceeded)")
    }

    @Test func plainShapesAreUnchanged() {
        #expect(message(#"{"error":{"message":"bad"}}"#) == "bad")
        #expect(message(#"{"error":{"message":"bad","type":"invalid_request_error","code":null}}"#) == "bad (invalid_request_error)")
        #expect(message(#"{"error":"plain"}"#) == "plain")
        #expect(message(#"{"detail":"fastapi"}"#) == "fastapi")
        #expect(message("") == "(empty body)")
        #expect(message("oops") == "oops")
    }
}
