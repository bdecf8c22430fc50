import CZeroMQ
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Flags for a send.
public struct SendFlags: OptionSet, Sendable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Throw `.timeout` instead of blocking when the high-water mark is reached (or, for
    /// ROUTER/DEALER/PUSH, when there is no peer to queue to).
    public static let dontWait = SendFlags(rawValue: ZMQ_DONTWAIT)
    /// More frames of the same message follow (set for you by the multipart sends).
    public static let more = SendFlags(rawValue: ZMQ_SNDMORE)
}

extension Socket {
    /// Sends one frame; libzmq takes its content and leaves `message` empty (reusable).
    /// On error the message is left unchanged.
    public func send(_ message: Message, flags: SendFlags = []) throws(ZeroMQError) {
        let socket = try owned()
        while zmq_msg_send(message.pointer, socket, flags.rawValue) == -1 {
            let code = zmq_errno()
            if code != EINTR { throw ZeroMQError.from(errno: code, operation: "send on \(type)") }
        }
    }

    /// Sends one frame, copying `bytes` (the fastest path for small payloads).
    public func send(bytes: UnsafeRawBufferPointer, flags: SendFlags = []) throws(ZeroMQError) {
        let socket = try owned()
        while zmq_send(socket, bytes.baseAddress, bytes.count, flags.rawValue) == -1 {
            let code = zmq_errno()
            if code != EINTR { throw ZeroMQError.from(errno: code, operation: "send on \(type)") }
        }
    }

    /// Sends a single-frame message.
    public func send(_ bytes: [UInt8], flags: SendFlags = []) throws(ZeroMQError) {
        try send([bytes], flags: flags)
    }

    /// Sends `frames` as one multipart message (delivered all or nothing). `.dontWait` applies
    /// to the first frame: once it is queued, libzmq accepts the rest.
    public func send(_ frames: [Message], flags: SendFlags = []) throws(ZeroMQError) {
        try sendMultipart(count: frames.count, flags: flags) { index, frameFlags throws(ZeroMQError) in
            try send(frames[index], flags: frameFlags)
        }
    }

    /// Sends `frames` as one multipart message: small frames are copied, frames of at least
    /// `Message.zeroCopyThreshold` bytes are sent zero-copy.
    public func send(_ frames: [[UInt8]], flags: SendFlags = []) throws(ZeroMQError) {
        try sendMultipart(count: frames.count, flags: flags) { index, frameFlags throws(ZeroMQError) in
            let frame = frames[index]
            if frame.count >= Message.zeroCopyThreshold {
                try send(Message(bytes: frame), flags: frameFlags)
            } else {
                try frame.withUnsafeBytes { buffer in Result { () throws(ZeroMQError) in try send(bytes: buffer, flags: frameFlags) } }.get()
            }
        }
    }

    /// Sends `frames` as one multipart message: small frames are copied, frames of at least
    /// `Message.zeroCopyThreshold` bytes are sent zero-copy.
    public func send(_ frames: [Data], flags: SendFlags = []) throws(ZeroMQError) {
        try sendMultipart(count: frames.count, flags: flags) { index, frameFlags throws(ZeroMQError) in
            let frame = frames[index]
            if frame.count >= Message.zeroCopyThreshold {
                try send(Message(data: frame), flags: frameFlags)
            } else {
                try frame.withUnsafeBytes { buffer in Result { () throws(ZeroMQError) in try send(bytes: buffer, flags: frameFlags) } }.get()
            }
        }
    }

    private func sendMultipart(
        count: Int,
        flags: SendFlags,
        _ sendFrame: (Int, SendFlags) throws(ZeroMQError) -> Void
    ) throws(ZeroMQError) {
        guard count > 0 else { throw ZeroMQError.invalidArgument("a message needs at least one frame") }
        for index in 0..<count {
            var frameFlags = index == 0 ? flags : flags.subtracting(.dontWait)
            if index < count - 1 { frameFlags.insert(.more) }
            try sendFrame(index, frameFlags)
        }
    }
}
