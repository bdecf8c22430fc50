import Foundation
import SwitchyardCore

/// Writes an evaluation to a directory: `report.md`, `metrics.json`, `cost_quality.svg`.
public enum EvaluationOutput {
    public struct Paths: Sendable {
        public var report: String
        public var metrics: String
        public var plot: String
    }

    /// Creates `directory` if needed and writes the three files; returns their paths.
    public static func write(_ report: EvaluationReport, to directory: String, plot: CostQualityPlot = CostQualityPlot()) throws -> Paths {
        let dir = URL(fileURLWithPath: directory)
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let paths = Paths(
                report: dir.appendingPathComponent("report.md").path,
                metrics: dir.appendingPathComponent("metrics.json").path,
                plot: dir.appendingPathComponent("cost_quality.svg").path)
            try Data(MarkdownReport.render(report, plotFile: "cost_quality.svg").utf8).write(to: URL(fileURLWithPath: paths.report))
            try metricsJSON(report).write(to: URL(fileURLWithPath: paths.metrics))
            try Data(plot.svg(report).utf8).write(to: URL(fileURLWithPath: paths.plot))
            return paths
        } catch {
            throw EvaluationError.renderFailed("\(directory): \(FileErrors.reason(error, path: directory)): choose a writable --out")
        }
    }

    /// `metrics.json`: the whole report, keys sorted; non-finite numbers (never expected) become strings.
    public static func metricsJSON(_ report: EvaluationReport) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(report)
    }
}
