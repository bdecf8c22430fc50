import ArgumentParser
import Foundation
import Pipeline
import ZeroMQ

/// `switchyard keys ...`: CURVE key pairs for stage processes on several machines.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make CURVE key pairs that authenticate and encrypt the links between stage processes.",
        discussion: """
            Every stage process has its own key pair. Servers (the coordinator, and the score process when
            it binds router.spend_feed) admit only the public keys in their security.curve.authorized_keys
            directory; clients trust only the server public key they are given. Step by step:
              switchyard keys generate --out keys/coordinator       # on the coordinator's host
              switchyard keys generate --out keys/profile           # on each worker host (one per process or service)
              cp keys/profile/public.key  authorized/profile.key   # collect public keys on the coordinator's host
            then set security.curve in pipeline.yaml (key_dir, coordinator_key, authorized_keys).
            A secret.key never leaves its host; public keys may be shared freely.
            """,
        subcommands: [KeysGenerateCommand.self]
    )
}

struct KeysGenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a new key pair: DIR/public.key (share it) and DIR/secret.key (mode 0600, keep it).",
        discussion: "Never overwrites: if either file exists it stops, so a process's identity cannot be replaced by accident."
    )

    @Option(name: .long, help: "Directory for the pair (made with mode 0700 when missing).")
    var out: String

    func run() throws {
        do {
            let pair = try CurveKeyFiles.generate(into: out)
            let publicPath = (out as NSString).appendingPathComponent(CurveKeyFiles.publicFileName)
            let secretPath = (out as NSString).appendingPathComponent(CurveKeyFiles.secretFileName)
            print("""
                wrote \(publicPath) (public: share it)
                wrote \(secretPath) (secret: mode 0600, never copy it off this host)
                public key: \(pair.publicKey.z85)
                next: copy \(publicPath) into the authorized_keys directory of every server this process connects to, as NAME.key
                """)
        } catch {
            throw ExitStatus.exit("keys generate", "\(error)", status: ExitStatus.failed)
        }
    }
}
