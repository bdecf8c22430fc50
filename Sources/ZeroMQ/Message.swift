import CZeroMQ
import Foundation

/// One frame: a `zmq_msg_t` on the heap (libzmq forbids moving or copying one bytewise).
///
/// Sending a message hands its content to libzmq and leaves it empty, so a `Message` can be
/// reused as the target of `Socket.receive(into:)` in a hot loop with no allocation.
/// Large payloads (at least `zeroCopyThreshold` bytes) given as `[UInt8]` or `Data` are not
/// copied: libzmq points at the caller's buffer and releases it from its I/O thread once sent.
/// Not thread-safe; `@unchecked Sendable` only so a frame can be handed to another thread
/// once the sender stops touching it.
public final class Message: @unchecked Sendable {
    /// Payloads at least this large are sent zero-copy; smaller ones are copied, which is
    /// cheaper than the bookkeeping (libzmq stores up to 33 bytes inline anyway).
    public static let zeroCopyThreshold = 64 * 1024

    let pointer: UnsafeMutablePointer<zmq_msg_t>

    /// An empty frame, e.g. as a reusable receive target or an empty delimiter frame.
    public init() {
        pointer = .allocate(capacity: 1)
        zmq_msg_init(pointer)
    }

    /// A frame of `count` uninitialised bytes to be filled with `withUnsafeMutableBytes`:
    /// the way to build a large payload in place with no copy at all.
    public init(count: Int) throws(ZeroMQError) {
        pointer = .allocate(capacity: 1)
        if zmq_msg_init_size(pointer, count) != 0 {
            let error = ZeroMQError.current("zmq_msg_init_size(\(count))")
            zmq_msg_init(pointer)
            throw error
        }
    }

    /// A frame holding `bytes`: copied when small, zero-copy (kept alive until libzmq is done)
    /// when at least `zeroCopyThreshold` bytes.
    public convenience init(bytes: [UInt8]) {
        if bytes.count >= Message.zeroCopyThreshold {
            // A `let` array held by a class is never mutated, so its buffer stays put.
            self.init(retaining: Box(bytes), count: bytes.count) { box in
                box.value.withUnsafeBytes { UnsafeMutableRawPointer(mutating: $0.baseAddress) }
            }
        } else {
            self.init(copying: bytes)
        }
    }

    /// A frame holding `data`: copied when small, zero-copy when at least `zeroCopyThreshold` bytes.
    public convenience init(data: Data) {
        if data.count >= Message.zeroCopyThreshold {
            self.init(retaining: Box(data), count: data.count) { box in
                box.value.withUnsafeBytes { UnsafeMutableRawPointer(mutating: $0.baseAddress) }
            }
        } else {
            self.init(copying: data)
        }
    }

    /// A frame holding the UTF-8 bytes of `string` (copied).
    public convenience init(string: String) {
        self.init(copying: Array(string.utf8))
    }

    /// A frame holding a copy of `bytes`.
    public convenience init(copying bytes: some Collection<UInt8>) {
        self.init(sizeNoThrow: bytes.count)
        let target = UnsafeMutableRawBufferPointer(start: zmq_msg_data(pointer), count: bytes.count)
        _ = target.copyBytes(from: bytes)
    }

    /// A frame over `buffer`, which libzmq reads until it calls `deallocate` (from one of its
    /// I/O threads, possibly long after `send` returned). Zero-copy for buffers the caller owns.
    public convenience init(
        unsafeNoCopy buffer: UnsafeMutableRawBufferPointer,
        deallocate: @escaping @Sendable (UnsafeMutableRawBufferPointer) -> Void
    ) {
        let owner = Box(Deallocation(buffer: buffer, deallocate: deallocate))
        self.init(retaining: owner, count: buffer.count) { box in
            box.value.buffer.baseAddress
        }
    }

    private init(sizeNoThrow count: Int) {
        pointer = .allocate(capacity: 1)
        if zmq_msg_init_size(pointer, count) != 0 {
            // Only ENOMEM; Swift itself would trap allocating this much.
            fatalError("zmq_msg_init_size(\(count)) failed: \(ZeroMQError.current("zmq_msg_init_size"))")
        }
    }

    /// Zero-copy: libzmq keeps `owner` retained until its free callback runs.
    private init<Owner: AnyObject>(retaining owner: Owner, count: Int, baseAddress: (Owner) -> UnsafeMutableRawPointer?) {
        pointer = .allocate(capacity: 1)
        let hint = Unmanaged.passRetained(owner).toOpaque()
        let base = baseAddress(owner)
        if zmq_msg_init_data(pointer, base, count, messageReleaseOwner, hint) != 0 {
            Unmanaged<AnyObject>.fromOpaque(hint).release()
            fatalError("zmq_msg_init_data failed: \(ZeroMQError.current("zmq_msg_init_data"))")
        }
    }

    deinit {
        zmq_msg_close(pointer)
        pointer.deallocate()
    }

    /// Payload size in bytes.
    public var count: Int { zmq_msg_size(pointer) }

    /// After a receive: whether more frames of the same multipart message follow.
    public var hasMore: Bool { zmq_msg_more(pointer) != 0 }

    /// Read access to the payload without copying; the pointer is valid only inside `body`.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: zmq_msg_data(pointer), count: count))
    }

    /// Write access to the payload, e.g. after `init(count:)`. Do not use on a message built
    /// zero-copy from caller data that must stay unchanged.
    public func withUnsafeMutableBytes<R, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: zmq_msg_data(pointer), count: count))
    }

    /// A copy of the payload.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// A copy of the payload.
    public var data: Data { withUnsafeBytes { Data($0) } }

    /// The payload as `Data`, moved out of the message without copying its bytes (payloads of at
    /// least `adoptionThreshold` bytes, after which the message is empty, ready for the next receive;
    /// smaller ones are copied, which is cheaper). libzmq's buffer lives as long as the `Data` and its
    /// slices, and is freed by whichever thread releases the last of them.
    public func takeData() -> Data {
        let size = count
        guard size >= Self.adoptionThreshold else { return data }
        let moved = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        zmq_msg_init(moved)
        zmq_msg_move(moved, pointer)
        // The address crosses the deallocator (a `@Sendable` closure) as an integer: the moved message is owned by the `Data` alone.
        let address = UInt(bitPattern: moved)
        return Data(bytesNoCopy: zmq_msg_data(moved), count: size, deallocator: .custom { _, _ in
            guard let message = UnsafeMutablePointer<zmq_msg_t>(bitPattern: address) else { return }
            zmq_msg_close(message)
            message.deallocate()
        })
    }

    /// `takeData()` copies payloads smaller than this (a few small allocations cost more than the copy).
    public static let adoptionThreshold = 4_096

    /// The payload decoded as UTF-8 (invalid sequences repaired).
    public var string: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }

    /// A metadata property of the connection a received message came in on (`zmq_msg_gets`):
    /// `"User-Id"` (what the ZAP handler said the peer is), `"Peer-Address"`, `"Socket-Type"`...
    /// nil when the connection has no such property (or the message was not received).
    public func property(_ name: String) -> String? {
        guard let value = zmq_msg_gets(pointer, name) else { return nil }
        return String(cString: value)
    }
}

/// A reference box so values can cross libzmq's `void *hint`.
final class Box<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

struct Deallocation {
    let buffer: UnsafeMutableRawBufferPointer
    let deallocate: @Sendable (UnsafeMutableRawBufferPointer) -> Void
}

/// libzmq's free callback for zero-copy frames: drops the retain taken at init.
/// Runs on whichever thread releases the last reference to the frame (often an I/O thread).
private func messageReleaseOwner(_ data: UnsafeMutableRawPointer?, _ hint: UnsafeMutableRawPointer?) {
    guard let hint else { return }
    let owner = Unmanaged<AnyObject>.fromOpaque(hint).takeRetainedValue()
    if let deallocation = owner as? Box<Deallocation> {
        deallocation.value.deallocate(deallocation.value.buffer)
    }
}
