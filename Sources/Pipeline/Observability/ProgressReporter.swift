import Foundation
import Logging
import Synchronization

/// Shows a run's progress: a live bar redrawn in place on a terminal (done/total, req/s, spend, ETA),
/// or a plain log line every `logInterval` seconds otherwise (CI, files, pipes).
public final class ProgressReporter: Sendable {
    private struct State {
        var lastDraw: Double = -1
        var lastLog: Double = -1
        var drewBar = false
    }

    public let isTerminal: Bool
    public let logInterval: Double
    private let logger: Logger
    private let state = Mutex(State())

    /// `isTerminal` defaults to whether stderr is a TTY.
    public init(logger: Logger, isTerminal: Bool = isatty(STDERR_FILENO) == 1, logInterval: Double = 5) {
        self.logger = logger
        self.isTerminal = isTerminal
        self.logInterval = logInterval
    }

    public func update(_ progress: RunProgress) {
        let finished = progress.done >= progress.total
        if isTerminal {
            let draw = state.withLock { state -> Bool in
                guard finished || progress.elapsedSeconds - state.lastDraw >= 0.1 else { return false }
                state.lastDraw = progress.elapsedSeconds
                state.drewBar = true
                return true
            }
            if draw { FileHandle.standardError.write(Data(("\r" + Self.bar(progress) + "\u{1B}[K").utf8)) }
        } else {
            let log = state.withLock { state -> Bool in
                guard progress.elapsedSeconds - state.lastLog >= logInterval else { return false }
                state.lastLog = progress.elapsedSeconds
                return true
            }
            if log {
                logger.info("progress", metadata: [
                    "done": "\(progress.done)", "total": "\(progress.total)", "errors": "\(progress.errors)",
                    "req_per_s": "\(String(format: "%.1f", progress.rate))",
                    "spend_usd": "\(String(format: "%.4f", progress.actualSpendUSD))",
                    "eta_s": "\(progress.etaSeconds.map { String(format: "%.0f", $0) } ?? "?")",
                ])
            }
        }
    }

    /// Ends the bar's line so later output starts on a fresh one.
    public func finish() {
        if state.withLock({ $0.drewBar }) { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// `[#######.......]  712/1000  71%  384.2 req/s  $0.0123 (est $0.0150)  ETA 1s  errors 3`
    public static func bar(_ progress: RunProgress, width: Int = 28) -> String {
        let fraction = progress.total > 0 ? min(1, Double(progress.done) / Double(progress.total)) : 1
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let eta = progress.etaSeconds.map { Self.duration($0) } ?? "?"
        let numbers = String(format: "%d/%d %3.0f%%  %.1f req/s  $%.4f (est $%.4f)",
                             progress.done, progress.total, fraction * 100, progress.rate,
                             progress.actualSpendUSD, progress.estimatedSpendUSD)
        return "[\(bar)] \(numbers)  ETA \(eta)  errors \(progress.errors)"
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        if total >= 3600 { return "\(total / 3600)h\(total % 3600 / 60)m" }
        if total >= 60 { return "\(total / 60)m\(total % 60)s" }
        return "\(total)s"
    }
}
