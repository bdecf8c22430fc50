import Foundation
import SwitchyardCore
import Testing

@Suite("JSON tape: one validating pass, fields read in place")
struct JSONTapeTests {
    static func tape(_ text: String) throws(JSONSyntaxError) -> JSONTape { try JSONTape(bytes: Array(text.utf8)) }

    static func isValid(_ text: String) -> Bool { (try? tape(text)) != nil }

    @Test func acceptsWhatRFC8259Accepts() {
        for text in [
            "{}", "[]", "0", "-0", "1.5e-7", "-12.25E+3", "\"\"", "true", "false", "null", " \t\r\n{\"a\" : [ 1 , 2 ] }\n",
            #"{"a":{"b":[{"c":null}]},"d":"\u00e9\ud83d\ude00\n\t\"\\\/"}"#, "\"caf\u{e9} \u{1F600}\"", "[1e5,2E-3,0.0,-1]",
        ] {
            #expect(Self.isValid(text), "\(text)")
            #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)) != nil, "\(text)")
        }
    }

    @Test func refusesWhatIsNotJSON() throws {
        for text in [
            "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "'x'", "01", "1.", ".5", "-", "1e", "+1", "tru", "nul",
            "\"unterminated", "\"bad \\x escape\"", "\"\\u12G4\"", "\"tab\there\"", "[1] [2]", "{\"a\":1}x", "NaN", "[\"a\" \"b\"]",
        ] {
            #expect(!Self.isValid(text), "\(text)")
        }
        // Invalid UTF-8 inside a string, overlong forms and surrogates encoded as UTF-8 included.
        for bytes: [UInt8] in [[0x22, 0xC3, 0x28, 0x22], [0x22, 0xC0, 0xAF, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0xFF, 0x22]] {
            #expect(throws: JSONSyntaxError.self) { try JSONTape(bytes: bytes) }
            #expect((try? JSONTape(bytes: bytes)) == nil)
        }
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONSyntaxError(reason: .tooDeep(64), offset: 64)) { try Self.tape(deep) }
        let error = try #require({ () -> JSONSyntaxError? in
            do throws(JSONSyntaxError) { _ = try Self.tape("{\"a\": tru}") } catch { return error }
            return nil
        }())
        #expect(error.description == "not valid JSON: invalid literal (expected true, false or null) at byte 6")
    }

    @Test func readsFieldsInPlace() throws {
        let text = #"{"id":"p1","n":-42,"x":1e-7,"ok":true,"nested":{"k":[1,"two",null]},"id":"p2","s":"a\"b\\c\u00e9\ud83d\ude00\u0001"}"#
        let bytes = Array(text.utf8)
        let tape = try JSONTape(bytes: bytes)
        try bytes.withUnsafeBufferPointer { b in
            let root = tape.root
            #expect(tape.kind(root) == .object)
            #expect(tape.count(root) == 7)
            // The last of duplicate keys, as a dictionary keeps it.
            #expect(tape.member("id", of: root, in: b).flatMap { tape.string($0, in: b) } == "p2")
            let n = try #require(tape.member("n", of: root, in: b))
            #expect(tape.integer(n, in: b) == -42 && tape.double(n, in: b) == -42)
            let x = try #require(tape.member("x", of: root, in: b))
            #expect(tape.integer(x, in: b) == nil && tape.double(x, in: b) == 1e-7)
            #expect(String(decoding: b[tape.range(x)], as: UTF8.self) == "1e-7")
            #expect(tape.member("ok", of: root, in: b).flatMap { tape.bool($0, in: b) } == true)
            let nested = try #require(tape.member("nested", of: root, in: b))
            let k = try #require(tape.member("k", of: nested, in: b))
            let elements = tape.elements(k)
            #expect(elements.map { tape.kind($0) } == [.number, .string, .null])
            #expect(tape.string(elements[1], in: b) == "two")
            #expect(tape.member("s", of: root, in: b).flatMap { tape.string($0, in: b) } == "a\"b\\c\u{e9}\u{1F600}\u{1}")
            #expect(tape.members(root).map { tape.string($0.key, in: b) ?? "" } == ["id", "n", "x", "ok", "nested", "id", "s"])
            #expect(tape.stringEquals(tape.members(root)[0].key, "id", in: b))
            #expect(!tape.stringEquals(tape.members(root)[1].key, "id", in: b))
        }
    }

    /// Random edits of valid documents: the tape never crashes, and whatever it accepts Foundation accepts.
    @Test func randomEditsAgreeWithFoundation() {
        let seeds = [
            #"{"custom_id":"c1","method":"POST","url":"/v1/chat/completions","body":{"model":"auto","messages":[{"role":"user","content":"Say 1."}],"max_tokens":16}}"#,
            #"{"id":"p2","prompt":"What is 2 + 2?","max_cost_usd":0.001,"metadata":{"n":[1,2.5,-3e2,true,false,null]}}"#,
        ]
        var state: UInt64 = 0x5EED
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let alphabet = Array(#"{}[]:,"\ 0123456789.eE+-truefalsn"#.utf8)
        var accepted = 0
        for round in 0..<5_000 {
            var bytes = Array(seeds[round % seeds.count].utf8)
            for _ in 0..<(1 + Int(next() % 3)) {
                let at = Int(next() % UInt64(bytes.count))
                switch next() % 3 {
                case 0: bytes[at] = alphabet[Int(next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: at)
                default: bytes.insert(alphabet[Int(next() % UInt64(alphabet.count))], at: at)
                }
            }
            if (try? JSONTape(bytes: bytes)) != nil {
                accepted += 1
                #expect((try? JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed)) != nil,
                        "\(String(decoding: bytes, as: UTF8.self))")
            }
        }
        #expect(accepted > 0)
    }

    @Test func writerEscapesAndNumbers() {
        var writer = JSONWriter()
        writer.string("a\"b\\c\n\t\u{1}/é")
        writer.raw(",")
        writer.number(1e-7)
        writer.raw(",")
        writer.number(.nan)
        writer.raw(",")
        writer.integer(-12)
        let text = String(decoding: writer.bytes, as: UTF8.self)
        #expect(text == #""a\"b\\c\n\t\u0001/é",1e-07,null,-12"#)
        #expect(JSONText.quote("x\"y") == #""x\"y""#)
    }
}
