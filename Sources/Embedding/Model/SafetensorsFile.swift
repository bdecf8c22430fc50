import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only, memory-mapped `.safetensors` file: an 8-byte little-endian header length, a JSON
/// header `{name: {dtype, shape, data_offsets: [begin, end]}}`, then the raw tensor bytes.
///
/// Tensors are views into the mapping (no copy), so only the pages a forward pass touches become
/// resident: a 30,522-row embedding table costs only the rows actually looked up. The mapping lives
/// as long as this object; pointers from `floats(_:shape:)` must not outlive it. Immutable, so it
/// may be read from any thread.
public final class SafetensorsFile: @unchecked Sendable {
    /// One header entry.
    public struct TensorInfo: Sendable, Equatable {
        public let dtype: String
        public let shape: [Int]
        /// Byte range within the data section (after the header).
        public let begin: Int
        public let end: Int
    }

    public let path: String
    public let tensors: [String: TensorInfo]
    public let metadata: [String: String]
    private let base: UnsafeRawPointer
    private let mappedLength: Int
    private let dataStart: Int

    /// Maps the file and validates its header against the file size.
    /// - Throws: `EmbeddingError.modelFileMissing` when absent, `.badModelFile` when truncated,
    ///   not a safetensors file, or inconsistent; every message says how to re-fetch the model.
    public init(path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { throw EmbeddingError.modelFileMissing(path: path) }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw EmbeddingError.badModelFile(path: path, reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw EmbeddingError.badModelFile(path: path, reason: "cannot stat: \(String(cString: strerror(errno)))")
        }
        let size = Int(st.st_size)
        guard size >= 8 else {
            throw EmbeddingError.badModelFile(path: path, reason: "truncated: \(size) bytes, too short for a safetensors header")
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw EmbeddingError.badModelFile(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        let raw = UnsafeRawPointer(mapped)
        do {
            var headerLength: UInt64 = 0
            withUnsafeMutableBytes(of: &headerLength) { $0.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: 8)) }
            headerLength = UInt64(littleEndian: headerLength)
            guard headerLength > 1, headerLength <= UInt64(size - 8), headerLength < 100_000_000 else {
                throw EmbeddingError.badModelFile(path: path, reason: "header length \(headerLength) does not fit a \(size)-byte file (truncated or not safetensors)")
            }
            let headerData = Data(bytes: raw + 8, count: Int(headerLength))
            let (tensors, metadata) = try Self.parseHeader(headerData, path: path)
            let dataLength = size - 8 - Int(headerLength)
            for (name, info) in tensors where info.end > dataLength {
                throw EmbeddingError.badModelFile(path: path, reason: "tensor \(name) ends at byte \(info.end) of a \(dataLength)-byte data section (file truncated)")
            }
            self.tensors = tensors
            self.metadata = metadata
            self.dataStart = 8 + Int(headerLength)
        } catch {
            munmap(mapped, size)
            throw error
        }
        self.base = raw
        self.mappedLength = size
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), mappedLength)
    }

    /// A float32 tensor as a pointer into the mapping, after checking dtype and shape.
    /// - Throws: `EmbeddingError.badModelFile` naming the tensor when it is absent or differs.
    public func floats(_ name: String, shape: [Int]) throws -> UnsafeBufferPointer<Float> {
        guard let info = tensors[name] else {
            throw EmbeddingError.badModelFile(path: path, reason: "tensor \(name) is missing (not an all-MiniLM-L6-v2 BertModel file?)")
        }
        guard info.dtype == "F32" else {
            throw EmbeddingError.badModelFile(path: path, reason: "tensor \(name) has dtype \(info.dtype), expected F32")
        }
        guard info.shape == shape else {
            throw EmbeddingError.badModelFile(path: path, reason: "tensor \(name) has shape \(info.shape), expected \(shape)")
        }
        let start = base + dataStart + info.begin
        guard Int(bitPattern: start) % MemoryLayout<Float>.alignment == 0 else {
            throw EmbeddingError.badModelFile(path: path, reason: "tensor \(name) is not 4-byte aligned in the file")
        }
        let count = shape.reduce(1, *)
        return UnsafeBufferPointer(start: start.assumingMemoryBound(to: Float.self), count: count)
    }

    static let elementSizes: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
    ]

    static func parseHeader(_ data: Data, path: String) throws -> ([String: TensorInfo], [String: String]) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw EmbeddingError.badModelFile(path: path, reason: "header is not JSON (not a safetensors file?)")
        }
        guard let header = object as? [String: Any] else {
            throw EmbeddingError.badModelFile(path: path, reason: "header is not a JSON object")
        }
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                for (k, v) in (value as? [String: Any]) ?? [:] { metadata[k] = "\(v)" }
                continue
            }
            guard let entry = value as? [String: Any],
                  let dtype = entry["dtype"] as? String,
                  let shape = (entry["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  let offsets = (entry["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  offsets.count == 2
            else {
                throw EmbeddingError.badModelFile(path: path, reason: "header entry \(name) lacks dtype, shape or data_offsets")
            }
            guard let elementSize = elementSizes[dtype] else {
                throw EmbeddingError.badModelFile(path: path, reason: "tensor \(name) has unknown dtype \(dtype)")
            }
            let count = shape.reduce(1, *)
            guard shape.allSatisfy({ $0 >= 0 }), offsets[0] >= 0, offsets[1] - offsets[0] == count * elementSize else {
                throw EmbeddingError.badModelFile(path: path, reason: "tensor \(name): data_offsets \(offsets) do not match shape \(shape) of \(dtype)")
            }
            tensors[name] = TensorInfo(dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
        }
        return (tensors, metadata)
    }
}
