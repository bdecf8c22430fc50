import Embedding
import Testing

/// OpenBLAS is opened at run time, on first use: these hold that it opens here and that its products and thread
/// count work through the opened entry points.
@Suite("OpenBLAS opened at run time")
struct BLASTests {
    @Test("opens, multiplies, and reports its thread count")
    func opensAndMultiplies() throws {
        try BLAS.open()
        #expect(BLAS.isOpen)
        // [1 2; 3 4] · [5 6; 7 8]ᵀ = [17 23; 39 53]
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [5, 6, 7, 8]
        var c = [Float](repeating: 0, count: 4)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    BLAS.sgemm(m: 2, n: 2, k: 2, a: pa.baseAddress, lda: 2, b: pb.baseAddress, ldb: 2, transposeB: true,
                               beta: 0, c: pc.baseAddress, ldc: 2)
                }
            }
        }
        #expect(c == [17, 23, 39, 53])
        #expect(OpenBLASThreads.current >= 1)
    }

    @Test("a library that cannot be opened says how to install it")
    func unavailableLibrarySaysWhatToDo() {
        let error = EmbeddingError.libraryUnavailable(name: "OpenBLAS", reason: "libopenblas.so.0: cannot open shared object file")
        #expect(error.description.contains("libopenblas.so.0: cannot open shared object file"))
        #expect(error.description.contains("apt-get install libopenblas0-pthread"))
    }
}
