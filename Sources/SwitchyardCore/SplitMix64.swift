/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny seedable generator, so clusters, aptitude samples,
/// SGD order, retry jitter, replayed latencies and random routes are the same for the same seed on every
/// machine, which `SystemRandomNumberGenerator` (unseedable) cannot promise.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// `discarding` skips the first outputs: the requirement and aptitude tables were learned from the
    /// sequence one step in, and keep it so the artifacts built before stay identical.
    public init(seed: UInt64, discarding count: Int = 0) {
        state = seed &+ UInt64(truncatingIfNeeded: max(0, count)) &* Self.increment
    }

    public mutating func next() -> UInt64 {
        state &+= Self.increment
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    public mutating func unit() -> Double { Double(next() >> 11) / Double(UInt64(1) << 53) }

    private static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15
}
