import Testing
@testable import Embedding

@Suite("HashedEmbedder")
struct HashedEmbedderTests {
    @Test("FNV-1a matches the published test vectors")
    func fnvVectors() {
        #expect(FNV1a.hash("") == 0xcbf2_9ce4_8422_2325)
        #expect(FNV1a.hash("a") == 0xaf63_dc4c_8601_ec8c)
        #expect(FNV1a.hash("foobar") == 0x8594_4171_f739_67e8)
        // Scalar-wise hashing equals hashing the UTF-8 bytes, for 1- to 4-byte scalars.
        let text = "aé€😀"
        var h = FNV1a()
        for s in text.unicodeScalars { h.combine(scalar: s) }
        #expect(h.value == FNV1a.hash(text))
    }

    @Test("vectors are L2-normalised, sized and deterministic")
    func normalisedAndDeterministic() throws {
        let e = try HashedEmbedder(dimension: 512)
        #expect(e.name == "hashed-512")
        let vs = try e.embed(["How do I reverse a list in Python?", "Grüße aus Köln 😀", "x"])
        #expect(vs.count == 3)
        for v in vs {
            #expect(v.count == 512)
            let norm = v.reduce(0) { $0 + $1 * $1 }
            #expect(abs(norm - 1) < 1e-5)
        }
        let again = try HashedEmbedder(dimension: 512).embed(["How do I reverse a list in Python?"])
        #expect(again[0] == vs[0])
    }

    @Test("pinned vector: the hashing never changes silently (stored routers depend on it)")
    func pinned() throws {
        let v = try HashedEmbedder(dimension: 64).embedOne("hello world")
        let nonZero = v.enumerated().filter { $0.element != 0 }.map(\.offset)
        // Regenerate only on a deliberate, versioned change of the feature scheme.
        #expect(nonZero == Self.pinnedHelloWorldSlots)
    }

    static let pinnedHelloWorldSlots: [Int] = [1, 4, 6, 7, 8, 9, 20, 22, 23, 29, 30, 32, 37, 44, 45, 47, 48, 52, 55, 56, 57, 58, 61]

    @Test("empty and punctuation-only texts give the zero vector")
    func empty() throws {
        let e = try HashedEmbedder(dimension: 128)
        for text in ["", "   ", "?!", "\n\t"] {
            #expect(e.embedOne(text).allSatisfy { $0 == 0 })
        }
    }

    @Test("case and punctuation do not matter; related texts are closer than unrelated ones")
    func similarity() throws {
        let e = try HashedEmbedder()
        func cos(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        let a = e.embedOne("How do I sort a list of dictionaries by a key in Python?")
        let b = e.embedOne("how do i sort a LIST of dictionaries by key, in python")
        let c = e.embedOne("Ava has 12 apples and buys 3 more packs. How many apples now?")
        #expect(cos(a, e.embedOne("HOW do I sort a list of dictionaries by a key in Python")) > 0.999)
        #expect(cos(a, b) > 0.7)
        #expect(cos(a, c) < 0.3)
    }

    @Test("invalid configurations are rejected with a message")
    func invalid() {
        #expect(throws: EmbeddingError.self) { try HashedEmbedder(dimension: 0) }
        #expect(throws: EmbeddingError.self) {
            try HashedEmbedder(configuration: .init(minCharNGram: 4, maxCharNGram: 2))
        }
    }
}
