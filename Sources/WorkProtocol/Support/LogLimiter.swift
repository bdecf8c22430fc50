/// Lets at most `burst` log lines through per `intervalMillis`; the rest are counted, so a flood of bad
/// frames (or refused handshakes) costs a few lines a second instead of filling the disk. Not
/// thread-safe: owned by one loop.
package struct LogLimiter {
    package let burst: Int
    package let intervalMillis: UInt64
    private var windowStart: UInt64 = 0
    private var logged = 0
    private var suppressed = 0

    package init(burst: Int = 10, intervalMillis: UInt64 = 1_000) {
        self.burst = burst
        self.intervalMillis = intervalMillis
    }

    /// Whether to log one more line at `now` (monotonic ms), and how many lines were held back in the
    /// window that just ended (report them in the line when not zero).
    package mutating func admit(now: UInt64) -> (log: Bool, suppressed: Int) {
        var heldBack = 0
        if now >= windowStart + intervalMillis {
            heldBack = suppressed
            windowStart = now
            logged = 0
            suppressed = 0
        }
        guard logged < burst else {
            suppressed += 1
            return (false, heldBack)
        }
        logged += 1
        return (true, heldBack)
    }

    /// Once the window has ended: how many lines it held back (then starts afresh), so a flood that stops
    /// is still reported. Nil while the window runs or when nothing was held back.
    package mutating func flush(now: UInt64) -> Int? {
        guard suppressed > 0, now >= windowStart + intervalMillis else { return nil }
        defer {
            suppressed = 0
            logged = 0
            windowStart = now
        }
        return suppressed
    }
}
