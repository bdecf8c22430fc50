import COpenBLAS

/// The one place that calls OpenBLAS. Row-major everywhere.
enum BLAS {
    /// C (m×n) = alpha · op(A) · op(B) + beta · C, with op(B) = Bᵀ when `transposeB`.
    @inline(__always)
    static func sgemm(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// Sets OpenBLAS's worker thread count. Process-wide: OpenBLAS has a single global pool.
    static func setThreads(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    static var threads: Int { Int(openblas_get_num_threads()) }

    /// OpenBLAS build description (kernel family, thread model), for benchmark reports.
    static var configuration: String { String(cString: openblas_get_config()) }
}
