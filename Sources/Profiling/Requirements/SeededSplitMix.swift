/// A small deterministic random generator (SplitMix64), so every learned table of requirements
/// and aptitude (clusters, samples, SGD order) is the same for the same seed on every machine.
///
/// `SystemRandomNumberGenerator` cannot be seeded; tests and artifacts need reproducibility.
public struct SeededSplitMix: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform Double in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }
}
