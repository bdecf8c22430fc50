import ArgumentParser
import Embedding
import Foundation
import Logging
import Routing

/// Where a built artifact is and where MiniLM is when its featurizer needs it: the options `eval`, `route` and
/// `models onboard` share, with the one way they open the artifact's embedder.
struct ArtifactOptions: ParsableArguments {
    @Option(help: "Artifact directory written by `switchyard profile build`.")
    var profiles: String

    @Option(help: "MiniLM model directory (when the artifact's featurizer uses MiniLM).")
    var minilmDir: String = ".models/all-MiniLM-L6-v2"

    var directory: URL { URL(fileURLWithPath: profiles) }

    /// The artifact's manifest (`manifest.json` under `--profiles`).
    func manifest() throws -> RouterManifest { try RouterManifest.load(from: directory) }

    /// The embedder the manifest's featurizer names, loaded (MiniLM from `--minilm-dir`); nil when it names none.
    func embedder(for manifest: RouterManifest, logger: Logger) throws -> (any Embedder)? {
        let embedders = try CLIEmbedders.load(names: Set([manifest.featurizer.embedder].compactMap { $0 }), minilmDir: minilmDir, logger: logger)
        return manifest.featurizer.embedder.flatMap { embedders[$0] }
    }

    /// The artifact with the strategies `only` (nil: all) and its featurizer's embedder.
    func load(manifest: RouterManifest, only: Set<String>?, logger: Logger) throws -> RouterArtifact {
        try RouterArtifact.load(from: directory, embedder: embedder(for: manifest, logger: logger), only: only)
    }
}
