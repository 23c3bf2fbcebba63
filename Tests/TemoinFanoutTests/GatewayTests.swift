import Foundation
import Logging
import TemoinCore
import TemoinCrypto
@testable import TemoinFanout
import TemoinTestSupport
import Testing

/// The SMS gateways against fake providers over real HTTP on loopback (Docs/fanout.md, "Gateways"):
/// what each sends, byte for byte where it matters, and how every answer becomes an outcome.
@Suite struct GatewayTests {
    static let phone = PhoneNumber("+33612345678")!
    static let token = "tok-3f9a1c"
    static let key = "tmn-0123456789abcdef0123456789abcdef"
    static let link = "https://temoin.example/l/AbCdEfGhIjKlMnOpQrStUvWx"
    static let message = SMSMessage(
        to: phone, text: "Alerte Témoin : Marie a besoin d'aide. Suivre : \(link)", idempotencyKey: key)
    static let silent: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }()

    static func relay(
        _ fake: FakeProvider, timeout: Duration = .seconds(5), logger: Logger = silent
    ) throws
        -> HTTPGateway
    {
        HTTPGateway(
            settings: try HTTPGatewaySettings(url: fake.relayURL, token: try GatewaySecret(token), timeout: timeout),
            logger: logger)
    }

    static func ovh(
        _ fake: FakeProvider, sender: String? = nil, secret: String = "fake-application-secret"
    ) throws
        -> OVHGateway
    {
        OVHGateway(
            settings: try OVHGatewaySettings(
                endpoint: fake.ovhEndpoint, service: FakeProvider.service, sender: sender, applicationKey: "fake-ak",
                applicationSecret: try GatewaySecret(secret), consumerKey: try GatewaySecret("fake-consumer-key"),
                timeout: .seconds(5)),
            logger: silent)
    }

    /// Sends one message through a gateway, shut down afterwards.
    static func sending(_ gateway: some SMSGateway, _ message: SMSMessage = message) async -> SMSOutcome {
        let outcome = await gateway.send(message)
        await gateway.shutdown()
        return outcome
    }

    // MARK: HTTP

    @Test func theHTTPGatewayPostsTheNumberTextAndKeyAsJSONWithItsBearerToken() async throws {
        let log = CapturedLog()
        try await FakeProvider.with { fake in
            let gateway = try Self.relay(fake, logger: log.logger())
            let outcome = await Self.sending(gateway)
            #expect(outcome == .accepted(status: "queued", reference: "msg-1"))
            let requests = await fake.state.requests
            #expect(requests.count == 1)
            let r = try #require(requests.first)
            #expect(r.method == "POST" && r.path == "/send")
            #expect(r.headers["authorization"] == "Bearer \(Self.token)")
            #expect(r.headers["content-type"] == "application/json")
            #expect(r.headers["idempotency-key"] == Self.key)
            let body = try #require(r.json)
            #expect(body.keys.sorted() == ["idempotencyKey", "text", "to"])
            #expect(body["to"] as? String == "+33612345678")
            #expect(body["text"] as? String == Self.message.text)
            #expect(body["idempotencyKey"] as? String == Self.key)
            #expect(
                String(decoding: r.body, as: UTF8.self)
                    == #"{"idempotencyKey":"\#(Self.key)","text":"\#(Self.message.text)","to":"+33612345678"}"#)
        }
        // Its log, even at trace, holds neither the token nor the number.
        #expect(!log.lines.isEmpty)
        for line in log.lines {
            #expect(!line.all.contains(Self.token) && !line.all.contains("612345678"))
        }
    }

    @Test func aTextResentWithItsKeyReachesTheContactOnceThroughADeduplicatingProvider() async throws {
        try await FakeProvider.with { fake in
            let gateway = try Self.relay(fake)
            let first = await gateway.send(Self.message)
            let again = await gateway.send(Self.message)
            let other = await gateway.send(
                SMSMessage(
                    to: Self.phone, text: Self.message.text, idempotencyKey: "tmn-ffffffffffffffffffffffffffffffff"))
            await gateway.shutdown()
            #expect(first == .accepted(status: "queued", reference: "msg-1"))
            #expect(again == first)
            #expect(other == .accepted(status: "queued", reference: "msg-2"))
            #expect(await fake.state.requests.count == 3)
            #expect(await fake.state.sentKeys.count == 2)
        }
    }

    static let statusMappings: [(FakeAnswer, SMSOutcome)] = [
        (.status(500), .retry(reason: "http-500", after: nil)),
        (.status(502, body: "<html>Bad gateway</html>"), .retry(reason: "http-502", after: nil)),
        (.status(503, headers: ["Retry-After": "7"]), .retry(reason: "http-503", after: .seconds(7))),
        (.status(429, headers: ["Retry-After": "30"]), .retry(reason: "rate-limited", after: .seconds(30))),
        (.status(429, headers: ["Retry-After": "86400"]), .retry(reason: "rate-limited", after: .seconds(3600))),
        (.status(429), .retry(reason: "rate-limited", after: nil)),
        (.status(408), .retry(reason: "http-408", after: nil)),
        (.status(425), .retry(reason: "http-425", after: nil)),
        (.status(400, body: #"{"error": "invalid_number"}"#), .rejected(reason: "invalid-number")),
        (.status(422, body: #"{"code": "RECIPIENT_NOT_REACHABLE"}"#), .rejected(reason: "invalid-number")),
        (.status(400, body: #"{"error": {"code": "invalid-recipient"}}"#), .rejected(reason: "invalid-number")),
        (.status(400, body: #"{"error": "text too long"}"#), .rejected(reason: "http-400")),
        (.status(422, body: "not json"), .rejected(reason: "http-422")),
        (.status(401), .rejected(reason: "unauthorized")),
        (.status(403, body: #"{"error": "number blocked"}"#), .rejected(reason: "unauthorized")),
        (.status(404), .rejected(reason: "http-404")),
        (.status(413), .rejected(reason: "http-413")),
        (.status(302, headers: ["Location": "http://127.0.0.1:9/send"]), .retry(reason: "http-302", after: nil)),
        (
            .status(200, body: #"{"messageId": 42, "status": "Queued for delivery"}"#),
            .accepted(status: "queued-for-delivery", reference: "42")
        ),
        (
            .status(201, body: "{\"id\": \"ab\\u0007c\\u202e\\nd\", \"status\": 7}"),
            .accepted(status: "accepted", reference: "abcd")
        ),
        (.status(202, body: #"["not", "an", "object"]"#), .accepted(status: "accepted", reference: nil)),
        (.status(204), .accepted(status: "accepted", reference: nil)),
        (
            .status(200, body: #"{"id": "\#(String(repeating: "x", count: 300))", "status": "   "}"#),
            .accepted(status: "accepted", reference: String(repeating: "x", count: 200))
        ),
    ]

    @Test(arguments: statusMappings)
    func everyAnswerOfTheRelayBecomesAnOutcome(answer: FakeAnswer, expected: SMSOutcome) async throws {
        try await FakeProvider.with { fake in
            await fake.state.script(answer)
            let gateway = try Self.relay(fake)
            let outcome = await Self.sending(gateway)
            #expect(outcome == expected)
            #expect(Self.fitsTheLedger(outcome))
            // A redirect is not followed: one request, to the relay.
            #expect(await fake.state.requests.count == 1)
        }
    }

    /// Statuses and reasons are entry tokens, references entry texts (`sms.sent`, `sms.failed`).
    static func fitsTheLedger(_ outcome: SMSOutcome) -> Bool {
        switch outcome {
        case .accepted(let status, let reference):
            return EntryFieldType.token.accepts(status) && (reference.map(EntryFieldType.text.accepts) ?? true)
        case .retry(let reason, let after):
            return EntryFieldType.token.accepts(reason) && (after.map { $0 >= .zero && $0 <= .seconds(3600) } ?? true)
        case .rejected(let reason):
            return EntryFieldType.token.accepts(reason)
        }
    }

    @Test func aRetryAfterDateIsTheWaitUntilThatDateAtMostAnHour() {
        let now = Date(timeIntervalSince1970: 1_795_971_600)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        func after(_ value: String) -> Duration? { ProviderStatus.retryAfter(value, now: now) }
        #expect(after(formatter.string(from: now.addingTimeInterval(120))) == .seconds(120))
        #expect(after(formatter.string(from: now.addingTimeInterval(7200))) == .seconds(3600))
        #expect(after(formatter.string(from: now.addingTimeInterval(-60))) == .seconds(0))
        #expect(after("0") == .seconds(0))
        #expect(after("99999999999999") == .seconds(3600))
        #expect(after("soon") == nil)
        #expect(after("-5") == nil)
    }

    @Test(.tags(.slow), .notInFastRuns)
    func aProviderThatDoesNotAnswerWithinTheTimeoutIsARetry() async throws {
        try await FakeProvider.with { fake in
            await fake.state.script(.hang, .hangInBody)
            let gateway = try Self.relay(fake, timeout: .seconds(1))
            async let silent = gateway.send(Self.message)
            async let endless = gateway.send(Self.message)
            let outcomes = await [silent, endless]
            await gateway.shutdown()
            #expect(outcomes == [.retry(reason: "timeout", after: nil), .retry(reason: "timeout", after: nil)])
        }
    }

    @Test func aRefusedConnectionIsARetryAtOnce() async throws {
        let gateway = HTTPGateway(
            settings: try HTTPGatewaySettings(
                url: "http://127.0.0.1:\(freeLoopbackPort())/send", token: try GatewaySecret(Self.token),
                timeout: .seconds(5)),
            logger: Self.silent)
        #expect(await Self.sending(gateway) == .retry(reason: "connection", after: nil))
    }

    // MARK: OVHcloud

    @Test func theOVHSignatureIsTheSHA1OfSecretConsumerMethodURLBodyAndTime() {
        // Derived outside Swift, in a shell:
        //   AS=7kbG7Bk7S9Nt7ZSV CK=MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1 URL=https://eu.api.ovh.com/1.0/sms/sms-ab12345-1
        //   printf '%s' "$AS+$CK+POST+$URL/jobs+"'{"message":"Test","receivers":["+33612345678"]}'"+1366560945" \
        //     | openssl sha1
        #expect(
            OVHGateway.signature(
                applicationSecret: "7kbG7Bk7S9Nt7ZSV", consumerKey: "MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1", method: "POST",
                url: "https://eu.api.ovh.com/1.0/sms/sms-ab12345-1/jobs",
                body: Array(#"{"message":"Test","receivers":["+33612345678"]}"#.utf8), timestamp: 1_366_560_945)
                == "$1$d2abcb57b8e14760e9c493a83c343e0cc3fa56f7")
        //   printf '%s' "$AS+$CK+GET+$URL/outgoing?tag=tmn-0123456789abcdef0123456789abcdef++1366560945" \
        //     | openssl sha1
        #expect(
            OVHGateway.signature(
                applicationSecret: "7kbG7Bk7S9Nt7ZSV", consumerKey: "MtSwSrPpNjqfVSmJhLbPyr2i45lSwPU1", method: "GET",
                url: "https://eu.api.ovh.com/1.0/sms/sms-ab12345-1/outgoing?tag=\(Self.key)", body: [],
                timestamp: 1_366_560_945)
                == "$1$3d70b44ca97308262c8159439250e9f3538256d2")
        // printf '' | openssl sha1
        #expect(Hex.encode(SHA1.hash([UInt8]())) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
    }

    @Test func theOVHGatewayPostsASignedJobTaggedWithTheKey() async throws {
        try await FakeProvider.with { fake in
            // The fake refuses any request whose signature it cannot verify over the full URL and body.
            let gateway = try Self.ovh(fake)
            let outcome = await Self.sending(gateway)
            #expect(outcome == .accepted(status: "accepted", reference: "1"))
            let jobs = await fake.state.requests(to: "/1.0/sms/\(FakeProvider.service)/jobs")
            let r = try #require(jobs.first)
            #expect(jobs.count == 1)
            #expect(r.headers["x-ovh-application"] == "fake-ak")
            #expect(r.headers["x-ovh-consumer"] == "fake-consumer-key")
            #expect(r.headers["x-ovh-signature"]?.hasPrefix("$1$") == true)
            #expect(r.headers["content-type"] == "application/json;charset=utf-8")
            let body = try #require(r.json)
            #expect(
                body.keys.sorted() == [
                    "charset", "coding", "message", "noStopClause", "priority", "receivers", "senderForResponse", "tag",
                ])
            #expect(body["message"] as? String == Self.message.text)
            #expect(body["receivers"] as? [String] == ["+33612345678"])
            #expect(body["noStopClause"] as? Bool == true)
            #expect(body["senderForResponse"] as? Bool == true)
            #expect(body["priority"] as? String == "high")
            #expect(body["charset"] as? String == "UTF-8")
            #expect(body["coding"] as? String == "7bit")
            #expect(body["tag"] as? String == Self.key)
        }
    }

    @Test func aConfiguredSenderIsSentAndContactsCannotAnswer() async throws {
        try await FakeProvider.with { fake in
            let text = SMSMessage(
                to: Self.phone, text: "Élodie a déclenché une alerte, ça presse", idempotencyKey: Self.key)
            let gateway = try Self.ovh(fake, sender: "ASSOC")
            #expect(await Self.sending(gateway, text) == .accepted(status: "accepted", reference: "1"))
            let body = try #require(await fake.state.requests(to: "/1.0/sms/\(FakeProvider.service)/jobs").first?.json)
            #expect(body["sender"] as? String == "ASSOC")
            #expect(body["senderForResponse"] == nil)
            #expect(body["coding"] as? String == "8bit")
        }
    }

    @Test(arguments: [
        ("Alerte Témoin : Marie a besoin d'aide. https://x.example/l/AbC-_d", "7bit"),
        ("à è é ù ì ò Ç Ø å Δ ß É ¡ ¿ Ä Ö Ñ Ü § ä ö ñ ü @ £ $ ¥ ¤ _ Φ Ξ", "7bit"),
        ("{[~]}|^€\\", "7bit"), ("Élodie", "7bit"), ("ç", "8bit"), ("ê", "8bit"), ("l’alerte", "8bit"),
        ("`", "8bit"), ("🚨", "8bit"),
    ])
    func textsOutsideTheGSMAlphabetAreSentAs8bit(text: String, coding: String) {
        #expect(OVHGateway.coding(text) == coding)
    }

    @Test func invalidReceiversIsAnInvalidNumber() async throws {
        try await FakeProvider.with { fake in
            await fake.state.script(
                .status(
                    200,
                    body:
                        #"{"ids": [], "invalidReceivers": ["+33612345678"], "validReceivers": [], "#
                        + #""totalCreditsRemoved": 0}"#
                ))
            let gateway = try Self.ovh(fake)
            #expect(await Self.sending(gateway) == .rejected(reason: "invalid-number"))
        }
    }

    @Test(arguments: [
        (
            FakeAnswer.status(403, body: #"{"message": "This call has not been granted"}"#),
            SMSOutcome.rejected(reason: "unauthorized")
        ),
        (.status(401, body: #"{"message": "Invalid credential"}"#), .rejected(reason: "unauthorized")),
        (.status(429, headers: ["Retry-After": "12"]), .retry(reason: "rate-limited", after: .seconds(12))),
        (.status(503), .retry(reason: "http-503", after: nil)),
        (
            .status(404, body: #"{"message": "The requested object (serviceName = sms-x) does not exist"}"#),
            .rejected(reason: "http-404")
        ),
        (.status(400, body: #"{"message": "Invalid receiver: +33612345678"}"#), .rejected(reason: "invalid-number")),
    ])
    func everyAnswerOfOVHcloudBecomesAnOutcome(answer: FakeAnswer, expected: SMSOutcome) async throws {
        try await FakeProvider.with { fake in
            await fake.state.script(answer)
            let gateway = try Self.ovh(fake)
            let outcome = await Self.sending(gateway)
            #expect(outcome == expected)
            #expect(Self.fitsTheLedger(outcome))
        }
    }

    @Test func aWrongSignatureIsUnauthorized() async throws {
        try await FakeProvider.with { fake in
            let gateway = try Self.ovh(fake, secret: "another-secret")
            #expect(await Self.sending(gateway) == .rejected(reason: "unauthorized"))
        }
    }

    @Test func theOVHTimestampIsOVHcloudsTimeReadOnce() async throws {
        try await FakeProvider.with { fake in
            await fake.state.setClockOffset(1000)
            let gateway = try Self.ovh(fake)
            let before = Date().timeIntervalSince1970
            #expect(await gateway.send(Self.message) == .accepted(status: "accepted", reference: "1"))
            // The clock is known within half the round trip of /auth/time, part of the first send
            // (seconds on a loaded machine: seen in CI).
            let firstSend = Date().timeIntervalSince1970 - before
            #expect(await gateway.send(Self.message) == .accepted(status: "accepted", reference: "2"))
            let after = Date().timeIntervalSince1970
            await gateway.shutdown()
            #expect(await fake.state.requests(to: "/1.0/auth/time").count == 1)
            let slack = Int64((firstSend / 2).rounded(.up)) + 1
            let range = (Int64(before) + 1000 - slack)...(Int64(after) + 1000 + slack)
            for job in await fake.state.requests(to: "/1.0/sms/\(FakeProvider.service)/jobs") {
                let stamp = try #require(job.headers["x-ovh-timestamp"].flatMap { Int64($0) })
                #expect(range.contains(stamp))
            }
        }
    }

    @Test func aRefusedTimestampRereadsOVHcloudsTimeAndSendsAgain() async throws {
        try await FakeProvider.with { fake in
            await fake.state.setClockOffset(1000)
            let gateway = try Self.ovh(fake)
            #expect(await gateway.send(Self.message) == .accepted(status: "accepted", reference: "1"))
            await fake.state.setClockOffset(5000)
            #expect(await gateway.send(Self.message) == .accepted(status: "accepted", reference: "2"))
            await gateway.shutdown()
            #expect(await fake.state.requests(to: "/1.0/auth/time").count == 2)
            #expect(await fake.state.requests(to: "/1.0/sms/\(FakeProvider.service)/jobs").count == 3)
        }
    }

    @Test func acceptedBeforeFindsATextByItsTag() async throws {
        try await FakeProvider.with { fake in
            let gateway = try Self.ovh(fake)
            #expect(await gateway.acceptedBefore(Self.message) == nil)
            #expect(await gateway.send(Self.message) == .accepted(status: "accepted", reference: "1"))
            #expect(await gateway.acceptedBefore(Self.message) == .accepted(status: "accepted", reference: "1"))
            let other = SMSMessage(to: Self.phone, text: "x", idempotencyKey: "tmn-ffffffffffffffffffffffffffffffff")
            #expect(await gateway.acceptedBefore(other) == nil)
            // OVHcloud unreachable or failing: nil, and the dispatcher sends again.
            await fake.state.script(.status(500))
            #expect(await gateway.acceptedBefore(Self.message) == nil)
            await gateway.shutdown()
            let asked = await fake.state.requests(to: "/1.0/sms/\(FakeProvider.service)/outgoing")
            #expect(asked.count == 4)
            #expect(asked.first?.query == "tag=\(Self.key)")
            #expect(asked.first?.method == "GET" && asked.first?.body.isEmpty == true)
        }
        let unreachable = OVHGateway(
            settings: try OVHGatewaySettings(
                endpoint: "http://127.0.0.1:\(freeLoopbackPort())/1.0", service: FakeProvider.service,
                applicationKey: "ak",
                applicationSecret: try GatewaySecret("as"), consumerKey: try GatewaySecret("ck"), timeout: .seconds(5)),
            logger: Self.silent)
        #expect(await unreachable.acceptedBefore(Self.message) == nil)
        #expect(await unreachable.send(Self.message) == .retry(reason: "connection", after: nil))
        await unreachable.shutdown()
    }

    // MARK: Log

    @Test func theLogGatewayWritesNeitherTheTextNorTheNumber() async throws {
        let log = CapturedLog()
        #expect(await Self.sending(LogGateway(logger: log.logger())) == .accepted(status: "logged", reference: nil))
        let line = try #require(log.lines.first)
        #expect(log.lines.count == 1)
        #expect(line.level == .notice)
        #expect(line.metadata["to"] == "+336••••••78")
        #expect(line.metadata["idempotency-key"] == .string(Self.key))
        #expect(line.metadata["message-sha256"] == .string(SHA256.hash(Array(Self.message.text.utf8)).hex))
        #expect(line.metadata["text"] == nil)
        #expect(!line.all.contains("612345678") && !line.all.contains("AbCd") && !line.all.contains("Marie"))
    }

    @Test func everyLinkInATextIsMasked() {
        #expect(
            LogGateway.maskingLinks("/l/AbCdEfGhIjKlMnOpQrStUvWx, /l/Zy-_0123456789abcdefghij. /l/abc /x/AbCdEfGh /l/")
                == "/l/AbCd…, /l/Zy-_…. /l/abc /x/AbCdEfGh /l/")
    }

    // MARK: Configuration

    @Test func noGatewayGivenIsTheLog() throws {
        #expect(try SMSGatewayConfiguration.parse(gateway: nil, url: nil, tokenFile: nil, configFile: nil) == .log)
        #expect(try SMSGatewayConfiguration.parse(gateway: "log", url: nil, tokenFile: nil, configFile: nil) == .log)
    }

    @Test func theHTTPGatewayFromFlagsReadsItsTokenFromAnOwnerOnlyFile() throws {
        try Files.with { files in
            let tokenFile = try files.write("token", "\(Self.token)\n", mode: 0o600)
            for url in [
                "https://relay.example/send", "http://127.0.0.1:8080/send", "http://[::1]:8080/send",
                "http://localhost/send", "http://127.1.2.3/send",
            ] {
                let parsed = try SMSGatewayConfiguration.parse(
                    gateway: "http", url: url, tokenFile: tokenFile, configFile: nil)
                let expected = try HTTPGatewaySettings(url: url, token: try GatewaySecret(Self.token))
                #expect(parsed == .http(expected))
                #expect(expected.timeout == .seconds(10))
                // Printed or dumped, the settings do not show the token.
                var dumped = ""
                dump(parsed, to: &dumped)
                #expect(!"\(parsed)".contains(Self.token) && !dumped.contains(Self.token))
            }
        }
    }

    @Test func aConfigurationFileGivesEveryGatewayItsSettings() throws {
        try Files.with { files in
            let token = try files.write("token", Self.token, mode: 0o400)
            let secret = try files.write("as", "application-secret\r\n", mode: 0o600)
            let consumer = try files.write("ck", "consumer-key\n", mode: 0o600)
            let http = try files.write(
                "http.json",
                #"{"gateway": "http", "url": "https://relay.example/send", "tokenFile": "\#(token)", "#
                    + #""timeoutSeconds": 2.5}"#
            )
            #expect(
                try SMSGatewayConfiguration.parse(gateway: nil, url: nil, tokenFile: nil, configFile: http)
                    == .http(
                        try HTTPGatewaySettings(
                            url: "https://relay.example/send", token: try GatewaySecret(Self.token),
                            timeout: .milliseconds(2500))))
            // Flags that say the same as the file are not a disagreement.
            #expect(
                try SMSGatewayConfiguration.parse(
                    gateway: "http", url: "https://relay.example/send", tokenFile: token, configFile: http)
                    == SMSGatewayConfiguration.parse(gateway: nil, url: nil, tokenFile: nil, configFile: http))
            let ovh = try files.write(
                "ovh.json",
                #"{"gateway": "ovh", "service": "sms-ab12345-1", "sender": "ASSOC", "applicationKey": "ak-1", "#
                    + #""applicationSecretFile": "\#(secret)", "consumerKeyFile": "\#(consumer)"}"#)
            let expected = try OVHGatewaySettings(
                service: "sms-ab12345-1", sender: "ASSOC", applicationKey: "ak-1",
                applicationSecret: try GatewaySecret("application-secret"),
                consumerKey: try GatewaySecret("consumer-key"))
            #expect(
                try SMSGatewayConfiguration.parse(gateway: nil, url: nil, tokenFile: nil, configFile: ovh)
                    == .ovh(expected))
            #expect(
                try SMSGatewayConfiguration.parse(gateway: "ovh", url: nil, tokenFile: nil, configFile: ovh)
                    == .ovh(expected))
            #expect(expected.endpoint == "https://eu.api.ovh.com/1.0")
            let log = try files.write("log.json", #"{"gateway": "log"}"#)
            #expect(try SMSGatewayConfiguration.parse(gateway: nil, url: nil, tokenFile: nil, configFile: log) == .log)
        }
    }

    @Test func eachConfigurationMakesItsGateway() async throws {
        let http = SMSGatewayConfiguration.http(
            try HTTPGatewaySettings(url: "https://relay.example/send", token: try GatewaySecret("t")))
        let ovh = SMSGatewayConfiguration.ovh(
            try OVHGatewaySettings(
                service: "sms-x", applicationKey: "ak", applicationSecret: try GatewaySecret("as"),
                consumerKey: try GatewaySecret("ck")))
        for (configuration, name) in [(SMSGatewayConfiguration.log, "log"), (http, "http"), (ovh, "ovh")] {
            let gateway = try configuration.makeGateway(logger: Self.silent)
            #expect(gateway.name == name)
            await gateway.shutdown()
        }
        #expect(http.summary == "http to https://relay.example")
        #expect(ovh.summary == "ovh to https://eu.api.ovh.com, service sms-x")
    }

    /// A bad configuration, as the serve command would receive it. In `config`, `$SECRET` is the
    /// path of an owner-only secret file, `$OPEN` of one readable by all, `$MISSING` of none.
    struct BadConfiguration: Sendable, CustomTestStringConvertible {
        let testDescription: String
        var gateway: String? = nil
        var url: String? = nil
        /// `--sms-token-file`: "$SECRET", "$OPEN", "$EMPTY", "$MISSING".
        var tokenFile: String? = nil
        var config: String? = nil
        var configMode: Int = 0o644
    }

    static let badConfigurations: [BadConfiguration] = [
        .init(testDescription: "an unknown gateway", gateway: "twilio"),
        .init(testDescription: "http without a URL", gateway: "http", tokenFile: "$SECRET"),
        .init(testDescription: "http without a token file", gateway: "http", url: "https://relay.example/send"),
        .init(testDescription: "a URL without a gateway", url: "https://relay.example/send", tokenFile: "$SECRET"),
        .init(
            testDescription: "plain http beyond this machine", gateway: "http", url: "http://relay.example/send",
            tokenFile: "$SECRET"),
        .init(
            testDescription: "plain http to a private address", gateway: "http", url: "http://10.0.0.1/send",
            tokenFile: "$SECRET"),
        .init(
            testDescription: "a look-alike of localhost", gateway: "http", url: "http://127.0.0.1.example/send",
            tokenFile: "$SECRET"),
        .init(
            testDescription: "another scheme", gateway: "http", url: "ftp://relay.example/send", tokenFile: "$SECRET"),
        .init(testDescription: "not a URL", gateway: "http", url: "relay", tokenFile: "$SECRET"),
        .init(
            testDescription: "credentials in the URL", gateway: "http", url: "https://u:p@relay.example/send",
            tokenFile: "$SECRET"),
        .init(
            testDescription: "a missing token file", gateway: "http", url: "https://relay.example/send",
            tokenFile: "$MISSING"),
        .init(
            testDescription: "an exposed token file", gateway: "http", url: "https://relay.example/send",
            tokenFile: "$OPEN"),
        .init(
            testDescription: "an empty token file", gateway: "http", url: "https://relay.example/send",
            tokenFile: "$EMPTY"),
        .init(
            testDescription: "a token with a space", gateway: "http", url: "https://relay.example/send",
            tokenFile: "$SPACED"),
        .init(
            testDescription: "a token file that is a folder", gateway: "http", url: "https://relay.example/send",
            tokenFile: "$FOLDER"),
        .init(testDescription: "the log with a URL", gateway: "log", url: "https://relay.example/send"),
        .init(testDescription: "malformed JSON", config: #"{"gateway": "http", "#),
        .init(testDescription: "JSON that is not an object", config: #"["http"]"#),
        .init(testDescription: "a file without a gateway", config: #"{"url": "https://relay.example/send"}"#),
        .init(
            testDescription: "a token in the file",
            config: #"{"gateway": "http", "url": "https://r.example", "token": "t"}"#),
        .init(
            testDescription: "a secret in the file",
            config: #"{"gateway": "ovh", "service": "sms-x", "applicationKey": "ak", "applicationSecret": "s"}"#),
        .init(testDescription: "an unknown key", config: #"{"gateway": "http", "URL": "https://r.example"}"#),
        .init(
            testDescription: "a key of another gateway",
            config: #"{"gateway": "log", "tokenFile": "$SECRET"}"#),
        .init(
            testDescription: "a timeout of zero",
            config: #"{"gateway": "http", "url": "https://r.example", "tokenFile": "$SECRET", "timeoutSeconds": 0}"#),
        .init(
            testDescription: "a timeout as text",
            config: #"{"gateway": "http", "url": "https://r.example", "tokenFile": "$SECRET", "timeoutSeconds": "1"}"#),
        .init(
            testDescription: "a timeout too long",
            config: #"{"gateway": "http", "url": "https://r.example", "tokenFile": "$SECRET", "timeoutSeconds": 600}"#),
        .init(
            testDescription: "a URL that is not a string",
            config: #"{"gateway": "http", "url": 8080, "tokenFile": "$SECRET"}"#),
        .init(
            testDescription: "flags and file disagree on the gateway", gateway: "http",
            config: #"{"gateway": "ovh"}"#),
        .init(
            testDescription: "flags and file disagree on the URL", gateway: "http", url: "https://a.example/send",
            config: #"{"gateway": "http", "url": "https://b.example/send", "tokenFile": "$SECRET"}"#),
        .init(
            testDescription: "flags and file disagree on the token file", tokenFile: "$SECRET",
            config: #"{"gateway": "http", "url": "https://r.example", "tokenFile": "$OPEN"}"#),
        .init(
            testDescription: "a configuration file others can change",
            config: #"{"gateway": "http", "url": "https://r.example", "tokenFile": "$SECRET"}"#, configMode: 0o666),
        .init(testDescription: "a missing configuration file", config: "$MISSING"),
        .init(testDescription: "ovh without a configuration file", gateway: "ovh"),
        .init(
            testDescription: "ovh with a URL flag", gateway: "ovh", url: "https://eu.api.ovh.com/1.0",
            config: Self.ovh()),
        .init(testDescription: "ovh with a token flag", tokenFile: "$SECRET", config: Self.ovh()),
        .init(testDescription: "ovh without a service", config: Self.ovh(without: "service")),
        .init(testDescription: "ovh without an application key", config: Self.ovh(without: "applicationKey")),
        .init(testDescription: "ovh without its secret", config: Self.ovh(without: "applicationSecretFile")),
        .init(testDescription: "ovh without its consumer key", config: Self.ovh(without: "consumerKeyFile")),
        .init(testDescription: "an exposed OVH secret", config: Self.ovh(secret: "$OPEN")),
        .init(testDescription: "a missing OVH consumer key file", config: Self.ovh(consumer: "$MISSING")),
        .init(
            testDescription: "an OVH endpoint in plain http", config: Self.ovh(endpoint: "http://eu.api.ovh.com/1.0")),
        .init(testDescription: "an OVH service that is not a name", config: Self.ovh(service: "../../me")),
        .init(testDescription: "an OVH sender too long", config: Self.ovh(sender: "ASSOCIATION-TEMOIN-FRANCE")),
    ]

    static func ovh(
        without missing: String? = nil, secret: String = "$SECRET", consumer: String = "$SECRET",
        endpoint: String = "https://eu.api.ovh.com/1.0", service: String = "sms-ab12345-1", sender: String = "ASSOC"
    ) -> String {
        let fields = [
            ("endpoint", endpoint), ("service", service), ("sender", sender), ("applicationKey", "ak-1"),
            ("applicationSecretFile", secret), ("consumerKeyFile", consumer),
        ].filter { $0.0 != missing }
        return #"{"gateway": "ovh", "# + fields.map { #""\#($0.0)": "\#($0.1)""# }.joined(separator: ", ") + "}"
    }

    @Test(arguments: badConfigurations)
    func everyBadConfigurationIsRefusedWithGatewayConfig(_ bad: BadConfiguration) throws {
        try Files.with { files in
            let paths = [
                "$SECRET": try files.write("secret", "s3cret\n", mode: 0o600),
                "$OPEN": try files.write("open", "s3cret\n", mode: 0o644),
                "$EMPTY": try files.write("empty", "\n", mode: 0o600),
                "$SPACED": try files.write("spaced", "s3 cret\n", mode: 0o600),
                "$FOLDER": files.root, "$MISSING": files.root + "/missing",
            ]
            func resolve(_ text: String) -> String {
                paths.reduce(text) { $0.replacingOccurrences(of: $1.key, with: $1.value) }
            }
            let config = try bad.config.map { text in
                text == "$MISSING"
                    ? files.root + "/missing.json" : try files.write("config.json", resolve(text), mode: bad.configMode)
            }
            let error = #expect(throws: TemoinError.self) {
                try SMSGatewayConfiguration.parse(
                    gateway: bad.gateway, url: bad.url, tokenFile: bad.tokenFile.map(resolve), configFile: config)
            }
            #expect(error?.code == "sms.gateway-config")
            #expect(!(error?.description.contains("s3cret") ?? true))
        }
    }
}

/// Files in a fresh temporary folder, removed afterwards.
struct Files {
    let root: String

    static func with<T>(_ body: (Files) throws -> T) throws -> T {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("temoin-gateways-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        return try body(Files(root: root))
    }

    /// The file's path; its mode is set after writing, whatever the umask.
    func write(_ name: String, _ text: String, mode: Int = 0o644) throws -> String {
        let path = root + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }
}
