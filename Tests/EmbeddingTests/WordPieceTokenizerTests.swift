import Testing
@testable import Embedding

@Suite("WordPieceTokenizer")
struct WordPieceTokenizerTests {
    static func tokenizer() throws -> WordPieceTokenizer {
        let path = try TestPaths.require(TestPaths.modelDirectory + "/vocab.txt", hint: EmbeddingError.fetchHint)
        return try WordPieceTokenizer(vocabularyFile: path)
    }

    @Test("input_ids equal sentence-transformers' for all 344 reference texts")
    func parity() throws {
        let tok = try Self.tokenizer()
        let cases = try ReferenceCase.loadAll()
        #expect(cases.count == 344)
        var mismatches: [String] = []
        for c in cases where tok.encode(c.text) != c.input_ids {
            mismatches.append(String(c.text.prefix(60)).debugDescription)
        }
        #expect(mismatches.isEmpty, "ids differ for \(mismatches.count) texts: \(mismatches.prefix(10))")
    }

    @Test("rules the README pins: specials before normalisation, accents, CJK, punctuation, [UNK]")
    func rules() throws {
        let tok = try Self.tokenizer()
        #expect(tok.encode("") == [101, 102])
        #expect(tok.encode(" ") == [101, 102])
        #expect(tok.encode("[CLS]") == [101, 101, 102])
        #expect(tok.encode("[MASK]") == [101, 103, 102])
        #expect(tok.tokenize("[mask]") == ["[", "mask", "]"])
        #expect(tok.tokenize("Café Ü") == ["cafe", "u"])
        #expect(tok.tokenize("a$b<c") == ["a", "$", "b", "<", "c"])
        #expect(tok.tokenize("zero\u{200B}width") == tok.tokenize("zerowidth"))
        #expect(tok.encode(String(repeating: "a", count: 101)) == [101, 100, 102])
        #expect(tok.tokenize("unaffable") == ["una", "##ffa", "##ble"])
    }

    @Test("truncation keeps [CLS] … [SEP] within maxLength; tokenCount does not truncate")
    func truncation() throws {
        let tok = try Self.tokenizer()
        let text = Array(repeating: "hello", count: 300).joined(separator: " ")
        let ids = tok.encode(text)
        #expect(ids.count == 256)
        #expect(ids.first == 101 && ids.last == 102)
        #expect(tok.encode(text, maxLength: 10).count == 10)
        #expect(tok.tokenCount(text) == 300)
        #expect(tok.tokenCount("What is the capital of France?") == 7)
    }

    @Test("a missing vocabulary says how to fetch the model")
    func missing() {
        #expect {
            _ = try WordPieceTokenizer(vocabularyFile: "/nonexistent/vocab.txt")
        } throws: { error in
            "\(error)".contains("scripts/setup")
        }
    }
}
