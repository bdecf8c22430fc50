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
public struct InferenceDynamicsStrategy: TrainableStrategy, Codable, Hashable {
    public static let strategyName = "inference-dynamics"
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
        let cap = part(capabilities.map(\.rawValue), capabilityProficiency)
        let dom = part(domains, domainProficiency)
        return (0..<models.count).map { j in
            RequirementVectorMath.sigmoid(calibration.weights[0] * cap[j] + calibration.weights[1] * dom[j] + calibration.bias)
        }
    }

    /// The raw, uncalibrated capability and domain parts for every model (for `--explain` and tests).
    public func rawScores(_ query: QueryFeatures) -> (capability: [Double], domain: [Double]) {
        let (capabilities, domains) = requirements(of: query)
        return (part(capabilities.map(\.rawValue), capabilityProficiency), part(domains, domainProficiency))
    }

    /// The query's own requirements, or the stored extractor's from its vector when it has none.
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
        try train(context, configuration: InferenceDynamicsConfiguration())
    }

    /// Learns proficiencies on train and the calibration on dev (train when dev is empty).
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
        var strategy = InferenceDynamicsStrategy(
            models: context.models, configuration: configuration, capabilityProficiency: [:], domainProficiency: [:],
            fallbackProficiency: [], calibration: LogisticModel(weights: [1, 1], bias: 0), extractor: extractor
        )
        let m = context.models.count
        var capSums: [String: [Double]] = [:], capCounts: [String: Double] = [:]
        var domSums: [String: [Double]] = [:], domCounts: [String: Double] = [:]
        var overall = [Double](repeating: 0, count: m)
        var overallCount = 0.0
        for i in 0..<train.count {
            let (capabilities, domains) = strategy.requirements(of: train.features[i])
            func accumulate(_ elements: [String], _ sums: inout [String: [Double]], _ counts: inout [String: Double]) {
                let weights = configuration.rankWeights(count: elements.count)
                for (r, element) in elements.enumerated() {
                    var row = sums[element] ?? [Double](repeating: 0, count: m)
                    for j in 0..<m {
                        let value = (Double(train.outcomes[i, j]) - configuration.beta * Double(train.costs[i, j])) * weights[r]
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
        let fallback = overall.map { $0 / max(1, overallCount) }
        func shrink(_ sums: [String: [Double]], _ counts: [String: Double]) -> [String: [Double]] {
            sums.mapValues { _ in [] }.reduce(into: [:]) { out, entry in
                let n = counts[entry.key] ?? 0
                let row = sums[entry.key] ?? []
                out[entry.key] = (0..<m).map { j in (row[j] + configuration.shrinkage * fallback[j]) / (n + configuration.shrinkage) }
            }
        }
        strategy.capabilityProficiency = shrink(capSums, capCounts)
        strategy.domainProficiency = shrink(domSums, domCounts)
        strategy.fallbackProficiency = fallback
        // Calibrate on the selection split: one row per (query, model).
        let selection = context.selection
        var x: [[Float]] = []
        var y: [Double] = []
        x.reserveCapacity(selection.count * m)
        for i in 0..<selection.count {
            let raw = strategy.rawScores(selection.features[i])
            for j in 0..<m {
                x.append([Float(raw.capability[j]), Float(raw.domain[j])])
                y.append(Double(selection.outcomes[i, j]))
            }
        }
        var fit = LogisticTrainingConfiguration()
        fit.epochs = 60
        fit.learningRate = 0.05
        fit.l2 = 0
        fit.seed = context.seed
        strategy.calibration = LogisticModel.train(x: x, y: y, configuration: fit)
        return strategy
    }

    public func save(to directory: URL) throws {
        try ArtifactFiles.writeJSON(self, to: directory.appendingPathComponent(Self.fileName))
    }

    public static func load(from directory: URL) throws -> InferenceDynamicsStrategy {
        let url = directory.appendingPathComponent(fileName)
        let strategy = try ArtifactFiles.readJSON(InferenceDynamicsStrategy.self, from: url)
        let m = strategy.models.count
        let shapesOK = strategy.fallbackProficiency.count == m && strategy.calibration.weights.count == 2
            && strategy.capabilityProficiency.values.allSatisfy { $0.count == m }
            && strategy.domainProficiency.values.allSatisfy { $0.count == m }
        try ArtifactFiles.check(shapesOK, url, "proficiency tables do not match the \(m) models")
        return strategy
    }

    static let fileName = "inference-dynamics.json"
}
