import Foundation

/// A dense row-major Float32 matrix in one flat array: the form routing tables, centroids and
/// feature batches take so BLAS can use them directly and artifacts can store them as raw bytes.
public struct FloatMatrix: Sendable, Hashable {
    public private(set) var rows: Int
    public let cols: Int
    /// `rows * cols` values, row after row.
    public var values: [Float]

    /// A zero matrix.
    public init(rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        self.values = [Float](repeating: 0, count: rows * cols)
    }

    /// Wraps `values`; they must hold exactly `rows * cols` numbers.
    public init(rows: Int, cols: Int, values: [Float]) throws(SwitchyardError) {
        guard rows >= 0, cols >= 0, values.count == rows * cols else {
            throw .invalidArgument("matrix of \(rows)x\(cols) needs \(rows * cols) values, got \(values.count)")
        }
        self.rows = rows
        self.cols = cols
        self.values = values
    }

    /// Stacks equal-length rows; `cols` is used when `rows` is empty.
    public init(stacking rowArrays: [[Float]], cols: Int) throws(SwitchyardError) {
        var flat: [Float] = []
        flat.reserveCapacity(rowArrays.count * cols)
        for (index, row) in rowArrays.enumerated() {
            guard row.count == cols else {
                throw .invalidArgument("row \(index) has \(row.count) values, expected \(cols)")
            }
            flat.append(contentsOf: row)
        }
        self.rows = rowArrays.count
        self.cols = cols
        self.values = flat
    }

    public subscript(row: Int, col: Int) -> Float {
        get { values[row * cols + col] }
        set { values[row * cols + col] = newValue }
    }

    /// A copy of one row.
    public func row(_ index: Int) -> [Float] {
        Array(values[(index * cols)..<((index + 1) * cols)])
    }

    /// Appends one row of `cols` values.
    public mutating func appendRow(_ row: [Float]) throws(SwitchyardError) {
        guard row.count == cols else {
            throw .invalidArgument("row has \(row.count) values, expected \(cols)")
        }
        values.append(contentsOf: row)
        rows += 1
    }

    /// Writes the values as raw little-endian Float32 (no header: the shape lives in the manifest).
    public func write(to url: URL) throws(SwitchyardError) {
        let data: Data
        if 1.littleEndian == 1 {
            data = values.withUnsafeBufferPointer { Data(buffer: $0) }
        } else {
            var out = Data(capacity: values.count * 4)
            for value in values {
                var bits = value.bitPattern.littleEndian
                withUnsafeBytes(of: &bits) { out.append(contentsOf: $0) }
            }
            data = out
        }
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw .unwritableFile(file: url.path, reason: FileErrors.reason(error, path: url.path))
        }
    }

    /// Reads a raw little-endian Float32 file of exactly `rows * cols` values; a short or long file
    /// is an error that names the file (a truncated artifact must not load as garbage).
    public static func read(from url: URL, rows: Int, cols: Int) throws(SwitchyardError) -> FloatMatrix {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw .unreadableFile(file: url.path, reason: "missing; rebuild the artifact with `switchyard profile build`")
        }
        let expected = rows * cols * 4
        guard data.count == expected else {
            throw .badFile(
                file: url.path,
                reason: "holds \(data.count) bytes, expected \(expected) (\(rows)x\(cols) Float32): the artifact is corrupt, rebuild it"
            )
        }
        var values = [Float](repeating: 0, count: rows * cols)
        data.withUnsafeBytes { raw in
            values.withUnsafeMutableBytes { out in
                out.copyMemory(from: raw)
            }
        }
        if 1.littleEndian != 1 {
            for index in values.indices {
                values[index] = Float(bitPattern: UInt32(littleEndian: values[index].bitPattern))
            }
        }
        if values.contains(where: { !$0.isFinite }) {
            throw .badFile(file: url.path, reason: "holds a non-finite value: the artifact is corrupt, rebuild it")
        }
        return FloatMatrix(unchecked: rows, cols: cols, values: values)
    }

    private init(unchecked rows: Int, cols: Int, values: [Float]) {
        self.rows = rows
        self.cols = cols
        self.values = values
    }
}
