import TemoinCore
import Foundation

/// The trace of the live-location page (Docs/fanout.md): an alert's latest fixes drawn as a
/// small SVG on the server — no map tiles, nothing fetched from anywhere, no script.
///
/// Positions are projected equirectangularly around the fixes' mean latitude (longitude scaled by
/// its cosine, one degree of latitude 111 320 m), which is exact enough over the few kilometres
/// an alert's trace spans. The projection is scaled to the bounding box of the fixes (and the
/// latest fix's uncertainty, up to 1 km) with a margin, never to less than `minimumSpanMetres`, so
/// one fix, or fixes all at one place, draw a dot in the middle with a meaningful scale. Older
/// fixes are a polyline with small dots, the latest a larger dot in a ring (inside a disc of its
/// uncertainty). North is up (`N ↑` at the bottom right); a scale bar of a round number of metres
/// sits at the bottom left. Every number written is finite and rounded to a tenth; the colours are
/// the page's classes.
public enum LiveTrace {
    /// One fix: degrees (WGS 84) and the uncertainty radius in metres, if known.
    public struct Point: Sendable, Equatable {
        public let latitude: Double
        public let longitude: Double
        public let uncertainty: Double?

        public init(latitude: Double, longitude: Double, uncertainty: Double? = nil) {
            self.latitude = latitude
            self.longitude = longitude
            self.uncertainty = uncertainty
        }
    }

    public static let width = 320
    public static let height = 220
    /// The least span of ground drawn (metres), so that identical fixes keep a sensible scale.
    public static let minimumSpanMetres = 100.0
    /// The uncertainty drawn around the latest fix is at most this (metres).
    public static let maximumUncertaintyMetres = 1000.0
    static let metresPerDegree = 111_320.0
    static let margin = 24.0
    /// Room kept under the drawing for the scale bar.
    static let footer = 28.0

    /// The trace of `points`, oldest first (the last is the latest), as one `<svg>` element, or
    /// an empty string when there is no point. `title` names the drawing for screen readers.
    /// Points with a coordinate that is not finite or out of range are left out.
    public static func svg(_ points: [Point], title: String) -> String {
        let usable = points.filter {
            $0.latitude.isFinite && $0.longitude.isFinite && abs($0.latitude) <= 90 && abs($0.longitude) <= 180
        }
        guard let latest = usable.last else { return "" }
        let meanLatitude = usable.map(\.latitude).reduce(0, +) / Double(usable.count)
        let cosine = max(cos(meanLatitude * .pi / 180), 0.01)
        // Metres east and north of the origin (0, 0), for every point.
        let ground = usable.map { p in
            (x: p.longitude * cosine * metresPerDegree, y: p.latitude * metresPerDegree)
        }
        let radius = min(max(latest.uncertainty ?? 0, 0), maximumUncertaintyMetres)
        let last = ground[ground.count - 1]
        var minX = ground.map(\.x).min()!, maxX = ground.map(\.x).max()!
        var minY = ground.map(\.y).min()!, maxY = ground.map(\.y).max()!
        minX = min(minX, last.x - radius)
        maxX = max(maxX, last.x + radius)
        minY = min(minY, last.y - radius)
        maxY = max(maxY, last.y + radius)
        let drawWidth = Double(width) - 2 * margin
        let drawHeight = Double(height) - 2 * margin - footer
        let spanX = max(maxX - minX, minimumSpanMetres)
        let spanY = max(maxY - minY, minimumSpanMetres)
        // Pixels per metre: the whole box fits, the same scale on both axes.
        let k = min(drawWidth / spanX, drawHeight / spanY)
        let centreX = (minX + maxX) / 2, centreY = (minY + maxY) / 2
        let middleX = Double(width) / 2, middleY = margin + drawHeight / 2
        func place(_ g: (x: Double, y: Double)) -> (x: String, y: String) {
            (number(middleX + (g.x - centreX) * k), number(middleY - (g.y - centreY) * k))
        }

        var out =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" "
            + "height=\"\(height)\" role=\"img\" aria-labelledby=\"trace-title\" class=\"trace\">"
            + "<title id=\"trace-title\">\(escape(title))</title>"
            + "<rect class=\"trace-ground\" x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\"/>"
        let end = place(last)
        if radius > 0 {
            out += "<circle class=\"trace-accuracy\" cx=\"\(end.x)\" cy=\"\(end.y)\" r=\"\(number(radius * k))\"/>"
        }
        if ground.count > 1 {
            let line = ground.map { g in
                let p = place(g)
                return p.x + "," + p.y
            }
            out += "<polyline class=\"trace-line\" points=\"\(line.joined(separator: " "))\"/>"
            for g in ground.dropLast() {
                let p = place(g)
                out += "<circle class=\"trace-fix\" cx=\"\(p.x)\" cy=\"\(p.y)\" r=\"3\"/>"
            }
        }
        out += "<circle class=\"trace-latest-ring\" cx=\"\(end.x)\" cy=\"\(end.y)\" r=\"11\"/>"
        out += "<circle class=\"trace-latest\" cx=\"\(end.x)\" cy=\"\(end.y)\" r=\"7\"/>"
        // North is up; the scale is a round length near a quarter of the drawing's width.
        out += "<text class=\"trace-north\" x=\"\(width - 10)\" y=\"\(height - 14)\">N ↑</text>"

        let metres = roundLength(drawWidth / 4 / k)
        let bar = metres * k
        let barY = Double(height) - 14
        out +=
            "<path class=\"trace-scale\" d=\"M \(number(margin)) \(number(barY - 5)) V \(number(barY)) "
            + "H \(number(margin + bar)) V \(number(barY - 5))\"/>"
            + "<text class=\"trace-scale-label\" x=\"\(number(margin + bar + 6))\" y=\"\(number(barY))\">"
            + "\(lengthText(metres))</text></svg>"
        return out
    }

    /// 1, 2 or 5 times a power of ten, at most `metres` (at least 1 m).
    static func roundLength(_ metres: Double) -> Double {
        guard metres.isFinite, metres > 1 else { return 1 }
        let power = pow(10, floor(log10(metres)))
        for step in [5.0, 2.0, 1.0] where step * power <= metres { return step * power }
        return power
    }

    /// `250 m`, `2 km`, `1.5 km` (the scale bar's label).
    static func lengthText(_ metres: Double) -> String {
        if metres >= 1000 {
            let tenths = Int(saturating: (metres / 100).rounded())
            return tenths % 10 == 0 ? "\(tenths / 10) km" : "\(tenths / 10).\(tenths % 10) km"
        }
        return "\(Int(saturating: metres.rounded())) m"
    }

    /// A coordinate in the SVG: rounded to a tenth, written without exponent; a value that is not
    /// finite (which the layout never makes) is written 0.
    static func number(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e9 else { return "0" }
        let tenths = Int(saturating: (value * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        return "\(sign)\(abs(tenths) / 10).\(abs(tenths) % 10)"
    }

    /// Text for an XML element or attribute.
    public static func escape(_ s: String) -> String {
        HTML.escape(s)
    }
}
