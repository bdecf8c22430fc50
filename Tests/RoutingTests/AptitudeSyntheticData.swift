import Budget
import Foundation
import Logging
import Profiling
@testable import Routing
import SwitchyardCore

/// Small synthetic routing data where the right answer is known, shared by the Aptitude,
/// InferenceDynamics and Requirements tests: three kinds of prompt (code, arithmetic, trivia), each
/// with its own direction in an 8-dimensional feature space, and models that are good at one kind only.
enum AptitudeSyntheticData {
    static let kinds = ["code", "math", "trivia"]

    static func prompt(kind: Int, index: Int) -> String {
        switch kind {
        case 0: return "def f\(index)(x):\n    return x * \(index)\nassert f\(index)(3) == ?? Complete the python code."
        case 1: return "How many apples are left if Tom has \(index + 5) apples and eats 3 + \(index % 4)? Calculate the total."
        default: return "Who wrote the famous novel number \(index)? Which of the following authors is known as its writer?"
        }
    }

    /// A unit vector near axis `kind` (deterministic noise from the index).
    static func vector(kind: Int, index: Int) -> [Float] {
        var rng = SplitMix64(seed: UInt64(kind * 1000 + index), discarding: 1)
        var v = (0..<8).map { _ in Float(rng.unit() - 0.5) * 0.3 }
        v[kind] += 1
        return RequirementVectorMath.normalized(v)
    }

    /// Outcome of a model on a prompt: `specialists[m]` is the kind model m is good at (nil: 50 % everywhere).
    static func outcome(specialty: Int?, kind: Int, index: Int) -> Double {
        guard let specialty else { return index % 2 == 0 ? 1 : 0 }
        // 90 % right on its kind, 10 % on others.
        if specialty == kind { return index % 10 == 9 ? 0 : 1 }
        return index % 10 == 0 ? 1 : 0
    }

    static let specialties: [String: Int?] = ["coder": 0, "mathy": 1, "trivia-buff": 2, "coin": nil]

    static func records(_ count: Int, offset: Int, models: [String: Int?] = specialties) -> ([RoutingRecord], [QueryFeatures]) {
        var records: [RoutingRecord] = []
        var features: [QueryFeatures] = []
        for n in 0..<count {
            let kind = n % 3
            let index = offset + n / 3
            var outcomes: [String: Double] = [:]
            var costs: [String: Double] = [:]
            for (model, specialty) in models {
                outcomes[model] = outcome(specialty: specialty, kind: kind, index: index)
                costs[model] = 0.001 * Double(1 + model.count % 4)  // distinct per model, so cost ranges are not empty
            }
            let id = "\(kinds[kind])-\(index)"
            records.append(RoutingRecord(id: id, prompt: prompt(kind: kind, index: index), task: kinds[kind], outcomes: outcomes, costs: costs, inputTokens: 30))
            features.append(QueryFeatures(vector: vector(kind: kind, index: index), inputTokens: 30))
        }
        return (records, features)
    }

    static func context(models: [String] = ["coder", "coin", "mathy", "trivia-buff"], train: Int = 150, dev: Int = 60, seed: UInt64 = 3) throws -> TrainingContext {
        let specialties = Dictionary(uniqueKeysWithValues: models.map { ($0, Self.specialties[$0] ?? nil) })
        let (trainRecords, trainFeatures) = records(train, offset: 0, models: specialties)
        let (devRecords, devFeatures) = records(dev, offset: 10_000, models: specialties)
        let price = ModelPrice(inputUSDPerMTok: 1, outputUSDPerMTok: 1)
        return TrainingContext(
            models: models, prices: Dictionary(uniqueKeysWithValues: models.map { ($0, price) }),
            costModel: try CostModel(models: models, prices: models.map { _ in price }, meanOutputTokens: models.map { _ in 100 }),
            train: try .init(records: trainRecords, features: trainFeatures, models: models),
            dev: try .init(records: devRecords, features: devFeatures, models: models),
            seed: seed, logger: Logger(label: "test")
        )
    }

    /// A fresh query of one kind (indices far from training).
    static func query(kind: Int, index: Int = 50_000, capabilities: [Capability] = [], domains: [String] = []) -> QueryFeatures {
        QueryFeatures(vector: vector(kind: kind, index: index), capabilities: capabilities, domains: domains, inputTokens: 30)
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-d2-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
