import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOEmbedded
@testable import TemoinServer
import TemoinCore
import TemoinCrypto
import TemoinLedger
import TemoinIngest
import Testing

/// The same router, driven in memory: no socket, no HTTP parsing; requests go straight to the
/// responder, as HummingbirdTesting's router framework does.
struct InMemoryApp {
    let responder: Router<BasicRequestContext>.Responder
    let directory: DataDirectory
    let root: URL
    let phone: Ed25519PrivateKey
    let origin: String
    let writer: LedgerWriter

    init() async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("temoin-memory-\(UUID().uuidString)")
        directory = DataDirectory(root.path)
        origin = try await Ledger.initialize(directory: directory, origin: "test.example/memory").origin
        let writer = try LedgerWriter(directory: directory)
        self.writer = writer
        phone = try Ed25519PrivateKey.generate()
        _ = try await writer.append(
            EntryDraft(
                kind: .deviceEnrolled,
                [
                    ("device", DeviceID.derive(publicKey: phone.publicKey).rawValue),
                    ("device-key", Base64.encode(phone.publicKey)),
                ]))
        let service = DeviceService(
            writer: writer, ingestor: try AudioIngestor(writer: writer), limiter: RateLimiter(perMinute: 600),
            quota: ByteQuota(bytesPerHour: 1 << 30),
            metrics: ServiceMetrics(), configuration: ServiceConfiguration())
        responder = try TemoinService.buildRouter(
            directory: directory, service: service, publicLog: PublicLog(reader: service.reader),
            logger: Logger(label: "test")
        )
        .buildResponder()
    }

    struct Collector: ResponseBodyWriter {
        let box: Box
        final class Box: @unchecked Sendable { var bytes = [UInt8]() }
        mutating func write(_ buffer: ByteBuffer) async throws { box.bytes += Array(buffer: buffer) }
        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }

    func send(
        _ method: HTTPRequest.Method, _ path: String, headers: HTTPFields = [:], body: [UInt8] = []
    ) async throws -> (HTTPResponse.Status, HTTPFields, [UInt8]) {
        let request = Request(
            head: HTTPRequest(
                method: method, scheme: "http", authority: "localhost", path: path, headerFields: headers),
            body: RequestBody(buffer: ByteBuffer(bytes: body)))
        let context = BasicRequestContext(
            source: .init(channel: NIOAsyncTestingChannel(), logger: Logger(label: "test")))
        let response = try await responder.respond(to: request, context: context)
        let box = Collector.Box()
        try await response.body.write(Collector(box: box))
        return (response.status, response.headers, box.bytes)
    }
}

struct InMemoryTests {
    @Test func theDeviceAndPublicAPIsAnswerInMemory() async throws {
        let app = try await InMemoryApp()
        defer { try? FileManager.default.removeItem(at: app.root) }
        var (status, headers, body) = try await app.send(.get, "/healthz")
        #expect(status == .ok)
        let alert = AlertID(String(repeating: "4d", count: 16))!
        let at = Timestamp(millisecondsSinceEpoch: 1_795_971_600_000)
        let opened = try DeviceStatement(kind: .alertOpened, origin: app.origin, alert: alert, capturedAt: at)
        let json =
            #"{"device":"\#(DeviceID.derive(publicKey: app.phone.publicKey))","openedAt":"\#(at)","signature":"\#(Base64.encode(try app.phone.sign(opened.bytes)))"}"#
        (status, _, body) = try await app.send(
            .put, "/v1/alerts/\(alert)", headers: [.contentType: "application/json"], body: Array(json.utf8))
        #expect(status == .created, "\(String(decoding: body, as: UTF8.self))")
        (status, _, body) = try await app.send(
            .put, "/v1/alerts/\(alert)", headers: [.contentType: "application/json"], body: Array(json.utf8))
        #expect(status == .ok, "opening twice is harmless")
        (status, headers, body) = try await app.send(
            .put, "/v1/alerts/\(alert)/chunks/0", headers: [.contentType: "audio/wav"], body: [1, 2, 3])
        #expect(status == .badRequest)
        #expect(headers[.contentType] == "application/problem+json")
        #expect(String(decoding: body, as: UTF8.self).contains("chunk.missing-header"))
        (status, _, body) = try await app.send(.get, "/v1/checkpoint")
        #expect(status == .ok)
        #expect(try SignedCheckpoint(parsing: body).checkpoint.size == 4)
        (status, _, _) = try await app.send(.get, "/v1/nothing-here")
        #expect(status == .notFound)
    }

    /// Ids are parsed at the edge, once: a malformed alert id in any device route's path is
    /// `alert.bad-id` (400) and a malformed device id in an opening body is `device.unknown`
    /// (403, the same as an id that is not enrolled), each as a problem document.
    @Test func malformedIdsAtTheEdgeGetTheirProblemStatus() async throws {
        let app = try await InMemoryApp()
        defer { try? FileManager.default.removeItem(at: app.root) }
        func problem(_ body: [UInt8]) -> (status: Int?, code: String?) {
            let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any]
            return (object?["status"] as? Int, object?["code"] as? String)
        }
        let at = Timestamp(millisecondsSinceEpoch: 1_795_971_600_000)
        let device = DeviceID.derive(publicKey: app.phone.publicKey)
        let signature = Base64.encode([UInt8](repeating: 1, count: 64))
        let json = Array(#"{"device":"\#(device)","openedAt":"\#(at)","signature":"\#(signature)"}"#.utf8)
        let bad = [
            String(repeating: "4D", count: 16), String(repeating: "4d", count: 15) + "4",
            String(repeating: "4d", count: 17),
            String(repeating: "zz", count: 16), "not-an-id",
        ]
        for alert in bad {
            for (method, path, headers) in [
                (HTTPRequest.Method.put, "/v1/alerts/\(alert)", [HTTPField.Name.contentType: "application/json"]),
                (.put, "/v1/alerts/\(alert)/chunks/0", [.contentType: "audio/wav"]),
                (.post, "/v1/alerts/\(alert)/locations", [.contentType: "application/json"]),
                (.post, "/v1/alerts/\(alert)/close", [.contentType: "application/json"]),
            ] {
                let (status, headers, body) = try await app.send(
                    method, path, headers: HTTPFields(headers.map { HTTPField(name: $0.key, value: $0.value) }),
                    body: json)
                #expect(status == .badRequest, "\(method) \(path)")
                #expect(headers[.contentType] == "application/problem+json")
                #expect(problem(body).status == 400 && problem(body).code == "alert.bad-id", "\(path)")
            }
        }
        // A well-formed alert id that was never opened is unknown (404), not malformed.
        let (status, _, body) = try await app.send(
            .put, "/v1/alerts/\(String(repeating: "4d", count: 16))/chunks/0",
            headers: [
                .contentType: "audio/wav", HTTPField.Name("Temoin-Captured-At")!: at.description,
                HTTPField.Name("Temoin-Signature")!: Base64.encode([UInt8](repeating: 1, count: 64)),
            ], body: [1, 2, 3])
        #expect(status == .notFound && problem(body).code == "alert.unknown")
        // A device id that cannot be one is answered like one that is not enrolled.
        for device in [String(repeating: "AB", count: 16), String(repeating: "ab", count: 15), "", "ünïcödé"] {
            let opened = try DeviceStatement(
                kind: .alertOpened, origin: app.origin, alert: AlertID(String(repeating: "5e", count: 16))!,
                capturedAt: at)
            let signature = Base64.encode(try app.phone.sign(opened.bytes))
            let body = #"{"device":"\#(device)","openedAt":"\#(at)","signature":"\#(signature)"}"#
            let (status, headers, answer) = try await app.send(
                .put, "/v1/alerts/\(String(repeating: "5e", count: 16))", headers: [.contentType: "application/json"],
                body: Array(body.utf8))
            #expect(status == .forbidden, "\(device)")
            #expect(headers[.contentType] == "application/problem+json")
            #expect(problem(answer).status == 403 && problem(answer).code == "device.unknown")
        }
    }
}
