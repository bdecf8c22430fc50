/// A message of a received frame with its hottest fields left in the frame: what the coordinator
/// reads from SUBMIT, DONE and ACK (one of each per request) as byte ranges instead of a `String`
/// and `Data` per message. Every other message is decoded in full (`other`).
///
/// Ranges are byte offsets from the start of the frame given to `WireCodec.decodeInbound`; the
/// strings they cover were validated as UTF-8 when the frame was decoded.
public enum WireInboundMessage: Sendable, Equatable {
    /// SUBMIT: the request ID's bytes and the payload's.
    case submit(requestID: Range<Int>, payload: Range<Int>)
    /// DONE: the payload's bytes.
    case done(taskID: UInt64, payload: Range<Int>)
    /// ACK: the request ID's bytes.
    case ack(requestID: Range<Int>)
    /// Any other message, decoded (payloads, if any, share the frame).
    case other(WireMessage)
}
