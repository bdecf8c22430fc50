import Logging
import Synchronization

/// Bootstraps swift-log once per process with `LogfmtLogHandler` on stderr (the CLI's `--log-level`).
public enum ProcessLogging {
    private static let bootstrapped = Mutex(false)

    /// Returns a logger named `label` at `level` (`info` when the name is unknown).
    public static func bootstrap(label: String, level: String) -> Logger {
        let level = Logger.Level(rawValue: level) ?? .info
        let first = bootstrapped.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        if first {
            LoggingSystem.bootstrap { label in LogfmtLogHandler(label: label, level: level) }
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}
