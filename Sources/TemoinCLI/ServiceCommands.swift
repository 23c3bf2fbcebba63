import ArgumentParser
import Foundation
import Hummingbird
import Logging
import TemoinAudio
import TemoinRecording
import TemoinCore
import TemoinCrypto
import TemoinLedger
import TemoinServer
import TemoinFanout

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Lance le service / run the service: device uploads, receipts, public checkpoints and proofs.")

    @OptionGroup var options: DataOption
    @Option(help: "Adresse d'écoute / address to bind (plain HTTP: loopback unless --allow-non-loopback).") var host =
        "127.0.0.1"
    @Option(help: "Port (0: any free port).") var port = 8080
    @Flag(
        help: "Autoriser une adresse non locale / allow binding plain HTTP beyond loopback (behind a TLS proxy only).")
    var allowNonLoopback = false
    @Option(help: "Taille maximale d'un segment / largest chunk body in bytes.") var maxChunkBytes = 16 << 20
    @Option(help: "Durée maximale d'un segment / longest chunk in seconds.") var maxChunkSeconds = 60
    @Option(help: "Requêtes par minute et par appareil / requests per device per minute.") var requestsPerMinute = 600
    @Option(help: "Échecs d'authentification du personnel par minute / failed staff authentications per minute.")
    var staffAuthFailuresPerMinute = 60
    @Option(help: "Requêtes par minute et par compte du personnel / requests per staff account per minute.")
    var staffRequestsPerMinute = 600
    @Option(help: "Durée maximale d'une alerte / an alert open longer is closed by the server (seconds).")
    var maxAlertSeconds = 6 * 3600
    @Option(help: "Attente d'un segment manquant / how long an early chunk waits for missing ones (seconds).")
    var reorderWaitSeconds = 30
    @Option(help: "Débit Opus / Opus bitrate (default: by rate).") var bitrate: Int?
    @Option(help: "Octets par heure et par appareil / MiB of chunks a device may store per rolling hour.")
    var deviceMibPerHour = 1024
    @Option(help: "Octets par alerte / MiB one alert may hold.") var maxAlertMib = 8192
    @Option(help: "Corps en conflit par numéro / conflicting bodies kept per sequence number.")
    var maxConflictsPerSeq = 8
    @Option(help: "Niveau de journal / log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel = "info"
    @Option(
        help: ArgumentHelp(
            "Durée de conservation / erase alerts closed more than N days ago and not on legal hold "
                + "(default: never)."))
    var retentionDays: Int?
    @Option(help: "Nom de l'association dans les SMS / the association's name in the texts (≤ 40 characters).")
    var associationName = "Témoin"
    @Option(
        help: ArgumentHelp(
            "Adresse publique / the service's address as contacts reach it (https://…), the base of the "
                + "live-location links; without it the texts carry no link."))
    var publicURL: String?
    @Option(help: "Durée des liens / hours a live-location link works after its alert closes.")
    var linkHours = 24
    @Option(help: "Fuseau horaire des SMS / time zone of the times in texts and on the page.")
    var timeZone = "Europe/Paris"
    @Option(help: "Passerelle SMS / SMS gateway: log (default: the service's log), http, ovh.")
    var smsGateway: String?
    @Flag(
        help: ArgumentHelp(
            "Durées par étape dans les reçus / send each chunk's stages as a Server-Timing header (benchmarks; "
                + "it tells a phone how busy the service is)."))
    var serverTiming = false
    @Option(help: "URL de la passerelle http / the http gateway's URL (https://, or http:// on loopback).")
    var smsURL: String?
    @Option(help: "Jeton de la passerelle http / file holding the http gateway's bearer token (mode 0600).")
    var smsTokenFile: String?
    @Option(help: "Configuration de la passerelle / a JSON gateway configuration file (Docs/fanout.md).")
    var smsConfig: String?

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("niveau inconnu / unknown log level '\(logLevel)'")
        }
        if let retentionDays, !(1...36_500).contains(retentionDays) {
            throw ValidationError("--retention-days: 1 à 36500 jours / 1 to 36500 days")
        }
        guard (1...8760).contains(linkHours) else {
            throw ValidationError("--link-hours: 1 à 8760 heures / 1 to 8760 hours")
        }
    }

    func run() async throws {
        var configuration = ServiceConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.allowNonLoopback = allowNonLoopback
        configuration.maximumBodyBytes = maxChunkBytes
        configuration.audio.maximumChunkBytes = maxChunkBytes
        configuration.audio.maximumChunkMicroseconds = UInt64(maxChunkSeconds) * 1_000_000
        configuration.audio.reorderWait = .seconds(reorderWaitSeconds)
        configuration.audio.bitrate = bitrate
        configuration.requestsPerMinute = requestsPerMinute
        configuration.serverTiming = serverTiming
        configuration.staffAuthFailuresPerMinute = staffAuthFailuresPerMinute
        configuration.staffRequestsPerMinute = staffRequestsPerMinute
        configuration.maximumAlertSeconds = maxAlertSeconds
        configuration.deviceBytesPerHour = max(0, deviceMibPerHour) << 20
        configuration.audio.maximumAlertBytes = UInt64(max(0, maxAlertMib)) << 20
        configuration.audio.maximumConflictsPerSequence = maxConflictsPerSeq
        configuration.retentionSeconds = retentionDays.map { $0 * 86_400 }
        configuration.fanout.associationName = associationName
        configuration.fanout.publicURL = publicURL
        configuration.fanout.linkLifetimeSeconds = linkHours * 3600
        configuration.fanout.timeZone = timeZone
        var logger = Logger(label: "temoin")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let sms = try SMSGatewayConfiguration.parse(
            gateway: smsGateway, url: smsURL, tokenFile: smsTokenFile, configFile: smsConfig)
        logger.info("fan-out", metadata: ["gateway": "\(sms.summary)", "public-url": "\(publicURL ?? "none")"])
        configuration.smsGateway = try sms.makeGateway(logger: logger)
        let app = try await TemoinService.buildApplication(
            directory: options.directory, configuration: configuration, logger: logger
        ) { port in
            Output.error("Témoin écoute sur / listening on http://\(host):\(port)")
        }
        try await app.runService()
    }
}

struct Enroll: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Enrôle un appareil / enroll a device by its Ed25519 public key; prints the device id on the last line.")

    @OptionGroup var options: DataOption
    @Option(
        help:
            ArgumentHelp(
                "Clé publique Ed25519 (PEM) / the device's Ed25519 public key file (PEM, as "
                    + "temoin-device keygen writes it).")
    )
    var publicKey: String
    @Option(help: "Libellé, hors du registre / a label for caseworkers, kept out of the ledger.") var label: String?

    func run() async throws {
        let key = try Ed25519.publicKey(pem: readInput(publicKey, limit: 1 << 16))
        let device = DeviceID.derive(publicKey: key)
        let index: UInt64
        switch try Administration.route(options.directory) {
        case .local(let writer):
            var draft = EntryDraft(enrolling: device, publicKey: key)
            if let label { draft.sideRow = .deviceLabel(device: device, label: label) }
            index = try await writer.append(draft).index
        case .service(let url, let token):
            var body = ["publicKey": Base64.encode(key)]
            if let label { body["label"] = label }
            let data = try await Administration.post(
                url, "v1/admin/devices", token: token, json: JSONEncoder().encode(body))
            struct Enrolled: Decodable { let index: UInt64 }
            index = try JSONDecoder().decode(Enrolled.self, from: data).index
        }
        Output.line("Appareil enrôlé / device enrolled at entry \(index)")
        Output.line(device.rawValue)
    }
}
