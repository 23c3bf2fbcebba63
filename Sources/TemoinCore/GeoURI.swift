/// An RFC 5870 `geo` URI, validated strictly: `geo:lat,lon[,alt][;crs=wgs84][;u=uncertainty][;name=value]…`.
///
/// - coordinates are decimal numbers (`-`? digits [`.` digits]); latitude within −90…90,
///   longitude within −180…180 (RFC 5870 §3.4.2); an altitude in metres, any sign;
/// - `crs`, when present, comes first and must be `wgs84` (the only one RFC 5870 defines);
/// - `u` (uncertainty, metres) comes next, at most once, a non-negative number;
/// - other parameters are `name[=value]` with names of letters, digits and `-` and values of
///   RFC 5870 `paramchar`s or percent-escapes; no parameter appears twice (case-insensitive);
/// - the whole URI is at most 256 bytes of printable ASCII.
///
/// The text is kept exactly as the phone signed it; parsing only decides whether it is valid.
public struct GeoURI: Sendable, Equatable {
    public let latitude: Double
    public let longitude: Double
    public let altitude: Double?
    public let uncertainty: Double?
    public let text: String

    public static let maximumLength = 256

    public init(parsing text: String) throws(TemoinError) {
        func bad(_ why: String) -> TemoinError {
            .init(.locationBadFix, "the fix must be an RFC 5870 geo URI (geo:lat,lon;u=accuracy): \(why)")
        }
        let bytes = Array(text.utf8)
        guard bytes.count <= GeoURI.maximumLength, bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw bad("at most \(GeoURI.maximumLength) printable ASCII characters")
        }
        guard bytes.count > 4, String(decoding: bytes.prefix(4), as: UTF8.self).lowercased() == "geo:" else {
            throw bad("it must start with geo:")
        }
        let parts = text.dropFirst(4).split(separator: ";", omittingEmptySubsequences: false)
        let coordinates = parts[0].split(separator: ",", omittingEmptySubsequences: false)
        guard (2...3).contains(coordinates.count) else { throw bad("two or three coordinates") }
        guard let lat = GeoURI.number(coordinates[0]), let lon = GeoURI.number(coordinates[1]) else {
            throw bad("coordinates are decimal numbers")
        }
        guard (-90...90).contains(lat) else { throw bad("latitude is within -90 and 90") }
        guard (-180...180).contains(lon) else { throw bad("longitude is within -180 and 180") }
        var alt: Double?
        if coordinates.count == 3 {
            guard let a = GeoURI.number(coordinates[2]) else { throw bad("the altitude is a decimal number") }
            alt = a
        }
        var seen = Set<String>()
        var u: Double?
        for (position, parameter) in parts.dropFirst().enumerated() {
            let kv = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = kv[0].lowercased()
            guard !name.isEmpty, name.utf8.allSatisfy({ GeoURI.isNameByte($0) }) else {
                throw bad("parameter names are letters, digits and -")
            }
            guard seen.insert(name).inserted else { throw bad("parameter \(name) appears twice") }
            let value = kv.count == 2 ? kv[1] : nil
            switch name {
            case "crs":
                guard position == 0 else { throw bad("crs comes first") }
                guard value?.lowercased() == "wgs84" else { throw bad("the only coordinate reference system is wgs84") }
            case "u":
                guard position == 0 || (position == 1 && seen.contains("crs")) else {
                    throw bad("u comes right after the coordinates (or crs)")
                }
                guard let value, !value.hasPrefix("-"), let v = GeoURI.number(value) else {
                    throw bad("u is a non-negative number of metres")
                }
                u = v
            default:
                if let value {
                    guard !value.isEmpty, GeoURI.isParameterValue(Array(value.utf8)) else {
                        throw bad("parameter \(name) has a malformed value")
                    }
                }
            }
        }
        latitude = lat
        longitude = lon
        altitude = alt
        uncertainty = u
        self.text = text
    }

    /// `-`? digits [`.` digits], at most 32 characters.
    static func number(_ s: Substring) -> Double? {
        let b = Array(s.utf8)
        guard !b.isEmpty, b.count <= 32 else { return nil }
        var i = b[0] == UInt8(ascii: "-") ? 1 : 0
        let digitsStart = i
        while i < b.count, isDigit(b[i]) { i += 1 }
        guard i > digitsStart else { return nil }
        if i < b.count {
            guard b[i] == UInt8(ascii: "."), i + 1 < b.count else { return nil }
            i += 1
            while i < b.count, isDigit(b[i]) { i += 1 }
            guard i == b.count else { return nil }
        }
        return Double(String(s))
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    static func isNameByte(_ c: UInt8) -> Bool {
        isDigit(c) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || c == UInt8(ascii: "-")
    }

    /// RFC 5870 `paramchar`: unreserved, `[]:&+$`, or a percent-escape.
    static func isParameterValue(_ b: [UInt8]) -> Bool {
        var i = 0
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "%") {
                guard i + 2 < b.count, isHexDigit(b[i + 1]), isHexDigit(b[i + 2]) else { return false }
                i += 3
                continue
            }
            let unreserved =
                isDigit(c) || (c | 0x20 >= UInt8(ascii: "a") && c | 0x20 <= UInt8(ascii: "z"))
                || "-._~[]:&+$".utf8.contains(c)
            guard unreserved else { return false }
            i += 1
        }
        return true
    }

    static func isHexDigit(_ c: UInt8) -> Bool {
        isDigit(c) || (c | 0x20 >= UInt8(ascii: "a") && c | 0x20 <= UInt8(ascii: "f"))
    }
}

extension GeoURI {
    /// The largest uncertainty and altitude (metres) the service takes from a phone: a fix less
    /// precise than 10 000 km says nothing, and a number beyond what renderers can print must not
    /// reach them. The parser itself stays as it was, so bundles already exported still verify.
    public static let plausibleLimit = 10_000_000.0

    /// Whether the fix's uncertainty and altitude are within `plausibleLimit`.
    public var isPlausible: Bool {
        (uncertainty.map { $0 <= Self.plausibleLimit } ?? true)
            && (altitude.map { abs($0) <= Self.plausibleLimit } ?? true)
    }
}

extension Int {
    /// The nearest `Int` to a `Double` from outside, saturating at the bounds (NaN is 0): the
    /// standard `Int(_:)` traps on a value out of range, and a trap is a crash of the service.
    public init(saturating value: Double) {
        if value.isNaN {
            self = 0
        } else if value >= 9.2e18 {
            self = Int.max
        } else if value <= -9.2e18 {
            self = Int.min
        } else {
            self = Int(value)
        }
    }
}
