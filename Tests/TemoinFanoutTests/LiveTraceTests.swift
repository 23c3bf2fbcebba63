import Foundation
import TemoinFanout
import Testing

/// The live-location page's trace is drawn on the server as SVG: one pure function, no map tiles,
/// no outside resource, and always well-formed numbers whatever the fixes.
struct LiveTraceTests {
    typealias Point = LiveTrace.Point

    /// The numbers of every `name="…"` attribute, in order.
    static func numbers(_ svg: String, _ name: String) -> [Double] {
        var out = [Double]()
        var rest = svg[...]
        while let r = rest.range(of: " \(name)=\"") {
            let value = rest[r.upperBound...].prefix { $0 != "\"" }
            for part in value.split(whereSeparator: { $0 == " " || $0 == "," }) {
                if let d = Double(part) { out.append(d) }
            }
            rest = rest[r.upperBound...]
        }
        return out
    }

    /// Every coordinate written is a finite plain decimal inside the drawing, and nothing is
    /// loaded from anywhere.
    static func checkWellFormed(_ svg: String) {
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.hasSuffix("</svg>"))
        for bad in ["nan", "NaN", "inf", "<image", "<script", "href", "url(", "<foreignObject"] {
            #expect(!svg.contains(bad), "\(bad) in \(svg)")
        }
        #expect(svg.components(separatedBy: "http").count == 2, "only the SVG namespace names a URL")
        for name in ["cx", "cy", "r", "x", "y", "points", "d"] {
            var rest = svg[...]
            while let r = rest.range(of: " \(name)=\"") {
                let value = rest[r.upperBound...].prefix { $0 != "\"" }
                #expect(value.allSatisfy { "0123456789.,- MVH".contains($0) }, "\(name)=\"\(value)\"")
                rest = rest[r.upperBound...]
            }
        }
        for name in ["cx", "cy", "x", "y"] {
            for v in numbers(svg, name) {
                #expect(v.isFinite && v >= 0 && v <= Double(max(LiveTrace.width, LiveTrace.height)), "\(name)=\(v)")
            }
        }
    }

    @Test func noFixDrawsNothing() {
        #expect(LiveTrace.svg([], title: "t") == "")
    }

    @Test func oneFixIsADotInTheMiddleWithAScale() {
        let svg = LiveTrace.svg([Point(latitude: 48.8566, longitude: 2.3522)], title: "Trajet")
        Self.checkWellFormed(svg)
        #expect(!svg.contains("<polyline"), "one fix, no line")
        #expect(svg.contains("class=\"trace-latest\""))
        let cx = Self.numbers(svg, "cx"), cy = Self.numbers(svg, "cy")
        #expect(cx.allSatisfy { abs($0 - Double(LiveTrace.width) / 2) < 0.1 })
        #expect(cy.allSatisfy { $0 > 20 && $0 < Double(LiveTrace.height) - 20 })
        #expect(svg.contains(" m</text>"), "a scale in metres")
    }

    @Test func identicalFixesKeepASensibleScaleAndOneSpot() {
        let same = Array(repeating: Point(latitude: 45.764, longitude: 4.8357, uncertainty: 0), count: 20)
        let svg = LiveTrace.svg(same, title: "Trajet")
        Self.checkWellFormed(svg)
        let cx = Set(Self.numbers(svg, "cx")), cy = Set(Self.numbers(svg, "cy"))
        #expect(cx.count == 1 && cy.count == 1, "every fix at the same place")
        // The least span is 100 m: the scale bar shows tens of metres, not millimetres.
        #expect(svg.contains(">20 m</text>") || svg.contains(">50 m</text>") || svg.contains(">10 m</text>"), "\(svg)")
    }

    @Test func aLineAcrossTheCityRunsFromOldestToLatest() throws {
        // Five fixes walking north-east across Lyon (about 2 km).
        let points = (0..<5).map { i in
            Point(latitude: 45.75 + Double(i) * 0.004, longitude: 4.83 + Double(i) * 0.005, uncertainty: 15)
        }
        let svg = LiveTrace.svg(points, title: "Trajet")
        Self.checkWellFormed(svg)
        let line = try #require(svg.range(of: "<polyline class=\"trace-line\" points=\""))
        let coordinates = svg[line.upperBound...].prefix { $0 != "\"" }.split(separator: " ").map {
            $0.split(separator: ",").map { Double($0)! }
        }
        #expect(coordinates.count == 5)
        // East is right and north is up: x grows, y falls.
        #expect(zip(coordinates, coordinates.dropFirst()).allSatisfy { $1[0] > $0[0] && $1[1] < $0[1] })
        // The latest fix is the big dot, at the line's end.
        let latest = try #require(svg.range(of: "<circle class=\"trace-latest\" cx=\""))
        let x = Double(svg[latest.upperBound...].prefix { $0 != "\"" })
        #expect(x == coordinates.last?[0])
        #expect(svg.components(separatedBy: "class=\"trace-fix\"").count == 5, "four older dots")
        // The drawing uses the box: the line spans most of the width or height.
        let xs = coordinates.map { $0[0] }, ys = coordinates.map { $0[1] }
        #expect(xs.max()! - xs.min()! > 150 || ys.max()! - ys.min()! > 100)
        #expect(svg.contains(" m</text>") || svg.contains(" km</text>"))
    }

    @Test func theLatestFixsUncertaintyIsACircleAroundIt() {
        let svg = LiveTrace.svg(
            [Point(latitude: 48.85, longitude: 2.35), Point(latitude: 48.851, longitude: 2.351, uncertainty: 40)],
            title: "Trajet")
        Self.checkWellFormed(svg)
        #expect(svg.contains("class=\"trace-accuracy\""))
        let huge = LiveTrace.svg([Point(latitude: 48.85, longitude: 2.35, uncertainty: 1e12)], title: "Trajet")
        Self.checkWellFormed(huge)
        // An uncertainty of 1e12 m is drawn as 1 km at most: the circle stays within the drawing.
        #expect(Self.numbers(huge, "r").allSatisfy { $0 <= Double(LiveTrace.width) / 2 })
    }

    @Test func fixesAcrossTheAntimeridianOrAtThePolesDoNotBreakTheDrawing() {
        let cases: [[Point]] = [
            [Point(latitude: -16.5, longitude: 179.99), Point(latitude: -16.5, longitude: -179.99)],
            [Point(latitude: 90, longitude: 0), Point(latitude: 89.9999, longitude: 120)],
            [Point(latitude: -90, longitude: -180), Point(latitude: 90, longitude: 180)],
            [Point(latitude: 0, longitude: 0, uncertainty: -5)],
        ]
        for points in cases { Self.checkWellFormed(LiveTrace.svg(points, title: "Trajet")) }
    }

    @Test func pointsThatAreNotFiniteAreLeftOutAndTheTitleIsEscaped() {
        let svg = LiveTrace.svg(
            [
                Point(latitude: .nan, longitude: 2), Point(latitude: 48.85, longitude: .infinity),
                Point(latitude: 48.85, longitude: 2.35), Point(latitude: 200, longitude: 2.35),
            ], title: "<script>alert(\"x\")</script> & 'co'")
        Self.checkWellFormed(svg)
        #expect(
            svg.contains(
                "<title id=\"trace-title\">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;co&#39;"
                    + "</title>"))
        #expect(!svg.contains("<polyline"), "one usable fix")
        #expect(LiveTrace.svg([Point(latitude: .nan, longitude: .nan)], title: "t") == "")
    }

    @Test func fiftyOneFixesDrawFiftyOlderDotsAndTheLatest() {
        let points = (0...50).map { i in
            Point(latitude: 43.6 + sin(Double(i) / 5) * 0.01, longitude: 1.44 + Double(i) * 0.0004)
        }
        let svg = LiveTrace.svg(points, title: "Trajet")
        Self.checkWellFormed(svg)
        #expect(svg.components(separatedBy: "class=\"trace-fix\"").count == 51)
        #expect(svg.utf8.count < 16_000, "small enough to refresh every few seconds")
    }
}
