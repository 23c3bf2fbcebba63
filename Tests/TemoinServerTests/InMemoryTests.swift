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

    init() async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("temoin-memory-\(UUID().uuidString)")
        directory = DataDirectory(root.path)
        origin = try await Ledger.initialize(directory: directory, origin: "test.example/memory").origin
        let writer = try LedgerWriter(directory: directory)
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
            directory: directory, service: service, publicLog: PublicLog(reader: service.reader)
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
}
