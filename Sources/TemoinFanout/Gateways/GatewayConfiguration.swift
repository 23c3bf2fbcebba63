import Foundation
public import Logging
public import TemoinCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The SMS gateway the fan-out sends through (Docs/fanout.md, "Gateways"): the log (the embedded
/// default, which sends nothing), an HTTP relay, or OVHcloud's SMS API.
///
/// Built by `parse` from the serve command's flags and an optional JSON file, secrets already read
/// from their files: a bad configuration stops the service at start, not at the first alert.
public enum SMSGatewayConfiguration: Sendable, Equatable {
    case log
    case http(HTTPGatewaySettings)
    case ovh(OVHGatewaySettings)

    /// The gateways' names, as `--sms-gateway` and the file's `gateway` take them.
    public static let names = ["log", "http", "ovh"]

    /// The configuration from `--sms-gateway`, `--sms-url`, `--sms-token-file` and `--sms-config`
    /// (nil: not given). Nothing given: `.log`. A flag and the file may both give a value only if
    /// they agree. Every refusal is `sms.gateway-config`, saying which flag or key to fix.
    public static func parse(
        gateway: String?, url: String?, tokenFile: String?, configFile: String?
    ) throws(TemoinError) -> SMSGatewayConfiguration {
        let file = try configFile.map { path throws(TemoinError) in try GatewayConfigFile(reading: path) }
        let name: String
        switch (gateway, file?.gateway) {
        case (let flag?, let key?) where flag != key:
            throw configError(
                "--sms-gateway \(flag) and the configuration file's \"gateway\": \"\(key)\" disagree: give one")
        case (let flag?, _): name = flag
        case (nil, let key?): name = key
        case (nil, nil):
            guard url == nil, tokenFile == nil else {
                throw configError("--sms-url and --sms-token-file are for the HTTP gateway: add --sms-gateway http")
            }
            name = "log"
        }
        switch name {
        case "log":
            guard url == nil, tokenFile == nil else {
                throw configError("the log gateway sends nothing: --sms-url and --sms-token-file are for http")
            }
            try file?.allowOnly([])
            return .log
        case "http":
            try file?.allowOnly(["url", "tokenFile", "timeoutSeconds"])
            guard let url = try agreeing(flag: url, "--sms-url", file: file, key: "url") else {
                throw configError("the HTTP gateway needs its URL: --sms-url URL, or \"url\" in --sms-config")
            }
            guard let tokenFile = try agreeing(flag: tokenFile, "--sms-token-file", file: file, key: "tokenFile")
            else {
                throw configError(
                    "the HTTP gateway needs its token: --sms-token-file FILE, or \"tokenFile\" in --sms-config")
            }
            return .http(
                try HTTPGatewaySettings(
                    url: url, token: try GatewaySecret(file: tokenFile, what: "the HTTP gateway's token"),
                    timeout: try file?.timeout() ?? HTTPGatewaySettings.defaultTimeout))
        case "ovh":
            guard url == nil, tokenFile == nil else {
                throw configError(
                    "the OVH gateway is configured by --sms-config alone (\"endpoint\", \"applicationSecretFile\"…), "
                        + "not --sms-url or --sms-token-file")
            }
            guard let file else {
                throw configError("the OVH gateway needs --sms-config FILE (Docs/fanout.md, Gateways)")
            }
            return .ovh(try file.ovhSettings())
        default:
            throw configError("'\(name.prefix(40))' is not an SMS gateway: log, http or ovh")
        }
    }

    /// The gateway, ready to send. The caller calls its `shutdown()` once, when the service stops:
    /// the HTTP gateways own a connection pool (AsyncHTTPClient stops a debug build whose client is
    /// released without it).
    public func makeGateway(logger: Logger) throws(TemoinError) -> any SMSGateway {
        switch self {
        case .log: return LogGateway(logger: logger)
        case .http(let settings): return HTTPGateway(settings: settings, logger: logger)
        case .ovh(let settings): return OVHGateway(settings: settings, logger: logger)
        }
    }

    /// One line for the service's start-up log: the gateway and the host it sends to, no secret
    /// (a URL's path and query could hold one).
    public var summary: String {
        switch self {
        case .log: return "log (texts are written to the log, not sent)"
        case .http(let s): return "http to \(ProviderURL.host(of: s.url))"
        case .ovh(let s): return "ovh to \(ProviderURL.host(of: s.endpoint)), service \(s.service)"
        }
    }

    private static func agreeing(
        flag: String?, _ flagName: String, file: GatewayConfigFile?, key: String
    ) throws(TemoinError) -> String? {
        let fromFile = try file?.string(key)
        if let flag, let fromFile, flag != fromFile {
            throw configError("\(flagName) and the configuration file's \"\(key)\" disagree: give one")
        }
        return flag ?? fromFile
    }
}

func configError(_ reason: String, context: String? = nil) -> TemoinError {
    TemoinError(.smsGatewayConfig, reason, context: context)
}

/// What the HTTP gateway needs (Docs/fanout.md, "HTTP").
public struct HTTPGatewaySettings: Sendable, Equatable {
    public static let defaultTimeout = Duration.seconds(10)

    /// `https://…`, or `http://` to this machine (a local relay, tests).
    public let url: String
    public let token: GatewaySecret
    /// How long one attempt may take, connection and answer included.
    public let timeout: Duration

    public init(url: String, token: GatewaySecret, timeout: Duration = defaultTimeout) throws(TemoinError) {
        self.url = try ProviderURL.check(url, what: "the HTTP gateway's URL")
        self.token = token
        self.timeout = try checkTimeout(timeout)
    }
}

/// What the OVHcloud gateway needs (Docs/fanout.md, "OVHcloud").
public struct OVHGatewaySettings: Sendable, Equatable {
    public static let defaultEndpoint = "https://eu.api.ovh.com/1.0"
    public static let defaultTimeout = Duration.seconds(10)

    /// The API's root, without a final `/` (`https://eu.api.ovh.com/1.0`).
    public let endpoint: String
    /// The SMS account (`sms-ab12345-1`).
    public let service: String
    /// A sender registered with OVHcloud; nil: a short number, and contacts can answer.
    public let sender: String?
    /// The application key (AK): not a secret, OVHcloud sees it in every request.
    public let applicationKey: String
    public let applicationSecret: GatewaySecret
    public let consumerKey: GatewaySecret
    public let timeout: Duration

    public init(
        endpoint: String = defaultEndpoint, service: String, sender: String? = nil, applicationKey: String,
        applicationSecret: GatewaySecret, consumerKey: GatewaySecret, timeout: Duration = defaultTimeout
    ) throws(TemoinError) {
        var root = try ProviderURL.check(endpoint, what: "the OVH endpoint")
        while root.hasSuffix("/") { root.removeLast() }
        guard !root.contains("?") else { throw configError("the OVH endpoint has a query: give the API's root") }
        self.endpoint = root
        guard (1...64).contains(service.utf8.count), service.utf8.allSatisfy(Self.isNameByte) else {
            throw configError("the OVH \"service\" must be the SMS account's name, like sms-ab12345-1")
        }
        self.service = service
        if let sender {
            guard (1...20).contains(sender.utf8.count), sender.utf8.allSatisfy({ Self.isNameByte($0) || $0 == 0x20 }),
                sender.first != " ", sender.last != " "
            else {
                throw configError("the OVH \"sender\" must be 1 to 20 letters, digits, spaces or . _ - +")
            }
        }
        self.sender = sender
        guard (1...128).contains(applicationKey.utf8.count), applicationKey.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f })
        else { throw configError("the OVH \"applicationKey\" must be 1 to 128 visible ASCII characters") }
        self.applicationKey = applicationKey
        self.applicationSecret = applicationSecret
        self.consumerKey = consumerKey
        self.timeout = try checkTimeout(timeout)
    }

    private static func isNameByte(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x2e
            || c == 0x5f || c == 0x2b
    }
}

private func checkTimeout(_ timeout: Duration) throws(TemoinError) -> Duration {
    guard timeout > .zero, timeout <= .seconds(120) else {
        throw configError("the timeout must be more than 0 and at most 120 seconds")
    }
    return timeout
}

/// A credential read from a file that only its owner can read. Printing, interpolating or dumping
/// it shows `<secret>`: settings can be logged whole without leaking it.
public struct GatewaySecret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// Longest secret file read (tokens and keys are far shorter).
    public static let maximumBytes = 4096

    let value: String

    /// 1 to 4096 visible ASCII characters (no space, no control character): a value that can go
    /// in a header as it is.
    public init(_ value: String) throws(TemoinError) {
        guard !value.isEmpty else { throw configError("the secret is empty") }
        guard value.utf8.count <= Self.maximumBytes, value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw configError("the secret must be visible ASCII characters, without spaces")
        }
        self.value = value
    }

    /// The file's contents without its final line break. Refused: a file that is not a regular
    /// file, that group or others may read or write (as `keys/` is checked: run `chmod 600`), an
    /// empty one. `what` names the secret in the error (`the HTTP gateway's token`).
    public init(file path: String, what: String) throws(TemoinError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            throw configError("cannot read \(what): \(String(cString: strerror(errno)))", context: path)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw configError("\(what) is not in a regular file", context: path)
        }
        guard st.st_mode & 0o077 == 0 else {
            throw configError(
                "\(what) is readable or writable by group or others (mode \(String(st.st_mode & 0o777, radix: 8))): "
                    + "refusing an exposed secret; run: chmod 600 \(path)", context: path)
        }
        var bytes = try readAll(fd, limit: Self.maximumBytes, path: path, what: what)
        while bytes.last == 0x0a || bytes.last == 0x0d { bytes.removeLast() }
        guard !bytes.isEmpty else { throw configError("\(what) is empty", context: path) }
        do {
            try self.init(String(decoding: bytes, as: UTF8.self))
        } catch {
            throw configError("\(what): \(error.reason)", context: path)
        }
    }

    public var description: String { "<secret>" }
    public var debugDescription: String { "<secret>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

private func readAll(_ fd: Int32, limit: Int, path: String, what: String) throws(TemoinError) -> [UInt8] {
    var out = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n < 0 {
            if errno == EINTR { continue }
            throw configError("cannot read \(what): \(String(cString: strerror(errno)))", context: path)
        }
        if n == 0 { return out }
        out.append(contentsOf: buffer.prefix(n))
        guard out.count <= limit else {
            throw configError("\(what) is larger than \(limit) bytes", context: path)
        }
    }
}

/// The JSON file of `--sms-config`: one object, keys checked against the gateway it names.
/// Secrets are never in it, only the paths of the files that hold them.
struct GatewayConfigFile {
    static let maximumBytes = 64 * 1024
    /// Keys that would put a secret in the file itself, and the key to use instead.
    static let secretKeys = [
        "token": "tokenFile", "applicationSecret": "applicationSecretFile", "consumerKey": "consumerKeyFile",
    ]

    let path: String
    let gateway: String
    private let object: [String: JSONValue]

    init(reading path: String) throws(TemoinError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            throw configError("cannot read the SMS configuration: \(String(cString: strerror(errno)))", context: path)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw configError("the SMS configuration is not a regular file", context: path)
        }
        // The file decides where the texts and their credentials go: nobody else may change it.
        guard st.st_mode & 0o022 == 0 else {
            throw configError(
                "the SMS configuration is writable by group or others (mode \(String(st.st_mode & 0o777, radix: 8))); "
                    + "run: chmod 644 \(path)", context: path)
        }
        let bytes = try readAll(fd, limit: Self.maximumBytes, path: path, what: "the SMS configuration")
        guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else {
            throw configError("the SMS configuration is not a JSON object", context: path)
        }
        for (key, instead) in Self.secretKeys where object[key] != nil {
            throw configError(
                "\"\(key)\": secrets are not kept in the configuration; give \"\(instead)\", the path of a file "
                    + "readable by the service's user alone", context: path)
        }
        guard let gateway = object["gateway"]?.string else {
            throw configError("the SMS configuration has no \"gateway\" (log, http or ovh)", context: path)
        }
        self.path = path
        self.gateway = gateway
        self.object = object
    }

    /// Refuses keys other than `gateway` and `keys` (a misspelt key would be silently ignored).
    func allowOnly(_ keys: Set<String>) throws(TemoinError) {
        for key in object.keys.sorted() where key != "gateway" && !keys.contains(key) {
            throw configError(
                "\"\(key.prefix(40))\" is not a setting of the \(gateway) gateway"
                    + (keys.isEmpty ? "" : " (\(keys.sorted().joined(separator: ", ")))"), context: path)
        }
    }

    func string(_ key: String) throws(TemoinError) -> String? {
        guard let value = object[key] else { return nil }
        guard let text = value.string, !text.isEmpty else {
            throw configError("\"\(key)\" must be a non-empty string", context: path)
        }
        return text
    }

    func required(_ key: String) throws(TemoinError) -> String {
        guard let text = try string(key) else {
            throw configError("the \(gateway) gateway needs \"\(key)\" in its configuration", context: path)
        }
        return text
    }

    /// `timeoutSeconds`: a number of seconds, more than 0 and at most 120.
    func timeout() throws(TemoinError) -> Duration? {
        guard let value = object["timeoutSeconds"] else { return nil }
        let seconds: Double
        switch value {
        case .integer(let i): seconds = Double(i)
        case .number(let d): seconds = d
        default: seconds = .nan
        }
        guard seconds > 0, seconds <= 120 else {
            throw configError(
                "\"timeoutSeconds\" must be a number of seconds, more than 0 and at most 120", context: path)
        }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    func ovhSettings() throws(TemoinError) -> OVHGatewaySettings {
        try allowOnly([
            "endpoint", "service", "sender", "applicationKey", "applicationSecretFile", "consumerKeyFile",
            "timeoutSeconds",
        ])
        do {
            return try OVHGatewaySettings(
                endpoint: try string("endpoint") ?? OVHGatewaySettings.defaultEndpoint,
                service: try required("service"),
                sender: try string("sender"), applicationKey: try required("applicationKey"),
                applicationSecret: try GatewaySecret(
                    file: try required("applicationSecretFile"), what: "the OVH application secret"),
                consumerKey: try GatewaySecret(file: try required("consumerKeyFile"), what: "the OVH consumer key"),
                timeout: try timeout() ?? OVHGatewaySettings.defaultTimeout)
        } catch  where error.context == nil {
            throw error.at(path)
        }
    }
}

/// Where a gateway may send: HTTPS anywhere, plain HTTP to this machine only (a relay on the same
/// host, the tests' fake providers). Credentials never go in the URL.
enum ProviderURL {
    static func check(_ text: String, what: String) throws(TemoinError) -> String {
        guard let parts = URLComponents(string: text), let scheme = parts.scheme?.lowercased(),
            let host = parts.host, !host.isEmpty
        else { throw configError("\(what) is not a URL: '\(text.prefix(80))'") }
        guard parts.user == nil, parts.password == nil else {
            throw configError("\(what) holds credentials: put them in the token file, not the URL")
        }
        guard parts.fragment == nil else { throw configError("\(what) has a fragment (#…)") }
        switch scheme {
        case "https": return text
        case "http" where isLoopback(host): return text
        default:
            throw configError(
                "\(what) must be https:// (plain http:// only to this machine: 127.0.0.1, ::1, localhost)")
        }
    }

    /// 127.0.0.0/8, ::1, localhost.
    static func isLoopback(_ rawHost: String) -> Bool {
        var host = rawHost.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { p in
            (1...3).contains(p.count) && p.allSatisfy(\.isASCII) && p.allSatisfy(\.isNumber) && Int(p)! <= 255
        }
    }

    static func host(of url: String) -> String {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme, let host = parts.host else {
            return "?"
        }
        return "\(scheme)://\(host)" + (parts.port.map { ":\($0)" } ?? "")
    }
}
