#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A JSON text validated in one pass and indexed as a flat list of its values (a "tape", as simdjson
/// calls it), without building a tree: each value is a kind and a byte range of the text.
///
/// Why: the pipeline reads a few fields of every input line and backend response and passes the rest on
/// as the caller's bytes, so it needs to know the text is valid JSON and where those fields are, never a
/// `[String: Any]`. Validation is RFC 8259 (strings, escapes and UTF-8, number grammar, literals, nesting
/// up to `maxDepth`); one value, optionally surrounded by whitespace, must fill the text.
///
/// Nodes are positions on the tape; byte ranges are offsets into the buffer the tape was made from, so
/// reading a value needs that same buffer again (`string(_:in:)`). A value type, Sendable.
public struct JSONTape: Sendable {
    public enum Kind: UInt8, Sendable {
        case object, array, string, number, bool, null
    }

    /// One value on the tape.
    public struct Node: Sendable, Hashable {
        public let index: Int
    }

    /// One member of an object: its key (a string node) and its value.
    public struct Member: Sendable {
        public let key: Node
        public let value: Node
    }

    struct Entry: Sendable {
        var start: Int
        var end: Int
        /// Tape index after this value and everything inside it.
        var next: Int
        var kind: Kind
        /// Strings: holds at least one backslash escape.
        var escaped: Bool
    }

    private(set) var entries: [Entry]

    /// The outermost value.
    public var root: Node { Node(index: 0) }

    /// Validates `bytes` and indexes its values.
    public init(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int = 64) throws(JSONSyntaxError) {
        var parser = Parser(bytes: bytes, maxDepth: maxDepth)
        try parser.parseDocument()
        entries = parser.entries
    }

    /// Validates `bytes` and indexes its values.
    public init(bytes: [UInt8], maxDepth: Int = 64) throws(JSONSyntaxError) {
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONSyntaxError) -> JSONTape in try JSONTape(buffer, maxDepth: maxDepth) }
        }
        self = try result.get()
    }

    public func kind(_ node: Node) -> Kind { entries[node.index].kind }

    /// The value's bytes (a string's with its quotes).
    public func range(_ node: Node) -> Range<Int> { entries[node.index].start..<entries[node.index].end }

    /// A string's bytes between its quotes, still escaped.
    public func contentRange(_ node: Node) -> Range<Int> { (entries[node.index].start + 1)..<(entries[node.index].end - 1) }

    /// Members of an object in text order (empty for any other kind).
    public func members(_ object: Node) -> [Member] {
        guard entries[object.index].kind == .object else { return [] }
        var out: [Member] = []
        var i = object.index + 1
        let end = entries[object.index].next
        while i < end {
            let value = i + 1
            out.append(Member(key: Node(index: i), value: Node(index: value)))
            i = entries[value].next
        }
        return out
    }

    /// Elements of an array in order (empty for any other kind).
    public func elements(_ array: Node) -> [Node] {
        guard entries[array.index].kind == .array else { return [] }
        var out: [Node] = []
        var i = array.index + 1
        let end = entries[array.index].next
        while i < end {
            out.append(Node(index: i))
            i = entries[i].next
        }
        return out
    }

    /// Number of elements of an array or members of an object.
    public func count(_ node: Node) -> Int {
        let kind = entries[node.index].kind
        guard kind == .array || kind == .object else { return 0 }
        var n = 0
        var i = node.index + 1
        while i < entries[node.index].next {
            i = kind == .object ? entries[i + 1].next : entries[i].next
            n += 1
        }
        return n
    }

    /// True when the string `node` equals `text` (compared as bytes when it has no escapes).
    public func stringEquals(_ node: Node, _ text: StaticString, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let entry = entries[node.index]
        guard entry.kind == .string else { return false }
        if entry.escaped { return string(node, in: bytes) == text.description }
        let length = entry.end - entry.start - 2
        guard length == text.utf8CodeUnitCount else { return false }
        guard length > 0, let base = bytes.baseAddress else { return true }
        return memcmp(base + entry.start + 1, text.utf8Start, length) == 0
    }

    /// The member of `object` whose key is `key` (the last one, as a dictionary would keep it).
    public func member(_ key: StaticString, of object: Node, in bytes: UnsafeBufferPointer<UInt8>) -> Node? {
        var found: Node?
        for member in members(object) where stringEquals(member.key, key, in: bytes) { found = member.value }
        return found
    }

    /// A string value, unescaped (nil for any other kind).
    public func string(_ node: Node, in bytes: UnsafeBufferPointer<UInt8>) -> String? {
        let entry = entries[node.index]
        guard entry.kind == .string else { return nil }
        let content = UnsafeBufferPointer(rebasing: bytes[(entry.start + 1)..<(entry.end - 1)])
        // Validated UTF-8 already: decoding cannot replace anything.
        if !entry.escaped { return String(decoding: content, as: UTF8.self) }
        return String(decoding: Self.unescape(content), as: UTF8.self)
    }

    /// A number value as a Double (nil for any other kind or out of range).
    public func double(_ node: Node, in bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        let entry = entries[node.index]
        guard entry.kind == .number else { return nil }
        let length = entry.end - entry.start
        // strtod needs a terminated copy; numbers are short.
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { buffer -> Double? in
            guard let base = buffer.baseAddress, let source = bytes.baseAddress else { return nil }
            memcpy(base, source + entry.start, length)
            base[length] = 0
            let value = strtod(base, nil)
            return value.isFinite ? value : nil
        }
    }

    /// A number value that is a whole number in `Int` range, written without fraction or exponent
    /// (`16`, not `16.0` or `1.6e1`); nil otherwise.
    public func integer(_ node: Node, in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        let entry = entries[node.index]
        guard entry.kind == .number else { return nil }
        var i = entry.start
        let negative = bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var value = 0
        while i < entry.end {
            let c = bytes[i]
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = negative ? m.subtractingReportingOverflow(Int(c &- 48)) : m.addingReportingOverflow(Int(c &- 48))
            if o1 || o2 { return nil }
            value = s
            i += 1
        }
        return value
    }

    /// `true` or `false` (nil for any other kind).
    public func bool(_ node: Node, in bytes: UnsafeBufferPointer<UInt8>) -> Bool? {
        let entry = entries[node.index]
        guard entry.kind == .bool else { return nil }
        return bytes[entry.start] == UInt8(ascii: "t")
    }

    /// The UTF-8 of an escaped string's content (already validated).
    static func unescape(_ content: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(content.count)
        var i = 0
        let n = content.count
        func hex(_ at: Int) -> UInt32 {
            var value: UInt32 = 0
            for k in at..<(at + 4) { value = value << 4 | UInt32(Parser.hexValue(content[k])) }
            return value
        }
        func append(scalar: UInt32) {
            let v = Unicode.Scalar(scalar) == nil ? 0xFFFD : scalar  // a lone surrogate becomes U+FFFD
            switch v {
            case ..<0x80: out.append(UInt8(v))
            case ..<0x800: out += [UInt8(0xC0 | v >> 6), UInt8(0x80 | v & 0x3F)]
            case ..<0x10000: out += [UInt8(0xE0 | v >> 12), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)]
            default: out += [UInt8(0xF0 | v >> 18), UInt8(0x80 | v >> 12 & 0x3F), UInt8(0x80 | v >> 6 & 0x3F), UInt8(0x80 | v & 0x3F)]
            }
        }
        while i < n {
            // The run up to the next backslash in one copy.
            var j = n
            if let base = content.baseAddress, let found = memchr(base + i, 0x5C, n - i) {
                j = UnsafeRawPointer(found) - UnsafeRawPointer(base)
            }
            if j > i { out.append(contentsOf: UnsafeBufferPointer(rebasing: content[i..<j])) }
            i = j
            guard i < n else { break }
            let e = content[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                let unit = hex(i)
                i += 4
                if unit >= 0xD800, unit < 0xDC00, i + 6 <= n, content[i] == UInt8(ascii: "\\"), content[i + 1] == UInt8(ascii: "u") {
                    let low = hex(i + 2)
                    if low >= 0xDC00, low < 0xE000 {
                        append(scalar: 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                        i += 6
                        continue
                    }
                }
                append(scalar: unit)
            default: out.append(e)  // \" \\ \/
            }
        }
        return out
    }

    // MARK: Parsing

    struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        let maxDepth: Int
        var i = 0
        var entries: [Entry] = []

        init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
            entries.reserveCapacity(32)
        }

        mutating func parseDocument() throws(JSONSyntaxError) {
            skipSpace()
            try parseValue(depth: 0)
            skipSpace()
            guard i == bytes.count else { throw error(.trailingCharacters) }
        }

        func error(_ reason: JSONSyntaxError.Reason) -> JSONSyntaxError {
            JSONSyntaxError(reason: reason, offset: i)
        }

        @inline(__always)
        mutating func skipSpace() {
            while i < bytes.count {
                let c = bytes[i]
                guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
                i += 1
            }
        }

        mutating func parseValue(depth: Int) throws(JSONSyntaxError) {
            guard i < bytes.count else { throw error(.unexpectedEnd) }
            switch bytes[i] {
            case UInt8(ascii: "{"): try parseObject(depth: depth + 1)
            case UInt8(ascii: "["): try parseArray(depth: depth + 1)
            case UInt8(ascii: "\""): try parseString()
            case UInt8(ascii: "t"): try parseLiteral("true", kind: .bool)
            case UInt8(ascii: "f"): try parseLiteral("false", kind: .bool)
            case UInt8(ascii: "n"): try parseLiteral("null", kind: .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try parseNumber()
            default: throw error(.unexpectedCharacter(bytes[i]))
            }
        }

        mutating func parseObject(depth: Int) throws(JSONSyntaxError) {
            guard depth <= maxDepth else { throw error(.tooDeep(maxDepth)) }
            let index = entries.count
            entries.append(Entry(start: i, end: i, next: 0, kind: .object, escaped: false))
            i += 1
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                i += 1
            } else {
                repeat {
                    skipSpace()
                    guard i < bytes.count else { throw error(.unexpectedEnd) }
                    guard bytes[i] == UInt8(ascii: "\"") else { throw error(.expectedKey) }
                    try parseString()
                    skipSpace()
                    guard i < bytes.count else { throw error(.unexpectedEnd) }
                    guard bytes[i] == UInt8(ascii: ":") else { throw error(.expectedColon) }
                    i += 1
                    skipSpace()
                    try parseValue(depth: depth)
                } while try another(closedBy: UInt8(ascii: "}"))
            }
            entries[index].end = i
            entries[index].next = entries.count
        }

        mutating func parseArray(depth: Int) throws(JSONSyntaxError) {
            guard depth <= maxDepth else { throw error(.tooDeep(maxDepth)) }
            let index = entries.count
            entries.append(Entry(start: i, end: i, next: 0, kind: .array, escaped: false))
            i += 1
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
                i += 1
            } else {
                repeat {
                    skipSpace()
                    try parseValue(depth: depth)
                } while try another(closedBy: UInt8(ascii: "]"))
            }
            entries[index].end = i
            entries[index].next = entries.count
        }

        /// After a member or element: true at `,` (another follows), false at `close` (the container ends).
        mutating func another(closedBy close: UInt8) throws(JSONSyntaxError) -> Bool {
            skipSpace()
            guard i < bytes.count else { throw error(.unexpectedEnd) }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                return true
            }
            guard bytes[i] == close else { throw error(.expectedCommaOrEnd) }
            i += 1
            return false
        }

        mutating func parseLiteral(_ text: StaticString, kind: Kind) throws(JSONSyntaxError) {
            let n = text.utf8CodeUnitCount
            guard i + n <= bytes.count, let base = bytes.baseAddress, memcmp(base + i, text.utf8Start, n) == 0 else {
                throw error(.invalidLiteral)
            }
            entries.append(Entry(start: i, end: i + n, next: entries.count + 1, kind: kind, escaped: false))
            i += n
        }

        mutating func parseNumber() throws(JSONSyntaxError) {
            let start = i
            let n = bytes.count
            if bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard i < n else { throw error(.invalidNumber) }
            if bytes[i] == UInt8(ascii: "0") {
                i += 1
            } else if isDigit(bytes[i]) {
                while i < n, isDigit(bytes[i]) { i += 1 }
            } else {
                throw error(.invalidNumber)
            }
            if i < n, bytes[i] == UInt8(ascii: ".") {
                i += 1
                guard i < n, isDigit(bytes[i]) else { throw error(.invalidNumber) }
                while i < n, isDigit(bytes[i]) { i += 1 }
            }
            if i < n, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                i += 1
                if i < n, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
                guard i < n, isDigit(bytes[i]) else { throw error(.invalidNumber) }
                while i < n, isDigit(bytes[i]) { i += 1 }
            }
            entries.append(Entry(start: start, end: i, next: entries.count + 1, kind: .number, escaped: false))
        }

        @inline(__always)
        func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }

        /// `i` at the opening quote.
        mutating func parseString() throws(JSONSyntaxError) {
            let start = i
            var escaped = false
            i += 1
            let n = bytes.count
            guard let base = bytes.baseAddress else { throw error(.unexpectedEnd) }
            while true {
                // Eight plain bytes at a time: none of '"', '\', a control character or a non-ASCII byte.
                while i + 8 <= n {
                    let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                    if Self.hasSpecialByte(word) { break }
                    i += 8
                }
                guard i < n else { throw JSONSyntaxError(reason: .unterminatedString, offset: start) }
                let c = bytes[i]
                if c == UInt8(ascii: "\"") {
                    i += 1
                    break
                }
                if c == UInt8(ascii: "\\") {
                    escaped = true
                    try parseEscape()
                } else if c < 0x20 {
                    throw error(.controlCharacterInString)
                } else if c >= 0x80 {
                    try parseUTF8Sequence()
                } else {
                    i += 1
                }
            }
            entries.append(Entry(start: start, end: i, next: entries.count + 1, kind: .string, escaped: escaped))
        }

        /// True when some byte of `word` is '"', '\', below 0x20 or at least 0x80 (SWAR tests).
        @inline(__always)
        static func hasSpecialByte(_ word: UInt64) -> Bool {
            let ones: UInt64 = 0x0101_0101_0101_0101
            let highs: UInt64 = 0x8080_8080_8080_8080
            func hasZero(_ x: UInt64) -> Bool { (x &- ones) & ~x & highs != 0 }
            let below = (word &- ones &* 0x20) & ~word & highs != 0
            return below || word & highs != 0 || hasZero(word ^ (ones &* 0x22)) || hasZero(word ^ (ones &* 0x5C))
        }

        mutating func parseEscape() throws(JSONSyntaxError) {
            guard i + 1 < bytes.count else { throw error(.unexpectedEnd) }
            switch bytes[i + 1] {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                 UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                i += 2
            case UInt8(ascii: "u"):
                guard i + 6 <= bytes.count else { throw error(.invalidEscape) }
                for k in (i + 2)..<(i + 6) where Self.hexValue(bytes[k]) > 15 { throw error(.invalidEscape) }
                i += 6
            default:
                throw error(.invalidEscape)
            }
        }

        static func hexValue(_ c: UInt8) -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return 255
            }
        }

        /// One multi-byte UTF-8 sequence (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
        mutating func parseUTF8Sequence() throws(JSONSyntaxError) {
            let n = bytes.count
            let lead = bytes[i]
            let length: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: throw error(.invalidUTF8)
            }
            guard i + length <= n else { throw error(.invalidUTF8) }
            let second = bytes[i + 1]
            guard second >= low, second <= high else { throw error(.invalidUTF8) }
            for k in (i + 2)..<(i + length) where bytes[k] & 0xC0 != 0x80 { throw error(.invalidUTF8) }
            i += length
        }
    }
}

/// Why a text is not valid JSON, and where.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        case unexpectedEnd
        case unexpectedCharacter(UInt8)
        case expectedKey
        case expectedColon
        case expectedCommaOrEnd
        case invalidLiteral
        case invalidNumber
        case invalidEscape
        case unterminatedString
        case controlCharacterInString
        case invalidUTF8
        case tooDeep(Int)
        case trailingCharacters
    }

    public var reason: Reason
    /// Byte offset in the text.
    public var offset: Int

    public init(reason: Reason, offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        let what: String
        switch reason {
        case .unexpectedEnd: what = "the text ends in the middle of a value"
        case .unexpectedCharacter(let c):
            what = (0x21..<0x7F).contains(c) ? "unexpected character '\(Character(Unicode.Scalar(c)))'" : "unexpected byte 0x\(String(c, radix: 16))"
        case .expectedKey: what = "expected a quoted key"
        case .expectedColon: what = "expected ':' after a key"
        case .expectedCommaOrEnd: what = "expected ',' or the end of the object or array"
        case .invalidLiteral: what = "invalid literal (expected true, false or null)"
        case .invalidNumber: what = "invalid number"
        case .invalidEscape: what = "invalid escape in a string"
        case .unterminatedString: what = "unterminated string"
        case .controlCharacterInString: what = "unescaped control character in a string"
        case .invalidUTF8: what = "invalid UTF-8 in a string"
        case .tooDeep(let depth): what = "nested deeper than \(depth) levels"
        case .trailingCharacters: what = "unexpected text after the JSON value"
        }
        return "not valid JSON: \(what) at byte \(offset)"
    }
}
