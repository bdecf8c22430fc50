import ArgumentParser
import Backends
import Foundation
import Pipeline
import SwitchyardCore

/// The exit statuses of `switchyard run` and `switchyard stage` (documented in `run --help` and the README); the
/// other commands exit `failed` (1) with one `switchyard VERB: reason` line (`exit`).
enum ExitStatus {
    /// Every line has its record and failures stayed within `--max-error-rate`.
    static let success: Int32 = 0
    /// The run could not go on (I/O, a stage failed); the output so far is kept and a rerun resumes.
    static let failed: Int32 = 1
    /// Bad configuration, input or output path: nothing was started.
    static let badSetup: Int32 = 2
    /// The run finished, but more lines failed than `--max-error-rate` allows.
    static let tooManyErrors: Int32 = 3
    /// SIGTERM or SIGINT stopped the run before every line had a record; a rerun resumes.
    static let interrupted: Int32 = 4

    /// The text for `--help`.
    static let help = """
        Exit status: 0 every line has its record and failures stayed within --max-error-rate; 1 the run failed \
        (the output so far is kept: rerun to resume); 2 bad configuration, input or output (nothing started); \
        3 finished, but the share of failed lines (not counting input errors) exceeded --max-error-rate, or no \
        line succeeded; 4 stopped by SIGTERM or SIGINT before the end (rerun to resume); 64 bad command-line usage.
        """

    /// Writes `switchyard VERB: message` on stderr and returns the exit to throw.
    static func exit(_ verb: String, _ message: String, status: Int32) -> ExitCode {
        FileHandle.standardError.write(Data("switchyard \(verb): \(message)\n".utf8))
        return ExitCode(status)
    }

    /// The status for an error that ended a run: a file or configuration problem (`SwitchyardError`,
    /// `ConfigurationError`, `IngestError`) is `badSetup`, anything else `failed`.
    static func status(for error: any Error) -> Int32 {
        switch error {
        case is SwitchyardError, is ConfigurationError, is IngestError, is BackendsError: return badSetup
        default: return failed
        }
    }

    /// Why a finished run failed its error budget, as one line; nil when it did not.
    ///
    /// Input errors (the line itself is wrong) never count: fix the input. Without `maxErrorRate` the run
    /// fails only when no line got a result.
    static func errorBudgetReason(_ summary: RunSummary, maxErrorRate: Double?, output: String) -> String? {
        errorBudgetReason(
            succeeded: summary.results, errorsByCode: summary.errorsByCode, unit: "lines", maxErrorRate: maxErrorRate,
            output: output, retry: "rerun with --retry-errors once the cause is fixed")
    }

    /// The same rule over any unit of work (`collect`'s pairs): `succeeded` ones, failed ones by error code.
    static func errorBudgetReason(
        succeeded: Int, errorsByCode: [String: Int], unit: String, maxErrorRate: Double?, output: String, retry: String
    ) -> String? {
        let lines = succeeded + errorsByCode.values.reduce(0, +)
        guard lines > 0 else { return nil }
        var failed = 0
        for (code, count) in errorsByCode where !(ErrorCode(rawValue: code)?.isInputError ?? false) { failed += count }
        let codes = errorsByCode.sorted { $0.value > $1.value }.prefix(3).map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let where_ = "see \((output as NSString).appendingPathComponent("errors.jsonl"))"
        if let maxErrorRate {
            let share = Double(failed) / Double(lines)
            guard share > maxErrorRate else { return nil }
            return String(format: "%d of %d %@ failed (%.1f%% > --max-error-rate %.1f%%; %@): %@; %@",
                          failed, lines, unit, share * 100, maxErrorRate * 100, codes, where_, retry)
        }
        guard succeeded == 0 else { return nil }
        if failed == 0 { return "no \(unit.dropLast()) could be sent: all \(lines) \(unit) are input errors (\(codes)): fix them, \(where_)" }
        return "all \(lines) \(unit) failed (\(codes)): \(where_); \(retry)"
    }
}
