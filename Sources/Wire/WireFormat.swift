/// Constants of the binary frame layout.
///
/// A frame is `version:u8, type:u8, fields...`; integers are little-endian fixed width,
/// strings and payloads are `length:u32` followed by that many bytes. A batch frame is
/// `version:u8, type:u8 = batch, count:u32 (≥ 2)`, then `count` messages each laid out as
/// `type:u8, fields...` (no nested batches): one ZeroMQ message for many tasks, answers or acks,
/// which is what lifts the work protocol's throughput (see Benchmarks/protocol.sh). Chosen over
/// length-prefixed JSON because `SwitchyardBench protocol` measured it several times faster
/// to encode and decode (see Benchmarks/protocol.sh), and frames are on every hop.
public enum WireFormat {
    /// Bumped whenever the layout changes; a peer with another version is rejected with a clear error.
    /// 2: batch frames. 3: REOPEN (retrying failed lines), ACK for requests an earlier run wrote.
    public static let version: UInt8 = 3
    /// Upper bound for one string or payload field (64 MiB), so a corrupt length cannot make us allocate gigabytes.
    public static let maxFieldLength = 64 << 20
}
