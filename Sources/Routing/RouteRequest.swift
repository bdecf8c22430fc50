import SwitchyardCore

/// One line of a batch to route: its ID, the prompt to profile, its cost cap and pin. `switchyard route`
/// reads lines with the pipeline's `LineParser`, so the prompt is the one `run` profiles.
public struct RouteRequest: Sendable, Hashable {
    public var id: String
    public var prompt: String
    public var maxCostUSD: Double?
    /// The model the line asks for explicitly (not routed), or nil.
    public var pinnedModel: String?

    public init(id: String, prompt: String, maxCostUSD: Double? = nil, pinnedModel: String? = nil) {
        self.id = id
        self.prompt = prompt
        self.maxCostUSD = maxCostUSD
        self.pinnedModel = pinnedModel
    }

    /// A line that cannot be routed: the code and message of its error record.
    public struct LineError: Error, Sendable, Hashable {
        public var id: String?
        public var code: ErrorCode
        public var message: String

        public init(id: String?, code: ErrorCode, message: String) {
            self.id = id
            self.code = code
            self.message = message
        }
    }
}
