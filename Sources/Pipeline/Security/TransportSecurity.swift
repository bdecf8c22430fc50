import Foundation
import Logging
import WorkRuntime
import ZeroMQ

/// The security of one stage process's links, decided once at start from `pipeline.yaml`'s `security`
/// section, its role and the endpoints it really uses (after `--bind`/`--connect`).
///
/// Rules: with `security.curve`, every tcp (and ipc) link is CURVE: the process loads its key pair,
/// a server role (the coordinator; score binding the spend feed) starts the context's ZAP handler
/// over `authorized_keys` before anything binds, and a client role trusts only the configured server
/// key. Without it, plain text is allowed on loopback, ipc and inproc; a tcp endpoint reachable from
/// other hosts (including a `0.0.0.0` bind) is refused unless `security.insecure: true`, which then
/// warns at every start. Fails before any socket exists, with the key path at fault.
public final class TransportSecurity: Sendable {
    /// The coordinator link: the server role for the coordinator, the client role for everyone else.
    public let coordinator: LinkSecurity
    /// The spend feed link of score (server) and dispatch (client); nil when the role has none.
    public let spendFeed: LinkSecurity?
    /// The ZAP handler of a server role (stopped by `stop()`).
    public let authenticator: ZAPHandler?

    private init(coordinator: LinkSecurity, spendFeed: LinkSecurity?, authenticator: ZAPHandler?) {
        self.coordinator = coordinator
        self.spendFeed = spendFeed
        self.authenticator = authenticator
    }

    /// Plain links (one process over inproc, tests).
    public static let plain = TransportSecurity(coordinator: .plain, spendFeed: .plain, authenticator: nil)

    /// Resolves the links of `role`.
    /// - Parameters:
    ///   - coordinatorEndpoint: what the coordinator binds (its role) or what this process connects to.
    ///   - spendFeedEndpoint: what score binds or dispatch connects to (nil: no spend feed).
    ///   - keyDirectory: `stage --key-dir`, overriding `security.curve.key_dir`.
    public static func prepare(
        _ configuration: PipelineConfiguration, role: StageRole, coordinatorEndpoint: String, spendFeedEndpoint: String?,
        keyDirectory: String? = nil, context: Context, logger: Logger
    ) throws(ConfigurationError) -> TransportSecurity {
        let security = configuration.security
        let maxBytes = Int64(security.maxMessageBytes)
        let servesCoordinator = role == .coordinator
        let spendFeedRole: SpendFeedRole? = spendFeedEndpoint == nil ? nil : (role == .score ? .server : role == .dispatch ? .client : nil)
        var links: [(endpoint: String, keyPath: String)] = [(coordinatorEndpoint, "coordinator.endpoint")]
        if spendFeedRole != nil, let spendFeedEndpoint { links.append((spendFeedEndpoint, "router.spend_feed")) }

        guard let curve = security.curve else {
            for link in links where EndpointScope(link.endpoint) == .network {
                guard security.insecure else {
                    throw ConfigurationError(keyPath: link.keyPath, reason: "\(link.endpoint) is reachable from other hosts and security.curve is not set: "
                        + "anyone who can reach it could read every prompt, join as a worker or forge results. Make keys with "
                        + "`switchyard keys generate --out DIR` and set security.curve (see README, Across machines), or set "
                        + "security.insecure: true to accept plain text on a network you trust")
                }
                logger.warning("INSECURE: plain text over tcp to a non-loopback address (security.insecure: true): prompts, results and spend travel unencrypted and any host that reaches it can join",
                               metadata: ["endpoint": "\(link.endpoint)"])
            }
            return TransportSecurity(coordinator: LinkSecurity(maxMessageBytes: maxBytes),
                                     spendFeed: spendFeedRole.map { _ in LinkSecurity(maxMessageBytes: maxBytes) }, authenticator: nil)
        }

        guard Curve.isAvailable else {
            throw ConfigurationError(keyPath: "security.curve", reason: "\(ZeroMQError.curveUnavailable)")
        }
        if security.insecure { logger.notice("security.insecure has no effect: security.curve secures every tcp link") }
        let usesCurve = links.contains { EndpointScope($0.endpoint) != .inproc }
        guard usesCurve else {
            return TransportSecurity(coordinator: LinkSecurity(maxMessageBytes: maxBytes),
                                     spendFeed: spendFeedRole.map { _ in LinkSecurity(maxMessageBytes: maxBytes) }, authenticator: nil)
        }
        guard let directory = keyDirectory ?? curve.keyDirectory else {
            throw ConfigurationError(keyPath: "security.curve.key_dir", reason: "missing: this \(role.rawValue) process needs its key pair: "
                + "`switchyard keys generate --out DIR`, then key_dir: DIR (or --key-dir DIR)")
        }
        let keyPair: CurveKeyPair
        do {
            keyPair = try CurveKeyFiles.loadKeyPair(directory: directory)
        } catch {
            throw ConfigurationError(keyPath: keyDirectory == nil ? "security.curve.key_dir" : "--key-dir", reason: "\(error)")
        }

        var authenticator: ZAPHandler?
        if servesCoordinator || spendFeedRole == .server {
            guard let authorized = curve.authorizedKeys else {
                throw ConfigurationError(keyPath: "security.curve.authorized_keys", reason: "missing: the \(role.rawValue) process admits only the "
                    + "public keys in this directory (copy each connecting process's public.key into it as NAME.key)")
            }
            let keys = try AuthorizedKeys(directory: authorized, logger: logger)
            do {
                authenticator = try ZAPHandler(context: context) { keys.decide($0) }
            } catch {
                throw ConfigurationError(keyPath: "security.curve", reason: "cannot start the ZAP handler: \(error)")
            }
        }

        func clientLink(_ reference: String?, keyPath: String, of server: String) throws(ConfigurationError) -> LinkSecurity {
            guard let reference else {
                throw ConfigurationError(keyPath: keyPath, reason: "missing: the public key of the \(server) (its public.key file, or the 40 characters in it)")
            }
            do {
                let serverKey = try CurveKeyFiles.publicKey(reference)
                return LinkSecurity(role: .curveClient(keyPair: keyPair, serverKey: serverKey), maxMessageBytes: maxBytes)
            } catch {
                throw ConfigurationError(keyPath: keyPath, reason: "\(error)")
            }
        }

        let coordinatorLink: LinkSecurity
        if EndpointScope(coordinatorEndpoint) == .inproc {
            coordinatorLink = LinkSecurity(maxMessageBytes: maxBytes)
        } else if servesCoordinator, let authenticator {
            coordinatorLink = LinkSecurity(role: .curveServer(keyPair: keyPair, authenticator: authenticator), maxMessageBytes: maxBytes)
        } else {
            coordinatorLink = try clientLink(curve.coordinatorKey, keyPath: "security.curve.coordinator_key", of: "coordinator")
        }
        var spendFeedLink: LinkSecurity?
        switch spendFeedRole {
        case .server?:
            if let authenticator, let spendFeedEndpoint, EndpointScope(spendFeedEndpoint) != .inproc {
                spendFeedLink = LinkSecurity(role: .curveServer(keyPair: keyPair, authenticator: authenticator), maxMessageBytes: maxBytes)
            } else {
                spendFeedLink = LinkSecurity(maxMessageBytes: maxBytes)
            }
        case .client?:
            spendFeedLink = try clientLink(curve.spendFeedKey, keyPath: "security.curve.spend_feed_key", of: "score process binding router.spend_feed")
        case nil:
            spendFeedLink = nil
        }
        logger.info("CURVE on every tcp link", metadata: ["public_key": "\(keyPair.publicKey.z85)", "key_dir": "\(directory)"])
        return TransportSecurity(coordinator: coordinatorLink, spendFeed: spendFeedLink, authenticator: authenticator)
    }

    /// Stops the ZAP handler (after the sockets it guards are closed).
    public func stop() { authenticator?.stop() }

    private enum SpendFeedRole { case server, client }
}

/// Who can reach an endpoint: this process, this host, or the network.
enum EndpointScope: Equatable {
    case inproc, local, network

    init(_ endpoint: String) {
        if endpoint.hasPrefix("inproc://") {
            self = .inproc
        } else if endpoint.hasPrefix("ipc://") {
            self = .local
        } else if let host = Self.host(of: endpoint), Self.isLoopback(host) {
            self = .local
        } else {
            self = .network
        }
    }

    /// The host of `tcp://HOST:PORT` (brackets of an IPv6 literal removed; a `;`-separated source address ignored).
    static func host(of endpoint: String) -> String? {
        guard endpoint.hasPrefix("tcp://") else { return nil }
        var rest = endpoint.dropFirst("tcp://".count)
        if let semicolon = rest.lastIndex(of: ";") { rest = rest[rest.index(after: semicolon)...] }
        guard let colon = rest.lastIndex(of: ":") else { return String(rest) }
        var host = rest[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        return String(host)
    }

    static func isLoopback(_ host: String) -> Bool {
        let lower = host.lowercased()
        if lower == "localhost" || lower == "::1" || lower == "lo" { return true }
        let parts = lower.split(separator: ".")
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}
