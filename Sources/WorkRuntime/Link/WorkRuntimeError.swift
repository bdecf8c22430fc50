import WorkProtocol
import ZeroMQ

/// Why a coordinator, worker, producer or consumer loop stopped with an error.
public enum WorkRuntimeError: Error, Sendable, CustomStringConvertible {
    /// A ZeroMQ call failed (bind to a busy port, bad endpoint...).
    case zeroMQ(operation: String, ZeroMQError)
    /// An operating-system call failed.
    case system(operation: String, errno: Int32)
    /// The coordinator's journal failed; the run cannot promise exactly-once output without it.
    case journal(JournalError)
    /// The consumer's write callback failed; results were not acknowledged and will be redelivered.
    case consumerWrite(String)
    /// The producer's input failed.
    case producerInput(String)
    /// The server at `endpoint` refused this process's CURVE key (ZAP status `status`): it is not among
    /// the server's authorised keys.
    case refused(endpoint: String, peer: String, status: UInt32)

    public var description: String {
        switch self {
        case .zeroMQ(let operation, let error):
            return "\(operation): \(error); check the endpoint (is another coordinator bound to it?)"
        case .system(let operation, let code):
            return "\(operation) failed: errno \(code)"
        case .journal(let error): return "\(error)"
        case .consumerWrite(let why): return "consumer could not write results: \(why); fix it and restart: unacknowledged results are redelivered"
        case .producerInput(let why): return "producer input failed: \(why)"
        case .refused(let endpoint, let peer, let status):
            return "the \(peer) at \(endpoint) refused this process's CURVE key (status \(status)): copy this process's public.key "
                + "into the \(peer)'s security.curve.authorized_keys directory (it rereads it within a second), then start this process again"
        }
    }
}

/// Wraps ZeroMQ errors with the operation that failed.
@inline(__always) @discardableResult
package func zmq<T>(_ operation: @autoclosure () -> String, _ body: () throws(ZeroMQError) -> T) throws(WorkRuntimeError) -> T {
    do {
        return try body()
    } catch {
        throw .zeroMQ(operation: operation(), error)
    }
}
