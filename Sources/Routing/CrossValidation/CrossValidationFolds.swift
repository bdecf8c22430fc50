import Foundation
import SwitchyardCore

/// K folds over the labelled prompts (train + dev stacked), stratified by task and seeded: every task
/// is spread over the folds in the same proportions, and the same data and seed give the same folds.
///
/// Why stratified: the data are benchmarks, and a fold that held most of one task would score a
/// strategy on a mix no other fold (and no real batch) has.
public struct CrossValidationFolds: Sendable, Hashable {
    /// Number of folds K.
    public let count: Int
    /// Fold of every labelled row, in 0..<count.
    public let fold: [Int]

    /// Default number of folds (5): 80 % of the labelled prompts fit each fold's model, and five fold
    /// scores give a standard error.
    public static let defaultCount = 5

    /// Folds for rows labelled `tasks` (nil: no task, one stratum of its own). Within each task (in name
    /// order) the rows are shuffled with `seed` and dealt round-robin, continuing from where the previous
    /// task stopped so fold sizes differ by at most one. K is clamped to 2...rows (1 when fewer than 2 rows).
    public init(tasks: [String?], count: Int = defaultCount, seed: UInt64) {
        let n = tasks.count
        let k = n < 2 ? 1 : min(max(2, count), n)
        var strata: [String: [Int]] = [:]
        for (i, task) in tasks.enumerated() { strata[task.map { "t:" + $0 } ?? "none", default: []].append(i) }
        var generator = SplitMix64(seed: seed ^ 0x5EED_F01D)
        var fold = [Int](repeating: 0, count: n)
        var dealt = 0
        for key in strata.keys.sorted() {
            var rows = strata[key] ?? []
            rows.shuffle(using: &generator)
            for row in rows {
                fold[row] = dealt % k
                dealt += 1
            }
        }
        self.count = k
        self.fold = fold
    }

    /// Rows of fold `f`, ascending.
    public func heldOut(_ f: Int) -> [Int] { fold.indices.filter { fold[$0] == f } }

    /// Rows outside fold `f`, ascending: what fold `f`'s model is fitted on.
    public func training(_ f: Int) -> [Int] { fold.indices.filter { fold[$0] != f } }
}

/// A cross-validated score: the mean over folds of a metric computed on each held-out fold, and its
/// standard error (sample standard deviation of the fold scores / √K).
public struct CVEstimate: Codable, Sendable, Hashable {
    public var mean: Double
    public var standardError: Double
    /// The score of every fold, in fold order.
    public var folds: [Double]

    public init(folds: [Double]) {
        self.folds = folds
        let k = Double(folds.count)
        mean = folds.isEmpty ? 0 : folds.reduce(0, +) / k
        if folds.count > 1 {
            let m = mean
            let variance = folds.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (k - 1)
            standardError = (variance / k).squareRoot()
        } else {
            standardError = 0
        }
    }

    /// Standard error of the fold-by-fold difference with `other` (same folds): how far apart two
    /// strategies' means must be before the folds can tell them apart.
    public func pairedStandardError(_ other: CVEstimate) -> Double {
        guard folds.count == other.folds.count, folds.count > 1 else { return 0 }
        return CVEstimate(folds: zip(folds, other.folds).map { $0 - $1 }).standardError
    }

    /// "0.8231 ± 0.0042".
    public var formatted: String {
        String(format: "%.4f ± %.4f", mean, standardError)
    }
}
