import Foundation

/// Finds the top-level members of a JSON object without building it: key → byte range of the value.
///
/// The dispatcher only needs to swap `model` in the request and read `usage` in the response;
/// scanning bytes is several times cheaper than `JSONSerialization` on every request. The scan
/// checks structure (strings, nesting, separators) but not the grammar of numbers and literals:
/// the backend rejects those with a 400 that becomes an error outcome.
struct JSONObjectScanner {
    struct Member {
        var key: String
        var value: Range<Int>
    }

    enum ScanError: Error, CustomStringConvertible {
        case notAnObject
        case malformed(offset: Int)

        var description: String {
            switch self {
            case .notAnObject: return "request body must be a JSON object"
            case .malformed(let offset): return "request body is not valid JSON (near byte \(offset))"
            }
        }
    }

    /// Top-level members of the object in `bytes[range]`, in order. `range` must hold exactly one
    /// object (surrounding whitespace allowed).
    static func members(_ bytes: UnsafeBufferPointer<UInt8>, in range: Range<Int>) throws(ScanError) -> [Member] {
        var i = range.lowerBound
        let end = range.upperBound
        skipSpace(bytes, &i, end)
        guard i < end, bytes[i] == UInt8(ascii: "{") else { throw .notAnObject }
        i += 1
        var members: [Member] = []
        skipSpace(bytes, &i, end)
        if i < end, bytes[i] == UInt8(ascii: "}") {
            i += 1
            skipSpace(bytes, &i, end)
            guard i == end else { throw .malformed(offset: i) }
            return members
        }
        while true {
            skipSpace(bytes, &i, end)
            guard i < end, bytes[i] == UInt8(ascii: "\"") else { throw .malformed(offset: i) }
            let keyStart = i
            try skipString(bytes, &i, end)
            let key = decodeKey(bytes, keyStart..<i)
            skipSpace(bytes, &i, end)
            guard i < end, bytes[i] == UInt8(ascii: ":") else { throw .malformed(offset: i) }
            i += 1
            skipSpace(bytes, &i, end)
            let valueStart = i
            try skipValue(bytes, &i, end)
            members.append(Member(key: key, value: valueStart..<i))
            skipSpace(bytes, &i, end)
            guard i < end else { throw .malformed(offset: i) }
            if bytes[i] == UInt8(ascii: ",") {
                i += 1
                continue
            }
            guard bytes[i] == UInt8(ascii: "}") else { throw .malformed(offset: i) }
            i += 1
            skipSpace(bytes, &i, end)
            guard i == end else { throw .malformed(offset: i) }
            return members
        }
    }

    /// An integer value (`123`), or nil for anything else.
    static func integer(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int? {
        guard !range.isEmpty else { return nil }
        var value = 0
        for i in range {
            let c = bytes[i]
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int(c - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = s
        }
        return value
    }

    private static func skipSpace(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int, _ end: Int) {
        while i < end, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    /// `i` at the opening quote; leaves it after the closing quote.
    private static func skipString(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int, _ end: Int) throws(ScanError) {
        let start = i
        i += 1
        while i < end {
            let c = b[i]
            if c == UInt8(ascii: "\\") {
                i += 2
                continue
            }
            i += 1
            if c == UInt8(ascii: "\"") { return }
        }
        throw .malformed(offset: start)
    }

    private static func skipValue(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int, _ end: Int) throws(ScanError) {
        guard i < end else { throw .malformed(offset: i) }
        switch b[i] {
        case UInt8(ascii: "\""):
            try skipString(b, &i, end)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            let start = i
            while i < end {
                let c = b[i]
                if c == UInt8(ascii: "\"") {
                    try skipString(b, &i, end)
                    continue
                }
                if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                    depth += 1
                } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                    depth -= 1
                    if depth == 0 {
                        i += 1
                        return
                    }
                }
                i += 1
            }
            throw .malformed(offset: start)
        default:
            // number, true, false, null: up to the next separator
            let start = i
            while i < end {
                let c = b[i]
                if c == UInt8(ascii: ",") || c == UInt8(ascii: "}") || c == UInt8(ascii: "]")
                    || c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09
                {
                    break
                }
                i += 1
            }
            if i == start { throw .malformed(offset: start) }
        }
    }

    private static func decodeKey(_ b: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        let inner = (range.lowerBound + 1)..<(range.upperBound - 1)
        let slice = UnsafeBufferPointer(rebasing: b[inner])
        if !slice.contains(UInt8(ascii: "\\")) { return String(decoding: slice, as: UTF8.self) }
        // Rare: an escaped key; let Foundation unescape it.
        let quoted = Data(UnsafeBufferPointer(rebasing: b[range]))
        return (try? JSONSerialization.jsonObject(with: quoted, options: .fragmentsAllowed) as? String) ?? ""
    }
}
