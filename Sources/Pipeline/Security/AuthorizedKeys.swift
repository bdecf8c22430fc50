import Foundation
import Logging
import Synchronization
import WorkProtocol
import ZeroMQ

/// The public keys a server process admits: every `NAME.key` file in `security.curve.authorized_keys`
/// (a copy of a process's `public.key`), NAME being who it is in logs and in the `User-Id` of its messages.
///
/// `decide` is the policy of the process's `ZAPHandler`. The directory is read again at most once a
/// second, when a handshake asks, so adding a key admits a new process without a restart and removing
/// one shuts out its next connection. Each refusal is logged with the peer's address and key.
public final class AuthorizedKeys: Sendable {
    public let directory: String
    private let logger: Logger
    private struct State {
        var keys: [CurvePublicKey: String]
        var loadedAt: UInt64
        var limiter = LogLimiter(burst: 50, intervalMillis: 10_000)
    }
    private let state: Mutex<State>

    /// Loads `directory` now; throws when it is missing, holds no key, or holds a file that is not a public key.
    public init(directory: String, logger: Logger) throws(ConfigurationError) {
        self.directory = directory
        self.logger = logger
        let keys = try Self.load(directory)
        state = Mutex(State(keys: keys, loadedAt: monotonicMillis()))
        logger.info("authorised CURVE keys loaded", metadata: ["directory": "\(directory)", "keys": "\(keys.values.sorted().joined(separator: ","))"])
    }

    /// The admitted keys and their names.
    public var keys: [CurvePublicKey: String] { state.withLock { $0.keys } }

    /// Admits a CURVE client whose key is authorised; refuses (and logs) everything else.
    public func decide(_ request: ZAPRequest) -> ZAPDecision {
        let now = monotonicMillis()
        let reload = state.withLock { state -> Bool in
            guard now >= state.loadedAt + 1_000 else { return false }
            state.loadedAt = now
            return true
        }
        if reload {
            do {
                let keys = try Self.load(directory)
                state.withLock { $0.keys = keys }
            } catch {
                logger.error("authorised keys not reloaded (keeping the previous set)", metadata: ["reason": "\(error.reason)"])
            }
        }
        let (name, log, suppressed) = state.withLock { state -> (String?, Bool, Int) in
            let name = request.clientKey.flatMap { state.keys[$0] }
            if name != nil { return (name, false, 0) }
            let (log, suppressed) = state.limiter.admit(now: now)
            return (nil, log, suppressed)
        }
        if let name { return .allow(userID: name) }
        if log {
            var metadata: Logger.Metadata = [
                "address": "\(request.address)", "key": "\(request.clientKey?.z85 ?? "none")",
                "mechanism": "\(request.mechanism)", "link": "\(request.domain)",
            ]
            if suppressed > 0 { metadata["suppressed_since_last"] = "\(suppressed)" }
            logger.warning("refused a connection: its CURVE key is not in \(directory)", metadata: metadata)
        }
        return .deny(reason: "key not authorised")
    }

    static func load(_ directory: String) throws(ConfigurationError) -> [CurvePublicKey: String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw ConfigurationError(keyPath: "security.curve.authorized_keys", reason: "cannot list \(directory): make it and copy each process's public.key into it as NAME.key")
        }
        var keys: [CurvePublicKey: String] = [:]
        for file in names.sorted() where file.hasSuffix(".key") && !file.hasPrefix(".") {
            let path = (directory as NSString).appendingPathComponent(file)
            do {
                let key = try CurveKeyFiles.loadPublicKeyFile(path)
                keys[key] = String(file.dropLast(".key".count))
            } catch {
                throw ConfigurationError(keyPath: "security.curve.authorized_keys", reason: "\(error)")
            }
        }
        guard !keys.isEmpty else {
            throw ConfigurationError(keyPath: "security.curve.authorized_keys", reason: "no NAME.key file in \(directory): copy the public.key of every process that connects here into it")
        }
        return keys
    }
}
