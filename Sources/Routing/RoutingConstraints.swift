/// Per-query limits on which models the router may choose (from the request line and from the
/// dispatcher's view of backend health).
public struct RoutingConstraints: Sendable, Hashable, Codable {
    /// The estimated cost of the chosen model must not exceed this (USD); nil for no cap.
    public var maxCostUSD: Double?
    /// Models predicted below this quality are not eligible; nil for no floor.
    public var minQuality: Double?
    /// Only these models are eligible; nil for all.
    public var allowedModels: Set<String>?
    /// Never these models.
    public var deniedModels: Set<String>
    /// Models whose backends are down right now (circuit open): treated like denied.
    public var unavailableModels: Set<String>

    public init(
        maxCostUSD: Double? = nil, minQuality: Double? = nil, allowedModels: Set<String>? = nil,
        deniedModels: Set<String> = [], unavailableModels: Set<String> = []
    ) {
        self.maxCostUSD = maxCostUSD
        self.minQuality = minQuality
        self.allowedModels = allowedModels
        self.deniedModels = deniedModels
        self.unavailableModels = unavailableModels
    }

    /// No limits.
    public static let none = RoutingConstraints()
}
