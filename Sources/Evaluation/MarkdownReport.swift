import Foundation

/// Renders an `EvaluationReport` as `report.md`: headline first, then the tables a reviewer checks.
public enum MarkdownReport {
    public static func render(_ report: EvaluationReport, plotFile: String = "cost_quality.svg") -> String {
        let r = report.references
        var out: [String] = []
        out.append("# Switchyard evaluation: \(report.dataset)\n")
        out.append("\(report.prompts) prompts, \(report.models.count) models. Quality = mean recorded outcome; cost = mean recorded USD per prompt. Metric definitions: METRICS.md (RouterBench AIQ, RouteLLM APGR/CPT; same definitions as `data/routing/baselines.py`).\n")
        out.append(headline(report) + "\n")
        out.append("![cost-quality plot](\(plotFile))\n")
        out.append("## References\n")
        out.append("| reference | quality | mean cost / prompt (USD) |")
        out.append("|---|---|---|")
        out.append("| oracle (best per prompt, cheapest among ties) | \(q(r.oracle.quality)) | \(c(r.oracle.cost)) |")
        out.append("| best single model: `\(r.bestSingle.model)` | \(q(r.bestSingle.quality)) | \(c(r.bestSingle.cost)) |")
        out.append("| cheapest single model: `\(r.cheapestSingle.model)` | \(q(r.cheapestSingle.quality)) | \(c(r.cheapestSingle.cost)) |")
        out.append("| random (uniform over models, expected) | \(q(r.random.quality)) | \(c(r.random.cost)) |\n")
        out.append("## Routers (λ swept)\n")
        let lo = r.costRange.lo, hi = r.costRange.hi
        out.append("AIQ over [\(c(lo)), \(c(hi))] USD; APGR and CPT between `\(r.cheapestSingle.model)` and `\(r.bestSingle.model)`.\n")
        out.append("| router | Q @ cheapest-model cost | Q @ 50% best-single cost | Q @ 100% best-single cost | cost to match best single | max Q (its cost) | AIQ | APGR | CPT(50%) | CPT(80%) | CPT(95%) |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for s in report.strategies { out.append(row(s.name, s.metrics)) }
        out.append(row("single models only (envelope)", report.singleEnvelope) + "\n")
        out.append("## Quality at a batch budget (BudgetAllocator, budgets on estimated cost)\n")
        out.append("Budget = fraction × what `\(r.bestSingle.model)` costs on the whole split (\(c(r.bestSingle.cost * Double(report.prompts))) USD). Realised spend uses the recorded costs.\n")
        let fractions = report.strategies.first?.budgets.map(\.fraction) ?? []
        if !fractions.isEmpty {
            out.append("| router | " + fractions.map { "\(Int(($0 * 100).rounded()))% budget: quality (realised spend)" }.joined(separator: " | ") + " |")
            out.append("|---|" + fractions.map { _ in "---" }.joined(separator: "|") + "|")
            for s in report.strategies {
                let cells = s.budgets.map { b in
                    "\(q(b.quality)) (\(c(b.realisedSpendUSD))\(b.unanswered > 0 ? ", \(b.unanswered) unanswered" : ""))"
                }
                out.append("| \(s.name) | " + cells.joined(separator: " | ") + " |")
            }
            out.append("")
        }
        out.append("## Per task\n")
        out.append("Routers at their operating point (best λ costing at most the best single model).\n")
        let names = report.strategies.map(\.name)
        out.append("| task | n | oracle | best single | random | " + names.joined(separator: " | ") + " |")
        out.append("|---|---|---|---|---|" + names.map { _ in "---" }.joined(separator: "|") + (names.isEmpty ? "" : "|"))
        for ref in report.referenceTasks {
            let cells = report.strategies.map { s in s.perTask.first { $0.task == ref.task }.map { q($0.quality) } ?? "" }
            out.append("| \(ref.task) | \(ref.count) | \(q(ref.oracle)) | \(q(ref.bestSingle)) | \(q(ref.random)) | " + cells.joined(separator: " | ") + (cells.isEmpty ? "" : " |"))
        }
        out.append("")
        out.append("## Single models (sorted by mean cost)\n")
        out.append("| model | quality | mean cost / prompt (USD) |")
        out.append("|---|---|---|")
        for s in r.singles.sorted(by: { $0.cost < $1.cost }) {
            out.append("| `\(s.model)`\(s.model == r.bestSingle.model ? " **(best quality)**" : "") | \(q(s.quality)) | \(c(s.cost)) |")
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// The headline: the router that would run (`auto`'s strategy, chosen on dev) at its operating point
    /// against the best single model, then one line listing the other strategies by AIQ on this split.
    public static func headline(_ report: EvaluationReport) -> String {
        let best = report.references.bestSingle
        guard let s = report.headlineStrategy else {
            return "Best single model `\(best.model)`: quality \(q(best.quality)) at \(c(best.cost)) per prompt (no router evaluated)."
        }
        let op = s.operatingPoint
        let saving = best.cost > 0 ? (1 - op.cost / best.cost) * 100 : 0
        let who = s.name == report.autoStrategy ? "router `auto` (`\(s.name)`, chosen on dev)" : "router `\(s.name)`"
        var text = "**Headline:** \(who) reaches quality \(q(op.quality)) at \(c(op.cost)) per prompt vs the best single model `\(best.model)` at \(q(best.quality)) and \(c(best.cost))"
        text += String(format: " (%@%.0f%% cost, %+.4f quality)", saving >= 0 ? "−" : "+", abs(saving), op.quality - best.quality)
        if let match = s.metrics.costToMatchBest {
            text += "; it matches the best single model's quality at \(c(match)) per prompt"
        }
        if let aiq = s.metrics.aiq { text += String(format: "; AIQ %.4f vs %.4f for single models", aiq, report.singleEnvelope.aiq ?? 0) }
        text += "."
        let others = report.strategies.filter { $0.name != s.name }
            .sorted { ($0.metrics.aiq ?? -1) > ($1.metrics.aiq ?? -1) }
            .map { "`\($0.name)` \($0.metrics.aiq.map(q) ?? "n/a")" }
        if !others.isEmpty { text += "\n\nOther strategies, AIQ on this split: " + others.joined(separator: ", ") + "." }
        return text
    }

    static func row(_ name: String, _ m: RouterMetrics) -> String {
        let cpt = m.cpt.map { t in t.costUSD.map { "\(c($0)) (\(String(format: "%.1f%%", t.percentOfSpan ?? 0)))" } ?? "never" }
        return "| \(name) | \(qa(m.qualityAtCheapestCost)) | \(qa(m.qualityAtHalfBestCost)) | \(qa(m.qualityAtBestCost)) | "
            + "\(m.costToMatchBest.map(c) ?? "never") | \(q(m.maxQuality)) (\(c(m.maxQualityCost))) | \(m.aiq.map(q) ?? "n/a") | "
            + "\(m.apgr.map(q) ?? "n/a") | " + cpt.joined(separator: " | ") + " |"
    }

    static func q(_ v: Double) -> String { String(format: "%.4f", v) }
    static func qa(_ v: Double?) -> String { v.map(q) ?? "n/a" }
    static func c(_ v: Double) -> String { String(format: "$%.7f", v) }
}
