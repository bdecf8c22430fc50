import COpenBLAS
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

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
        OpenBLASLibrary.loaded.sgemm(
            CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
    }

    /// y (m) = A (m×n, row-major, leading dimension n) · x: one matrix-vector product with unit strides.
    @inline(__always)
    public static func sgemv(rows m: Int, cols n: Int, a: UnsafePointer<Float>?, x: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>?) {
        OpenBLASLibrary.loaded.sgemv(CblasRowMajor, CblasNoTrans, blasint(m), blasint(n), 1, a, blasint(n), x, 1, 0, y, 1)
    }

    /// Opens OpenBLAS now, so a missing library is an error where the caller can report it rather than a stop
    /// at the first product. MiniLM calls it when it loads; calling it again costs nothing.
    public static func open() throws(EmbeddingError) {
        if case .failure(let error) = OpenBLASLibrary.shared { throw error }
    }

    /// Whether this process has opened OpenBLAS (and so started its thread pool), for tests and reports.
    public static var isOpen: Bool { OpenBLASLibrary.opened.withLock { $0 } }

    /// OpenBLAS build description (kernel family, thread model), for benchmark reports.
    static var configuration: String { OpenBLASLibrary.loaded.configuration().map { String(cString: $0) } ?? "unknown" }
}

/// OpenBLAS's entry points, resolved from `libopenblas.so.0` the first time the process needs one.
///
/// Why not link it: the pthreads build starts a worker thread per core while the library loads, and each
/// worker spins (`sched_yield`) for about 0.1 s before it sleeps. Linked, every `switchyard` process paid
/// that at start, one core-tenth of a second per extra core (6 s of CPU on 64 cores), although only MiniLM
/// and the dense routers multiply matrices; a hashed-feature pipeline stage never does. Opened on first
/// use, a process that does no dense product never starts the pool.
struct OpenBLASLibrary: @unchecked Sendable {
    typealias Sgemm = @convention(c) (
        CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, blasint, blasint, blasint, Float,
        UnsafePointer<Float>?, blasint, UnsafePointer<Float>?, blasint, Float, UnsafeMutablePointer<Float>?, blasint) -> Void
    typealias Sgemv = @convention(c) (
        CBLAS_ORDER, CBLAS_TRANSPOSE, blasint, blasint, Float, UnsafePointer<Float>?, blasint,
        UnsafePointer<Float>?, blasint, Float, UnsafeMutablePointer<Float>?, blasint) -> Void
    typealias SetThreads = @convention(c) (Int32) -> Void
    typealias GetThreads = @convention(c) () -> Int32
    typealias GetConfig = @convention(c) () -> UnsafeMutablePointer<CChar>?

    let sgemm: Sgemm
    let sgemv: Sgemv
    let setThreads: SetThreads
    let getThreads: GetThreads
    let configuration: GetConfig

    /// The sonames tried in order: Debian's runtime package (libopenblas0-pthread) provides the first, the
    /// -dev package the second.
    static let sonames = ["libopenblas.so.0", "libopenblas.so"]

    /// Opened once, on first access (a Swift global is initialised once, thread-safely).
    static let shared: Result<OpenBLASLibrary, EmbeddingError> = {
        let result = open()
        opened.withLock { $0 = (try? result.get()) != nil }
        return result
    }()
    static let opened = Mutex(false)

    /// The library for a product. MiniLM opens it when it loads (`BLAS.open()`, a typed error); a router's
    /// dense product (training, or query vectors from a remote embedder) opens it at the first product, and a
    /// machine without OpenBLAS (which `scripts/setup` and the image install) stops there with the fix.
    static var loaded: OpenBLASLibrary {
        switch shared {
        case .success(let library): return library
        case .failure(let error): fatalError("\(error)")
        }
    }

    private static func open() -> Result<OpenBLASLibrary, EmbeddingError> {
        var reasons: [String] = []
        for soname in sonames {
            guard let handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL) else {
                reasons.append(dlerror().map { String(cString: $0) } ?? soname)
                continue
            }
            func symbol<F>(_ name: String, as type: F.Type) -> F? {
                dlsym(handle, name).map { unsafeBitCast($0, to: type) }
            }
            guard let sgemm = symbol("cblas_sgemm", as: Sgemm.self), let sgemv = symbol("cblas_sgemv", as: Sgemv.self),
                  let setThreads = symbol("openblas_set_num_threads", as: SetThreads.self),
                  let getThreads = symbol("openblas_get_num_threads", as: GetThreads.self),
                  let configuration = symbol("openblas_get_config", as: GetConfig.self)
            else {
                reasons.append("\(soname) lacks cblas_sgemm, cblas_sgemv or the openblas_* thread calls: it is not OpenBLAS")
                dlclose(handle)
                continue
            }
            return .success(OpenBLASLibrary(sgemm: sgemm, sgemv: sgemv, setThreads: setThreads, getThreads: getThreads,
                                            configuration: configuration))
        }
        return .failure(.libraryUnavailable(name: "OpenBLAS", reason: reasons.joined(separator: "; ")))
    }
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
        let library = OpenBLASLibrary.loaded
        lock.lock()
        defer { lock.unlock() }
        if library.getThreads() != wanted { library.setThreads(wanted) }
    }

    /// The count in force now (opens the library).
    public static var current: Int { Int(OpenBLASLibrary.loaded.getThreads()) }
}
