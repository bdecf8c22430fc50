import Foundation

/// The set of completed request IDs, stored compactly so a long run's memory stays flat.
///
/// Request IDs are nearly always a fixed prefix plus a line number (`<input digest>:<line>`,
/// `task-<n>`): such an ID costs one bit in a bitset kept per prefix. Any other ID (no trailing
/// number, a leading zero, a number too large for a bitset) is kept as a string, so membership
/// is exact for every ID: nothing is hashed lossily and no request can be skipped by a collision.
///
/// A run's IDs share one prefix, so the last prefix used is remembered: a lookup compares its
/// bytes instead of building and hashing a prefix string (two per request on the coordinator's
/// hot path: the SUBMIT check and the ACK insert).
struct CompletedIDs {
    /// Largest trailing number stored as a bit (64 Mi bits = 8 MiB per prefix at most).
    static let maxIndex = 1 << 26

    private var prefixes: [String: Int] = [:]
    private var bitsets: [[UInt64]] = []
    private var others: Set<String> = []
    /// The prefix of the last insert and its index in `bitsets`.
    private var lastPrefix: [UInt8] = []
    private var lastBitset = -1
    private(set) var count = 0

    init<S: Sequence>(_ ids: S) where S.Element == String {
        for id in ids { insert(id) }
    }

    func contains(_ id: String) -> Bool {
        var bytes = id
        return bytes.withUTF8 { contains(utf8: $0) }
    }

    /// `contains` for an ID given as its UTF-8 bytes (borrowed from a received frame: no `String`
    /// is built unless the ID has no trailing number).
    func contains(utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let (prefixLength, index) = Self.split(utf8) else {
            return !others.isEmpty && others.contains(String(decoding: utf8, as: UTF8.self))
        }
        let bitset: Int
        if lastBitset >= 0 && Self.equal(lastPrefix, UnsafeBufferPointer(rebasing: utf8[..<prefixLength])) {
            bitset = lastBitset
        } else if prefixes.isEmpty {
            return false
        } else if let known = prefixes[String(decoding: UnsafeBufferPointer(rebasing: utf8[..<prefixLength]), as: UTF8.self)] {
            bitset = known
        } else {
            return false
        }
        return bitsets[bitset].withUnsafeBufferPointer { words in
            index >> 6 < words.count && words[index >> 6] & (1 << UInt64(index & 63)) != 0
        }
    }

    mutating func insert(_ id: String) {
        var bytes = id
        bytes.withUTF8 { insert(utf8: $0) }
    }

    /// `insert` for an ID given as its UTF-8 bytes (no `String` is built unless the ID has no
    /// trailing number, or its prefix is new).
    mutating func insert(utf8: UnsafeBufferPointer<UInt8>) {
        guard let (prefixLength, index) = Self.split(utf8) else {
            if others.insert(String(decoding: utf8, as: UTF8.self)).inserted { count += 1 }
            return
        }
        let prefix = UnsafeBufferPointer(rebasing: utf8[..<prefixLength])
        if lastBitset < 0 || !Self.equal(lastPrefix, prefix) {
            let key = String(decoding: prefix, as: UTF8.self)
            if let known = prefixes[key] {
                lastBitset = known
            } else {
                lastBitset = bitsets.count
                prefixes[key] = lastBitset
                bitsets.append([])
            }
            lastPrefix = Array(prefix)
        }
        let word = index >> 6
        let bit: UInt64 = 1 << UInt64(index & 63)
        var inserted = false
        // Mutate in place (no copy of the bitset per insert).
        bitsets[lastBitset].withUnsafeMutableBufferPointerIfGrown(toWordCount: word + 1) { words in
            inserted = words[word] & bit == 0
            words[word] |= bit
        }
        if inserted { count += 1 }
    }

    /// Removes `id` (a completed request reopened to be done again).
    mutating func remove(_ id: String) {
        guard contains(id) else { return }
        count -= 1
        guard let (prefix, index) = Self.split(id), let bitset = prefixes[prefix] else {
            others.remove(id)
            return
        }
        bitsets[bitset][index >> 6] &= ~(1 << UInt64(index & 63))
    }

    /// Splits `id` into a prefix and a trailing decimal number written canonically (no leading zero).
    static func split(_ id: String) -> (String, Int)? {
        var id = id
        return id.withUTF8 { utf8 in
            guard let (prefixLength, index) = split(utf8) else { return nil }
            return (String(decoding: UnsafeBufferPointer(rebasing: utf8[..<prefixLength]), as: UTF8.self), index)
        }
    }

    /// The length of the prefix and the value of the trailing number of `utf8`, nil when it has none.
    private static func split(_ utf8: UnsafeBufferPointer<UInt8>) -> (Int, Int)? {
        var end = utf8.count
        var value = 0
        var scale = 1
        while end > 0 {
            let byte = utf8[end - 1]
            guard byte >= 0x30 && byte <= 0x39 else { break }
            guard utf8.count - end < 8 else { return nil }  // more than 8 digits
            value += Int(byte - 0x30) * scale
            scale *= 10
            end -= 1
        }
        let digits = utf8.count - end
        guard digits > 0, value < maxIndex else { return nil }
        if digits > 1 && utf8[end] == 0x30 { return nil }  // leading zero: "x-07" must stay distinct from "x-7"
        return (end, value)
    }

    private static func equal(_ known: [UInt8], _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard known.count == bytes.count else { return false }
        return known.withUnsafeBufferPointer { known in
            guard let a = known.baseAddress, let b = bytes.baseAddress else { return true }
            return memcmp(a, b, bytes.count) == 0
        }
    }
}

extension Array where Element == UInt64 {
    /// Grows the array with zero words to `count` (doubling, so appends stay amortized O(1)) and
    /// passes its storage to `body`.
    fileprivate mutating func withUnsafeMutableBufferPointerIfGrown(toWordCount count: Int, _ body: (inout UnsafeMutableBufferPointer<UInt64>) -> Void) {
        if self.count < count {
            // Only when full: `reserveCapacity(2 × count)` at every new word reallocated and copied the
            // whole bitset every 64 IDs (quadratic in the run's length).
            if capacity < count { reserveCapacity(Swift.max(count, capacity * 2)) }
            append(contentsOf: repeatElement(0, count: count - self.count))
        }
        withUnsafeMutableBufferPointer(body)
    }
}
