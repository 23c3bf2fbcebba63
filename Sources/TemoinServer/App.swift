import Foundation
import HTTPTypes
public import Hummingbird
public import Logging
import ServiceLifecycle
import TemoinFanout
package import TemoinCore
import TemoinCrypto
public import TemoinLedger
package import TemoinIngest
import TemoinAPI

/// Read-only access for the public endpoints, through the service's read side: requests read
/// concurrently, each on a connection of its own, never behind a commit.
struct PublicLog: Sendable {
    let reader: LedgerReader

    func checkpoint() throws(TemoinError) -> [UInt8] { try reader.latestCheckpoint().bytes }
    func proof(index: UInt64, size: UInt64?) throws(TemoinError) -> [UInt8] {
        try reader.proof(index: index, size: size).bytes
    }
    func consistency(first: UInt64, second: UInt64) throws(TemoinError) -> [Hash] {
        try reader.consistencyProof(first: first, second: second)
    }
    func logKeyTransitions() throws(TemoinError) -> LogKeyTransitionsResponse {
        LogKeyTransitionsResponse(
            transitions: try reader.logKeyTransitions().map {
                .init(
                    index: $0.index, entry: Base64.encode($0.entry),
                    proof: String(decoding: $0.proof.bytes, as: UTF8.self))
            })
    }
}

/// Closes alerts left open past the limit, and erases those past the retention period (if one is
/// set), until the service shuts down.
struct AlertSweeper: Service {
    let service: DeviceService
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await service.closeExpiredAlerts(now: systemClock(), logger: logger)
            await service.applyRetention(now: systemClock(), logger: logger)
            try? await cancelWhenGracefulShutdown {
                try await Task.sleep(for: .seconds(service.configuration.sweepSeconds))
            }
        }
    }
}

/// Sends the outbox's texts until the service shuts down (Docs/fanout.md).
struct FanoutService: Service {
    let dispatcher: FanoutDispatcher

    func run() async throws {
        await cancelWhenGracefulShutdown { await dispatcher.run() }
        await dispatcher.gateway.shutdown()
    }
}

/// Tests of crashes only (Docs/testing.md): `TEMOIN_TEST_FANOUT_CRASH=after-prepare` or
/// `after-send` kills the service with SIGKILL at that step of the first text it sends, as a
/// power cut would. Unset (always, in production), nothing happens.
enum FanoutStepCrash {
    static func fromEnvironment() -> (@Sendable (FanoutDispatcher.Step) -> Bool)? {
        guard let raw = ProcessInfo.processInfo.environment["TEMOIN_TEST_FANOUT_CRASH"],
            let step = FanoutDispatcher.Step(rawValue: raw)
        else { return nil }
        return { reached in
            if reached == step { kill(getpid(), SIGKILL) }
            return false
        }
    }
}

/// The Témoin service: what `temoin serve` runs and what tests drive over loopback.
public enum TemoinService {

    /// Assembles the application: opens the ledger for writing (the one writer), the ingestor,
    /// the public log, the routes and the alert sweeper. `onRunning` gets the bound port.
    public static func buildApplication(
        directory: DataDirectory, configuration: ServiceConfiguration, logger: Logger,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws -> some ApplicationProtocol {
        try configuration.validate()
        try directory.checkSecretPermissions()
        // Every blob is sealed with its alert's key: a folder made before encryption at rest is
        // converted first (`temoin migrate`).
        _ = try directory.loadMasterKey()
        let writer = try LedgerWriter(directory: directory)
        let reader = try LedgerReader(directory: directory, connections: configuration.readConnections)
        let ingestor = try AudioIngestor(
            writer: writer, reader: reader, limits: configuration.audio, faults: configuration.storageFaults)
        let service = DeviceService(
            writer: writer, ingestor: ingestor,
            limiter: RateLimiter(perMinute: configuration.requestsPerMinute),
            quota: ByteQuota(bytesPerHour: configuration.deviceBytesPerHour), metrics: ServiceMetrics(),
            configuration: configuration)
        let router = try buildRouter(
            directory: directory, service: service, publicLog: PublicLog(reader: reader), logger: logger)
        // What a restarted service reports before its first append.
        service.metrics.ledgerSize.set(Double(await writer.size))
        // The fan-out: texts to trusted contacts, woken by every commit that opens an alert.
        let gateway = configuration.smsGateway ?? LogGateway(logger: logger)
        let dispatcher = FanoutDispatcher(
            writer: writer, reader: reader, gateway: gateway, settings: configuration.fanout,
            logger: logger, stepHook: FanoutStepCrash.fromEnvironment())
        await writer.observeOpenings { [dispatcher] in dispatcher.wake() }
        let deadlines = configuration.deadlines
        return Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [RequestDeadlineHandler(deadlines: deadlines), ReceiveBufferLimit()],
                    httpDecoderConfiguration: .init(
                        maxHeaderFieldSize: 16 * 1024, maxHeaderListSize: 32 * 1024, maxHeaderFieldCount: 100))),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port), serverName: "temoin"),
            services: [AlertSweeper(service: service, logger: logger), FanoutService(dispatcher: dispatcher)],
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? configuration.port
                logger.info(
                    "listening",
                    metadata: ["host": "\(configuration.host)", "port": "\(port)", "origin": "\(writer.origin)"])
                do {
                    let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
                    try directory.writeServiceURL("http://\(host):\(port)")
                } catch {
                    logger.error("cannot write service.url", metadata: ["error": "\(error)"])
                }
                await onRunning(port)
            },
            logger: logger
        )
    }

    /// Every route: device, public, operations and administration.
    static func buildRouter(
        directory: DataDirectory, service: DeviceService, publicLog: PublicLog, logger: Logger
    ) throws -> Router<BasicRequestContext> {
        let (router, known) = buildRouter(service: service, publicLog: publicLog)
        AdminAPI(
            tokenHash: SHA256.hash(Array(try directory.loadOrCreateAdminToken().utf8)), service: service,
            publicLog: publicLog
        )
        .addRoutes(to: router)
        let staff = StaffAPI(
            service: service, reader: publicLog.reader,
            authenticator: StaffAuthenticator(
                reader: publicLog.reader,
                failures: AuthenticationFailures(
                    perMinute: service.configuration.staffAuthFailuresPerMinute,
                    burst: max(1, service.configuration.staffAuthFailuresPerMinute / 2)),
                perAccount: StaffRequestLimiter(perMinute: service.configuration.staffRequestsPerMinute),
                metrics: service.metrics, logger: logger),
            heavy: BlockingIO(threads: 1, name: "temoin-staff", niceness: 10),
            exports: ThreadTaskExecutor(name: "temoin-exports", niceness: 10)
        )
        staff.addRoutes(to: router)
        // The staff console: pages over the same operations (Docs/console.md).
        Console(api: staff, sessions: ConsoleSessions(), resources: try ConsoleResources.load()).addRoutes(to: router)
        try LivePage(service: service, reader: publicLog.reader, logger: logger).addRoutes(to: router)
        // Learnt once every route is registered (the administration's too).
        known.learn(router.routes.map { ($0.method.rawValue, $0.path.description) })
        return router
    }

    static func buildRouter(service: DeviceService, publicLog: PublicLog) -> (Router<BasicRequestContext>, KnownRoutes)
    {
        let router = Router(context: BasicRequestContext.self)
        let known = KnownRoutes()
        router.middlewares.add(ProblemMiddleware(known: known))
        let maximumBody = service.configuration.maximumBodyBytes
        @Sendable func counted<T>(_ body: () async throws -> T) async throws -> T {
            try await Reply.counted(service.metrics, body)
        }

        // Operations.
        router.get("healthz") { _, _ in
            try Reply.json(.ok, ["status": "ok", "origin": service.writer.origin])
        }
        router.get("metrics") { _, _ in
            Reply.text(service.metrics.registry.emitToBuffer(), "text/plain; version=0.0.4; charset=utf-8")
        }

        // Public: checkpoints and proofs, never entry bytes.
        router.get("v1/checkpoint") { _, _ in Reply.text(try publicLog.checkpoint()) }
        router.get("v1/proofs/inclusion") { request, _ in
            let query = try Query(request, required: ["index"], optional: ["size"])
            return Reply.text(try publicLog.proof(index: query.numbers["index"]!, size: query.numbers["size"]))
        }
        router.get("v1/proofs/consistency") { request, _ in
            let query = try Query(request, required: ["first", "second"], optional: [])
            let first = query.numbers["first"]!, second = query.numbers["second"]!
            let proof = try publicLog.consistency(first: first, second: second)
            return try Reply.json(
                .ok, ["first": "\(first)", "second": "\(second)", "proof": proof.map(\.base64).joined(separator: " ")])
        }

        // A phone holding an older log key follows these to the key that signs now.
        router.get("v1/proofs/log-keys") { _, _ in try Reply.json(.ok, try publicLog.logKeyTransitions()) }

        // Device API: write-only.
        router.put("v1/alerts/:alert") { request, context in
            try await counted {
                let alert = try DeviceService.parseAlert(context.parameters.require("alert"))
                let (created, receipt) = try await service.open(
                    alert: alert, Reply.decode(OpenAlertRequest.self, request))
                return try Reply.json(created ? .created : .ok, receipt)
            }
        }
        router.put("v1/alerts/:alert/chunks/:seq") { request, context in
            try await counted {
                let alert = try DeviceService.parseAlert(context.parameters.require("alert"))
                guard
                    let seq = StrictDecimal.parse(
                        try context.parameters.require("seq"), max: DeviceStatement.maximumSequence)
                else {
                    throw TemoinError(
                        .chunkBadSeq,
                        "the sequence number is a decimal from 0 to \(DeviceStatement.maximumSequence)")
                }
                let format = try mediaType(request.headers[.contentType])
                guard let captured = request.headers[HTTPField.Name(ChunkHeader.capturedAt)!],
                    let signature = request.headers[HTTPField.Name(ChunkHeader.signature)!]
                else {
                    throw TemoinError(
                        .chunkMissingHeader, "a chunk needs Temoin-Captured-At and Temoin-Signature headers")
                }
                // Everything that can be checked without the body is checked before it is read:
                // headers, and that the alert exists, so no one buffers megabytes for nothing.
                let capturedAt = try DeviceService.parseTime(captured, "Temoin-Captured-At")
                let signatureBytes = try DeviceService.parseSignature(signature)
                let isFinal = try parseFinal(request.headers[HTTPField.Name(ChunkHeader.final)!])
                if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maximumBody {
                    throw TemoinError(.inputTooLarge, category: .usage, "the chunk is larger than \(maximumBody) bytes")
                }
                let device = try await service.device(of: alert)
                let body = try await Reply.bytes(of: request, upTo: maximumBody)
                let timing = ChunkTiming()
                let (status, receipt) = try await service.putChunk(
                    alert: alert, device: device, seq: seq, body: body, format: format,
                    capturedAt: capturedAt, signature: signatureBytes, isFinal: isFinal, timing: timing)
                var response = try Reply.json(status, receipt)
                if service.configuration.serverTiming {
                    response.headers[HTTPField.Name("Server-Timing")!] = timing.serverTimingHeader
                }
                return response
            }
        }
        router.post("v1/alerts/:alert/locations") { request, context in
            try await counted {
                let alert = try DeviceService.parseAlert(context.parameters.require("alert"))
                let (created, receipt) = try await service.addLocation(
                    alert: alert, Reply.decode(LocationRequest.self, request))
                return try Reply.json(created ? .created : .ok, receipt)
            }
        }
        router.post("v1/alerts/:alert/close") { request, context in
            try await counted {
                let alert = try DeviceService.parseAlert(context.parameters.require("alert"))
                let (created, receipt) = try await service.close(
                    alert: alert, Reply.decode(CloseAlertRequest.self, request))
                return try Reply.json(created ? .created : .ok, receipt)
            }
        }
        return (router, known)
    }

    /// Small helpers shared by the routes.
    enum Reply {
        /// A request's body as one array of exactly its size, refused past `limit` (413). Collecting
        /// into a `ByteBuffer` first would keep a second, doubled copy alive while the chunk waits
        /// for a CPU (measured with heaptrack: 26 MB of 48 at 100 phones).
        static let reservedBodyBytes = 1 << 20

        static func bytes(of request: Request, upTo limit: Int) async throws -> [UInt8] {
            var bytes = [UInt8]()
            // Reserved from the announced length, up to what a usual chunk takes: a client that
            // announces megabytes and sends nothing does not buy the memory.
            if let length = request.headers[.contentLength].flatMap({ Int($0) }) {
                bytes.reserveCapacity(min(max(0, length), limit, Self.reservedBodyBytes))
            }
            for try await part in request.body {
                guard part.readableBytes <= limit - bytes.count else {
                    throw HTTPError(.contentTooLarge)
                }
                part.withUnsafeReadableBytes { bytes.append(contentsOf: $0) }
            }
            return bytes
        }

        static func json(_ status: HTTPResponse.Status, _ value: some Encodable) throws -> Response {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return Response(
                status: status, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
        }

        static func text(_ bytes: [UInt8], _ type: String = "text/plain; charset=utf-8") -> Response {
            Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }

        static func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
            let body = try await request.body.collect(upTo: 64 * 1024)
            return try JSONDecoder().decode(T.self, from: Data(buffer: body))
        }

        static func counted<T>(_ metrics: ServiceMetrics, _ body: () async throws -> T) async throws -> T {
            do { return try await body() } catch {
                metrics.refused.increment()
                throw error
            }
        }
    }

    /// `Temoin-Final`: absent or `false`, or `true` for the alert's last chunk.
    package static func parseFinal(_ header: String?) throws(TemoinError) -> Bool {
        switch header {
        case nil, "false": return false
        case "true": return true
        default: throw TemoinError(.chunkBadHeader, "Temoin-Final is true or false")
        }
    }

    /// A query string of decimal parameters, read strictly: every parameter named, once, as a
    /// canonical decimal that fits a ledger index (0 to 2^63 − 1); anything else is `query.bad`.
    package struct Query {
        package var numbers: [String: UInt64] = [:]

        init(_ request: Request, required: Set<String>, optional: Set<String>) throws(TemoinError) {
            try self.init(raw: request.uri.query ?? "", required: required, optional: optional)
        }

        /// `raw` is the query string after `?` (empty when there is none).
        package init(raw: String, required: Set<String>, optional: Set<String>) throws(TemoinError) {
            let allowed = required.union(optional)
            let usage =
                required.sorted().map { "\($0)=N" }.joined(separator: "&")
                + optional.sorted().map { " (optionally &\($0)=N)" }.joined()
            for pair in raw.split(separator: "&", omittingEmptySubsequences: false) where !(raw.isEmpty && pair.isEmpty)
            {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(kv[0])
                guard allowed.contains(name) else {
                    throw TemoinError(.queryBad, "unknown query parameter '\(name.prefix(64))'; give ?\(usage)")
                }
                guard numbers[name] == nil else { throw TemoinError(.queryBad, "\(name) is given twice") }
                guard kv.count == 2, let value = StrictDecimal.parse(kv[1]) else {
                    throw TemoinError(.queryBad, "\(name) is a decimal from 0 to \(Int64.max)")
                }
                numbers[name] = value
            }
            for name in required where numbers[name] == nil {
                throw TemoinError(.queryBad, "\(name) is missing; give ?\(usage)")
            }
        }
    }

    /// The chunk formats a device may send, from its Content-Type.
    package static func mediaType(_ header: String?) throws(TemoinError) -> OriginalFormat {
        guard let header else { throw TemoinError(.audioUnsupportedMedia, "a chunk needs a Content-Type") }
        let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        let type = parts.first?.lowercased() ?? ""
        var parameters: [String: String] = [:]
        for p in parts.dropFirst() {
            let kv = p.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { parameters[kv[0].lowercased()] = String(kv[1]) }
        }
        switch type {
        case "audio/wav", "audio/wave", "audio/x-wav", "audio/vnd.wave":
            return .wav
        case "audio/l16":
            guard let rate = parameters["rate"].flatMap({ StrictDecimal.parse($0, max: 48000) }), rate >= 8000 else {
                throw TemoinError(.audioUnsupportedMedia, "audio/L16 needs a rate parameter from 8000 to 48000")
            }
            guard let channels = parameters["channels"].map({ StrictDecimal.parse($0, max: 2) }) ?? 1, channels >= 1
            else {
                throw TemoinError(.audioUnsupportedMedia, "audio/L16 has 1 or 2 channels")
            }
            return .l16(sampleRate: Int(rate), channels: Int(channels), bigEndian: true)
        case "audio/ogg", "audio/opus":
            return .oggOpus
        default:
            throw TemoinError(
                .audioUnsupportedMedia,
                "chunks are audio/wav, audio/L16;rate=…;channels=… or audio/ogg (Opus)")
        }
    }
}
