import Testing
@testable import Routing
import SwitchyardCore

/// The three BLAS products against plain loops, on small integer matrices (so float sums are exact and the
/// comparison can be `==`): each passes its own transposes and leading dimensions to the one sgemm call.
@Suite struct LinearAlgebraTests {
    /// rows × cols with small distinct integers.
    static func matrix(_ rows: Int, _ cols: Int, seed: Int) throws -> FloatMatrix {
        try FloatMatrix(rows: rows, cols: cols, values: (0..<(rows * cols)).map { Float(($0 * 7 + seed) % 11) - 5 })
    }

    static func naive(_ m: Int, _ n: Int, _ k: Int, _ a: (Int, Int) -> Float, _ b: (Int, Int) -> Float) -> [Float] {
        var out = [Float](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for t in 0..<k { out[i * n + j] += a(i, t) * b(t, j) } } }
        return out
    }

    @Test func multiplyIsAB() throws {
        let a = try Self.matrix(3, 4, seed: 1), b = try Self.matrix(4, 5, seed: 2)
        let c = LinearAlgebra.multiply(a, b)
        #expect((c.rows, c.cols) == (3, 5))
        #expect(c.values == Self.naive(3, 5, 4, { a.values[$0 * 4 + $1] }, { b.values[$0 * 5 + $1] }))
    }

    @Test func multiplyTransposedIsABt() throws {
        let a = try Self.matrix(3, 4, seed: 3), b = try Self.matrix(6, 4, seed: 4)
        let c = LinearAlgebra.multiplyTransposed(a, b)
        #expect((c.rows, c.cols) == (3, 6))
        #expect(c.values == Self.naive(3, 6, 4, { a.values[$0 * 4 + $1] }, { b.values[$1 * 4 + $0] }))
    }

    @Test func transposedMultiplyIsAtB() throws {
        let a = try Self.matrix(5, 3, seed: 5), b = try Self.matrix(5, 2, seed: 6)
        let c = LinearAlgebra.transposedMultiply(a, b)
        #expect((c.rows, c.cols) == (3, 2))
        #expect(c.values == Self.naive(3, 2, 5, { a.values[$1 * 3 + $0] }, { b.values[$0 * 2 + $1] }))
    }

    @Test func anEmptyInnerDimensionGivesZeros() {
        let c = LinearAlgebra.multiply(FloatMatrix(rows: 2, cols: 0), FloatMatrix(rows: 0, cols: 3))
        #expect((c.rows, c.cols) == (2, 3))
        #expect(c.values == [Float](repeating: 0, count: 6))
    }
}
