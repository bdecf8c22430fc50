import Foundation

/// Price of a model in USD per million tokens, input and output billed apart as every provider does.
public struct ModelPrice: Codable, Sendable, Hashable {
    public var inputUSDPerMTok: Double
    public var outputUSDPerMTok: Double

    public init(inputUSDPerMTok: Double, outputUSDPerMTok: Double) {
        self.inputUSDPerMTok = inputUSDPerMTok
        self.outputUSDPerMTok = outputUSDPerMTok
    }

    /// Cost in USD of one call with these token counts.
    public func cost(inputTokens: Double, outputTokens: Double) -> Double {
        (inputTokens * inputUSDPerMTok + outputTokens * outputUSDPerMTok) / 1_000_000
    }

    enum CodingKeys: String, CodingKey {
        case inputUSDPerMTok = "input_usd_per_mtok"
        case outputUSDPerMTok = "output_usd_per_mtok"
    }
}

/// A model of the pool as the routing data describes it (`models.json` beside the data).
public struct ModelInfo: Codable, Sendable, Hashable {
    public var name: String
    public var provider: String?
    public var price: ModelPrice

    public init(name: String, provider: String? = nil, price: ModelPrice) {
        self.name = name
        self.provider = provider
        self.price = price
    }

    enum CodingKeys: String, CodingKey {
        case name, provider
        case inputUSDPerMTok = "input_usd_per_mtok"
        case outputUSDPerMTok = "output_usd_per_mtok"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        provider = try c.decodeIfPresent(String.self, forKey: .provider)
        price = ModelPrice(
            inputUSDPerMTok: try c.decode(Double.self, forKey: .inputUSDPerMTok),
            outputUSDPerMTok: try c.decode(Double.self, forKey: .outputUSDPerMTok)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encodeIfPresent(provider, forKey: .provider)
        try c.encode(price.inputUSDPerMTok, forKey: .inputUSDPerMTok)
        try c.encode(price.outputUSDPerMTok, forKey: .outputUSDPerMTok)
    }

    /// Loads a `models.json` array.
    public static func loadCatalog(path: String) throws(SwitchyardError) -> [ModelInfo] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadableFile(file: path, reason: "no such file")
        }
        do {
            return try JSONDecoder().decode([ModelInfo].self, from: data)
        } catch {
            throw .badFile(file: path, reason: DecodingErrorDescription.describe(error))
        }
    }
}
