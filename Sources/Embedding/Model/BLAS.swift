import COpenBLAS
import Foundation

/// The one place that calls OpenBLAS, for MiniLM and the routers alike (Routing goes through here and does not
/// import COpenBLAS). Row-major everywhere.
public enum BLAS {
    /// C (m×n) = alpha · op(A) · op(B) + beta · C, with op(A) = Aᵀ when `transposeA` and op(B) = Bᵀ when
    /// `transposeB`.
    @inline(__always)
    public static func sgemm(
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>?, lda: Int, transposeA: Bool = false,
        b: UnsafePointer<Float>?, ldb: Int, transposeB: Bool,
        beta: Float, c: UnsafeMutablePointer<Float>?, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// y (m) = A (m×n, row-major, leading dimension n) · x: one matrix-vector product with unit strides.
    @inline(__always)
    public static func sgemv(rows m: Int, cols n: Int, a: UnsafePointer<Float>?, x: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>?) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, blasint(m), blasint(n), 1, a, blasint(n), x, 1, 0, y, 1)
    }

    /// OpenBLAS build description (kernel family, thread model), for benchmark reports.
    static var configuration: String { String(cString: openblas_get_config()) }
}

/// Owner of OpenBLAS's worker-thread count. The count is process-wide: OpenBLAS has one global pool, so the
/// MiniLM encoder (which switches between all threads for one sequence and one thread per worker for a batch)
/// and the routers' similarity products share it. Every change goes through `set`, under one lock, so the
/// setting has a single writer that can be read back (`current`) and a redundant change is not made twice;
/// nothing else in the process calls `openblas_set_num_threads`.
public enum OpenBLASThreads {
    private static let lock = NSLock()

    /// Sets the process-wide count (at least 1).
    public static func set(_ count: Int) {
        let wanted = Int32(max(1, count))
        lock.lock()
        defer { lock.unlock() }
        if openblas_get_num_threads() != wanted { openblas_set_num_threads(wanted) }
    }

    /// The count in force now.
    public static var current: Int { Int(openblas_get_num_threads()) }
}
