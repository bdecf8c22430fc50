/// A task's input in storage of its own: one allocation with its bytes inline (a `Data` copy takes
/// two, its storage object and its bytes), released with the task.
///
/// The coordinator copies every SUBMIT payload (and every intermediate stage's DONE payload) into
/// one, so that a task that waits or runs for long never keeps a whole received batch frame alive.
/// Immutable once made; not shared across threads (owned by the coordinator's tables).
final class TaskInput: ManagedBuffer<Int, UInt8> {
    /// A copy of `bytes`.
    static func copying(_ bytes: UnsafeRawBufferPointer) -> TaskInput {
        let input = unsafeDowncast(create(minimumCapacity: bytes.count) { _ in bytes.count }, to: TaskInput.self)
        input.withUnsafeMutablePointerToElements { elements in
            guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
            UnsafeMutableRawPointer(elements).copyMemory(from: source, byteCount: bytes.count)
        }
        return input
    }

    /// The bytes, valid only inside `body`.
    func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        withUnsafeMutablePointers { count, elements in body(UnsafeRawBufferPointer(start: elements, count: count.pointee)) }
    }
}
