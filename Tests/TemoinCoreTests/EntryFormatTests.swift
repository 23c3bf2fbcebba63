import TemoinCore
import TemoinCrypto
import Testing

/// The worked example of Docs/ledger-format.md, byte for byte.
enum WorkedExample {
    static let chunkFields: [(String, String)] = [
        ("alert", "7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1e"),
        ("prev", "4c5f0ea8c3d1f3c7a8b0a3f7e4f5d2c1b9a8e7f6d5c4b3a29180f7e6d5c4b3a2"),
        ("seq", "3"),
        ("capture-start", "2026-11-29T17:00:15.000Z"),
        ("duration-us", "5000000"),
        ("original-format", "wav"),
        ("original-sha256", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
        ("original-size", "160044"),
        ("opus-sha256", "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"),
        ("opus-packets", "250"),
        ("opus-bytes", "15312"),
        (
            "codec",
            "opus application=voip frame-ms=20 bitrate=24000 complexity=10 rate=16000 input-rate=16000 channels=1 "
                + "preskip=312"
        ),
        ("codec-library", "libopus 1.3.1"),
        ("statement-sig", "b2P1Zl+5f0oxC3mOwc3bq7yE2W0uS2tV0kC2hE1dZr2T3z0mUO0s5CwBvZJqGm3d8Ghh0r3jSNbPgHQpRk6UAQ=="),
        ("time", "2026-11-29T17:00:20.412Z"),
    ]

    static let chunkText = """
        temoin/entry/v1
        kind audio.chunk
        alert 7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1e
        prev 4c5f0ea8c3d1f3c7a8b0a3f7e4f5d2c1b9a8e7f6d5c4b3a29180f7e6d5c4b3a2
        seq 3
        capture-start 2026-11-29T17:00:15.000Z
        duration-us 5000000
        original-format wav
        original-sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
        original-size 160044
        opus-sha256 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752
        opus-packets 250
        opus-bytes 15312
        codec opus application=voip frame-ms=20 bitrate=24000 complexity=10 rate=16000 input-rate=16000 channels=1 preskip=312
        codec-library libopus 1.3.1
        statement-sig b2P1Zl+5f0oxC3mOwc3bq7yE2W0uS2tV0kC2hE1dZr2T3z0mUO0s5CwBvZJqGm3d8Ghh0r3jSNbPgHQpRk6UAQ==
        time 2026-11-29T17:00:20.412Z

        """

    /// `(printf '\0'; cat chunk.entry) | sha256sum`
    static let chunkLeafHash = "820907fd291ce836f5068c16feb2a897145d25b7eaed8bcf0f05b2484ec023f7"
}

struct EntryFormatTests {
    @Test func theWorkedExampleEncodesToTheDocumentedBytesAndLeafHash() throws {
        let entry = try Entry(kind: .audioChunk, WorkedExample.chunkFields)
        #expect(entry.bytes == Array(WorkedExample.chunkText.utf8))
        #expect(SHA256.merkle.leafHash(entry.bytes).hex == WorkedExample.chunkLeafHash)
        let parsed = try Entry(parsing: entry.bytes)
        #expect(parsed == entry)
        #expect(parsed.alert == AlertID("7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1e"))
        #expect(parsed.uint("seq") == 3)
        #expect(parsed.time.description == "2026-11-29T17:00:20.412Z")
    }

    @Test func fieldsGivenInAnyOrderEncodeInCanonicalOrder() throws {
        let shuffled = try Entry(kind: .audioChunk, WorkedExample.chunkFields.reversed())
        #expect(shuffled.bytes == Array(WorkedExample.chunkText.utf8))
    }

    @Test func everyKindHasTimeLastAndAlertKindsStartWithTheirChain() {
        for kind in EntryKind.allCases {
            #expect(kind.fields.last?.name == "time")
            if kind.belongsToAlert { #expect(kind.fields.prefix(2).map(\.name) == ["alert", "prev"]) }
            #expect(Set(kind.fields.map(\.name)).count == kind.fields.count)
        }
    }

    static let text = WorkedExample.chunkText
    @Test(arguments: [
        ("trailing garbage", text + "x"),
        ("no final newline", String(text.dropLast())),
        ("extra blank line", text + "\n"),
        ("wrong version", text.replacingOccurrences("temoin/entry/v1", "temoin/entry/v2")),
        ("unknown kind", text.replacingOccurrences("kind audio.chunk", "kind audio.clip")),
        ("uppercase hex", text.replacingOccurrences("alert 7f3a9c2e", "alert 7F3A9C2E")),
        ("leading zero", text.replacingOccurrences("seq 3", "seq 03")),
        ("negative", text.replacingOccurrences("seq 3", "seq -3")),
        ("non-canonical time", text.replacingOccurrences("2026-11-29T17:00:20.412Z", "2026-11-29T17:00:20.412+00:00")),
        ("impossible date", text.replacingOccurrences("2026-11-29T17:00:15", "2026-02-30T17:00:15")),
        (
            "swapped fields",
            text.replacingOccurrences("seq 3\ncapture", "capturX").replacingOccurrences(
                "duration-us", "seq 3\ncapture-start 2026-11-29T17:00:15.000Z\nduration-us")
        ),
        ("double space", text.replacingOccurrences("seq 3", "seq  3")),
        ("carriage return", text.replacingOccurrences("seq 3\n", "seq 3\r\n")),
        ("missing field", text.replacingOccurrences("opus-packets 250\n", "")),
        ("duplicate field", text.replacingOccurrences("seq 3\n", "seq 3\nseq 3\n")),
        ("non-canonical base64", text.replacingOccurrences("UAQ==", "UAR==")),
    ])
    func malformedEntriesAreRefused(_ name: String, _ text: String) {
        #expect(throws: TemoinError.self, "\(name)") { try Entry(parsing: Array(text.utf8)) }
    }

    /// A text value may begin with a combining mark or an emoji modifier (valid `text`: bytes
    /// without control characters, no space at either end), which joins the separating space in
    /// one grapheme cluster. Every entry built must parse back: a staff reason like this once
    /// made an alert's whole chain unreadable (`entry.field-order`) after it was stored.
    @Test(arguments: ["\u{301}Audience", "\u{1F3FB}\u{1A001}õ/", "e\u{301}", "\u{200D}x\u{301}"])
    func everyEntryBuiltParsesBackWhateverItsTextBeginsWith(_ reason: String) throws {
        let built = try Entry(
            kind: .access,
            [
                ("alert", "7f3a9c2e5b8d4f1a0c6e2b9d8a7f3c1e"), ("prev", String(repeating: "ab", count: 32)),
                ("actor", String(repeating: "0f", count: 16)), ("role", "legal"), ("action", "read-alert"),
                ("reason", reason), ("time", "2026-11-29T17:00:20.412Z"),
            ])
        let parsed = try Entry(parsing: built.bytes)
        #expect(parsed.bytes == built.bytes)
        #expect(parsed["reason"]?.unicodeScalars.elementsEqual(reason.unicodeScalars) == true)
    }

    @Test func invalidUTF8IsRefused() {
        var bytes = Array(WorkedExample.chunkText.utf8)
        bytes[bytes.count - 3] = 0xff
        #expect(throws: TemoinError.self) { try Entry(parsing: bytes) }
    }

    @Test func timestampsRoundTripAcrossLeapYearsAndCenturies() {
        for text in [
            "1970-01-01T00:00:00.000Z", "2000-02-29T23:59:59.999Z", "2024-12-31T12:00:00.001Z",
            "9999-12-31T23:59:59.999Z",
        ] {
            #expect(Timestamp(rfc3339: text)?.description == text)
        }
        #expect(Timestamp(rfc3339: "2026-11-29T17:00:20.412Z")?.millisecondsSinceEpoch == 1_795_971_620_412)
        #expect(Timestamp(rfc3339: "1900-02-29T00:00:00.000Z") == nil)
        #expect(Timestamp(rfc3339: "2026-11-29T24:00:00.000Z") == nil)
    }

    @Test func base64AndHexAcceptOnlyCanonicalText() {
        #expect(Base64.decode("YWJj") == Array("abc".utf8))
        #expect(Base64.decode("YWI=") == Array("ab".utf8))
        #expect(Base64.decode("YWJ=") == nil)
        #expect(Base64.decode("YWI") == nil)
        #expect(Base64.decode("YW=I") == nil)
        #expect(Base64.decode("Y WI=") == nil)
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 * 37 + n) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
            #expect(Hex.decode(Hex.encode(bytes)) == bytes)
        }
        #expect(Hex.decode("ABCD") == nil)
        #expect(Hex.decode("abc") == nil)
    }
}
