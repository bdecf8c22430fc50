import Foundation

/// Draws an `EvaluationReport` as one SVG: log cost axis, every strategy's Q(c) staircase as a line, single
/// models as labelled points, the oracle and random as marked points, the single-model envelope dashed.
/// Plain SVG 1.1 with inline styles, so any renderer (browsers, `rsvg-convert`) shows the same picture.
public struct CostQualityPlot: Sendable {
    public struct Configuration: Sendable {
        /// Canvas size in pixels. Default 1000 × 640.
        public var width: Double
        public var height: Double

        public init(width: Double = 1000, height: Double = 640) {
            self.width = width
            self.height = height
        }
    }

    public var configuration: Configuration

    public init(configuration: Configuration = Configuration()) { self.configuration = configuration }

    /// Distinct colours for strategies (Okabe–Ito, readable by colour-blind readers), cycled.
    static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#8C564B"]

    public func svg(_ report: EvaluationReport) -> String {
        let w = configuration.width, h = configuration.height
        let left = 80.0, right = 230.0, top = 50.0, bottom = 60.0
        let plotW = w - left - right, plotH = h - top - bottom
        let r = report.references
        var costs = r.singles.map(\.cost) + [r.oracle.cost, r.random.cost]
        var qualities = r.singles.map(\.quality) + [r.oracle.quality, r.random.quality]
        for s in report.strategies {
            for p in s.points where p.cost > 0 {
                costs.append(p.cost)
                qualities.append(p.quality)
            }
        }
        costs = costs.filter { $0 > 0 && $0.isFinite }
        let xLo = log10((costs.min() ?? 1e-6) / 1.3), xHi = log10((costs.max() ?? 1e-3) * 1.3)
        let yLo = max(0, floor(((qualities.min() ?? 0) - 0.03) * 20) / 20)
        let yHi = min(1, ceil(((qualities.max() ?? 1) + 0.03) * 20) / 20)
        func x(_ cost: Double) -> Double { left + (log10(max(cost, 1e-12)) - xLo) / max(xHi - xLo, 1e-9) * plotW }
        func y(_ q: Double) -> Double { top + (1 - (q - yLo) / max(yHi - yLo, 1e-9)) * plotH }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        var out: [String] = []
        out.append("<?xml version='1.0' encoding='UTF-8'?>")
        out.append("<svg xmlns='http://www.w3.org/2000/svg' width='\(Int(w))' height='\(Int(h))' viewBox='0 0 \(Int(w)) \(Int(h))' font-family='DejaVu Sans, Helvetica, Arial, sans-serif'>")
        out.append("<rect x='0' y='0' width='\(Int(w))' height='\(Int(h))' fill='#ffffff'/>")
        out.append("<text x='\(f(left))' y='28' font-size='18' font-weight='bold'>\(escape("Cost–quality on \(report.dataset) (\(report.prompts) prompts, \(report.models.count) models)"))</text>")
        // grid: decades and 2×, 5× on the cost axis; 0.05 steps on quality
        var decade = floor(xLo)
        while decade <= xHi {
            for mult in [1.0, 2.0, 5.0] {
                let v = log10(mult) + decade
                guard v >= xLo, v <= xHi else { continue }
                let px = x(pow(10, v))
                out.append("<line x1='\(f(px))' y1='\(f(top))' x2='\(f(px))' y2='\(f(top + plotH))' stroke='#e4e4e4' stroke-width='1'/>")
                out.append("<text x='\(f(px))' y='\(f(top + plotH + 18))' font-size='11' text-anchor='middle' fill='#333'>\(usd(pow(10, v)))</text>")
            }
            decade += 1
        }
        var q = yLo
        while q <= yHi + 1e-9 {
            let py = y(q)
            out.append("<line x1='\(f(left))' y1='\(f(py))' x2='\(f(left + plotW))' y2='\(f(py))' stroke='#e4e4e4' stroke-width='1'/>")
            out.append("<text x='\(f(left - 8))' y='\(f(py + 4))' font-size='11' text-anchor='end' fill='#333'>\(String(format: "%.2f", q))</text>")
            q += 0.05
        }
        out.append("<rect x='\(f(left))' y='\(f(top))' width='\(f(plotW))' height='\(f(plotH))' fill='none' stroke='#555' stroke-width='1'/>")
        out.append("<text x='\(f(left + plotW / 2))' y='\(f(h - 15))' font-size='13' text-anchor='middle'>mean cost per prompt (USD, log scale)</text>")
        out.append("<text x='20' y='\(f(top + plotH / 2))' font-size='13' text-anchor='middle' transform='rotate(-90 20 \(f(top + plotH / 2)))'>mean quality</text>")

        // single-model envelope (dashed) and the single models (labelled grey dots)
        let range = r.costRange
        let envelope = r.singleCurve.staircase(lo: range.lo, hi: range.hi)
        out.append(polyline(envelope, x, y, color: "#999999", width: 1.5, dash: "5,4"))
        var placed: [(Double, Double)] = []
        for s in r.singles.sorted(by: { $0.cost < $1.cost }) {
            let px = x(s.cost), py = y(s.quality)
            out.append("<circle cx='\(f(px))' cy='\(f(py))' r='3.5' fill='#777777'/>")
            var ly = py + 3.5
            while placed.contains(where: { abs($0.0 - (px + 6)) < 120 && abs($0.1 - ly) < 10 }) { ly += 10 }
            placed.append((px + 6, ly))
            out.append("<text x='\(f(px + 6))' y='\(f(ly))' font-size='9' fill='#555'>\(escape(s.model))</text>")
        }
        // strategies
        var legend: [(String, String, String)] = []  // label, colour, dash
        for (k, s) in report.strategies.enumerated() {
            let color = Self.palette[k % Self.palette.count]
            let stairs = s.curve.staircase(lo: costs.min() ?? range.lo, hi: costs.max() ?? range.hi)
            out.append(polyline(stairs, x, y, color: color, width: 2.2, dash: nil))
            let op = s.operatingPoint
            out.append("<circle cx='\(f(x(op.cost)))' cy='\(f(y(op.quality)))' r='4' fill='\(color)' stroke='#fff' stroke-width='1'/>")
            let aiq = s.metrics.aiq.map { String(format: " (AIQ %.3f)", $0) } ?? ""
            legend.append((s.name + aiq, color, ""))
        }
        // oracle and random
        let ox = x(r.oracle.cost), oy = y(r.oracle.quality)
        out.append("<path d='M \(f(ox)) \(f(oy - 7)) L \(f(ox + 7)) \(f(oy)) L \(f(ox)) \(f(oy + 7)) L \(f(ox - 7)) \(f(oy)) Z' fill='#C00000'/>")
        out.append("<text x='\(f(ox + 10))' y='\(f(oy + 4))' font-size='11' fill='#C00000' font-weight='bold'>oracle</text>")
        let rx = x(r.random.cost), ry = y(r.random.quality)
        out.append("<path d='M \(f(rx - 5)) \(f(ry - 5)) L \(f(rx + 5)) \(f(ry + 5)) M \(f(rx - 5)) \(f(ry + 5)) L \(f(rx + 5)) \(f(ry - 5))' stroke='#333' stroke-width='2'/>")
        out.append("<text x='\(f(rx + 8))' y='\(f(ry - 6))' font-size='11' fill='#333'>random</text>")
        // legend
        let lx = left + plotW + 15
        var ly = top + 10
        out.append("<text x='\(f(lx))' y='\(f(ly))' font-size='12' font-weight='bold'>strategies (λ sweep)</text>")
        ly += 20
        // One legend row: its symbol (drawn at `ly - 4` by the caller), the label beside it, then the next row.
        func legendRow(_ symbol: String, _ label: String) {
            out.append(symbol)
            out.append("<text x='\(f(lx + 30))' y='\(f(ly))' font-size='11'>\(escape(label))</text>")
            ly += 18
        }
        for (label, color, _) in legend {
            legendRow("<line x1='\(f(lx))' y1='\(f(ly - 4))' x2='\(f(lx + 24))' y2='\(f(ly - 4))' stroke='\(color)' stroke-width='3'/>", label)
        }
        legendRow("<line x1='\(f(lx))' y1='\(f(ly - 4))' x2='\(f(lx + 24))' y2='\(f(ly - 4))' stroke='#999' stroke-width='2' stroke-dasharray='5,4'/>",
                  "single models (envelope)")
        legendRow("<circle cx='\(f(lx + 12))' cy='\(f(ly - 4))' r='3.5' fill='#777'/>", "single model")
        legendRow("<circle cx='\(f(lx + 12))' cy='\(f(ly - 4))' r='4' fill='#333'/>", "operating point")
        ly += 8
        let best = r.bestSingle
        for line in [
            "best single: \(best.model)", String(format: "  quality %.4f at %@", best.quality, usd(best.cost)),
            String(format: "oracle: %.4f at %@", r.oracle.quality, usd(r.oracle.cost)),
        ] {
            out.append("<text x='\(f(lx))' y='\(f(ly))' font-size='10' fill='#333'>\(escape(line))</text>")
            ly += 14
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    func polyline(_ points: [CurvePoint], _ x: (Double) -> Double, _ y: (Double) -> Double, color: String, width: Double, dash: String?) -> String {
        let coords = points.map { String(format: "%.1f,%.1f", x($0.cost), y($0.quality)) }.joined(separator: " ")
        let dashAttr = dash.map { " stroke-dasharray='\($0)'" } ?? ""
        return "<polyline points='\(coords)' fill='none' stroke='\(color)' stroke-width='\(width)'\(dashAttr) stroke-linejoin='round'/>"
    }

    func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}

/// Compact USD label with two significant digits: 0.001 → "$0.001", 2e-05 → "$0.00002", 0.25 → "$0.25".
func usd(_ v: Double) -> String {
    guard v > 0, v.isFinite else { return "$0" }
    let digits = min(12, max(2, Int(-floor(log10(v))) + 1))
    var text = String(format: "%.\(digits)f", v)
    while text.hasSuffix("0") && !text.hasSuffix(".0") && text.contains(".") { text.removeLast() }
    if text.hasSuffix(".0") { text.removeLast(2) }
    return "$" + text
}
