#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Milliseconds of a monotonic clock: the time base of leases and heartbeats (the coordinator's
/// state machine takes it as `now`; the socket loops read it).
package func monotonicMillis() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000 + UInt64(spec.tv_nsec) / 1_000_000
}
