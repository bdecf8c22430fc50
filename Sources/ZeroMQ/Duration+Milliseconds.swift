extension Duration {
    /// Whole milliseconds, rounded up so a tiny positive timeout never becomes "do not wait",
    /// clamped to `Int32` (libzmq's option type). Negative durations become 0.
    var zmqMilliseconds: Int32 {
        let (seconds, attoseconds) = components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        let ms = seconds.multipliedReportingOverflow(by: 1000)
        if ms.overflow { return Int32.max }
        let extra = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        let total = ms.partialValue.addingReportingOverflow(extra)
        if total.overflow || total.partialValue > Int64(Int32.max) { return Int32.max }
        return Int32(total.partialValue)
    }

    /// libzmq's convention for optional timeouts: `nil` is -1 (infinite).
    static func zmqMilliseconds(_ value: Duration?) -> Int32 {
        value.map(\.zmqMilliseconds) ?? -1
    }

    /// Back from libzmq's millisecond convention: -1 (or any negative) is `nil`, infinite.
    static func fromZMQMilliseconds(_ value: Int32) -> Duration? {
        value < 0 ? nil : .milliseconds(Int64(value))
    }
}
