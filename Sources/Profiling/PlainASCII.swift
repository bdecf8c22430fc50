/// The per-request text scans' fast path: a prompt of plain ASCII (no byte ≥ 0x80, no carriage return)
/// is scanned as UTF-8 bytes instead of as `Character`s.
///
/// Why exactly this condition: in such a text every byte is one `Character` (grapheme breaking joins
/// only `\r\n` among ASCII), lower-casing is `A`–`Z` → `a`–`z`, and the letters, digits and alphabetic
/// scalars are `A`–`Z`, `a`–`z`, `0`–`9`. So a byte scan gives exactly what the `Character` scan gives;
/// any other text takes the `Character` path unchanged (`PromptScanParityTests` holds the two alike on
/// every prompt of the routing data).
enum PlainASCII {
    /// `body` over the text's UTF-8 bytes when the text is plain ASCII; nil when it is not.
    @inline(__always)
    static func withBytes<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R? {
        let direct: R?? = text.utf8.withContiguousStorageIfAvailable { bytes in isPlain(bytes) ? body(bytes) : nil }
        if let direct { return direct }
        var contiguous = text
        return contiguous.withUTF8 { bytes in isPlain(bytes) ? body(bytes) : nil }
    }

    static func isPlain(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var mask: UInt8 = 0
        var carriageReturn = false
        for byte in bytes {
            mask |= byte
            carriageReturn = carriageReturn || byte == 0x0D
        }
        return mask < 0x80 && !carriageReturn
    }

    @inline(__always) static func lowered(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    /// A letter, a digit or `_`: what `LexicalFeaturizer` keeps in a word.
    @inline(__always) static func isWordByte(_ byte: UInt8) -> Bool {
        (byte | 0x20) &- 0x61 < 26 || byte &- 0x30 < 10 || byte == 0x5F
    }

    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }

    /// Whether `needle` occurs in `haystack` (both bytes).
    static func contains(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: StaticString) -> Bool {
        firstIndex(of: needle, in: haystack, from: 0) != nil
    }

    /// Non-overlapping occurrences of `needle`, left to right.
    static func occurrences(of needle: StaticString, in haystack: UnsafeBufferPointer<UInt8>) -> Int {
        var count = 0
        var from = 0
        while let found = firstIndex(of: needle, in: haystack, from: from) {
            count += 1
            from = found + needle.utf8CodeUnitCount
        }
        return count
    }

    static func firstIndex(of needle: StaticString, in haystack: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        let n = needle.utf8CodeUnitCount
        guard n > 0 else { return start }
        let pattern = UnsafeBufferPointer(start: needle.utf8Start, count: n)
        let first = pattern[0]
        guard haystack.count >= n else { return nil }
        var i = start
        let last = haystack.count - n
        while i <= last {
            if haystack[i] == first {
                var k = 1
                while k < n && haystack[i + k] == pattern[k] { k += 1 }
                if k == n { return i }
            }
            i += 1
        }
        return nil
    }

    static func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>.SubSequence, _ prefix: StaticString) -> Bool {
        let n = prefix.utf8CodeUnitCount
        guard bytes.count >= n else { return false }
        let pattern = UnsafeBufferPointer(start: prefix.utf8Start, count: n)
        var k = 0
        var i = bytes.startIndex
        while k < n {
            if bytes[i] != pattern[k] { return false }
            k += 1
            i += 1
        }
        return true
    }
}
