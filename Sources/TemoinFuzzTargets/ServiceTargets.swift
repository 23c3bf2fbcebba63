import Foundation
import TemoinCore
import TemoinCrypto
import TemoinLedger
import TemoinServer
import TemoinAPI
import TemoinIngest

enum ServiceTargets {
    /// Lines: Content-Type, query string, Temoin-Captured-At, Temoin-Signature, Temoin-Final,
    /// then the chunk body (read as the Content-Type says when it is audio/L16).
    static func httpFields(_ bytes: [UInt8]) throws(Broken) -> Outcome {
        var outcome = Outcome.refused
        var lines = bytes.split(separator: 0x0a, maxSplits: 5, omittingEmptySubsequences: false).map { Array($0) }
        while lines.count < 6 { lines.append([]) }
        func text(_ i: Int) -> String { String(decoding: lines[i], as: UTF8.self) }

        if let format = try? TemoinService.mediaType(text(0)) {
            outcome = .accepted
            if case .l16(let rate, let channels, let big) = format {
                try check(
                    PCMFormat.rates.contains(rate) && (1...2).contains(channels) && big,
                    "L16 rate \(rate) and channels \(channels) within bounds")
                if let d = try? format.decode(lines[5], maximumMicroseconds: AudioTargets.cap) {
                    try check(
                        d.samples.count == lines[5].count / (2 * channels) && d.rate == rate, "one sample per L16 frame"
                    )
                    try check(
                        d.durationMicroseconds == UInt64(d.samples.count) * 1_000_000 / UInt64(rate)
                            && d.durationMicroseconds <= AudioTargets.cap,
                        "L16 duration from the frame count, within the cap")
                    try check(d.samples.allSatisfy { $0.isFinite && $0 >= -1 && $0 <= 1 }, "L16 samples within [-1, 1]")
                }
            }
        }
        let raw = text(1)
        if let query = try? TemoinService.Query(raw: raw, required: ["index"], optional: ["size"]) {
            try check(
                query.numbers["index"] != nil && Set(query.numbers.keys).isSubset(of: ["index", "size"]),
                "only the named parameters")
            try check(query.numbers.values.allSatisfy { $0 <= UInt64(Int64.max) }, "query numbers fit a ledger index")
            let canonical = raw.split(separator: "&").allSatisfy { pair in
                let kv = pair.split(separator: "=", maxSplits: 1)
                return kv.count == 2 && query.numbers[String(kv[0])].map(String.init) == String(kv[1])
            }
            try check(
                canonical && raw.split(separator: "&", omittingEmptySubsequences: false).count == query.numbers.count,
                "each accepted parameter appears once, in its canonical spelling")
        }
        if let time = try? DeviceService.parseTime(text(2), "Temoin-Captured-At") {
            try check(
                time.description == text(2) && Timestamp.validRange.contains(time.millisecondsSinceEpoch),
                "one spelling per instant")
        }
        if let signature = try? DeviceService.parseSignature(text(3)) {
            try check(
                signature.count == 64 && Base64.encode(signature) == text(3),
                "a signature is 64 bytes in canonical base64")
        }
        if let final = try? TemoinService.parseFinal(text(4)) {
            try check(text(4) == (final ? "true" : "false"), "Temoin-Final is true or false")
        }
        return outcome
    }

    /// The first byte picks the route (open, location, close); the rest is the JSON body.
    static func deviceRequest(_ bytes: [UInt8]) throws(Broken) -> Outcome {
        guard let route = bytes.first else { return .refused }
        let body = Data(bytes.dropFirst())
        let decoder = JSONDecoder()
        var statements = [(DeviceStatement, [UInt8])]()
        var drafts = [EntryDraft]()
        switch route % 3 {
        case 0:
            guard let r = try? decoder.decode(OpenAlertRequest.self, from: body),
                let (opening, fix) = try? DeviceService.openingDraft(alert: Fixtures.alert, origin: Fixtures.origin, r)
            else { return .refused }
            try check(opening.draft.device == opening.device, "the opening names the device of the body")
            try check(opening.device.rawValue == r.device, "an accepted device id is the body's text")
            statements.append((opening.statement, opening.signature))
            drafts.append(opening.draft)
            if let fix, let request = r.location {
                statements.append((fix.statement, fix.signature))
                drafts.append(fix.draft)
                try location(request)
            }
        case 1:
            guard let r = try? decoder.decode(LocationRequest.self, from: body),
                let fix = try? DeviceService.locationDraft(alert: Fixtures.alert, origin: Fixtures.origin, r)
            else { return .refused }
            statements.append((fix.statement, fix.signature))
            drafts.append(fix.draft)
            try location(r)
        default:
            guard let r = try? decoder.decode(CloseAlertRequest.self, from: body),
                let closing = try? DeviceService.closingDraft(alert: Fixtures.alert, origin: Fixtures.origin, r)
            else { return .refused }
            try check(closing.lastSeq <= DeviceStatement.maximumSequence, "lastSeq within the device's range")
            statements.append((closing.statement, closing.signature))
            drafts.append(closing.draft)
        }
        // Whatever the parsers let through makes a valid entry: never a 500 at append time.
        for draft in drafts {
            let fields =
                draft.fields + [("prev", String(repeating: "0", count: 64)), ("time", "2026-11-29T17:00:20.412Z")]
            try check(
                (try? Entry(kind: draft.kind, fields)) != nil,
                "a draft from an accepted body makes a valid \(draft.kind.rawValue) entry")
        }
        // The device key verifies only the statements it genuinely signed, with its own signature.
        let publicKey = Fixtures.deviceKey.publicKey
        var outcome = Outcome.accepted
        for (statement, signature) in statements
        where Ed25519().isValid(signature: signature, of: statement.bytes, publicKey: publicKey) {
            try check(
                Fixtures.isTheSignature(signature, of: statement.bytes, by: Fixtures.deviceKey),
                "only the device's own signature verifies")
            outcome = .verified
        }
        return outcome
    }

    /// An accepted fix is an RFC 5870 geo URI within range, kept exactly as sent.
    static func location(_ r: LocationRequest) throws(Broken) {
        guard let fix = try? GeoURI(parsing: r.fix) else {
            throw Broken(invariant: "an accepted location has a valid fix")
        }
        try check(fix.text == r.fix && fix.text.utf8.count <= GeoURI.maximumLength, "the fix is kept as sent")
        try check((-90...90).contains(fix.latitude) && (-180...180).contains(fix.longitude), "coordinates within range")
        try check(fix.uncertainty.map { $0 >= 0 && $0.isFinite } ?? true, "uncertainty is a non-negative number")
    }
}
