import Profiling
import SwitchyardCore

extension InferenceDynamicsStrategy {
    /// A copy that also scores `model`, its proficiencies computed from its outcomes on a few
    /// prompts (the aptitude set): each prompt's requirements come from the stored extractor, and the
    /// calibration is unchanged. Nil when this strategy has no extractor of its own (its requirements
    /// came from the profiler, which is not stored with it): then it must be rebuilt to include the model.
/// The copy routes without the prior blend (see the comment inside).
    public func adding(model: String, vectors: [[Float]], outcomes: [Double]) -> InferenceDynamicsStrategy? {
        guard let extractor, vectors.count == outcomes.count, !vectors.isEmpty else { return nil }
        var capSums: [String: Double] = [:], capCounts: [String: Double] = [:]
        var domSums: [String: Double] = [:], domCounts: [String: Double] = [:]
        var overall = 0.0, overallCount = 0.0
        for (vector, outcome) in zip(vectors, outcomes) where vector.count == extractor.dimension {
            let query = QueryFeatures(vector: vector, inputTokens: 0)
            let (capabilities, domains) = requirements(of: query)
            func accumulate(_ elements: [String], _ sums: inout [String: Double], _ counts: inout [String: Double]) {
                let weights = configuration.rankWeights(count: elements.count)
                for (r, element) in elements.enumerated() {
                    let value = outcome * weights[r]
                    sums[element, default: 0] += value
                    counts[element, default: 0] += 1
                    overall += value
                    overallCount += 1
                }
            }
            accumulate(capabilities.map(\.rawValue), &capSums, &capCounts)
            accumulate(domains, &domSums, &domCounts)
        }
        guard overallCount > 0 else { return nil }
        let fallback = overall / overallCount
        let k = configuration.shrinkage
        func column(_ table: [String: [Double]], _ sums: [String: Double], _ counts: [String: Double]) -> [String: [Double]] {
            var out = table
            for element in Set(table.keys).union(sums.keys) {
                let value = ((sums[element] ?? 0) + k * fallback) / ((counts[element] ?? 0) + k)
                var row = out[element] ?? fallbackProficiency
                if let j = models.firstIndex(of: model), j < row.count { row[j] = value } else { row.append(value) }
                out[element] = row
            }
            return out
        }
        var copy = self
        // The dev-chosen prior blend is dropped: a model known only from its aptitude prompts has no
        // prior comparable with the others' (means over all labelled prompts, per cluster).
        copy.prior = nil
        copy.clusterPrior = nil
        copy.capabilityProficiency = column(capabilityProficiency, capSums, capCounts)
        copy.domainProficiency = column(domainProficiency, domSums, domCounts)
        if let j = models.firstIndex(of: model) {
            copy.fallbackProficiency[j] = fallback
        } else {
            copy.models.append(model)
            copy.fallbackProficiency.append(fallback)
            // Elements the new model never met: its own fallback.
            let n = copy.models.count
            copy.capabilityProficiency = copy.capabilityProficiency.mapValues { $0.count < n ? $0 + [fallback] : $0 }
            copy.domainProficiency = copy.domainProficiency.mapValues { $0.count < n ? $0 + [fallback] : $0 }
        }
        return copy
    }
}
