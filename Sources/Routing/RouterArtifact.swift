import Budget
import Embedding
import Foundation
import Profiling
import SwitchyardCore

/// A loaded artifact directory: everything `route` and the score stage need, read in milliseconds.
public struct RouterArtifact: Sendable {
    public let directory: URL
    public let manifest: RouterManifest
    public let featurizer: Featurizer
    /// The task prior's classifier for the profile stage, when it reads the whole prompt.
    public let taskClassifier: TaskPriorClassifier?
    public let costModel: CostModel
    /// Query groups of the cost model (nil for artifacts built without them).
    public let costGroups: CostGroups?
    /// Loaded strategies by name.
    public let strategies: [String: any RoutingStrategy]

    /// Loads the manifest, featurizer, cost model and the strategies (all, or only `only`).
    /// `embedder` is required when the artifact's featurizer used one. A strategy the registry does not
    /// know, a mismatched format version, or a missing/corrupt file is a `SwitchyardError` saying what to do.
    public static func load(
        from directory: URL, embedder: (any Embedder)? = nil,
        registry: StrategyRegistry = .standard, only: Set<String>? = nil
    ) throws -> RouterArtifact {
        let manifest = try RouterManifest.load(from: directory)
        let featurizer = try Featurizer.load(from: directory.appendingPathComponent("featurizer"), embedder: embedder)
        guard featurizer.dimension == manifest.featureDimension else {
            throw SwitchyardError.badFile(file: directory.path, reason: "featurizer dimension \(featurizer.dimension) differs from the manifest's \(manifest.featureDimension): rebuild")
        }
        let costModel = try ArtifactFiles.readJSON(CostModel.self, from: directory.appendingPathComponent("cost_model.json"))
        let costGroups = try CostGroups.load(from: directory)
        if let costGroups, costGroups.centroids.cols != manifest.featureDimension {
            throw SwitchyardError.badFile(file: directory.path, reason: "cost groups have dimension \(costGroups.centroids.cols), features \(manifest.featureDimension): rebuild")
        }
        var strategies: [String: any RoutingStrategy] = [:]
        let wanted = { (name: String) in only?.contains(name) ?? true }
        let ensembleEntry = manifest.strategies.first { $0.name == EnsembleStrategy.strategyName && wanted($0.name) }
        let stack = try ensembleEntry.map { _ in try EnsembleStrategy.Stack.load(from: strategyDirectory(directory, EnsembleStrategy.strategyName)) }
        let needsPrior = manifest.strategies.contains { ($0.taskPriorWeight ?? 1) < 1 && (wanted($0.name) || stack?.bases.contains($0.name) == true) }
            || stack?.usesPrior == true
        let taskPrior = needsPrior ? try TaskPrior.load(from: directory.appendingPathComponent(taskPriorDirectory)) : nil
        let taskFeaturizer = try taskPrior.flatMap { prior in
            try prior.readsTaskVector ? Featurizer.load(from: directory.appendingPathComponent(taskFeaturizerDirectory)) : nil
        }
        if let taskPrior, taskPrior.dimension != (taskFeaturizer?.dimension ?? manifest.featureDimension) {
            throw SwitchyardError.badFile(
                file: directory.path,
                reason: "the task prior has dimension \(taskPrior.dimension), its features \(taskFeaturizer?.dimension ?? manifest.featureDimension): rebuild")
        }
        // The stacked strategies load whether or not they were asked for: the ensemble runs them as
        // they route (blended where blended).
        var routed: [String: any RoutingStrategy] = [:]
        for entry in manifest.strategies where entry.name != EnsembleStrategy.strategyName && (wanted(entry.name) || stack?.bases.contains(entry.name) == true) {
            guard let type = registry.type(named: entry.name) else {
                throw SwitchyardError.badFile(file: directory.path, reason: "strategy '\(entry.name)' is unknown to this switchyard: rebuild the artifact or upgrade")
            }
            let strategy = try type.load(from: strategyDirectory(directory, entry.name))
            guard strategy.models == manifest.models || Set(strategy.models).isSubset(of: Set(costModel.models)) else {
                throw SwitchyardError.badFile(file: directory.path, reason: "strategy '\(entry.name)' scores models the cost model does not price: rebuild")
            }
            if let weight = entry.taskPriorWeight, weight < 1, let taskPrior {
                routed[entry.name] = TaskPriorBlendStrategy(base: strategy, prior: taskPrior, weight: weight)
            } else {
                routed[entry.name] = strategy
            }
            if wanted(entry.name) { strategies[entry.name] = routed[entry.name] }
        }
        if let stack {
            let bases = try stack.bases.map { name in
                guard let base = routed[name] else {
                    throw SwitchyardError.badFile(file: directory.path, reason: "the ensemble stacks '\(name)', which the artifact lacks: rebuild it")
                }
                return base
            }
            guard Set(stack.models).isSubset(of: Set(costModel.models)) else {
                throw SwitchyardError.badFile(file: directory.path, reason: "the ensemble scores models the cost model does not price: rebuild")
            }
            strategies[EnsembleStrategy.strategyName] = try EnsembleStrategy(stack: stack, bases: bases, prior: taskPrior)
        }
        return RouterArtifact(
            directory: directory, manifest: manifest, featurizer: featurizer,
            taskClassifier: taskFeaturizer.flatMap { featurizer in taskPrior.flatMap { TaskPriorClassifier(featurizer: featurizer, prior: $0) } },
            costModel: costModel,
            costGroups: costGroups, strategies: strategies)
    }

    /// Subdirectory of the shared `TaskPrior` (present when some strategy is blended toward it).
    static let taskPriorDirectory = "task_prior"
    /// Subdirectory of the task prior's featurizer (present when its classifier reads the whole prompt).
    static let taskFeaturizerDirectory = "task_featurizer"

    public static func strategyDirectory(_ directory: URL, _ name: String) -> URL {
        directory.appendingPathComponent("strategies").appendingPathComponent(name)
    }

    /// The strategy called `name` (`auto` or nil: the manifest's auto strategy).
    public func strategy(named name: String?) throws(SwitchyardError) -> any RoutingStrategy {
        let resolved = (name == nil || name == "auto") ? manifest.autoStrategy : name!
        guard let strategy = strategies[resolved] else {
            // Name every strategy of the artifact, not only the ones loaded (a load `only:` the asked one has none).
            let available = manifest.strategies.map(\.name)
            let known = available.contains(resolved)
            throw .invalidArgument(known
                ? "strategy '\(resolved)' was not loaded from the artifact at \(directory.path): load it too"
                : "unknown strategy '\(resolved)': the artifact at \(directory.path) has auto, \(available.joined(separator: ", "))")
        }
        return strategy
    }

    /// A router for `strategy` (nil/`auto`: the auto strategy) at `lambda` (nil: that strategy's default
    /// λ, `RouterManifest.defaultLambda(of:)`).
    public func router(strategy name: String? = nil, lambda: Double? = nil) throws -> Router {
        let resolved = try strategy(named: name)
        return try Router(
            strategy: resolved, costModel: costModel, lambda: lambda ?? manifest.defaultLambda(of: resolved.name), costGroups: costGroups)
    }

    /// The profiler that produces features this artifact's strategies understand.
    public func profiler(extractor: (any RequirementExtractor)? = nil) -> QueryProfiler {
        QueryProfiler(featurizer: featurizer, tokenCounter: manifest.tokenCounter, extractor: extractor, taskClassifier: taskClassifier)
    }
}
