import Foundation
import Hummingbird
import Logging
import TemoinFanout

#if canImport(Glibc)
import Glibc
#endif

/// What a fake provider does with the next request to one of its sending routes (`POST /send`,
/// `POST /1.0/sms/{service}/jobs`, `GET /1.0/sms/{service}/outgoing`).
enum FakeAnswer: Sendable, CustomStringConvertible {
    /// What a working provider answers (the relay: 202 with an id; OVHcloud: 200 with `ids`).
    case accept
    case status(Int, body: String = "", headers: [String: String] = [:])
    /// No answer at all until the fake stops.
    case hang
    /// A 200 head, then a body that never ends.
    case hangInBody

    var description: String {
        switch self {
        case .accept: return "accept"
        case .status(let code, let body, let headers): return "\(code) \(headers) \(body)"
        case .hang: return "hang"
        case .hangInBody: return "hang in body"
        }
    }
}

/// One request as the fake received it.
struct RecordedRequest: Sendable {
    let method: String
    let path: String
    let query: String?
    /// Lowercased names.
    let headers: [String: String]
    let body: [UInt8]

    var json: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }
}

/// The fake's memory: what it received, what it was told to answer, and what it accepted. Like a
/// real provider it drops repeats: a key (the relay's `Idempotency-Key`) it accepted before gets
/// the first answer again and is sent once.
actor FakeProviderState {
    private(set) var requests: [RecordedRequest] = []
    private var answers: [FakeAnswer] = []
    /// Idempotency key → the id it was accepted under.
    private(set) var sentKeys: [String: Int] = [:]
    /// OVHcloud: tag → ids of the texts sent with it.
    private(set) var outgoing: [String: [Int]] = [:]
    private var nextID = 1
    /// OVHcloud's clock minus ours, in seconds.
    var clockOffset: Int64 = 0
    /// OVHcloud: the secrets it checks signatures with.
    var applicationSecret = "fake-application-secret"
    var consumerKey = "fake-consumer-key"
    private var released = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// The next answers, in order; once they are used, `.accept`.
    func script(_ next: FakeAnswer...) { answers += next }
    func setClockOffset(_ seconds: Int64) { clockOffset = seconds }
    func setSecrets(applicationSecret: String, consumerKey: String) {
        self.applicationSecret = applicationSecret
        self.consumerKey = consumerKey
    }

    func record(_ r: RecordedRequest) { requests.append(r) }

    func nextAnswer() -> FakeAnswer { answers.isEmpty ? .accept : answers.removeFirst() }

    /// The id a key was accepted under, and whether it was new.
    func accept(key: String) -> (id: Int, new: Bool) {
        if let id = sentKeys[key] { return (id, false) }
        defer { nextID += 1 }
        sentKeys[key] = nextID
        return (nextID, true)
    }

    func sendOVH(tag: String) -> Int {
        defer { nextID += 1 }
        outgoing[tag, default: []].append(nextID)
        return nextID
    }

    func requests(to path: String) -> [RecordedRequest] { requests.filter { $0.path == path } }

    func waitForRelease() async {
        if released { return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        released = true
        for w in waiting { w.resume() }
        waiting = []
    }
}

/// A fake SMS provider on a free loopback port: a generic relay at `POST /send` and OVHcloud's
/// API under `/1.0` (time, signed jobs and outgoing texts, signatures checked as OVHcloud does).
final class FakeProvider: Sendable {
    static let service = "sms-ab12345-1"

    let state: FakeProviderState
    /// `http://127.0.0.1:PORT`.
    let base: String
    private let task: Task<Void, any Error>

    var relayURL: String { base + "/send" }
    var ovhEndpoint: String { base + "/1.0" }

    init() async throws {
        let state = FakeProviderState()
        self.state = state
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let router = Router()
        router.post("send") { request, _ in
            try await Self.relay(request, state: state)
        }
        router.get("1.0/auth/time") { request, _ in
            await state.record(try await Self.recorded(request))
            let now = Int64(Date().timeIntervalSince1970) + (await state.clockOffset)
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: String(now))))
        }
        let recordedBase = LockedBase()
        router.post("1.0/sms/:service/jobs") { request, _ in
            try await Self.ovhJobs(request, state: state, base: recordedBase.value)
        }
        router.get("1.0/sms/:service/outgoing") { request, _ in
            try await Self.ovhOutgoing(request, state: state, base: recordedBase.value)
        }
        var logger = Logger(label: "fake-provider")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) }, logger: logger)
        task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = ports.makeAsyncIterator()
        let port = await iterator.next()!
        base = "http://127.0.0.1:\(port)"
        recordedBase.set(base)
    }

    func stop() async {
        await state.release()
        task.cancel()
        _ = await task.result
    }

    /// Runs `body` with a fake provider, stopped afterwards whatever happens.
    static func with<T>(_ body: (FakeProvider) async throws -> T) async throws -> T {
        let fake = try await FakeProvider()
        do {
            let result = try await body(fake)
            await fake.stop()
            return result
        } catch {
            await fake.stop()
            throw error
        }
    }

    // MARK: Routes

    private static func recorded(_ request: Request) async throws -> RecordedRequest {
        var headers = [String: String]()
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        var request = request
        let body = try await request.collectBody(upTo: 1 << 20)
        return RecordedRequest(
            method: request.method.rawValue, path: request.uri.path, query: request.uri.query, headers: headers,
            body: Array(body.readableBytesView))
    }

    /// The relay: drops repeats of an `Idempotency-Key`, answering them as the first time.
    private static func relay(_ request: Request, state: FakeProviderState) async throws -> Response {
        let r = try await recorded(request)
        await state.record(r)
        switch await state.nextAnswer() {
        case .accept:
            let (id, new) = await state.accept(key: r.headers["idempotency-key"] ?? "")
            return json(new ? 202 : 200, #"{"id": "msg-\#(id)", "status": "Queued"}"#)
        case let other:
            return await respond(other, state: state)
        }
    }

    private static func ovhJobs(_ request: Request, state: FakeProviderState, base: String) async throws -> Response {
        let r = try await recorded(request)
        await state.record(r)
        if let refusal = await ovhRefusal(r, state: state, base: base) { return refusal }
        switch await state.nextAnswer() {
        case .accept:
            let job = r.json ?? [:]
            let id = await state.sendOVH(tag: job["tag"] as? String ?? "")
            let receivers = (job["receivers"] as? [String] ?? []).map { "\"\($0)\"" }.joined(separator: ",")
            return json(
                200,
                #"{"ids": [\#(id)], "invalidReceivers": [], "validReceivers": [\#(receivers)], "#
                    + #""totalCreditsRemoved": 1, "tag": "\#(job["tag"] as? String ?? "")"}"#)
        case let other:
            return await respond(other, state: state)
        }
    }

    private static func ovhOutgoing(
        _ request: Request, state: FakeProviderState, base: String
    ) async throws
        -> Response
    {
        let r = try await recorded(request)
        await state.record(r)
        if let refusal = await ovhRefusal(r, state: state, base: base) { return refusal }
        switch await state.nextAnswer() {
        case .accept:
            let tag = request.uri.queryParameters["tag"].map(String.init) ?? ""
            let ids = await state.outgoing[tag] ?? []
            return json(200, "[" + ids.map(String.init).joined(separator: ",") + "]")
        case let other:
            return await respond(other, state: state)
        }
    }

    /// OVHcloud's checks, in its words: a timestamp more than 30 s away from its clock, a wrong
    /// signature.
    private static func ovhRefusal(_ r: RecordedRequest, state: FakeProviderState, base: String) async -> Response? {
        let now = Int64(Date().timeIntervalSince1970) + (await state.clockOffset)
        guard let stamp = r.headers["x-ovh-timestamp"].flatMap({ Int64($0) }), abs(stamp - now) <= 30 else {
            return json(
                400, #"{"errorCode": "QUERY_TIME_OUT", "httpCode": "400 Bad Request", "message": "Query out of time"}"#)
        }
        let url = base + r.path + (r.query.map { "?" + $0 } ?? "")
        let expected = OVHGateway.signature(
            applicationSecret: await state.applicationSecret, consumerKey: await state.consumerKey, method: r.method,
            url: url, body: r.body, timestamp: stamp)
        guard r.headers["x-ovh-signature"] == expected, r.headers["x-ovh-consumer"] == (await state.consumerKey) else {
            return json(
                400,
                #"{"errorCode": "INVALID_SIGNATURE", "httpCode": "400 Bad Request", "message": "Invalid signature"}"#)
        }
        return nil
    }

    private static func respond(_ answer: FakeAnswer, state: FakeProviderState) async -> Response {
        switch answer {
        case .accept:
            return json(200, "{}")
        case .status(let code, let body, let headers):
            var fields = HTTPFields()
            for (name, value) in headers { fields[.init(name)!] = value }
            return Response(
                status: .init(code: code), headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
        case .hang:
            await state.waitForRelease()
            return json(503, "{}")
        case .hangInBody:
            return Response(
                status: .ok,
                body: .init { writer in
                    try await writer.write(ByteBuffer(string: #"{"id": "#))
                    await state.waitForRelease()
                    try await writer.finish(nil)
                })
        }
    }

    private static func json(_ code: Int, _ text: String) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        return Response(status: .init(code: code), headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The fake's own URL, known once it listens, for checking signatures over full URLs.
private final class LockedBase: @unchecked Sendable {
    private let lock = NSLock()
    private var text = ""
    var value: String { lock.withLock { text } }
    func set(_ v: String) { lock.withLock { text = v } }
}

/// Every log line, for checking what the gateways write.
final class CapturedLog: @unchecked Sendable {
    struct Line {
        let level: Logger.Level
        let message: String
        let metadata: Logger.Metadata
        var all: String {
            message + " " + metadata.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: " ")
        }
    }

    private let lock = NSLock()
    private var captured: [Line] = []

    var lines: [Line] { lock.withLock { captured } }

    func logger(level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: "test") { _ in Handler(log: self) }
        logger.logLevel = level
        return logger
    }

    fileprivate func append(_ line: Line) { lock.withLock { captured.append(line) } }

    private struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            log.append(
                Line(
                    level: event.level, message: "\(event.message)",
                    metadata: metadata.merging(event.metadata ?? [:]) { $1 }))
        }
    }
}
