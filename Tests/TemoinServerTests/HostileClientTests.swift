import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif
@testable import TemoinServer
import TemoinCore
import TemoinCrypto
import TemoinDevice
import TemoinLedger
import TemoinRecording
import TemoinTestSupport
import Testing

/// The service against the anonymous client and the enrolled phone of Docs/security.md: every
/// class of defect found by attacking it, tested as a class. Whatever is sent, the service answers
/// a 4xx problem document, stores nothing for a refused request, and keeps serving.
struct HostileClientTests {
    static let origin = "test.example/service"

    /// Every outside number (query values, sequence numbers, media parameters, JSON numbers) is
    /// parsed strictly and bounded: none can trap, none is silently ignored.
    @Test func outsideNumbersAreBoundedAndMalformedOnesAreRefused() async throws {
        let s = try await LiveServer()
        let a = LiveServer.alert()
        _ = try await s.client().openAlert(a, openedAt: LiveServer.t0)
        for query in [
            "index=0&size=9223372036854775808", "index=0&size=18446744073709551616", "index=0&size=-1",
            "index=0&size=abc",
            "index=0&size=", "index=0&size=01", "index=0&size=+1", "index=0&index=0", "index=0&bogus=1", "size=1", "",
            "index=99999999999999999999999",
        ] {
            let (status, body) = try await s.raw("GET", "v1/proofs/inclusion?\(query)")
            #expect(status == 400, "\(query): \(body)")
            #expect(body.contains("query.bad"), "\(query): \(body)")
        }
        for query in ["first=1&second=18446744073709551615", "first=1", "first=a&second=2", "first=1&second=2&third=3"]
        {
            let (status, body) = try await s.raw("GET", "v1/proofs/consistency?\(query)")
            #expect(status == 400, "\(query): \(body)")
        }
        // Sizes that parse but that the ledger does not have are 400s too, never a trap.
        let (tooBig, _) = try await s.raw("GET", "v1/proofs/inclusion?index=0&size=9223372036854775807")
        #expect(tooBig == 400)
        let (consistency, _) = try await s.raw("GET", "v1/proofs/consistency?first=1&second=9223372036854775807")
        #expect(consistency == 400)
        // Sequence numbers beyond the documented bound, in the path and in a close.
        let wav = LiveServer.chunk(0)
        for seq in ["1000000", "9223372036854775807", "18446744073709551616", "-1", "01", "1e3"] {
            let (status, body) = try await s.raw(
                "PUT", "v1/alerts/\(a)/chunks/\(seq)", body: Data(wav),
                headers: [
                    "Content-Type": "audio/wav", "Temoin-Captured-At": LiveServer.at(0).description,
                    "Temoin-Signature": Base64.encode([UInt8](repeating: 7, count: 64)),
                ])
            #expect(status == 400, "seq \(seq): \(body)")
            #expect(body.contains("chunk.bad-seq"), "seq \(seq): \(body)")
        }
        for lastSeq in ["18446744073709551615", "1000000", "-1", "1.5"] {
            let body =
                #"{"closedAt":"\#(LiveServer.at(1))","lastSeq":\#(lastSeq),"signature":"\#(Base64.encode([UInt8](repeating: 7, count: 64)))"}"#
            let (status, problem) = try await s.raw(
                "POST", "v1/alerts/\(a)/close", body: Data(body.utf8), headers: ["Content-Type": "application/json"])
            #expect(status == 400, "lastSeq \(lastSeq): \(problem)")
        }
        for type in [
            "audio/L16;rate=99999999999999999999", "audio/L16;rate=-16000",
            "audio/L16;rate=16000;channels=9223372036854775807",
            "audio/L16;rate=4000", "audio/L16;rate=16000;channels=0", "audio/L16",
        ] {
            let (status, body) = try await s.raw(
                "PUT", "v1/alerts/\(a)/chunks/0", body: Data([0, 0]),
                headers: [
                    "Content-Type": type, "Temoin-Captured-At": LiveServer.at(0).description,
                    "Temoin-Signature": Base64.encode([UInt8](repeating: 7, count: 64)),
                ])
            #expect(status == 415, "\(type): \(body)")
        }
        let (final, finalBody) = try await s.raw(
            "PUT", "v1/alerts/\(a)/chunks/0", body: Data(wav),
            headers: [
                "Content-Type": "audio/wav", "Temoin-Captured-At": LiveServer.at(0).description, "Temoin-Final": "yes",
                "Temoin-Signature": Base64.encode([UInt8](repeating: 7, count: 64)),
            ])
        #expect(final == 400, "\(finalBody)")
        let (health, _) = try await s.raw("GET", "healthz")
        #expect(health == 200, "the service is still up")
        await s.stop()
    }

    /// A small Ogg chunk of tiny packets that claim hours of audio is refused from the packets'
    /// TOC bytes, before anything is decoded: memory stays a small multiple of the body.
    @Test func aSmallChunkClaimingHoursOfAudioIsRefusedBeforeDecoding() async throws {
        let s = try await LiveServer()
        let c = s.client()
        let a = LiveServer.alert()
        _ = try await c.openAlert(a, openedAt: LiveServer.t0)
        // 120 ms CELT packets of zero-length frames (TOC 0xFB: config 31, code 3; 6 frames): 2 bytes each.
        let packets = [[UInt8]](repeating: [0xFB, 0x06], count: 50_000)
        let ogg = try OggOpus.mux(
            serial: 7, header: OggOpus.Header(inputRate: 48000, preSkip: 312, vendor: "hostile", comments: []),
            packets: packets, finalGranule: Int64(packets.count) * 5760)
        #expect(ogg.count < 200_000)
        let before = Self.peakResidentBytes()
        let signature = Base64.encode(
            try s.phone.sign(
                DeviceStatement(
                    kind: .audioChunk, origin: Self.origin, alert: a, seq: 0,
                    capturedAt: LiveServer.at(0), sha256: SHA256.hash(ogg)
                ).bytes))
        let (status, body) = try await s.raw(
            "PUT", "v1/alerts/\(a)/chunks/0", body: Data(ogg),
            headers: [
                "Content-Type": "audio/ogg", "Temoin-Captured-At": LiveServer.at(0).description,
                "Temoin-Signature": signature,
            ])
        #expect(status == 422, "\(body)")
        #expect(body.contains("audio.too-long"), "\(body)")
        let grown = Self.peakResidentBytes() - before
        #expect(grown < 128 << 20, "decoding 6000 s of samples would take gigabytes; peak grew by \(grown >> 20) MiB")
        #expect(try s.reader().entries(alert: a).count == 1, "nothing stored")
        await s.stop()
    }

    /// Unusable audio is a 422 whatever its kind: WAV, raw PCM, Ogg Opus.
    @Test func unusableAudioIsTheSameStatusForEveryFormat() async throws {
        let s = try await LiveServer()
        let a = LiveServer.alert()
        _ = try await s.client().openAlert(a, openedAt: LiveServer.t0)
        for (type, bytes) in [
            ("audio/wav", Array("RIFF\u{0}\u{0}\u{0}\u{0}WAVEjunk".utf8)),
            ("audio/ogg", Array("OggS".utf8) + [UInt8](repeating: 0, count: 40)),
            ("audio/L16;rate=16000", [1, 2, 3]), ("audio/ogg", Array("not ogg at all, really not".utf8)),
        ] {
            let signature = Base64.encode(
                try s.phone.sign(
                    DeviceStatement(
                        kind: .audioChunk, origin: Self.origin, alert: a, seq: 0,
                        capturedAt: LiveServer.at(0), sha256: SHA256.hash(bytes)
                    ).bytes))
            let (status, body) = try await s.raw(
                "PUT", "v1/alerts/\(a)/chunks/0", body: Data(bytes),
                headers: [
                    "Content-Type": type, "Temoin-Captured-At": LiveServer.at(0).description,
                    "Temoin-Signature": signature,
                ])
            #expect(status == 422, "\(type): \(body)")
        }
        await s.stop()
    }

    /// Requests that name made-up devices, or carry forged signatures, leave no state behind and
    /// spend no real device's quota: only verified devices are counted.
    @Test func unauthenticatedRequestsLeaveNoStateAndSpendNoQuota() async throws {
        let s = try await LiveServer { $0.requestsPerMinute = 3 }
        let c = s.client()
        let a = LiveServer.alert()
        let size = try s.size()
        for i in 0..<200 {
            let device = Hex.encode(SHA256.hash(Array("made up \(i)".utf8)).bytes.prefix(16))
            let body =
                #"{"device":"\#(device)","openedAt":"\#(LiveServer.t0)","signature":"\#(Base64.encode([UInt8](repeating: 1, count: 64)))"}"#
            let (status, _) = try await s.raw(
                "PUT", "v1/alerts/\(LiveServer.alert(i + 1))", body: Data(body.utf8),
                headers: ["Content-Type": "application/json"])
            #expect(status == 403)
        }
        let phoneDevice = DeviceID.derive(publicKey: s.phone.publicKey)
        for _ in 0..<10 {
            let body =
                #"{"device":"\#(phoneDevice)","openedAt":"\#(LiveServer.t0)","signature":"\#(Base64.encode([UInt8](repeating: 1, count: 64)))"}"#
            let (status, _) = try await s.raw(
                "PUT", "v1/alerts/\(a)", body: Data(body.utf8), headers: ["Content-Type": "application/json"])
            #expect(status == 401)
        }
        let receipt = try await c.openAlert(a, openedAt: LiveServer.t0)
        #expect(receipt.status == "appended", "forged requests did not spend the phone's quota")
        #expect(try s.size() == size + 1, "only the one genuine open was stored")
        await s.stop()
    }

    /// Identical requests sent at once yield exactly one entry each, and every caller the same
    /// receipt: opens, locations, closes.
    @Test func concurrentIdenticalRequestsYieldOneEntryAndOneReceipt() async throws {
        let s = try await LiveServer()
        let c = s.client()
        let a = LiveServer.alert()
        let opens = try await Self.concurrently(8) { try await c.openAlert(a, openedAt: LiveServer.t0) }
        #expect(Set(opens.map(\.receipt)).count == 1)
        #expect(opens.filter { $0.status == "appended" }.count == 1)
        let locations = try await Self.concurrently(8) {
            try await c.addLocation(a, fix: "geo:48.8566,2.3522;u=15", capturedAt: LiveServer.at(1))
        }
        #expect(Set(locations.map(\.receipt)).count == 1)
        _ = try await c.putChunk(a, seq: 0, wav: LiveServer.chunk(0), capturedAt: LiveServer.at(0), isFinal: true)
        let closes = try await Self.concurrently(8) {
            try await c.closeAlert(a, lastSeq: 3, closedAt: LiveServer.at(4))
        }
        #expect(Set(closes.map(\.receipt)).count == 1)
        let kinds = try s.reader().entries(alert: a).map(\.entry.kind)
        #expect(kinds.filter { $0 == .alertOpened }.count == 1)
        #expect(kinds.filter { $0 == .location }.count == 1)
        #expect(kinds.filter { $0 == .alertClosed }.count == 1)
        #expect(kinds.filter { $0 == .chunkMissing }.count == 1, "seq 1…3 recorded missing once")
        // The same signed fix posted again later is still the same statement.
        let again = try await c.addLocation(a, fix: "geo:48.8566,2.3522;u=15", capturedAt: LiveServer.at(1))
        #expect(again.status == "duplicate" && again.receipt == locations[0].receipt)
        #expect(try Auditor(directory: s.directory).run().passed)
        await s.stop()
    }

    /// A refused request stores nothing: an open whose first location is refused (bad fix, bad
    /// signature) leaves no `alert.opened`, and the retry stores both.
    @Test func anOpenWithARefusedLocationStoresNothing() async throws {
        let s = try await LiveServer()
        let a = LiveServer.alert()
        let device = DeviceID.derive(publicKey: s.phone.publicKey)
        let openSig = Base64.encode(
            try s.phone.sign(
                DeviceStatement(kind: .alertOpened, origin: Self.origin, alert: a, capturedAt: LiveServer.t0).bytes))
        func body(fix: String, signature: String? = nil) throws -> Data {
            let sig =
                try signature
                ?? Base64.encode(
                    s.phone.sign(
                        DeviceStatement(
                            kind: .location, origin: Self.origin, alert: a, capturedAt: LiveServer.t0,
                            sha256: SHA256.hash(Array(fix.utf8))
                        ).bytes))
            return Data(
                #"{"device":"\#(device)","openedAt":"\#(LiveServer.t0)","signature":"\#(openSig)","location":{"capturedAt":"\#(LiveServer.t0)","fix":"\#(fix)","signature":"\#(sig)"}}"#
                    .utf8)
        }
        let size = try s.size()
        var (status, problem) = try await s.raw(
            "PUT", "v1/alerts/\(a)", body: try body(fix: "geo:91,0"), headers: ["Content-Type": "application/json"])
        #expect(status == 400, "\(problem)")
        #expect(problem.contains("location.bad-fix"))
        (status, problem) = try await s.raw(
            "PUT", "v1/alerts/\(a)",
            body: try body(fix: "geo:45,4", signature: Base64.encode([UInt8](repeating: 9, count: 64))),
            headers: ["Content-Type": "application/json"])
        #expect(status == 401, "\(problem)")
        #expect(try s.size() == size, "nothing stored for refused opens")
        (status, problem) = try await s.raw(
            "PUT", "v1/alerts/\(a)", body: try body(fix: "geo:45.764,4.8357;u=30"),
            headers: ["Content-Type": "application/json"])
        #expect(status == 201, "\(problem)")
        #expect(try s.reader().entries(alert: a).map(\.entry.kind) == [.alertOpened, .location])
        (status, problem) = try await s.raw(
            "PUT", "v1/alerts/\(a)", body: try body(fix: "geo:45.764,4.8357;u=30"),
            headers: ["Content-Type": "application/json"])
        #expect(status == 200, "the same open again is a duplicate: \(problem)")
        #expect(try s.reader().entries(alert: a).count == 2)
        await s.stop()
    }

    /// Broken HTTP framing is the client's fault: a 4xx problem (or a plain 400 from the
    /// parser), never a 5xx that a phone would retry.
    @Test(.tags(.slow), .notInFastRuns) func malformedFramingIsAClientError() async throws {
        let s = try await LiveServer()
        let port = s.url.port!
        let path = "/v1/alerts/\(LiveServer.alert())"
        // (request, whether the client ends its side: a body shorter than announced is only
        // malformed once the stream ends; the others are answered, then closed, by the service).
        for (request, ends) in [
            ("PUT \(path) HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", false),
            ("PUT \(path) HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":1}", true),
            ("PUT \(path) HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc", true),
            ("GET /healthz HTTP/1.1\nHost: x\n\n", false),
            ("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", false),
            ("NONSENSE\r\n\r\n", false),
            (
                "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                false
            ),
        ] {
            let answer = try await RawHTTP.exchange(port: port, Array(request.utf8), halfClose: ends, wait: 40)
            let statusLine = answer.split(separator: "\r\n").first.map(String.init) ?? ""
            let code = Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0
            #expect((400..<500).contains(code), "\(request.debugDescription) → \(statusLine)")
        }
        let (health, _) = try await s.raw("GET", "healthz")
        #expect(health == 200)
        await s.stop()
    }

    /// A connection that sends nothing, or a request head in dribbles, is closed by the service.
    @Test(.tags(.slow), .notInFastRuns) func idleAndSlowConnectionsAreClosed() async throws {
        let s = try await LiveServer {
            $0.deadlines.head = .milliseconds(500)
            $0.deadlines.bodySilence = .milliseconds(500)
        }
        let port = s.url.port!
        // Nothing sent: closed by the service (not by the test's 20 s wait).
        #expect(try await RawHTTP.exchangeAndClose(port: port, [], halfClose: false, wait: 20).closed)
        // Half a head, then silence.
        #expect(
            try await RawHTTP.exchangeAndClose(
                port: port, Array("GET /healthz HTTP/1.1\r\nHo".utf8), halfClose: false, wait: 20
            ).closed)
        // A head, then a body that stalls.
        let stalled = try await RawHTTP.exchangeAndClose(
            port: port,
            Array("PUT /v1/alerts/\(LiveServer.alert()) HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{".utf8),
            halfClose: false, wait: 20)
        #expect(stalled.closed)
        #expect(!stalled.answer.hasPrefix("HTTP/1.1 2"), "\(stalled.answer)")
        // After a complete exchange, an idle keep-alive connection is closed too.
        let kept = try await RawHTTP.exchangeAndClose(
            port: port, Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8), halfClose: false, wait: 20)
        #expect(kept.answer.hasPrefix("HTTP/1.1 200"), "\(kept.answer)")
        #expect(kept.closed)
        await s.stop()
    }

    /// A request refused before its body ended cannot keep the connection by dribbling the rest:
    /// the whole-request deadline still runs. And a chunk for an alert that does not exist is
    /// refused from its headers, without waiting for (or buffering) its body.
    @Test(.tags(.slow), .notInFastRuns) func aRefusedRequestCannotDribbleItsBodyForEver() async throws {
        // Deadlines with margin for a loaded machine (the suite runs in parallel on 2 cores): the
        // refusal must come well within the whole-request deadline.
        let s = try await LiveServer {
            $0.deadlines.request = .seconds(15)
            $0.deadlines.bodySilence = .seconds(5)
        }
        let port = s.url.port!
        let head =
            "PUT /v1/alerts/\(LiveServer.alert(99))/chunks/0 HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\n"
            + "Temoin-Captured-At: \(LiveServer.at(0))\r\nTemoin-Signature: "
            + "\(Base64.encode([UInt8](repeating: 7, count: 64)))\r\n"
        // Declares 10 MB, sends none of it: the answer comes from the headers alone.
        let unknown = try await RawHTTP.exchangeAndClose(
            port: port, Array((head + "Content-Length: 10000000\r\n\r\n").utf8),
            halfClose: false, wait: 20)
        #expect(unknown.answer.hasPrefix("HTTP/1.1 404"), "\(unknown.answer)")
        #expect(unknown.closed, "closed by the deadlines, not by the test's wait")
        // A chunked body dribbled after the refusal: a one-byte chunk every 2 s, under the 5 s silence.
        let dribble = try await RawHTTP.dribble(
            port: port, head: Array((head + "Transfer-Encoding: chunked\r\n\r\n").utf8),
            piece: Array("1\r\na\r\n".utf8), every: 2, forAtMost: 40)
        #expect(dribble.closed, "closed by the whole-request deadline after \(dribble.seconds) s")
        #expect(dribble.seconds < 30)
        await s.stop()
    }

    /// A path the service knows, asked with another method: 405 with Allow, not 404.
    @Test func anUnregisteredMethodIsAnsweredWithAllow() async throws {
        let s = try await LiveServer()
        for (method, path, allowed) in [
            ("DELETE", "v1/checkpoint", "GET"), ("GET", "v1/alerts/\(LiveServer.alert())/chunks/3", "PUT"),
            ("POST", "v1/alerts/\(LiveServer.alert())", "PUT"), ("PUT", "healthz", "GET"),
        ] {
            var request = URLRequest(url: URL(string: s.url.absoluteString + "/" + path)!)
            request.httpMethod = method
            let (_, response) = try await URLSession.shared.data(for: request)
            let http = response as! HTTPURLResponse
            #expect(http.statusCode == 405, "\(method) \(path)")
            #expect(http.value(forHTTPHeaderField: "Allow") == allowed, "\(method) \(path)")
        }
        let (status, _) = try await s.raw("GET", "v1/nothing-here")
        #expect(status == 404)
        await s.stop()
    }

    /// Keys of small order (or not canonical) are refused at every enrollment; the metrics of a
    /// restarted service read the ledger's real size.
    @Test func smallOrderKeysCannotBeEnrolledAnywhere() async throws {
        let s = try await LiveServer()
        let token = try s.directory.loadOrCreateAdminToken()
        for key in HostileClientTests.smallOrderKeys {
            let body = #"{"publicKey":"\#(Base64.encode(key))"}"#
            let (status, problem) = try await s.raw(
                "POST", "v1/admin/devices", body: Data(body.utf8),
                headers: ["Content-Type": "application/json", "Authorization": "Bearer \(token)"])
            #expect(status == 400, "\(problem)")
            #expect(problem.contains("enroll.bad-key"), "\(problem)")
        }
        let (metrics, text) = try await s.raw("GET", "metrics")
        #expect(metrics == 200)
        #expect(text.contains("temoin_ledger_entries \(try s.size())"), "the gauge reads the ledger size from start-up")
        await s.stop()
    }

    /// The 8 points of small order, canonical and not, and non-canonical encodings of others.
    static let smallOrderKeys: [[UInt8]] = [
        "0100000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    ].map { Hex.decode($0)! }

    static func concurrently<T: Sendable>(
        _ n: Int, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> [T] {
        try await withThrowingTaskGroup(of: T.self) { group in
            for _ in 0..<n { group.addTask { try await body() } }
            var out = [T]()
            for try await r in group { out.append(r) }
            return out
        }
    }

    /// The process's peak resident memory so far.
    static func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        return usage.ru_maxrss * 1024
    }
}

/// Bytes straight onto a socket, for requests no HTTP client would send.
enum RawHTTP {
    /// Sends `head`, then `piece` every `every` seconds until the server closes or `forAtMost` passes.
    static func dribble(
        port: Int, head: [UInt8], piece: [UInt8], every: Double, forAtMost: Double
    ) async throws -> (closed: Bool, seconds: Double) {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(
                    with: Result {
                        let fd = try connected(port: port)
                        defer { close(fd) }
                        let start = Date()
                        _ = head.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                        while Date().timeIntervalSince(start) < forAtMost {
                            usleep(UInt32(every * 1_000_000))
                            let sent = piece.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                            if sent < 0 { return (true, Date().timeIntervalSince(start)) }
                            var probe = [UInt8](repeating: 0, count: 4096)
                            let n = recv(fd, &probe, probe.count, Int32(MSG_DONTWAIT))
                            if n == 0 { return (true, Date().timeIntervalSince(start)) }
                        }
                        return (false, forAtMost)
                    })
            }.start()
        }
    }

    static func connected(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard ok == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
        return fd
    }

    static func exchange(port: Int, _ bytes: [UInt8], halfClose: Bool = true, wait: Int = 5) async throws -> String {
        try await exchangeAndClose(port: port, bytes, halfClose: halfClose, wait: wait).answer
    }

    /// The answer, and whether the server closed the connection (rather than the wait running out).
    /// The blocking socket calls run on a thread of their own: the service under test needs the
    /// cooperative pool's few threads to answer.
    static func exchangeAndClose(
        port: Int, _ bytes: [UInt8], halfClose: Bool = true, wait: Int = 5
    ) async throws -> (answer: String, closed: Bool) {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(
                    with: Result { try blockingExchange(port: port, bytes, halfClose: halfClose, wait: wait) })
            }.start()
        }
    }

    static func blockingExchange(
        port: Int, _ bytes: [UInt8], halfClose: Bool, wait: Int
    ) throws -> (answer: String, closed: Bool) {
        let fd = try connected(port: port)
        defer { close(fd) }
        var timeout = timeval(tv_sec: wait, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if !bytes.isEmpty { _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
        if halfClose {
            // Give the service time to read what was sent before the end of the stream arrives:
            // a parser error found first is answered, an end found first just closes.
            usleep(2_000_000)
            shutdown(fd, Int32(SHUT_WR))
        }
        var answer = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        var closed = false
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 {
                closed = n == 0 || errno == ECONNRESET
                break
            }
            answer += buffer.prefix(n)
        }
        return (String(decoding: answer, as: UTF8.self), closed)
    }
}
