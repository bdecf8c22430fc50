/// A JSON value read out of a model's reply, kept the way Python's `json.loads` would see it: object
/// keys in order, integers apart from floats (as their digits, so no size limit).
///
/// The ZeroEval rules compare `str(value)` of the parsed answer, so `[1, 2]`, `True`, `18.0` and
/// `{'a': 1}` must come out as Python writes them (`pythonString`). Foundation's parser loses key
/// order and the int/float distinction, hence this small parser.
public indirect enum ReplyJSON: Sendable, Hashable {
    case null
    case bool(Bool)
    /// An integer literal, as written (a leading `-` kept, `-0` written `0`).
    case integer(String)
    case float(Double)
    case string(String)
    case array([ReplyJSON])
    case object([(key: String, value: ReplyJSON)])

    public static func == (lhs: ReplyJSON, rhs: ReplyJSON) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let a), .bool(let b)): return a == b
        case (.integer(let a), .integer(let b)): return a == b
        case (.float(let a), .float(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.object(let a), .object(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let v): hasher.combine(v)
        case .integer(let v): hasher.combine(v)
        case .float(let v): hasher.combine(v)
        case .string(let v): hasher.combine(v)
        case .array(let v): hasher.combine(v)
        case .object(let v):
            for (key, value) in v {
                hasher.combine(key)
                hasher.combine(value)
            }
        }
    }

    /// The value of `key` in an object (the last one, as Python keeps for repeated keys).
    public subscript(key: String) -> ReplyJSON? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.key == key })?.value
    }

    /// Parses one complete JSON text (whitespace around it allowed), as strictly as Python's
    /// `json.loads`: no trailing commas, no single quotes, no raw control characters in strings;
    /// `NaN` and `Infinity` are accepted as Python accepts them. Nil when it is not JSON.
    public static func parse(_ text: Substring) -> ReplyJSON? {
        var parser = Parser(scalars: Array(text.unicodeScalars))
        parser.skipSpace()
        guard let value = parser.value(depth: 0) else { return nil }
        parser.skipSpace()
        return parser.atEnd ? value : nil
    }

    public static func parse(_ text: String) -> ReplyJSON? { parse(text[...]) }

    /// Python's `str(value)`: a string as it is, anything else as its `repr`.
    public var pythonString: String {
        if case .string(let s) = self { return s }
        return pythonRepr
    }

    /// Python's `repr(value)` (`True`, `None`, `'text'`, `[1, 'a']`, `{'k': 2.5}`, `1e-05`).
    public var pythonRepr: String {
        switch self {
        case .null: return "None"
        case .bool(let v): return v ? "True" : "False"
        case .integer(let digits): return digits
        case .float(let v): return PythonFloat.repr(v)
        case .string(let s): return PythonFloat.reprString(s)
        case .array(let items): return "[" + items.map(\.pythonRepr).joined(separator: ", ") + "]"
        case .object(let members):
            // A Python dict keeps one entry per key, at the first key's place, with the last value.
            var order: [String] = []
            var last: [String: ReplyJSON] = [:]
            for (key, value) in members {
                if last[key] == nil { order.append(key) }
                last[key] = value
            }
            return "{" + order.map { PythonFloat.reprString($0) + ": " + (last[$0] ?? .null).pythonRepr }.joined(separator: ", ") + "}"
        }
    }

    private struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0
        static let maxDepth = 256

        var atEnd: Bool { index >= scalars.count }

        mutating func skipSpace() {
            while index < scalars.count, [" ", "\t", "\n", "\r"].contains(scalars[index]) { index += 1 }
        }

        mutating func literal(_ word: String) -> Bool {
            let wanted = Array(word.unicodeScalars)
            guard index + wanted.count <= scalars.count, Array(scalars[index..<(index + wanted.count)]) == wanted else { return false }
            index += wanted.count
            return true
        }

        mutating func value(depth: Int) -> ReplyJSON? {
            guard depth < Self.maxDepth, index < scalars.count else { return nil }
            switch scalars[index] {
            case "{": return object(depth: depth)
            case "[": return array(depth: depth)
            case "\"": return string().map(ReplyJSON.string)
            case "t": return literal("true") ? .bool(true) : nil
            case "f": return literal("false") ? .bool(false) : nil
            case "n": return literal("null") ? .null : nil
            case "N": return literal("NaN") ? .float(.nan) : nil
            case "I": return literal("Infinity") ? .float(.infinity) : nil
            default: return number()
            }
        }

        mutating func object(depth: Int) -> ReplyJSON? {
            index += 1
            var members: [(key: String, value: ReplyJSON)] = []
            skipSpace()
            if index < scalars.count, scalars[index] == "}" {
                index += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard index < scalars.count, scalars[index] == "\"", let key = string() else { return nil }
                skipSpace()
                guard index < scalars.count, scalars[index] == ":" else { return nil }
                index += 1
                skipSpace()
                guard let value = value(depth: depth + 1) else { return nil }
                members.append((key, value))
                skipSpace()
                guard index < scalars.count else { return nil }
                if scalars[index] == "," { index += 1; continue }
                if scalars[index] == "}" { index += 1; return .object(members) }
                return nil
            }
        }

        mutating func array(depth: Int) -> ReplyJSON? {
            index += 1
            var items: [ReplyJSON] = []
            skipSpace()
            if index < scalars.count, scalars[index] == "]" {
                index += 1
                return .array(items)
            }
            while true {
                skipSpace()
                guard let item = value(depth: depth + 1) else { return nil }
                items.append(item)
                skipSpace()
                guard index < scalars.count else { return nil }
                if scalars[index] == "," { index += 1; continue }
                if scalars[index] == "]" { index += 1; return .array(items) }
                return nil
            }
        }

        mutating func string() -> String? {
            index += 1
            var out = String.UnicodeScalarView()
            while index < scalars.count {
                let c = scalars[index]
                index += 1
                switch c {
                case "\"": return String(out)
                case "\\":
                    guard index < scalars.count else { return nil }
                    let e = scalars[index]
                    index += 1
                    switch e {
                    case "\"": out.append("\"")
                    case "\\": out.append("\\")
                    case "/": out.append("/")
                    case "b": out.append("\u{08}")
                    case "f": out.append("\u{0C}")
                    case "n": out.append("\n")
                    case "r": out.append("\r")
                    case "t": out.append("\t")
                    case "u":
                        guard var unit = hex4() else { return nil }
                        // A surrogate pair is one scalar; a lone surrogate becomes U+FFFD.
                        if (0xD800..<0xDC00).contains(unit), index + 1 < scalars.count, scalars[index] == "\\", scalars[index + 1] == "u" {
                            let saved = index
                            index += 2
                            if let low = hex4(), (0xDC00..<0xE000).contains(low) {
                                unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                index = saved
                            }
                        }
                        out.append(Unicode.Scalar(unit) ?? "\u{FFFD}")
                    default: return nil
                    }
                default:
                    if c.value < 0x20 { return nil }
                    out.append(c)
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard index + 4 <= scalars.count else { return nil }
            var v: UInt32 = 0
            for s in scalars[index..<(index + 4)] {
                guard let d = Character(s).hexDigitValue else { return nil }
                v = v * 16 + UInt32(d)
            }
            index += 4
            return v
        }

        mutating func number() -> ReplyJSON? {
            let start = index
            if index < scalars.count, scalars[index] == "-" {
                index += 1
                if literal("Infinity") { return .float(-.infinity) }
            }
            func digits() -> Int {
                let from = index
                while index < scalars.count, ("0"..."9").contains(scalars[index]) { index += 1 }
                return index - from
            }
            let intStart = index
            let intDigits = digits()
            guard intDigits > 0 else { return nil }
            if intDigits > 1, scalars[intStart] == "0" { return nil }
            var isFloat = false
            if index < scalars.count, scalars[index] == "." {
                index += 1
                guard digits() > 0 else { return nil }
                isFloat = true
            }
            if index < scalars.count, scalars[index] == "e" || scalars[index] == "E" {
                index += 1
                if index < scalars.count, scalars[index] == "+" || scalars[index] == "-" { index += 1 }
                guard digits() > 0 else { return nil }
                isFloat = true
            }
            var text = String(String.UnicodeScalarView(scalars[start..<index]))
            if isFloat { return Double(text).map(ReplyJSON.float) }
            if text.hasPrefix("-"), text.dropFirst().allSatisfy({ $0 == "0" }) { text = "0" }
            return .integer(text)
        }
    }
}

/// How Python writes floats and strings (`repr`), for answers compared as text.
enum PythonFloat {
    /// `repr(float)`: the shortest text that reads back the same; exponent form below 1e-4 and from
    /// 1e16 on (`1e-05`, `1e+16`), `.0` on whole numbers, `nan`, `inf`.
    static func repr(_ v: Double) -> String {
        if v.isNaN { return "nan" }
        if v.isInfinite { return v < 0 ? "-inf" : "inf" }
        // Swift's description is the same shortest round-trip form with the same thresholds and
        // exponent style (checked against Python in GradingTests).
        return v.description
    }

    /// `repr(str)`: single quotes unless the text has a `'` and no `"`; backslash escapes for the
    /// quote, backslash, `\n`, `\r`, `\t` and other control characters.
    static func reprString(_ s: String) -> String {
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(scalar) == quote {
                    out += "\\" + String(quote)
                } else if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + String(format2: scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + String(quote)
    }
}

extension String {
    /// Two lowercase hex digits.
    init(format2 value: UInt32) {
        let digits = String(value, radix: 16)
        self = digits.count < 2 ? "0" + digits : digits
    }
}
