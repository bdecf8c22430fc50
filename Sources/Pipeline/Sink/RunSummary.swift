import Foundation
import Payloads
import SwitchyardCore

/// `summary.json`: what a run did, for people and for CI checks of the invariant.
public struct RunSummary: Codable, Sendable {
    public struct Spend: Codable, Sendable {
        public var estimatedUSD: Double
        public var actualUSD: Double
        public var budgetUSD: Double?
        enum CodingKeys: String, CodingKey { case estimatedUSD = "estimated_usd", actualUSD = "actual_usd", budgetUSD = "budget_usd" }
    }

    public struct ModelLine: Codable, Sendable {
        public var requests: Int
        public var estimatedUSD: Double
        public var actualUSD: Double
        public var meanPredictedQuality: Double?
        enum CodingKeys: String, CodingKey {
            case requests, estimatedUSD = "estimated_usd", actualUSD = "actual_usd"
            case meanPredictedQuality = "mean_predicted_quality"
        }
    }

    public struct Latency: Codable, Sendable {
        public var p50: Double?
        public var p90: Double?
        public var p99: Double?
        public var max: Double?
        public var samples: Int
    }

    public var input: String?
    public var inputLines: Int?
    public var results: Int
    public var errors: Int
    public var errorsByCode: [String: Int]
    public var spend: Spend
    public var models: [String: ModelLine]
    public var meanPredictedQuality: Double?
    public var latencyMS: Latency
    public var wallSeconds: Double
    public var requestsPerSecond: Double
    public var ordered: Bool
    public var dryRun: Bool
    /// Records already present from an earlier, interrupted run of the same input.
    public var resumedRecords: Int
    /// Failed records of an earlier run replaced by this one (`--retry-errors`); nil when not retrying.
    public var retriedRecords: Int?
    /// The batch budget's end state; nil without a budget.
    public var budget: BudgetReport?
    /// CPU seconds (user + system) of the process that wrote the summary, at the end of the run: the whole
    /// pipeline in `switchyard run`, the sink alone in stage mode.
    public var processCPUSeconds: Double?
    /// CPU seconds each stage's own code took in this process, when `SWITCHYARD_STAGE_CPU=1` (`StageCPU`).
    public var stageCPUSeconds: [String: Double]?

    enum CodingKeys: String, CodingKey {
        case input, inputLines = "input_lines", results, errors, errorsByCode = "errors_by_code", spend, models
        case meanPredictedQuality = "mean_predicted_quality", latencyMS = "latency_ms", wallSeconds = "wall_seconds"
        case requestsPerSecond = "requests_per_second", ordered, dryRun = "dry_run", resumedRecords = "resumed_records"
        case retriedRecords = "retried_records"
        case budget, processCPUSeconds = "process_cpu_seconds", stageCPUSeconds = "stage_cpu_seconds"
    }

    public init(statistics: RunStatistics, input: String?, inputLines: Int?, budgetUSD: Double?, wallSeconds: Double,
                ordered: Bool, dryRun: Bool, resumedRecords: Int, ledger: BudgetReport? = nil) {
        self.input = input
        self.inputLines = inputLines
        results = statistics.results
        errors = statistics.errors
        errorsByCode = statistics.errorsByCode
        spend = Spend(estimatedUSD: statistics.estimatedUSD, actualUSD: statistics.actualUSD, budgetUSD: budgetUSD)
        models = statistics.byModel.mapValues { spend in
            ModelLine(requests: spend.requests, estimatedUSD: spend.estimatedUSD, actualUSD: spend.actualUSD,
                      meanPredictedQuality: spend.predictedQualityCount > 0 ? spend.predictedQualitySum / Double(spend.predictedQualityCount) : nil)
        }
        let qualitySum = statistics.byModel.values.reduce(0) { $0 + $1.predictedQualitySum }
        let qualityCount = statistics.byModel.values.reduce(0) { $0 + $1.predictedQualityCount }
        meanPredictedQuality = qualityCount > 0 ? qualitySum / Double(qualityCount) : nil
        latencyMS = Latency(
            p50: statistics.latencyPercentile(50), p90: statistics.latencyPercentile(90),
            p99: statistics.latencyPercentile(99), max: statistics.latencyPercentile(100), samples: statistics.latenciesMS.count)
        self.wallSeconds = wallSeconds
        let fresh = statistics.completed - resumedRecords
        requestsPerSecond = wallSeconds > 0 ? Double(fresh) / wallSeconds : 0
        self.ordered = ordered
        self.dryRun = dryRun
        self.resumedRecords = resumedRecords
        processCPUSeconds = Self.currentProcessCPUSeconds()
        stageCPUSeconds = StageCPU.snapshot()
        if let budgetUSD {
            // Counts come from the records (what the files show, resumed ones included); the ledger's
            // state from the score stage when it ran in this process.
            var report = ledger ?? BudgetReport(budgetUSD: budgetUSD, downgraded: 0, budgetExhausted: 0)
            report.budgetUSD = budgetUSD
            report.downgraded = statistics.budgetDowngraded
            report.budgetExhausted = statistics.errorsByCode[ErrorCode.budgetExhausted.rawValue] ?? 0
            budget = report
        }
    }

    /// User + system CPU of this process so far.
    static func currentProcessCPUSeconds() -> Double? {
        var usage = rusage()
        #if os(Linux)
        let who = RUSAGE_SELF.rawValue
        #else
        let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return nil }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
