import Foundation
import SwitchyardCore
import ZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A process's CURVE key pair on disk, as `switchyard keys generate --out DIR` writes it: `DIR/public.key`
/// (share it) and `DIR/secret.key` (mode 0600, never leaves the host). Each file holds comment lines
/// (`#`) and the key as 40 Z85 characters; a public key file copied into a server's authorised
/// directory as `NAME.key` admits the process as NAME.
public enum CurveKeyFiles {
    public static let publicFileName = "public.key"
    public static let secretFileName = "secret.key"
    static let publicHeader = "# switchyard CURVE public key: share it; servers admit this process when it is in their security.curve.authorized_keys directory"
    static let secretHeader = "# switchyard CURVE SECRET key: keep it on this host, readable by its owner alone (mode 0600); never copy it elsewhere"

    /// Why keys cannot be written or read; each message names the file and what to do.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case exists(path: String)
        case cannotWrite(path: String, reason: String)
        case secret(SecretFile.Failure)
        case unreadable(path: String)
        case notAKey(path: String)
        case secretInPublicPlace(path: String)
        case mismatch(directory: String)
        case curveUnavailable

        public var description: String {
            switch self {
            case .exists(let path):
                return "\(path) already exists: keys are never overwritten; remove it first if you mean to replace this process's identity (and update every authorized_keys directory)"
            case .cannotWrite(let path, let reason): return "cannot write \(path): \(reason)"
            case .secret(let failure): return "\(failure)"
            case .unreadable(let path): return "\(path): cannot read it (does it exist? generate keys with `switchyard keys generate --out DIR`)"
            case .notAKey(let path): return "\(path) holds no CURVE key (40 Z85 characters on a line of their own, as `switchyard keys generate` writes)"
            case .secretInPublicPlace(let path):
                return "\(path) is a SECRET key: only public keys belong here (copy the public.key beside it); treat this secret as leaked and generate a new pair"
            case .mismatch(let directory):
                return "\(directory): public.key does not belong to secret.key: regenerate the pair with `switchyard keys generate`"
            case .curveUnavailable: return "\(ZeroMQError.curveUnavailable)"
            }
        }
    }

    /// Writes a new key pair into `directory` (made, mode 0700, when missing). Never overwrites: fails
    /// with `.exists` when either file is already there.
    public static func generate(into directory: String) throws(Failure) -> CurveKeyPair {
        let publicPath = (directory as NSString).appendingPathComponent(publicFileName)
        let secretPath = (directory as NSString).appendingPathComponent(secretFileName)
        for path in [publicPath, secretPath] where FileManager.default.fileExists(atPath: path) { throw .exists(path: path) }
        let pair: CurveKeyPair
        do {
            pair = try CurveKeyPair.generate()
        } catch {
            throw .curveUnavailable
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw .cannotWrite(path: directory, reason: "\(error.localizedDescription)")
        }
        try create(secretPath, mode: 0o600, text: "\(secretHeader)\n\(pair.secretKey.z85)\n")
        try create(publicPath, mode: 0o644, text: "\(publicHeader)\n\(pair.publicKey.z85)\n")
        return pair
    }

    /// Creates `path` exclusively (`O_EXCL`: a file that appeared meanwhile is not overwritten) with `mode`.
    private static func create(_ path: String, mode: mode_t, text: String) throws(Failure) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else {
            if errno == EEXIST { throw .exists(path: path) }
            throw .cannotWrite(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        // The umask may have cleared bits of `mode`; never add any beyond it.
        _ = fchmod(fd, mode)
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            throw .cannotWrite(path: path, reason: String(cString: strerror(errno)))
        }
    }

    /// The key pair in `directory`, checking the secret file is owner-only and the pair matches.
    public static func loadKeyPair(directory: String) throws(Failure) -> CurveKeyPair {
        let secretPath = (directory as NSString).appendingPathComponent(secretFileName)
        let text: String
        do {
            text = try SecretFile.readLine(secretPath)
        } catch {
            throw .secret(error)
        }
        guard let secret = CurveSecretKey(z85: text) else { throw .notAKey(path: secretPath) }
        let publicKey = try loadPublicKeyFile((directory as NSString).appendingPathComponent(publicFileName))
        do {
            return try CurveKeyPair(publicKey: publicKey, secretKey: secret)
        } catch .curveUnavailable {
            throw .curveUnavailable
        } catch {
            throw .mismatch(directory: directory)
        }
    }

    /// A public key given either as its 40 Z85 characters or as the path of a public key file.
    public static func publicKey(_ reference: String) throws(Failure) -> CurvePublicKey {
        if let key = CurvePublicKey(z85: reference) { return key }
        return try loadPublicKeyFile(reference)
    }

    /// Whether `reference` is a key written inline (40 Z85 characters) rather than a path.
    public static func isInlineKey(_ reference: String) -> Bool { CurvePublicKey(z85: reference) != nil }

    /// The public key in the file at `path`; refuses a secret key file.
    public static func loadPublicKeyFile(_ path: String) throws(Failure) -> CurvePublicKey {
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path: path) }
        let text = String(decoding: data, as: UTF8.self)
        if text.contains("SECRET key") { throw .secretInPublicPlace(path: path) }
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            guard let key = CurvePublicKey(z85: trimmed) else { throw .notAKey(path: path) }
            return key
        }
        throw .notAKey(path: path)
    }
}
