import BlockingHTTP
import Foundation
import Logging
import SwitchyardCore

/// Optional requirement extractor that asks any OpenAI-compatible `/v1/chat/completions` endpoint for
/// the query's capabilities and domains as JSON, and validates what comes back.
///
/// Slower and costlier than `EmbeddedRequirementExtractor` (one LLM call per query), but needs no
/// training. Bad output (not JSON, wrong shape, unknown capability) is a `RequirementError`, never a
/// crash. The API key is sent as a bearer token and never logged.
///
/// `requirements` waits on the calling thread while AsyncHTTPClient makes the call on its event loop
/// (`BlockingHTTPClient`): call it from a thread of its own (the profile stage's worker thread), or
/// from async code through `BlockingWork.run`. Copies share one HTTP client (one connection pool).
public struct LLMRequirementExtractor: RequirementExtractor {
    public struct Configuration: Sendable {
        /// Base URL up to and including `/v1` (e.g. `http://127.0.0.1:8080/v1`).
        public var baseURL: URL
        /// Model name sent in the request.
        public var model: String
        /// Bearer token, or nil for local servers that need none.
        public var apiKey: String?
        /// Known domain names; an answered domain outside them becomes `other`. Empty accepts any name.
        public var domainVocabulary: [String]
        /// Most capabilities and domains kept (defaults 3 and 2).
        public var maxCapabilities: Int = 3
        public var maxDomains: Int = 2
        /// Seconds before a call is given up (default 30).
        public var timeout: TimeInterval = 30

        public init(baseURL: URL, model: String, apiKey: String? = nil, domainVocabulary: [String] = []) {
            self.baseURL = baseURL
            self.model = model
            self.apiKey = apiKey
            self.domainVocabulary = domainVocabulary
        }
    }

    public var name: String { "llm" }
    public let configuration: Configuration
    private let logger: Logger
    private let http: BlockingHTTPClient

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        http = BlockingHTTPClient()
    }

    /// Closes the HTTP connection pool now (dropping the last copy closes it too, without waiting).
    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// Synchronous form for the `RequirementExtractor` protocol: waits on the calling thread for the HTTP call.
    public func requirements(prompt: String, vector: [Float]) throws -> QueryRequirements {
        let url = configuration.baseURL.appendingPathComponent("chat/completions")
        let body = try requestBody(prompt: prompt)
        let result: Result<QueryRequirements, RequirementError>
        do {
            let response = try http.post(url: url, headers: headers, body: body, timeout: .seconds(configuration.timeout))
            result = Self.decode(status: response.status, body: response.body, url: url.absoluteString, configuration: configuration)
        } catch {
            result = .failure(.llmUnavailable(url: url.absoluteString, reason: error.reason))
        }
        if case .failure(let error) = result {
            logger.debug("requirement LLM call failed", metadata: ["error": "\(error)"])
        }
        return try result.get()
    }

    /// Parses the assistant's message content into requirements; public so it can be tested alone.
    public static func parse(content: String, configuration: Configuration) throws(RequirementError) -> QueryRequirements {
        var text = content.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("```") {
            // Accept a fenced block: drop the first line and the closing fence.
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            text = lines.dropFirst().filter { !$0.hasPrefix("```") }.joined(separator: "\n")
        }
        guard let data = text.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data),
              let dict = object as? [String: Any] else {
            throw .llmBadOutput(reason: "answer is not a JSON object: \(text.prefix(80))")
        }
        guard let rawCapabilities = dict["capabilities"] as? [Any] else {
            throw .llmBadOutput(reason: "missing array field 'capabilities'")
        }
        var capabilities: [Capability] = []
        for item in rawCapabilities {
            guard let name = item as? String else { throw .llmBadOutput(reason: "capability \(item) is not a string") }
            let normalised = name.lowercased().replacingOccurrences(of: " ", with: "_").replacingOccurrences(of: "-", with: "_")
            guard let capability = Capability(rawValue: normalised) else {
                throw .llmBadOutput(reason: "unknown capability '\(name)'; expected one of \(Capability.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            if !capabilities.contains(capability) { capabilities.append(capability) }
        }
        guard !capabilities.isEmpty else { throw .llmBadOutput(reason: "'capabilities' is empty") }
        var domains: [String] = []
        if let rawDomains = dict["domains"] {
            guard let list = rawDomains as? [Any] else { throw .llmBadOutput(reason: "'domains' is not an array") }
            for item in list {
                guard let name = item as? String else { throw .llmBadOutput(reason: "domain \(item) is not a string") }
                var domain = name.trimmingCharacters(in: .whitespaces).lowercased()
                if !configuration.domainVocabulary.isEmpty, !configuration.domainVocabulary.contains(domain) {
                    domain = DomainVocabulary.otherName
                }
                if !domain.isEmpty, !domains.contains(domain) { domains.append(domain) }
            }
        }
        return QueryRequirements(
            capabilities: Array(capabilities.prefix(configuration.maxCapabilities)),
            domains: Array(domains.prefix(configuration.maxDomains))
        )
    }

    // MARK: internals

    /// JSON content type and, when configured, the bearer key (sent, never logged).
    var headers: [(String, String)] {
        var headers = [("Content-Type", "application/json")]
        if let key = configuration.apiKey { headers.append(("Authorization", "Bearer \(key)")) }
        return headers
    }

    func requestBody(prompt: String) throws(RequirementError) -> Data {
        let capabilityList = Capability.allCases.map(\.rawValue).joined(separator: ", ")
        var system = """
            You label what an LLM request requires. Answer with one JSON object and nothing else:
            {"capabilities": [...], "domains": [...]}. "capabilities": the capabilities the request needs, \
            most needed first, chosen only from: \(capabilityList). "domains": its knowledge domains, most relevant first
            """
        if !configuration.domainVocabulary.isEmpty {
            system += ", chosen only from: \(configuration.domainVocabulary.joined(separator: ", "))"
        }
        system += "."
        let body: [String: Any] = [
            "model": configuration.model,
            "temperature": 0,
            "messages": [["role": "system", "content": system], ["role": "user", "content": prompt]],
        ]
        do {
            return try JSONSerialization.data(withJSONObject: body)
        } catch {
            throw .llmBadOutput(reason: "cannot encode request: \(error)")
        }
    }

    static func decode(
        status: Int, body data: Data, url: String, configuration: Configuration
    ) -> Result<QueryRequirements, RequirementError> {
        guard (200..<300).contains(status) else {
            return .failure(.llmUnavailable(url: url, reason: "HTTP \(status)"))
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let choices = object["choices"] as? [[String: Any]], let first = choices.first,
              let message = first["message"] as? [String: Any], let content = message["content"] as? String else {
            return .failure(.llmBadOutput(reason: "response is not a chat completion with choices[0].message.content"))
        }
        do {
            return .success(try parse(content: content, configuration: configuration))
        } catch {
            return .failure(error)
        }
    }
}
