import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's stderr, shared by log lines and the live progress bar.
///
/// On a terminal the bar is one line redrawn in place; a log line written while it shows would glue onto
/// it. Every write goes through here: a log line first clears the bar's line, then the bar is drawn again
/// under it. Writes are serialised, so lines from several threads never interleave.
public final class Console: Sendable {
    private struct State {
        var status: String?
    }

    /// Whether stderr is a terminal (the bar is drawn only there).
    public let isTerminal: Bool
    private let state = Mutex(State())
    private let write: @Sendable (String) -> Void

    /// - Parameters:
    ///   - isTerminal: default: whether stderr is a TTY.
    ///   - write: where bytes go (default stderr; tests capture them).
    public init(isTerminal: Bool = isatty(STDERR_FILENO) == 1,
                write: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.isTerminal = isTerminal
        self.write = write
    }

    /// Writes one complete line (its newline included), keeping the bar below it.
    public func writeLine(_ line: String) {
        state.withLock { state in
            guard let status = state.status else { return write(line) }
            write("\r\u{1B}[K" + line + status)
        }
    }

    /// Draws (or redraws) the status line in place. Only on a terminal.
    public func setStatus(_ text: String) {
        guard isTerminal else { return }
        state.withLock { state in
            state.status = "\r" + text + "\u{1B}[K"
            write(state.status ?? "")
        }
    }

    /// Ends the status line: it stays on screen, and what follows starts on a fresh line.
    public func finishStatus() {
        state.withLock { state in
            guard state.status != nil else { return }
            state.status = nil
            write("\n")
        }
    }
}
