/// Turns texts into fixed-size vectors. Every embedder (MiniLM, hashed n-grams, remote server)
/// sits behind this one protocol so profiling and routing never care which one runs.
///
/// Implementations must be safe to call from several threads at once (profile workers share one).
public protocol Embedder: Sendable {
    /// Short name recorded in artifacts (`minilm`, `hashed-4096`, ...), so a router trained on one
    /// embedder refuses to run on another.
    var name: String { get }
    /// Length of every vector `embed` returns.
    var dimension: Int { get }
    /// One vector per text, in order. Vectors are L2-normalised unless the embedder documents otherwise.
    func embed(_ texts: [String]) throws -> [[Float]]
}
