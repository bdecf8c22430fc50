import Logging
import Synchronization

/// Bootstraps swift-log once per process with `LogfmtLogHandler` on the process's `Console` (the CLI's
/// `--log-level` and `--log-format`).
public enum ProcessLogging {
    private static let bootstrapped = Mutex(false)

    /// Returns a logger named `label` at `level` (`info` when the name is unknown). Only the first call of a
    /// process installs the handler; later calls just make loggers.
    public static func bootstrap(label: String, level: String, format: LogFormat = .logfmt, console: Console) -> Logger {
        let level = Logger.Level(rawValue: level) ?? .info
        let first = bootstrapped.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        if first {
            LoggingSystem.bootstrap { label in LogfmtLogHandler(label: label, level: level, format: format, console: console) }
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}
