import Logging
import Synchronization
import SwitchyardCore

/// Bootstraps swift-log once per process with `LogfmtLogHandler` on the process's `Console` (the CLI's
/// `--log-level` and `--log-format`).
public enum ProcessLogging {
    private static let bootstrapped = Mutex(false)
    /// The secrets this process has read (API keys): the log handler replaces them in every line, and
    /// the dispatcher in everything it returns. Register a secret here the moment it is read.
    public static let redactor = Redactor()

    /// Returns a logger named `label` at `level` (`info` when the name is unknown). Only the first call of a
    /// process installs the handler; later calls just make loggers.
    public static func bootstrap(label: String, level: String, format: LogFormat = .logfmt, console: Console) -> Logger {
        let level = Logger.Level(rawValue: level) ?? .info
        let first = bootstrapped.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        if first {
            LoggingSystem.bootstrap { label in
                LogfmtLogHandler(label: label, level: level, format: format, console: console, redactor: redactor)
            }
        }
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}
