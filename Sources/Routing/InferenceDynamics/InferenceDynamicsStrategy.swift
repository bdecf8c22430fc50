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
/// logistic calibration fitted on dev turns the two parts into P(correct), so the Router can subtract
/// λ·cost from a quality on the outcome scale.
///
/// Empirical Bayes twice, both chosen on dev with proficiencies from train alone: the element
/// pseudo-count (`InferenceDynamicsConfiguration.shrinkage`), and a final blend of the calibrated
/// prediction toward the model's mean outcome (`prior`, evidence 1: w = 1 / (1 + κ)), since two
/// calibration weights shared by all models cannot express how much a model's requirement profile is
/// worth. The blend's prior is the global mean or the query's cluster mean (`ClusterPrior`), chosen on
/// dev too. The saved fit then recomputes the proficiencies (and priors) on train + dev.
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

        mutating func add(_ requirements: [([Capability], [String])], split: TrainingContext.Split, configuration: InferenceDynamicsConfiguration) {
            let m = overall.count
            for i in 0..<split.count {
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

    /// Learns proficiencies on train and the calibration on dev (train when dev is empty); with
    /// `shrinkageCandidates`, chooses the element pseudo-count and the prior blend on dev too.
    public static func train(_ context: TrainingContext, configuration: InferenceDynamicsConfiguration) throws -> InferenceDynamicsStrategy {
        let train = context.train
        guard train.count > 0, !context.models.isEmpty else {
            throw SwitchyardError.invalidArgument("inference-dynamics: no training records or no models")
        }
        // Requirements of training queries: the profiler's when present, else a learned extractor's.
        var extractor: EmbeddedRequirementExtractor? = nil
        let needsExtractor = train.features.contains { $0.capabilities.isEmpty || $0.domains.isEmpty }
        if needsExtractor, train.vectors.cols > 0 {
            var extractorConfiguration = configuration.extractor
            extractorConfiguration.seed = context.seed
            extractor = try EmbeddedRequirementExtractor.train(
                prompts: train.records.map(\.prompt), vectors: train.features.map(\.vector), configuration: extractorConfiguration
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
        let trainRequirements = train.features.map(base.requirements(of:))
        var tallies = Tallies(models: m)
        tallies.add(trainRequirements, split: train, configuration: configuration)
        let selection = context.selection
        let selectionRequirements = selection.features.map(base.requirements(of:))
        let selecting = configuration.shrinkageCandidates != nil
        let table = selecting ? ClusterTable.build(context) : nil
        let selectionClusterPriors = table.map { table in
            KMeans.assign(selection.vectors, centroids: table.centroids).assignments.flatMap { table.trainQuality.row($0).map(Double.init) }
        }
        var best: (strategy: InferenceDynamicsStrategy, aiq: Double)? = nil
        for kappa in configuration.shrinkageCandidates ?? [configuration.shrinkage] {
            var strategy = base
            strategy.configuration.shrinkage = kappa
            let tables = tallies.tables(shrinkage: kappa)
            strategy.capabilityProficiency = tables.capability
            strategy.domainProficiency = tables.domain
            strategy.fallbackProficiency = tables.fallback
            // Calibrate on the selection split: one row per (query, model).
            var x: [[Float]] = []
            var y: [Double] = []
            x.reserveCapacity(selection.count * m)
            for i in 0..<selection.count {
                let (capabilities, domains) = selectionRequirements[i]
                let cap = strategy.part(capabilities.map(\.rawValue), strategy.capabilityProficiency)
                let dom = strategy.part(domains, strategy.domainProficiency)
                for j in 0..<m {
                    x.append([Float(cap[j]), Float(dom[j])])
                    y.append(Double(selection.outcomes[i, j]))
                }
            }
            var fit = LogisticTrainingConfiguration()
            fit.epochs = 60
            fit.learningRate = 0.05
            fit.l2 = 0
            fit.seed = context.seed
            strategy.calibration = LogisticModel.train(x: x, y: y, configuration: fit)
            guard selecting else { return try pooled(strategy, tallies: tallies, context: context) }
            let local = selectionRequirements.flatMap { strategy.calibrated(capabilities: $0.0, domains: $0.1) }
            for queryPriors in [nil, selectionClusterPriors] {
                let choice = PriorShrinkage.choose(
                    local: local, evidence: [Double](repeating: 1, count: selection.count), prior: PriorShrinkage.means(train.outcomes),
                    queryPriors: queryPriors, context: context, candidates: PriorShrinkage.blendCandidates
                )
                context.logger.debug("inference-dynamics candidate", metadata: [
                    "shrinkage": "\(kappa)", "cluster_prior": "\(queryPriors != nil)", "blend_kappa": "\(choice.shrinkage.kappa)",
                    "dev_aiq": "\(choice.aiq)",
                ])
                var candidate = strategy
                candidate.prior = choice.shrinkage.kappa > 0 ? choice.shrinkage : nil
                if let table, queryPriors != nil, candidate.prior != nil {
                    candidate.clusterPrior = ClusterPrior(centroids: table.centroids, quality: table.trainQuality)
                }
                if best == nil || choice.aiq > best!.aiq + 1e-12 { best = (candidate, choice.aiq) }
            }
        }
        guard let chosen = best?.strategy else {
            throw SwitchyardError.invalidArgument("inference-dynamics: no shrinkage candidate to choose from")
        }
        context.logger.info("inference-dynamics: chose on dev", metadata: [
            "shrinkage": "\(chosen.configuration.shrinkage)", "blend_kappa": "\(chosen.prior?.kappa ?? 0)",
            "cluster_prior": "\(chosen.clusterPrior != nil)", "dev_aiq": "\(best?.aiq ?? 0)",
        ])
        return try pooled(chosen, tallies: tallies, context: context)
    }

    /// The saved fit: proficiencies and prior over train + dev (same κ, same calibration) when the
    /// context pools dev, else `strategy` unchanged.
    static func pooled(
        _ strategy: InferenceDynamicsStrategy, tallies: Tallies, context: TrainingContext
    ) throws -> InferenceDynamicsStrategy {
        guard context.includeDevInFit, context.dev.count > 0 else { return strategy }
        var all = tallies
        all.add(context.dev.features.map(strategy.requirements(of:)), split: context.dev, configuration: strategy.configuration)
        var out = strategy
        let tables = all.tables(shrinkage: strategy.configuration.shrinkage)
        out.capabilityProficiency = tables.capability
        out.domainProficiency = tables.domain
        out.fallbackProficiency = tables.fallback
        if let prior = strategy.prior {
            out.prior = PriorShrinkage(prior: PriorShrinkage.means(context.train.outcomes, context.dev.outcomes), kappa: prior.kappa)
        }
        if strategy.clusterPrior != nil {
            let table = ClusterTable.build(context)
            out.clusterPrior = ClusterPrior(centroids: table.centroids, quality: table.pooledQuality)
        }
        return out
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
