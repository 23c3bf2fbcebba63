import Foundation
import TemoinCore
import Testing

/// Alert and device ids are parsed once, where text comes in: exactly 32 lowercase hex digits
/// (128 bits), the one spelling `EntryFieldType.id128` accepts; anything else is not an id.
struct IdentifierTests {
    static let valid = [
        "7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1e", "00000000000000000000000000000000", "ffffffffffffffffffffffffffffffff",
        "0123456789abcdef0123456789abcdef",
    ]
    static let invalid: [String] = [
        "",
        "7F3A9C2E5B8D4F1A0C6E2B9D8A7F3C1E", // uppercase
        "7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1E", // one uppercase digit
        "7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1", // 31
        "7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1e0", // 33
        "7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1g", // not hex
        "0x3a9c2e5b8d4f1a0c6e2b9d8a7f3c1e",
        "7f3a9c2e-5b8d-4f1a-0c6e-2b9d8a7f", // a UUID's dashes
        String(repeating: "\u{0663}", count: 32), // Arabic-Indic digits
        String(repeating: "\u{FF11}\u{FF41}", count: 16), // full-width digits and letters
        String(repeating: "\u{00E9}", count: 16), // 32 bytes of UTF-8, no digit
        " 7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1e", // leading space
        "7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1e\n", // trailing newline
        "7f3a9c2e5b8d4f1a 0c6e2b9d8a7f3c1", // inner space
        "7f3a9c2e5b8d4f1a\u{0}c6e2b9d8a7f3c1e", // NUL
        "../../../../../../../../etc/pass", // 32 characters that are a path
    ]

    @Test(arguments: valid)
    func thirtyTwoLowercaseHexDigitsAreAnId(text: String) throws {
        let alert = try #require(AlertID(text))
        let device = try #require(DeviceID(text))
        #expect(alert.rawValue == text && alert.description == text && "\(alert)" == text)
        #expect(device.rawValue == text && device.description == text)
        // A substring parses the same (a path component, a line of a file).
        #expect(AlertID(("x" + text + "y").dropFirst().dropLast()) == alert)
        #expect(EntryFieldType.id128.accepts(text))
    }

    @Test(arguments: invalid)
    func anythingElseIsNot(text: String) {
        #expect(AlertID(text) == nil)
        #expect(DeviceID(text) == nil)
        #expect(AlertID(text[...]) == nil)
        #expect(!EntryFieldType.id128.accepts(text))
    }

    @Test func losslessStringConvertibleAndOrderAreTheText() throws {
        func parse<T: LosslessStringConvertible>(_ text: String, as: T.Type) -> T? { T(text) }
        let a = try #require(parse("00000000000000000000000000000001", as: AlertID.self))
        let b = try #require(parse("0000000000000000000000000000000a", as: AlertID.self))
        #expect(a < b && !(b < a))
        #expect([b, a].sorted() == [a, b])
        #expect(parse("not an id", as: DeviceID.self) == nil)
        #expect(Set([a, AlertID(a.rawValue)!]).count == 1)
    }

    @Test func bytesMakeAnIdOnlyWhenThereAreSixteen() {
        let bytes = [UInt8](0..<16)
        #expect(DeviceID(bytes: bytes)?.rawValue == "000102030405060708090a0b0c0d0e0f")
        #expect(AlertID(bytes: bytes)?.rawValue == "000102030405060708090a0b0c0d0e0f")
        #expect(DeviceID(bytes: bytes.dropLast()) == nil)
        #expect(AlertID(bytes: bytes + [0]) == nil)
    }

    @Test func randomAlertIdsAreWellFormedAndDistinct() {
        let ids = (0..<100).map { _ in AlertID.random() }
        #expect(Set(ids).count == 100)
        #expect(ids.allSatisfy { AlertID($0.rawValue) == $0 })
    }

    struct Holder: Codable, Equatable {
        let alert: AlertID
        let device: DeviceID
    }

    @Test func codableEncodesThePlainTextAndDecodesItBack() throws {
        let holder = Holder(
            alert: AlertID("7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1e")!, device: DeviceID("0c6e2b9d8a7f3c1e7f3a9c2e5b8d4f1a")!)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(holder), as: UTF8.self)
        #expect(
            json == #"{"alert":"7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1e","device":"0c6e2b9d8a7f3c1e7f3a9c2e5b8d4f1a"}"#)
        #expect(try JSONDecoder().decode(Holder.self, from: Data(json.utf8)) == holder)
        #expect(
            try JSONDecoder().decode([AlertID].self, from: Data(#"["7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1e"]"#.utf8))
                == [holder.alert])
    }

    @Test(arguments: invalid)
    func decodingRefusesWhatIsNotAnId(text: String) throws {
        let json = try JSONEncoder().encode([text])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([AlertID].self, from: json) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([DeviceID].self, from: json) }
    }

    @Test func decodingRefusesWhatIsNotAStringWithAClearError() throws {
        for json in ["[7]", "[null]", "[[]]", #"[{"rawValue":"7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1e"}]"#] {
            #expect(throws: DecodingError.self) { try JSONDecoder().decode([AlertID].self, from: Data(json.utf8)) }
        }
        do {
            _ = try JSONDecoder().decode([DeviceID].self, from: Data(#"["ABC"]"#.utf8))
            Issue.record("an uppercase id was decoded")
        } catch let DecodingError.dataCorrupted(context) {
            #expect(context.debugDescription.contains("32 lowercase hex digits"))
        }
    }

    @Test func entriesGiveTheirIdsTyped() throws {
        let entry = try Entry(
            kind: .alertOpened,
            [
                ("alert", "7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1e"), ("prev", String(repeating: "ab", count: 32)),
                ("device", "0c6e2b9d8a7f3c1e7f3a9c2e5b8d4f1a"), ("opened-at", "2026-11-29T17:00:00.000Z"),
                ("statement-sig", "none"), ("time", "2026-11-29T17:00:00.412Z"),
            ])
        #expect(entry.alert == AlertID("7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1e"))
        #expect(entry.device == DeviceID("0c6e2b9d8a7f3c1e7f3a9c2e5b8d4f1a"))
        let genesisLike = try Entry(
            kind: .keyRotated, [("key-role", "export"), ("key", "k"), ("time", "2026-11-29T17:00:00.412Z")])
        #expect(genesisLike.alert == nil && genesisLike.device == nil)
    }
}
