import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import TemoinServer
import TemoinAudio
import TemoinRecording
import TemoinCore
import TemoinCrypto
import TemoinDevice
import TemoinLedger
import TemoinExport
import TemoinTestSupport
import Testing

struct DeviceAPITests {
    @Test func aWholeAlertGetsVerifiedReceiptsIncludedInTheLogAndAnAuditedLedger() async throws {
        let s = try await LiveServer()
        let c = s.client()
        let a = LiveServer.alert()
        var receipts = [try await c.openAlert(a, openedAt: LiveServer.t0)]
        receipts.append(try await c.addLocation(a, fix: "geo:48.8566,2.3522;u=15", capturedAt: LiveServer.t0))
        for seq in 0..<3 {
            receipts.append(
                try await c.putChunk(
                    a, seq: UInt64(seq), wav: LiveServer.chunk(seq), capturedAt: LiveServer.at(seq), isFinal: seq == 2))
        }
        receipts.append(try await c.closeAlert(a, lastSeq: 2, closedAt: LiveServer.at(3)))
        #expect(receipts.allSatisfy { $0.status == "appended" })
        for r in receipts { _ = try await c.verifyInclusion(of: r) }
        #expect(await c.checkpoints.count >= 6)
        let recording = try s.reader().recording(alert: a)
        #expect(recording.durationSamples == 3 * 48000)
        #expect(try Auditor(directory: s.directory).run().passed)
        await s.stop()
    }

    @Test func anAlertCanBeOpenedWithItsFirstLocationWhoseFixStaysOutOfTheLedger() async throws {
        let s = try await LiveServer()
        let c = s.client()
        let a = LiveServer.alert()
        _ = try await c.openAlert(a, openedAt: LiveServer.t0, firstFix: "geo:45.764,4.8357;u=30")
        let entries = try s.reader().entries(alert: a).map(\.entry)
        #expect(entries.map(\.kind) == [.alertOpened, .location])
        #expect(!entries[1].bytes.contains(UInt8(ascii: ",")), "no coordinates in the ledger, only a commitment")
        await s.stop()
    }

    @Test(.tags(.process)) func anOggOpusChunkFromThePhoneIsKeptAsReceived() async throws {
        let s = try await LiveServer()
        let c = s.client()
        let a = LiveServer.alert()
        _ = try await c.openAlert(a, openedAt: LiveServer.t0)
        let dir = s.root.appendingPathComponent("ogg")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(LiveServer.chunk(0)).write(to: dir.appendingPathComponent("in.wav"))
        _ = try await runProcess(
            "opusenc",
            ["--quiet", dir.appendingPathComponent("in.wav").path, dir.appendingPathComponent("c.opus").path])
        let ogg = try [UInt8](Data(contentsOf: dir.appendingPathComponent("c.opus")))
        let signature = try s.chunkSignature(alert: a, seq: 0, capturedAt: LiveServer.at(0), bytes: ogg)
        let (status, body) = try await s.raw(
            "PUT", "v1/alerts/\(a)/chunks/0", body: Data(ogg),
            headers: [
                "Content-Type": "audio/ogg", "Temoin-Captured-At": LiveServer.at(0).description,
                "Temoin-Signature": signature, "Temoin-Final": "true",
            ])
        #expect(status == 201, "\(body)")
        let entry = try #require(try s.reader().entries(alert: a).map(\.entry).first { $0.kind == .audioChunk })
        #expect(entry["original-format"] == "ogg-opus")
        #expect(
            try LedgerReader(directory: s.directory).blob(alert: a, hash: entry.hash("original-sha256")!) == ogg,
            "the original is kept as received")
        let recording = try s.reader().recording(alert: a)
        #expect(abs(recording.durationSamples - 48000) <= 960)
        await s.stop()
    }

    @Test func theSameChunkTwiceGetsTheSameReceiptAndStoresNothingNew() async throws {
        let s = try await LiveServer()
        let c = s.client()
        let a = LiveServer.alert()
        _ = try await c.openAlert(a, openedAt: LiveServer.t0)
        let first = try await c.putChunk(
            a, seq: 0, wav: LiveServer.chunk(0), capturedAt: LiveServer.at(0), isFinal: false)
        let size = try s.size()
        let again = try await c.putChunk(
            a, seq: 0, wav: LiveServer.chunk(0), capturedAt: LiveServer.at(0), isFinal: false)
        #expect(again.status == "duplicate")
        #expect(again.receipt == first.receipt)
        #expect(try s.size() == size)
        let reopened = try await c.openAlert(a, openedAt: LiveServer.t0)
        #expect(reopened.status == "duplicate")
        await s.stop()
    }

    @Test func differentBytesForAStoredChunkAreKeptInQuarantineAndRecorded() async throws {
        let s = try await LiveServer()
        let c = s.client()
        let a = LiveServer.alert()
        _ = try await c.openAlert(a, openedAt: LiveServer.t0)
        let kept = try await c.putChunk(
            a, seq: 0, wav: LiveServer.chunk(0), capturedAt: LiveServer.at(0), isFinal: false)
        let other = LiveServer.chunk(0, variant: 1)
        let conflict = try await c.putChunk(a, seq: 0, wav: other, capturedAt: LiveServer.at(0), isFinal: false)
        #expect(conflict.status == "conflict")
        #expect(conflict.keptIndex == kept.index)
        let entry = try s.reader().entry(at: conflict.index).parsed()
        #expect(entry.kind == .chunkConflict)
        #expect(try LedgerReader(directory: s.directory).blob(alert: a, hash: SHA256.hash(other)) == other)
        let (status, _) = try await s.raw(
            "PUT", "v1/alerts/\(a)/chunks/0", body: Data(other),
            headers: [
                "Content-Type": "audio/wav", "Temoin-Captured-At": LiveServer.at(0).description,
                "Temoin-Signature": try s.chunkSignature(alert: a, seq: 0, capturedAt: LiveServer.at(0), bytes: other),
            ])
        #expect(status == 409)
        #expect(try Auditor(directory: s.directory).run().passed)
        await s.stop()
    }

    @Test func anUnknownDeviceOrABadSignatureIsRefusedAndNothingIsStored() async throws {
        let s = try await LiveServer()
        let a = LiveServer.alert()
        let size = try s.size()
        let stranger = s.client(key: try Ed25519PrivateKey.generate())
        await #expect { _ = try await stranger.openAlert(a, openedAt: LiveServer.t0) } throws: {
            ($0 as? ServerProblem)?.status == 403
        }
        let body =
            #"{"device":"\#(DeviceID.derive(publicKey: s.phone.publicKey))","openedAt":"\#(LiveServer.t0)","signature":"\#(Base64.encode([UInt8](repeating: 1, count: 64)))"}"#
        let (status, problem) = try await s.raw(
            "PUT", "v1/alerts/\(a)", body: Data(body.utf8), headers: ["Content-Type": "application/json"])
        #expect(status == 401)
        #expect(problem.contains("statement.bad-signature"))
        // A statement signed for another alert cannot be replayed on this one.
        let c = s.client()
        _ = try await c.openAlert(a, openedAt: LiveServer.t0)
        let sizeAfterOpen = try s.size()
        let signature = try s.phone.sign(
            DeviceStatement(
                kind: .audioChunk, origin: "test.example/service", alert: LiveServer.alert(9), seq: 0,
                capturedAt: LiveServer.at(0), sha256: SHA256.hash(LiveServer.chunk(0))
            ).bytes)
        let (replayed, _) = try await s.raw(
            "PUT", "v1/alerts/\(a)/chunks/0", body: Data(LiveServer.chunk(0)),
            headers: [
                "Content-Type": "audio/wav", "Temoin-Captured-At": LiveServer.at(0).description,
                "Temoin-Signature": Base64.encode(signature),
            ])
        #expect(replayed == 401)
        #expect(try s.size() == sizeAfterOpen)
        #expect(sizeAfterOpen == size + 1)
        await s.stop()
    }

    @Test func chunksArrivingOutOfOrderAreEncodedInOrder() async throws {
        let s = try await LiveServer()
        let c = s.client()
        let a = LiveServer.alert()
        _ = try await c.openAlert(a, openedAt: LiveServer.t0)
        async let late = c.putChunk(a, seq: 1, wav: LiveServer.chunk(1), capturedAt: LiveServer.at(1), isFinal: false)
        try await Task.sleep(for: .milliseconds(200))
        let zero = try await c.putChunk(
            a, seq: 0, wav: LiveServer.chunk(0), capturedAt: LiveServer.at(0), isFinal: false)
        let one = try await late
        #expect(zero.index < one.index)
        #expect(try s.reader().recording(alert: a).missing.isEmpty)
        await s.stop()
    }

    @Test func aGapIsRecordedAfterTheSilenceAndALateChunkIsStillAccepted() async throws {
        let s = try await LiveServer { $0.audio.reorderWait = .milliseconds(300) }
        let c = s.client()
        let a = LiveServer.alert()
        _ = try await c.openAlert(a, openedAt: LiveServer.t0)
        _ = try await c.putChunk(a, seq: 0, wav: LiveServer.chunk(0), capturedAt: LiveServer.at(0), isFinal: false)
        _ = try await c.putChunk(a, seq: 2, wav: LiveServer.chunk(2), capturedAt: LiveServer.at(2), isFinal: false)
        let kinds = try s.reader().entries(alert: a).map(\.entry.kind)
        #expect(kinds == [.alertOpened, .audioChunk, .chunkMissing, .audioChunk])
        #expect(try s.reader().recording(alert: a).missing == [1...1])
        let late = try await c.putChunk(
            a, seq: 1, wav: LiveServer.chunk(1), capturedAt: LiveServer.at(1), isFinal: false)
        #expect(late.status == "appended")
        _ = try await c.closeAlert(a, lastSeq: 2, closedAt: LiveServer.at(3))
        let afterClose = try await c.putChunk(
            a, seq: 3, wav: LiveServer.chunk(3), capturedAt: LiveServer.at(3), isFinal: true)
        #expect(afterClose.status == "appended", "evidence is never turned away, even after close")
        #expect(try s.reader().recording(alert: a).missing.isEmpty)
        #expect(try Auditor(directory: s.directory).run().passed)
        await s.stop()
    }

    @Test func closingRecordsTheChunksThatNeverCame() async throws {
        let s = try await LiveServer()
        let c = s.client()
        let a = LiveServer.alert()
        _ = try await c.openAlert(a, openedAt: LiveServer.t0)
        _ = try await c.putChunk(a, seq: 0, wav: LiveServer.chunk(0), capturedAt: LiveServer.at(0), isFinal: false)
        _ = try await c.closeAlert(a, lastSeq: 4, closedAt: LiveServer.at(5))
        let missing = try s.reader().entries(alert: a).map(\.entry).first { $0.kind == .chunkMissing }
        #expect(missing?.uint("first-seq") == 1)
        #expect(missing?.uint("last-seq") == 4)
        #expect(missing?["reason"] == "closed")
        let again = try await c.closeAlert(a, lastSeq: 4, closedAt: LiveServer.at(5))
        #expect(again.status == "duplicate")
        await s.stop()
    }

    @Test(.tags(.slow), .notInFastRuns) func theServerClosesAnAlertLeftOpenPastTheLimit() async throws {
        let s = try await LiveServer {
            $0.maximumAlertSeconds = 1
            $0.sweepSeconds = 1
        }
        let c = s.client()
        let a = LiveServer.alert()
        _ = try await c.openAlert(a, openedAt: LiveServer.t0)
        var closed: Entry?
        for _ in 0..<150 where closed == nil {
            try await Task.sleep(for: .milliseconds(100))
            closed = try s.reader().entries(alert: a).map(\.entry).first { $0.kind == .alertClosed }
        }
        #expect(closed?["closed-by"] == "server")
        #expect(closed?["reason"] == "timeout")
        await s.stop()
    }
}

struct StorageFailureTests {
    @Test func aStorageFailureIsA503WithoutReceiptAndTheRetrySucceeds() async throws {
        let faults = StorageFaults()
        let s = try await LiveServer { $0.storageFaults = faults }
        let c = s.client()
        let a = LiveServer.alert()
        _ = try await c.openAlert(a, openedAt: LiveServer.t0)
        let wav = LiveServer.chunk(0)
        let signature = try s.chunkSignature(alert: a, seq: 0, capturedAt: LiveServer.at(0), bytes: wav)
        let headers = [
            "Content-Type": "audio/wav", "Temoin-Captured-At": LiveServer.at(0).description,
            "Temoin-Signature": signature,
        ]
        let size = try s.size()
        faults.failNext(1, with: .diskFull)
        var (status, body) = try await s.raw("PUT", "v1/alerts/\(a)/chunks/0", body: Data(wav), headers: headers)
        #expect(status == 503)
        #expect(body.contains("fs.disk-full") && !body.contains("receipt"))
        #expect(try s.size() == size)
        faults.failNext(1, with: .fsyncFailure)
        // The device client retries through 5xx answers: it gets its receipt once storage works again.
        let r = try await c.putChunk(a, seq: 0, wav: wav, capturedAt: LiveServer.at(0), isFinal: false)
        #expect(r.status == "appended")
        (status, body) = try await s.raw("PUT", "v1/alerts/\(a)/chunks/0", body: Data(wav), headers: headers)
        #expect(status == 200)
        await s.stop()
    }
}

struct LimitsAndPublicAPITests {
    @Test func oversizedChunksUnknownMediaAndFloodsAreRefusedWithProblems() async throws {
        let s = try await LiveServer {
            $0.maximumBodyBytes = 40_000
            $0.requestsPerMinute = 4
        }
        let c = s.client()
        let a = LiveServer.alert()
        _ = try await c.openAlert(a, openedAt: LiveServer.t0)
        let wav = LiveServer.chunk(0) + [UInt8](repeating: 0, count: 20_000)
        let signature = try s.chunkSignature(alert: a, seq: 0, capturedAt: LiveServer.at(0), bytes: wav)
        let headers = ["Temoin-Captured-At": LiveServer.at(0).description, "Temoin-Signature": signature]
        var (status, body) = try await s.raw(
            "PUT", "v1/alerts/\(a)/chunks/0", body: Data(wav),
            headers: headers.merging(["Content-Type": "audio/wav"]) { $1 })
        #expect(status == 413, "\(body)")
        (status, body) = try await s.raw(
            "PUT", "v1/alerts/\(a)/chunks/0", body: Data([1, 2, 3]),
            headers: headers.merging(["Content-Type": "video/mp4"]) { $1 })
        #expect(status == 415)
        #expect(body.contains("\"type\":\"urn:temoin:problem:audio.unsupported-media\""))
        // A flood of genuine, signed requests from the enrolled phone is limited (only verified
        // devices are counted: forged requests are refused before, HostileClientTests).
        let genuine = LiveServer.chunk(0)
        let genuineSignature = try s.chunkSignature(alert: a, seq: 0, capturedAt: LiveServer.at(0), bytes: genuine)
        var statuses = [Int]()
        for _ in 0..<6 {
            (status, _) = try await s.raw(
                "PUT", "v1/alerts/\(a)/chunks/0", body: Data(genuine),
                headers: [
                    "Temoin-Captured-At": LiveServer.at(0).description, "Temoin-Signature": genuineSignature,
                    "Content-Type": "audio/wav",
                ])
            statuses.append(status)
        }
        #expect(statuses.contains(429))
        (status, body) = try await s.raw(
            "PUT", "v1/alerts/\(a)", body: Data("{not json".utf8), headers: ["Content-Type": "application/json"])
        #expect(status == 400)
        #expect(body.contains("json.invalid"))
        await s.stop()
    }

    @Test func publicEndpointsServeCheckpointsAndProofsButNeverEntries() async throws {
        let s = try await LiveServer()
        let c = s.client()
        let a = LiveServer.alert()
        let opened = try await c.openAlert(a, openedAt: LiveServer.t0)
        var (status, body) = try await s.raw("GET", "v1/checkpoint")
        #expect(status == 200)
        let checkpoint = try SignedCheckpoint(parsing: Array(body.utf8))
        try checkpoint.verify(key: s.created.verifierKey, using: Ed25519())
        (status, body) = try await s.raw("GET", "v1/proofs/inclusion?index=\(opened.index)")
        #expect(status == 200)
        let proof = try TlogProof(parsing: Array(body.utf8))
        #expect(proof.index == opened.index)
        (status, _) = try await s.raw("GET", "v1/proofs/inclusion?index=999")
        #expect(status == 400)
        (status, body) = try await s.raw("GET", "v1/proofs/consistency?first=1&second=\(checkpoint.checkpoint.size)")
        #expect(status == 200)
        for path in ["v1/entries/0", "v1/alerts/\(a)", "v1/alerts/\(a)/chunks/0", "v1/blobs"] {
            (status, _) = try await s.raw("GET", path)
            #expect(status == 404 || status == 405, "\(path) must not return evidence")
        }
        (status, body) = try await s.raw("GET", "healthz")
        #expect(status == 200 && body.contains("ok"))
        (status, body) = try await s.raw("GET", "metrics")
        #expect(body.contains("temoin_chunks_total"))
        #expect(body.contains("temoin_ledger_entries"))
        await s.stop()
    }

    @Test func plainHTTPBindsToLoopbackUnlessExplicitlyAllowed() {
        var c = ServiceConfiguration()
        c.host = "0.0.0.0"
        #expect(throws: TemoinError.self) { try c.validate() }
        c.allowNonLoopback = true
        #expect(throws: Never.self) { try c.validate() }
    }
}

/// DESIGN §3: a phone's own Opus stream, sent as Ogg pages chunk by chunk, is kept packet for packet.
@Suite(.tags(.process))
struct PhoneOpusStreamTests {
    static func opusenc(_ s: LiveServer, seconds: Int) throws -> [UInt8] {
        let dir = s.root.appendingPathComponent("ogg-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let wav = (0..<seconds).flatMap { seq -> [UInt8] in
            let a = try! WAV.parse(LiveServer.chunk(seq))
            return Array(a.data)
        }
        try Data(WAV.encode(format: try PCMFormat(encoding: .signed16, sampleRate: 16000, channels: 1), data: wav[...]))
            .write(to: dir.appendingPathComponent("in.wav"))
        _ = try runProcess(
            "opusenc",
            [
                "--quiet", "--max-delay", "200", dir.appendingPathComponent("in.wav").path,
                dir.appendingPathComponent("o.opus").path,
            ])
        return try [UInt8](Data(contentsOf: dir.appendingPathComponent("o.opus")))
    }

    func put(_ s: LiveServer, _ a: AlertID, _ seq: Int, _ bytes: [UInt8], final: Bool) async throws -> Int {
        let signature = try s.chunkSignature(alert: a, seq: seq, capturedAt: LiveServer.at(seq), bytes: bytes)
        return try await s.raw(
            "PUT", "v1/alerts/\(a)/chunks/\(seq)", body: Data(bytes),
            headers: [
                "Content-Type": "audio/ogg", "Temoin-Captured-At": LiveServer.at(seq).description,
                "Temoin-Signature": signature,
                "Temoin-Final": final ? "true" : "false",
            ]
        ).0
    }

    @Test func chunksContinuingOneStreamAreKeptAsSentAndTheRecordingHoldsThePhonesPackets() async throws {
        let s = try await LiveServer()
        let a = LiveServer.alert()
        _ = try await s.client().openAlert(a, openedAt: LiveServer.t0)
        let file = try Self.opusenc(s, seconds: 3)
        let pages = OggDemux.pages(file)
        #expect(pages.count >= 6)
        // Headers and the first audio pages, then the rest in two chunks, as a phone streams them.
        let cuts = [0, 4, 4 + (pages.count - 4) / 2, pages.count]
        for i in 0..<3 {
            #expect(try await put(s, a, i, Array(pages[cuts[i]..<cuts[i + 1]].joined()), final: i == 2) == 201)
        }
        let chunks = try s.reader().entries(alert: a).map(\.entry).filter { $0.kind == .audioChunk }
        #expect(
            chunks.allSatisfy { $0["codec"]?.hasPrefix("opus-phone ") == true }, "\(chunks.map { $0["codec"] ?? "" })")
        let recording = try s.reader().recording(alert: a)
        var phonePackets = try OggDemux.packets(file)
        phonePackets.removeFirst(2)
        var recorded = try OggDemux.packets(recording.bytes)
        recorded.removeFirst(2)
        #expect(recorded == phonePackets, "the phone's packets, byte for byte")
        #expect(abs(recording.durationSamples - 3 * 48000) <= 960)
        #expect(try Auditor(directory: s.directory).run().passed)
        await s.stop()
    }

    @Test func aChunkThatDoesNotContinueTheStreamIsReEncoded() async throws {
        let s = try await LiveServer()
        let a = LiveServer.alert()
        _ = try await s.client().openAlert(a, openedAt: LiveServer.t0)
        let first = try Self.opusenc(s, seconds: 1), other = try Self.opusenc(s, seconds: 1)
        #expect(try await put(s, a, 0, first, final: false) == 201)
        #expect(try await put(s, a, 1, other, final: true) == 201, "a new stream (OpusHead again) is still accepted")
        let chunks = try s.reader().entries(alert: a).map(\.entry).filter { $0.kind == .audioChunk }
        #expect(chunks[0]["codec"]?.hasPrefix("opus-phone ") == true)
        #expect(chunks[1]["codec"]?.hasPrefix("opus application=voip") == true)
        #expect(abs(try s.reader().recording(alert: a).durationSamples - 2 * 48000) <= 2000)
        await s.stop()
    }
}

/// A stolen enrolled phone cannot fill the disk: its bytes per rolling hour are bounded.
struct StorageQuotaServiceTests {
    func put(_ s: LiveServer, _ a: AlertID, _ seq: Int, _ bytes: [UInt8]) async throws -> (Int, String, String?) {
        let (status, body, retryAfter, _) = try await putWithHeaders(s, a, seq, bytes)
        return (status, body, retryAfter)
    }

    @Test func aDeviceOverItsHourlyBytesIsRefusedWith429AndNothingIsStored() async throws {
        let chunk = LiveServer.chunk(0).count
        let s = try await LiveServer {
            $0.maximumBodyBytes = 40_000
            $0.audio.maximumChunkBytes = 40_000
            $0.deviceBytesPerHour = 3 * chunk + chunk / 2
        }
        let a = LiveServer.alert()
        _ = try await s.client().openAlert(a, openedAt: LiveServer.t0)
        var (status, body, retry) = try await put(s, a, 0, LiveServer.chunk(0))
        #expect(status == 201, "\(body)")
        // A retried chunk stores nothing and costs nothing.
        for _ in 0..<3 { #expect(try await put(s, a, 0, LiveServer.chunk(0)).0 == 200) }
        for seq in 1...2 { #expect(try await put(s, a, seq, LiveServer.chunk(seq)).0 == 201) }
        let size = try s.size()
        (status, body, retry) = try await put(s, a, 3, LiveServer.chunk(3))
        #expect(status == 429)
        #expect(body.contains("\"code\":\"quota.device-bytes\""))
        #expect(
            (retry.flatMap { Int($0) } ?? 0) > 60, "Retry-After says when the bytes will be there: \(retry ?? "none")")
        #expect(try s.size() == size, "nothing stored")
        // What was accepted is still answered.
        #expect(try await put(s, a, 1, LiveServer.chunk(1)).0 == 200)
        await s.stop()
    }
}

/// A receipt says where the chunk's time went (W3C Server Timing), stage by stage in order, so an
/// operator or the phone's logs can tell the cost of the path from a wait for a CPU.
struct ServerTimingTests {
    @Test func withServerTimingOnAReceiptCarriesItsStagesInOrderAndARepeatOnlyWhatItWentThrough() async throws {
        let s = try await LiveServer { $0.serverTiming = true }
        let a = LiveServer.alert()
        _ = try await s.client().openAlert(a, openedAt: LiveServer.t0)
        let put = StorageQuotaServiceTests()
        let bytes = LiveServer.chunk(0)
        let (status, _, _, timing) = try await put.putWithHeaders(s, a, 0, bytes)
        #expect(status == 201)
        let stages = try #require(timing).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(
            stages.map { String($0.prefix { $0 != ";" }) } == ["verify", "order", "queue", "encode", "store", "commit"])
        for stage in stages {
            let duration = try #require(stage.split(separator: ";").last.map(String.init))
            #expect(duration.hasPrefix("dur="))
            #expect(Double(duration.dropFirst(4)).map { $0 >= 0 } == true, "\(stage)")
        }
        let encode = try #require(Double(stages[3].split(separator: "=").last ?? ""))
        #expect(encode > 0, "a 5 s chunk takes some time to encode")
        // A repeat is answered from the ledger: it is verified and found, never encoded again.
        let (again, _, _, repeated) = try await put.putWithHeaders(s, a, 0, bytes)
        #expect(again == 200)
        #expect(repeated?.contains("encode") == false)
        #expect(repeated?.hasPrefix("verify;dur=") == true)
        await s.stop()
    }

    @Test func byDefaultAReceiptSaysNothingOfHowBusyTheServiceIs() async throws {
        let s = try await LiveServer()
        let a = LiveServer.alert()
        _ = try await s.client().openAlert(a, openedAt: LiveServer.t0)
        let (status, _, _, timing) = try await StorageQuotaServiceTests().putWithHeaders(s, a, 0, LiveServer.chunk(0))
        #expect(status == 201)
        #expect(timing == nil)
        await s.stop()
    }
}

extension StorageQuotaServiceTests {
    func putWithHeaders(
        _ s: LiveServer, _ a: AlertID, _ seq: Int, _ bytes: [UInt8]
    ) async throws -> (Int, String, String?, String?) {
        let signature = try s.chunkSignature(alert: a, seq: seq, capturedAt: LiveServer.at(seq), bytes: bytes)
        var request = URLRequest(url: URL(string: s.url.absoluteString + "/v1/alerts/\(a)/chunks/\(seq)")!)
        request.httpMethod = "PUT"
        request.httpBody = Data(bytes)
        request.setValue("audio/wav", forHTTPHeaderField: "Content-Type")
        request.setValue(LiveServer.at(seq).description, forHTTPHeaderField: "Temoin-Captured-At")
        request.setValue(signature, forHTTPHeaderField: "Temoin-Signature")
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        return (
            http.statusCode, String(decoding: data, as: UTF8.self), http.value(forHTTPHeaderField: "Retry-After"),
            http.value(forHTTPHeaderField: "Server-Timing")
        )
    }
}
