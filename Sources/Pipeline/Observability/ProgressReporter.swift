import Foundation
import Logging
import Synchronization

/// Shows a run's progress: a live bar redrawn in place on a terminal (done/total, req/s, spend against
/// the budget, ETA), or a plain log line every `logInterval` seconds otherwise (CI, files, pipes).
///
/// The bar is the `Console`'s status line, so log lines written meanwhile appear above it instead of
/// gluing onto it.
public final class ProgressReporter: Sendable {
    private struct State {
        var lastDraw: Double = -1
        var lastLog: Double = -1
    }

    public let console: Console
    public let logInterval: Double
    /// The batch budget, shown beside the spend (nil: none).
    public let budgetUSD: Double?
    private let showBar: Bool
    private let logger: Logger
    private let state = Mutex(State())

    /// - Parameter showBar: draw the bar (only on a terminal; false: log lines, as off a terminal).
    public init(logger: Logger, console: Console, showBar: Bool = true, budgetUSD: Double? = nil, logInterval: Double = 5) {
        self.logger = logger
        self.console = console
        self.showBar = showBar && console.isTerminal
        self.budgetUSD = budgetUSD
        self.logInterval = logInterval
    }

    public var isTerminal: Bool { showBar }

    public func update(_ progress: RunProgress) {
        let finished = progress.done >= progress.total
        if showBar {
            let draw = state.withLock { state -> Bool in
                guard finished || progress.elapsedSeconds - state.lastDraw >= 0.1 else { return false }
                state.lastDraw = progress.elapsedSeconds
                return true
            }
            if draw { console.setStatus(Self.bar(progress, budgetUSD: budgetUSD)) }
        } else {
            let log = state.withLock { state -> Bool in
                guard progress.elapsedSeconds - state.lastLog >= logInterval else { return false }
                state.lastLog = progress.elapsedSeconds
                return true
            }
            if log {
                var metadata: Logger.Metadata = [
                    "done": "\(progress.done)", "total": "\(progress.total)", "errors": "\(progress.errors)",
                    "req_per_s": "\(String(format: "%.1f", progress.rate))",
                    "spend_usd": "\(String(format: "%.4f", progress.actualSpendUSD))",
                    "eta_s": "\(progress.etaSeconds.map { String(format: "%.0f", $0) } ?? "unknown")",
                ]
                if let budgetUSD { metadata["budget_usd"] = "\(String(format: "%.4f", budgetUSD))" }
                logger.info("progress", metadata: metadata)
            }
        }
    }

    /// Ends the bar's line so later output starts on a fresh one.
    public func finish() {
        console.finishStatus()
    }

    /// `[#######.......]  712/1000  71%  384.2 req/s  $0.0123 of $0.2500 budget (est $0.0150)  ETA 1s  errors 3`
    public static func bar(_ progress: RunProgress, budgetUSD: Double? = nil, width: Int = 28) -> String {
        let fraction = progress.total > 0 ? min(1, Double(progress.done) / Double(progress.total)) : 1
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let eta = progress.etaSeconds.map { Self.duration($0) } ?? "?"
        let spend = budgetUSD.map { String(format: "$%.4f of $%.4f budget", progress.actualSpendUSD, $0) }
            ?? String(format: "$%.4f", progress.actualSpendUSD)
        let numbers = String(format: "%d/%d %3.0f%%  %.1f req/s  ", progress.done, progress.total, fraction * 100, progress.rate)
            + spend + String(format: " (est $%.4f)", progress.estimatedSpendUSD)
        return "[\(bar)] \(numbers)  ETA \(eta)  errors \(progress.errors)"
    }

    static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        if total >= 3600 { return "\(total / 3600)h\(total % 3600 / 60)m" }
        if total >= 60 { return "\(total / 60)m\(total % 60)s" }
        return "\(total)s"
    }
}
