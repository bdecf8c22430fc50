/// The set of completed request IDs, stored compactly so a long run's memory stays flat.
///
/// Request IDs are nearly always a fixed prefix plus a line number (`<input digest>:<line>`,
/// `task-<n>`): such an ID costs one bit in a bitset kept per prefix. Any other ID (no trailing
/// number, a leading zero, a number too large for a bitset) is kept as a string, so membership
/// is exact for every ID: nothing is hashed lossily and no request can be skipped by a collision.
struct CompletedIDs {
    /// Largest trailing number stored as a bit (64 Mi bits = 8 MiB per prefix at most).
    static let maxIndex = 1 << 26

    private var bitsets: [String: [UInt64]] = [:]
    private var others: Set<String> = []
    private(set) var count = 0

    init<S: Sequence>(_ ids: S) where S.Element == String {
        for id in ids { insert(id) }
    }

    func contains(_ id: String) -> Bool {
        if let (prefix, index) = Self.split(id) {
            guard let words = bitsets[prefix], index >> 6 < words.count else { return false }
            return words[index >> 6] & (1 << UInt64(index & 63)) != 0
        }
        return others.contains(id)
    }

    mutating func insert(_ id: String) {
        guard let (prefix, index) = Self.split(id) else {
            if others.insert(id).inserted { count += 1 }
            return
        }
        let word = index >> 6
        let bit: UInt64 = 1 << UInt64(index & 63)
        var inserted = false
        // Mutate in place (no copy of the bitset per insert), with one lookup.
        bitsets[prefix, default: []].withUnsafeMutableBufferPointerIfGrown(toWordCount: word + 1) { words in
            inserted = words[word] & bit == 0
            words[word] |= bit
        }
        if inserted { count += 1 }
    }

    /// Splits `id` into a prefix and a trailing decimal number written canonically (no leading zero).
    static func split(_ id: String) -> (String, Int)? {
        let utf8 = id.utf8
        var end = utf8.endIndex
        var value = 0
        var scale = 1
        var digits = 0
        while end > utf8.startIndex {
            let before = utf8.index(before: end)
            let byte = utf8[before]
            guard byte >= 0x30 && byte <= 0x39 else { break }
            digits += 1
            guard digits <= 8 else { return nil }
            value += Int(byte - 0x30) * scale
            scale *= 10
            end = before
        }
        guard digits > 0, value < maxIndex else { return nil }
        if digits > 1 && utf8[end] == 0x30 { return nil }  // leading zero: "x-07" must stay distinct from "x-7"
        return (String(id[..<end]), value)
    }
}

extension Array where Element == UInt64 {
    /// Grows the array with zero words to `count` (doubling, so appends stay amortized O(1)) and
    /// passes its storage to `body`.
    fileprivate mutating func withUnsafeMutableBufferPointerIfGrown(toWordCount count: Int, _ body: (inout UnsafeMutableBufferPointer<UInt64>) -> Void) {
        if self.count < count {
            reserveCapacity(Swift.max(count, self.count * 2))
            append(contentsOf: repeatElement(0, count: count - self.count))
        }
        withUnsafeMutableBufferPointer(body)
    }
}
