import Foundation
import SwitchyardCore
import Testing
@testable import Evaluation

/// Recomputes the reference rows of `data/routing/BASELINES.md` with our metric code: an independent check
/// (baselines.py is numpy) that the definitions match to 4 decimals.
@Suite("Baselines match BASELINES.md")
struct BaselinesTests {
    func close(_ a: Double?, _ b: Double, _ tolerance: Double = 5e-5) -> Bool {
        guard let a else { return false }
        return abs(a - b) <= tolerance
    }

    @Test("zeroeval test split: oracle, best single, cheapest, random, single envelope, per task")
    func zeroeval() throws {
        let t = try EvaluationTables(dataset: SharedData.dataset("zeroeval", "test"))
        #expect(t.count == 426 && t.models.count == 26)
        let r = ReferenceRouters(t)
        #expect(close(r.oracle.quality, 0.9554) && abs(r.oracle.cost - 0.0001841) < 5e-8)
        #expect(r.bestSingle.model == "gpt-4o-2024-08-06")
        #expect(close(r.bestSingle.quality, 0.8169) && abs(r.bestSingle.cost - 0.0036217) < 5e-8)
        #expect(r.cheapestSingle.model == "gemma-2-2b-it" && close(r.cheapestSingle.quality, 0.3333))
        #expect(close(r.random.quality, 0.6536) && abs(r.random.cost - 0.0017587) < 5e-8)
        // "single models only (envelope)" row
        let m = RouterMetrics(curve: r.singleCurve, references: r)
        #expect(close(m.qualityAtCheapestCost, 0.3333))
        #expect(close(m.qualityAtHalfBestCost, 0.7700))
        #expect(close(m.qualityAtBestCost, 0.8169))
        #expect(abs((m.costToMatchBest ?? 0) - 0.003622) < 5e-7)
        #expect(close(m.aiq, 0.8063))
        // per task: oracle / best single / random
        let expected: [String: (Int, Double, Double, Double)] = [
            "cruxeval": (120, 0.9583, 0.8333, 0.6006), "gsm8k": (198, 0.9899, 0.9343, 0.8640), "math-l5": (108, 0.8889, 0.5833, 0.3266),
        ]
        let rows = TaskBreakdown.references(t, r)
        #expect(rows.count == 3)
        for row in rows {
            let e = try #require(expected[row.task])
            #expect(row.count == e.0)
            #expect(close(row.oracle, e.1) && close(row.bestSingle, e.2) && close(row.random, e.3), "\(row)")
        }
    }

    @Test("llmrouter test split: oracle, best single, cheapest, random, single envelope")
    func llmrouter() throws {
        let t = try EvaluationTables(dataset: SharedData.dataset("llmrouter", "test"))
        #expect(t.count == 897 && t.models.count == 9)
        let r = ReferenceRouters(t)
        #expect(close(r.oracle.quality, 0.8101) && abs(r.oracle.cost - 0.0000605) < 5e-8)
        #expect(r.bestSingle.model == "llama-3.1-nemotron-51b-instruct")
        #expect(close(r.bestSingle.quality, 0.6280) && abs(r.bestSingle.cost - 0.0002988) < 5e-8)
        #expect(r.cheapestSingle.model == "gemma-2-9b-it" && close(r.cheapestSingle.quality, 0.5264))
        #expect(close(r.random.quality, 0.4277) && abs(r.random.cost - 0.0001402) < 5e-8)
        let m = RouterMetrics(curve: r.singleCurve, references: r)
        #expect(close(m.qualityAtCheapestCost, 0.5264))
        #expect(close(m.qualityAtHalfBestCost, 0.5736))
        #expect(close(m.qualityAtBestCost, 0.6280))
        #expect(close(m.aiq, 0.5677))
        let rows = TaskBreakdown.references(t, r)
        let gpqa = try #require(rows.first { $0.task == "gpqa" })
        #expect(gpqa.count == 67 && close(gpqa.oracle, 0.4627) && close(gpqa.bestSingle, 0.2537) && close(gpqa.random, 0.1012))
    }
}
