import SwitchyardCore

/// Estimates a prompt's input tokens as a linear function of its length in characters, calibrated
/// on training records that carry `input_tokens` (least squares), so the cost model sees tokens in the
/// provider's units without running the provider's tokenizer.
///
/// Default (no calibration data): 1 token per 4 characters, the usual rule of thumb for English.
public struct TokenCounter: Sendable, Codable, Hashable {
    public var tokensPerChar: Double
    public var intercept: Double

    public init(tokensPerChar: Double = 0.25, intercept: Double = 0) {
        self.tokensPerChar = tokensPerChar
        self.intercept = intercept
    }

    /// Fits tokens ≈ a·chars + b on records with `input_tokens`; the default when fewer than 2 have it.
    public static func calibrate(on records: [RoutingRecord]) -> TokenCounter {
        let pairs = records.compactMap { record in record.inputTokens.map { (Double(record.prompt.count), Double($0)) } }
        guard pairs.count >= 2 else { return TokenCounter() }
        let n = Double(pairs.count)
        let meanX = pairs.reduce(0) { $0 + $1.0 } / n
        let meanY = pairs.reduce(0) { $0 + $1.1 } / n
        var sxy = 0.0, sxx = 0.0
        for (x, y) in pairs {
            sxy += (x - meanX) * (y - meanY)
            sxx += (x - meanX) * (x - meanX)
        }
        guard sxx > 0 else { return TokenCounter(tokensPerChar: meanX > 0 ? meanY / meanX : 0.25, intercept: 0) }
        let slope = sxy / sxx
        return TokenCounter(tokensPerChar: slope, intercept: meanY - slope * meanX)
    }

    /// Estimated tokens, at least 1.
    public func count(_ prompt: String) -> Int {
        max(1, Int((tokensPerChar * Double(Self.characters(prompt)) + intercept).rounded()))
    }

    /// `prompt.count` without grapheme breaking when every byte is one `Character` (`PlainASCII`).
    static func characters(_ prompt: String) -> Int {
        PlainASCII.withBytes(prompt) { $0.count } ?? prompt.count
    }
}
