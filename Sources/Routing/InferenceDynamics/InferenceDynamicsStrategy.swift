import Foundation
import Profiling
import SwitchyardCore

/// `inference-dynamics`: routes by per-model proficiency on the query's ranked capabilities and
/// knowledge domains (InferenceDynamics, arXiv 2505.16303).
///
/// Proficiency of model m on element e (a capability or a domain) is
/// S(m, e) = mean over training queries holding e of (score − β·cost)·α^(rank−1) / Σ α^(j−1),
/// shrunk toward the model's overall mean for rarely seen elements. A query's raw score for m is the
/// rank-weighted sum of S over its ranked capabilities (one part) and domains (another part); a small
/// logistic calibration, fitted (by Newton's method) on out-of-fold raw parts (cross-fitting), turns the
/// two parts into P(correct), so the Router can subtract λ·cost from a quality on the outcome scale.
///
/// Empirical Bayes twice, both chosen by cross-validation: the element pseudo-count
/// (`InferenceDynamicsConfiguration.shrinkage`), and a final blend of the calibrated prediction toward
/// the model's mean outcome (`prior`, evidence 1: w = 1 / (1 + κ)), since two calibration weights
/// shared by all models cannot express how much a model's requirement profile is worth. The blend's
/// prior is the global mean or the query's cluster mean (`ClusterPrior`). The saved proficiencies and
/// priors are over every labelled prompt (train + dev).
public struct InferenceDynamicsStrategy: TrainableStrategy, Codable, Hashable {
    public static let strategyName = "inference-dynamics"
    public static let decisionCostRank = 2
    public var name: String { Self.strategyName }
    public var models: [String]
    public var configuration: InferenceDynamicsConfiguration
    /// Proficiency per capability (raw value) → per model, same order as `models`.
    public var capabilityProficiency: [String: [Double]]
    /// Proficiency per domain name → per model.
    public var domainProficiency: [String: [Double]]
    /// Fallback proficiency per model for an element never seen in training.
    public var fallbackProficiency: [Double]
    /// P(correct) = σ(w₀·capabilityPart + w₁·domainPart + b), fitted on dev.
    public var calibration: LogisticModel
    /// Extracts requirements for queries that arrive without them (and labelled training queries that had none).
    public var extractor: EmbeddedRequirementExtractor?
    /// Blend toward each model's mean outcome after calibration (nil: none).
    public var prior: PriorShrinkage?
    /// When set, the blend pulls toward the query's cluster mean instead of `prior.prior`.
    public var clusterPrior: ClusterPrior?

    public init(
        models: [String], configuration: InferenceDynamicsConfiguration,
        capabilityProficiency: [String: [Double]], domainProficiency: [String: [Double]],
        fallbackProficiency: [Double], calibration: LogisticModel, extractor: EmbeddedRequirementExtractor?
    ) {
        self.models = models
        self.configuration = configuration
        self.capabilityProficiency = capabilityProficiency
        self.domainProficiency = domainProficiency
        self.fallbackProficiency = fallbackProficiency
        self.calibration = calibration
        self.extractor = extractor
    }

    public func predictQuality(_ query: QueryFeatures) -> [Double] {
        let (capabilities, domains) = requirements(of: query)
        return calibrated(capabilities: capabilities, domains: domains, queryPrior: clusterPrior?.prior(query.vector, nonZeros: query.nonZeros))
    }

    public func predictQuality(batch queries: [QueryFeatures]) -> [[Double]] {
        let priors = clusterPrior?.priors(queries) ?? queries.map { _ in nil }
        return queries.indices.map { i in
            let (capabilities, domains) = requirements(of: queries[i])
            return calibrated(capabilities: capabilities, domains: domains, queryPrior: priors[i])
        }
    }

    /// Calibrated (and, with a prior, blended) predictions from known requirements; `queryPrior`
    /// replaces the global prior of the blend.
    func calibrated(capabilities: [Capability], domains: [String], queryPrior: [Double]? = nil) -> [Double] {
        let cap = part(capabilities.map(\.rawValue), capabilityProficiency)
        let dom = part(domains, domainProficiency)
        let local = (0..<models.count).map { j in
            RequirementVectorMath.sigmoid(calibration.weights[0] * cap[j] + calibration.weights[1] * dom[j] + calibration.bias)
        }
        guard let prior else { return local }
        return prior.apply(local, evidence: 1, toward: queryPrior ?? prior.prior)
    }

    /// The raw, uncalibrated capability and domain parts for every model (for `--explain` and tests).
    public func rawScores(_ query: QueryFeatures) -> (capability: [Double], domain: [Double]) {
        let (capabilities, domains) = requirements(of: query)
        return (part(capabilities.map(\.rawValue), capabilityProficiency), part(domains, domainProficiency))
    }

    /// The query's own requirements, or the stored extractor's from its vector when it has none.
    /// The query with its requirements filled in exactly as this strategy would extract them (what a
    /// profile stage hands over, so that scoring starts from known requirements).
    public func withRequirements(_ query: QueryFeatures) -> QueryFeatures {
        var out = query
        (out.capabilities, out.domains) = requirements(of: query)
        return out
    }

    func requirements(of query: QueryFeatures) -> ([Capability], [String]) {
        var capabilities = query.capabilities
        var domains = query.domains
        if let extractor, query.vector.count == extractor.dimension, capabilities.isEmpty || domains.isEmpty {
            if capabilities.isEmpty {
                capabilities = extractor.rankedCapabilities(prompt: nil, vector: query.vector).map(\.capability)
            }
            if domains.isEmpty {
                domains = extractor.vocabulary.rank(query.vector, limit: extractor.configuration.maxDomains).map(\.name)
            }
        }
        return (capabilities, domains)
    }

    /// Σ_r w(r)·S(m, e_r) over ranked elements, per model.
    func part(_ elements: [String], _ table: [String: [Double]]) -> [Double] {
        var out = [Double](repeating: 0, count: models.count)
        let weights = configuration.rankWeights(count: elements.count)
        for (r, element) in elements.enumerated() {
            let row = table[element] ?? fallbackProficiency
            for j in 0..<min(out.count, row.count) { out[j] += weights[r] * row[j] }
        }
        return out
    }

    // MARK: TrainableStrategy

    public static func train(_ context: TrainingContext) throws -> InferenceDynamicsStrategy {
        var configuration = InferenceDynamicsConfiguration()
        configuration.shrinkageCandidates = InferenceDynamicsConfiguration.defaultShrinkageCandidates
        return try train(context, configuration: configuration)
    }

    /// Per-element rank-weighted outcome sums and counts over labelled queries, per model.
    struct Tallies {
        var capSums: [String: [Double]] = [:], capCounts: [String: Double] = [:]
        var domSums: [String: [Double]] = [:], domCounts: [String: Double] = [:]
        var overall: [Double]
        var overallCount = 0.0

        init(models m: Int) { overall = [Double](repeating: 0, count: m) }

        /// Adds rows `rows` of `split` (default all) with their requirements (`requirements[i]` for row i).
        mutating func add(
            _ requirements: [([Capability], [String])], split: TrainingContext.Split, configuration: InferenceDynamicsConfiguration,
            rows: [Int]? = nil
        ) {
            let m = overall.count
            for i in rows ?? Array(0..<split.count) {
                let (capabilities, domains) = requirements[i]
                func accumulate(_ elements: [String], _ sums: inout [String: [Double]], _ counts: inout [String: Double]) {
                    let weights = configuration.rankWeights(count: elements.count)
                    for (r, element) in elements.enumerated() {
                        var row = sums[element] ?? [Double](repeating: 0, count: m)
                        for j in 0..<m {
                            let value = (Double(split.outcomes[i, j]) - configuration.beta * Double(split.costs[i, j])) * weights[r]
                            row[j] += value
                            overall[j] += value
                        }
                        sums[element] = row
                        counts[element, default: 0] += 1
                        overallCount += 1
                    }
                }
                accumulate(capabilities.map(\.rawValue), &capSums, &capCounts)
                accumulate(domains, &domSums, &domCounts)
            }
        }

        /// These tallies without `part`'s (tallies of a subset of the same rows).
        func subtracting(_ part: Tallies) -> Tallies {
            func minus(_ a: [String: [Double]], _ b: [String: [Double]]) -> [String: [Double]] {
                a.reduce(into: [:]) { out, entry in
                    out[entry.key] = b[entry.key].map { zip(entry.value, $0).map { $0 - $1 } } ?? entry.value
                }
            }
            var out = self
            out.capSums = minus(capSums, part.capSums)
            out.domSums = minus(domSums, part.domSums)
            out.capCounts = capCounts.reduce(into: [:]) { $0[$1.key] = $1.value - (part.capCounts[$1.key] ?? 0) }
            out.domCounts = domCounts.reduce(into: [:]) { $0[$1.key] = $1.value - (part.domCounts[$1.key] ?? 0) }
            // Elements only the removed rows had disappear, as they would from a fit without them.
            out.capSums = out.capSums.filter { (out.capCounts[$0.key] ?? 0) > 0.5 }
            out.domSums = out.domSums.filter { (out.domCounts[$0.key] ?? 0) > 0.5 }
            out.overall = zip(overall, part.overall).map { $0 - $1 }
            out.overallCount = overallCount - part.overallCount
            return out
        }

        /// Proficiency tables at pseudo-count κ, and the fallback.
        func tables(shrinkage kappa: Double) -> (capability: [String: [Double]], domain: [String: [Double]], fallback: [Double]) {
            let m = overall.count
            let fallback = overall.map { $0 / max(1, overallCount) }
            func shrink(_ sums: [String: [Double]], _ counts: [String: Double]) -> [String: [Double]] {
                sums.reduce(into: [:]) { out, entry in
                    let n = counts[entry.key] ?? 0
                    out[entry.key] = (0..<m).map { j in (entry.value[j] + kappa * fallback[j]) / (n + kappa) }
                }
            }
            return (shrink(capSums, capCounts), shrink(domSums, domCounts), fallback)
        }
    }

    /// Learns proficiencies and the calibration by cross-fitting over every labelled prompt: each fold's
    /// raw parts come from the other folds' proficiencies, each fold's calibration from the other folds'
    /// raw parts and outcomes, and the saved calibration from every prompt's out-of-fold parts. With
    /// `shrinkageCandidates`, the element pseudo-count and the prior blend are chosen by
    /// cross-validated AIQ; without, `shrinkage` is used and nothing is blended.
    public static func train(_ context: TrainingContext, configuration: InferenceDynamicsConfiguration) throws -> InferenceDynamicsStrategy {
        try choice(context, configuration: configuration).strategy
    }

    public static func crossValidate(_ context: TrainingContext) throws -> CrossValidated {
        var configuration = InferenceDynamicsConfiguration()
        configuration.shrinkageCandidates = InferenceDynamicsConfiguration.defaultShrinkageCandidates
        let best = try choice(context, configuration: configuration)
        let chosen = best.strategy
        return CrossValidated(
            predictions: best.predictions, estimate: best.estimate,
            choice: "shrinkage=\(chosen.configuration.shrinkage) blend_kappa=\(chosen.prior?.kappa ?? 0) cluster_prior=\(chosen.clusterPrior != nil)")
    }

    /// P(correct) = σ(w₀·capability + w₁·domain + b) fitted to the outcomes of `rows` (every model) by
    /// Newton's method on the log likelihood: three parameters, so a handful of exact steps over the
    /// rows replace epochs of stochastic gradient. `parts` holds (capability, domain) per row and model.
    /// The weights are kept ≥ 0 (a weight the fit drives below 0 is fixed at 0 and the rest refitted):
    /// a higher proficiency never lowers P(correct). Why: the two parts are strongly correlated, and an
    /// unconstrained fit can trade one against the other, which then ranks a model onboarded from a
    /// few aptitude prompts (high proficiency on its own elements) below a coin.
    static func calibrate(parts: [Double], outcomes: FloatMatrix, rows: [Int]) -> LogisticModel {
        let m = outcomes.cols
        var total = 0.0
        for i in rows { for j in 0..<m { total += Double(outcomes[i, j]) } }
        let mean = min(max(total / Double(max(1, rows.count * m)), 1e-3), 1 - 1e-3)
        var free = [0, 1, 2]
        var theta = [0, 0, 0.0]
        while true {
            theta = newton(parts: parts, outcomes: outcomes, rows: rows, free: free, start: [0, 0, RequirementVectorMath.logit(mean)])
            let negative = free.filter { $0 < 2 && theta[$0] < 0 }
            guard !negative.isEmpty else { break }
            free.removeAll { negative.contains($0) }
        }
        return LogisticModel(weights: [theta[0], theta[1]], bias: theta[2])
    }

    /// Newton's method for the logistic fit of `calibrate` over the parameters `free` (indices into
    /// (w₀, w₁, b)); the others stay at `start`.
    static func newton(parts: [Double], outcomes: FloatMatrix, rows: [Int], free: [Int], start: [Double]) -> [Double] {
        let m = outcomes.cols
        let d = free.count
        var theta = start
        for _ in 0..<50 {
            var gradient = [Double](repeating: 0, count: d)
            var hessian = [Double](repeating: 0, count: d * d)
            for i in rows {
                for j in 0..<m {
                    let cell = i * m + j
                    let x = [parts[cell * 2], parts[cell * 2 + 1], 1]
                    let p = RequirementVectorMath.sigmoid(theta[0] * x[0] + theta[1] * x[1] + theta[2])
                    let residual = p - Double(outcomes[i, j])
                    let weight = max(p * (1 - p), 1e-12)
                    for (a, pa) in free.enumerated() {
                        gradient[a] += residual * x[pa]
                        for (b, pb) in free.enumerated() { hessian[a * d + b] += weight * x[pa] * x[pb] }
                    }
                }
            }
            for a in 0..<d { hessian[a * d + a] += 1e-9 }
            guard let step = LinearAlgebra.solve(hessian, gradient, d), step.allSatisfy(\.isFinite) else { break }
            for (a, pa) in free.enumerated() { theta[pa] -= step[a] }
            if step.map(abs).max() ?? 0 < 1e-10 { break }
        }
        return theta
    }

    /// The saved fit with the cross-validated choice and its out-of-fold predictions.
    struct Choice: Sendable {
        var strategy: InferenceDynamicsStrategy
        var estimate: CVEstimate
        var predictions: [Double]
    }

    static func choice(_ context: TrainingContext, configuration: InferenceDynamicsConfiguration) throws -> Choice {
        try context.cache.value("inference-dynamics-\(configuration)") { try choose(context, configuration: configuration) }
    }

    static func choose(_ context: TrainingContext, configuration: InferenceDynamicsConfiguration) throws -> Choice {
        let cv = try context.crossValidation()
        let labelled = cv.labelled
        guard labelled.count > 0, !context.models.isEmpty else {
            throw SwitchyardError.invalidArgument("inference-dynamics: no training records or no models")
        }
        // Requirements of labelled queries: the profiler's when present, else a learned extractor's
        // (trained on the prompts alone, no outcome).
        var extractor: EmbeddedRequirementExtractor? = nil
        let needsExtractor = labelled.features.contains { $0.capabilities.isEmpty || $0.domains.isEmpty }
        if needsExtractor, labelled.vectors.cols > 0 {
            var extractorConfiguration = configuration.extractor
            extractorConfiguration.seed = context.seed
            extractor = try EmbeddedRequirementExtractor.train(
                prompts: labelled.records.map(\.prompt), vectors: labelled.features.map(\.vector), configuration: extractorConfiguration
            )
            context.logger.info("inference-dynamics: learned its own requirement extractor", metadata: [
                "domains": "\(extractor?.vocabulary.names.joined(separator: ",") ?? "")",
            ])
        }
        let base = InferenceDynamicsStrategy(
            models: context.models, configuration: configuration, capabilityProficiency: [:], domainProficiency: [:],
            fallbackProficiency: [], calibration: LogisticModel(weights: [1, 1], bias: 0), extractor: extractor
        )
        let m = context.models.count
        let requirements = labelled.features.map(base.requirements(of:))
        var all = Tallies(models: m)
        all.add(requirements, split: labelled, configuration: configuration)
        let complements = cv.heldOutRows.map { rows in
            var part = Tallies(models: m)
            part.add(requirements, split: labelled, configuration: configuration, rows: rows)
            return all.subtracting(part)
        }
        let selecting = configuration.shrinkageCandidates != nil
        let table = selecting ? try ClusterTable.build(context) : nil
        let clusterPriors = table.map { table in
            ClusterTable.outOfFold(cv, assigned: table.assigned, tables: (0..<cv.folds.count).map { table.quality(excludingFold: $0) })
        }
        let globalPriors = cv.rowsOfFoldValues(cv.complementMeans(labelled.outcomes))
        var best: Choice? = nil
        for kappa in configuration.shrinkageCandidates ?? [configuration.shrinkage] {
            var strategy = base
            strategy.configuration.shrinkage = kappa
            // Out-of-fold raw parts of every labelled row: (capability, domain) per model.
            var parts = [Double](repeating: 0, count: labelled.count * m * 2)
            for (f, rows) in cv.heldOutRows.enumerated() {
                var foldStrategy = strategy
                (foldStrategy.capabilityProficiency, foldStrategy.domainProficiency, foldStrategy.fallbackProficiency) =
                    complements[f].tables(shrinkage: kappa)
                for i in rows {
                    let (capabilities, domains) = requirements[i]
                    let cap = foldStrategy.part(capabilities.map(\.rawValue), foldStrategy.capabilityProficiency)
                    let dom = foldStrategy.part(domains, foldStrategy.domainProficiency)
                    for j in 0..<m {
                        parts[(i * m + j) * 2] = cap[j]
                        parts[(i * m + j) * 2 + 1] = dom[j]
                    }
                }
            }
            // Each fold calibrated on the other folds' out-of-fold parts; the saved calibration on all.
            let calibrations = (0..<cv.folds.count).map { f in
                Self.calibrate(parts: parts, outcomes: labelled.outcomes, rows: cv.folds.training(f))
            }
            var local = [Double](repeating: 0, count: labelled.count * m)
            for i in 0..<labelled.count {
                let calibration = calibrations[cv.fold(of: i)]
                for j in 0..<m {
                    let cell = i * m + j
                    local[cell] = RequirementVectorMath.sigmoid(
                        calibration.weights[0] * parts[cell * 2] + calibration.weights[1] * parts[cell * 2 + 1] + calibration.bias)
                }
            }
            (strategy.capabilityProficiency, strategy.domainProficiency, strategy.fallbackProficiency) = all.tables(shrinkage: kappa)
            strategy.calibration = Self.calibrate(parts: parts, outcomes: labelled.outcomes, rows: Array(0..<labelled.count))
            let blends: [(cluster: Bool, priors: [Double])] = selecting
                ? [(false, globalPriors)] + (clusterPriors.map { [(true, $0)] } ?? []) : []
            if blends.isEmpty {
                let estimate = cv.score(local)
                if best == nil || estimate.mean > best!.estimate.mean + CrossValidation.minimumGain {
                    best = Choice(strategy: strategy, estimate: estimate, predictions: local)
                }
            }
            for blend in blends {
                for blendKappa in PriorShrinkage.blendCandidates {
                    let predicted = PriorShrinkage.shrink(
                        local: local, evidence: [Double](repeating: 1, count: labelled.count), queryPriors: blend.priors, kappa: blendKappa)
                    let estimate = cv.score(predicted)
                    context.logger.debug("inference-dynamics candidate", metadata: [
                        "shrinkage": "\(kappa)", "cluster_prior": "\(blend.cluster)", "blend_kappa": "\(blendKappa)", "cv_aiq": "\(estimate.formatted)",
                    ])
                    guard best == nil || estimate.mean > best!.estimate.mean + CrossValidation.minimumGain else { continue }
                    var candidate = strategy
                    candidate.prior = blendKappa > 0 ? PriorShrinkage(prior: PriorShrinkage.means(labelled.outcomes), kappa: blendKappa) : nil
                    if let table, blend.cluster, blendKappa > 0 {
                        candidate.clusterPrior = ClusterPrior(centroids: table.centroids, quality: table.quality)
                    }
                    best = Choice(strategy: candidate, estimate: estimate, predictions: predicted)
                }
            }
        }
        guard let chosen = best else {
            throw SwitchyardError.invalidArgument("inference-dynamics: no shrinkage candidate to choose from")
        }
        context.logger.info("inference-dynamics: chose by cross-validation", metadata: [
            "shrinkage": "\(chosen.strategy.configuration.shrinkage)", "blend_kappa": "\(chosen.strategy.prior?.kappa ?? 0)",
            "cluster_prior": "\(chosen.strategy.clusterPrior != nil)", "cv_aiq": "\(chosen.estimate.formatted)",
        ])
        return chosen
    }

    public func save(to directory: URL) throws {
        try ArtifactFiles.writeJSON(self, to: directory.appendingPathComponent(Self.fileName))
    }

    public static func load(from directory: URL) throws -> InferenceDynamicsStrategy {
        let url = directory.appendingPathComponent(fileName)
        let strategy = try ArtifactFiles.readJSON(InferenceDynamicsStrategy.self, from: url)
        let m = strategy.models.count
        let shapesOK = strategy.fallbackProficiency.count == m && strategy.calibration.weights.count == 2
            && (strategy.prior?.prior.count ?? m) == m && (strategy.clusterPrior?.isValid(models: m) ?? true)
            && strategy.capabilityProficiency.values.allSatisfy { $0.count == m }
            && strategy.domainProficiency.values.allSatisfy { $0.count == m }
        try ArtifactFiles.check(shapesOK, url, "proficiency tables do not match the \(m) models")
        return strategy
    }

    static let fileName = "inference-dynamics.json"
}
