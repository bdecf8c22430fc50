extension Duration {
    /// The duration as a `Double` of seconds, for rates, JSON and Prometheus, which want floating seconds.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }

    /// The duration as a `Double` of milliseconds, for latencies written in results.
    public var milliseconds: Double { seconds * 1e3 }

    /// Whole nanoseconds (truncated), for timers and NIO's `TimeAmount`, which count integers.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds &* 1_000_000_000 &+ attoseconds / 1_000_000_000
    }
}
