extension Duration {
    /// The duration as a `Double` of seconds, for rates, JSON and Prometheus, which want floating seconds.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }

    /// The duration as a `Double` of milliseconds, for latencies written in results.
    public var milliseconds: Double { seconds * 1e3 }

    /// Whole nanoseconds (truncated, clamped to `Int64`), for timers, which count integers.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let whole = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let total = whole.partialValue.addingReportingOverflow(attoseconds / 1_000_000_000)
        if whole.overflow || total.overflow { return seconds < 0 ? .min : .max }
        return total.partialValue
    }
}
