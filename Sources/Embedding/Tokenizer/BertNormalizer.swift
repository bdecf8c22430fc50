import Foundation

/// The character rules of Hugging Face `tokenizers`' `BertNormalizer` and `BertPreTokenizer`
/// (uncased, `strip_accents` following `lowercase`), re-implemented scalar by scalar so the ids
/// match sentence-transformers exactly. Every rule and its order is pinned by the parity fixture.
enum BertNormalizer {
    /// clean text → spaces around CJK ideographs → NFD + drop Mn → lowercase (context-free, full mapping).
    static func normalize(_ scalars: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(scalars.count + 8)
        var asciiOnly = true
        for s in scalars {
            let v = s.value
            if v < 0x80 {
                // Fast path: ASCII controls other than \t \n \r vanish; \t \n \r become spaces.
                if v == 0x09 || v == 0x0A || v == 0x0D { out.append(" ") }
                else if v < 0x20 || v == 0x7F { continue }
                else { out.append(s) }
                continue
            }
            asciiOnly = false
            if v == 0xFFFD || isControl(s) { continue }
            if s.properties.isWhitespace { out.append(" "); continue }
            if isCJK(v) {
                out.append(" "); out.append(s); out.append(" ")
            } else {
                out.append(s)
            }
        }
        if asciiOnly {
            for i in out.indices where out[i].value >= 0x41 && out[i].value <= 0x5A {
                out[i] = Unicode.Scalar(out[i].value + 0x20)!
            }
            return out
        }
        // NFD of the whole run (canonical reordering included), then drop Mn, then lowercase.
        var view = String.UnicodeScalarView()
        view.append(contentsOf: out)
        let decomposed = String(view).decomposedStringWithCanonicalMapping
        var result: [Unicode.Scalar] = []
        result.reserveCapacity(out.count + 8)
        for s in decomposed.unicodeScalars {
            if s.value < 0x80 {
                result.append(s.value >= 0x41 && s.value <= 0x5A ? Unicode.Scalar(s.value + 0x20)! : s)
                continue
            }
            if s.properties.generalCategory == .nonspacingMark { continue }
            let props = s.properties
            if props.changesWhenLowercased {
                result.append(contentsOf: props.lowercaseMapping.unicodeScalars)
            } else {
                result.append(s)
            }
        }
        return result
    }

    /// Cc, Cf, Co, Cn (but not \t \n \r): removed by clean-text without splitting the word.
    @inline(__always)
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09, 0x0A, 0x0D: return false
        default: break
        }
        switch s.properties.generalCategory {
        case .control, .format, .privateUse, .unassigned, .surrogate: return true
        default: return false
        }
    }

    /// The CJK Unified Ideographs blocks BERT surrounds with spaces (not Hiragana, Katakana, Hangul).
    @inline(__always)
    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v)
            || (0x20000...0x2A6DF).contains(v) || (0x2A700...0x2B73F).contains(v)
            || (0x2B740...0x2B81F).contains(v) || (0x2B920...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }

    /// BertPreTokenizer's split: every ASCII punctuation/symbol and every Unicode P* is its own token.
    @inline(__always)
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x80 {
            return (0x21...0x2F).contains(v) || (0x3A...0x40).contains(v)
                || (0x5B...0x60).contains(v) || (0x7B...0x7E).contains(v)
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// Splits normalised text into words: whitespace separates and vanishes, punctuation is isolated.
    static func preTokenize(_ scalars: [Unicode.Scalar]) -> [ArraySlice<Unicode.Scalar>] {
        var words: [ArraySlice<Unicode.Scalar>] = []
        var start = -1
        for i in scalars.indices {
            let s = scalars[i]
            let isSpace = s.value == 0x20 || (s.value >= 0x80 && s.properties.isWhitespace)
                || s.value == 0x09 || s.value == 0x0A || s.value == 0x0D
            if isSpace {
                if start >= 0 { words.append(scalars[start..<i]); start = -1 }
            } else if isPunctuation(s) {
                if start >= 0 { words.append(scalars[start..<i]); start = -1 }
                words.append(scalars[i...i])
            } else if start < 0 {
                start = i
            }
        }
        if start >= 0 { words.append(scalars[start..<scalars.count]) }
        return words
    }
}
