import Foundation
import Logging
@testable import TemoinServer
import TemoinLedger
import TemoinIngest
import Testing

/// Docs/openapi.yaml lists exactly the routes the service registers.
struct OpenAPITests {
    static let spec = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Docs/openapi.yaml")

    /// "METHOD /path/{param}" for every operation under `paths:`, read by indentation.
    static func documented() throws -> Set<String> {
        let lines = try String(contentsOf: spec, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        var inPaths = false, path = "", out = Set<String>()
        for line in lines {
            if line == "paths:" { inPaths = true; continue }
            if inPaths, !line.hasPrefix(" "), !line.isEmpty { break }
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
            } else if let m = ["get", "put", "post", "delete", "patch"].first(where: { line == "    \($0):" }) {
                out.insert("\(m.uppercased()) \(path)")
            }
        }
        return out
    }

    /// One operation of the spec: the statuses it documents (status → the rest of its line, a
    /// `$ref` or the start of an inline response) and whether it takes parameters or a body.
    struct Operation {
        var statuses: [String: String] = [:]
        var takesInput = false
        /// The text after `security:`, if the operation has one.
        var security: String?
    }

    /// Every operation under `paths:`, read by indentation like `documented()`.
    static func operations() throws -> [String: Operation] {
        let lines = try String(contentsOf: spec, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        var inPaths = false, path = "", current: String?, out = [String: Operation]()
        for line in lines {
            if line == "paths:" { inPaths = true; continue }
            if inPaths, !line.hasPrefix(" "), !line.isEmpty { break }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
                current = nil
            } else if let m = ["get", "put", "post", "delete", "patch"].first(where: { line == "    \($0):" }) {
                current = "\(m.uppercased()) \(path)"
                out[current!] = Operation()
            } else if let op = current {
                if line.hasPrefix("      parameters:") || line.hasPrefix("      requestBody:") {
                    out[op]!.takesInput = true
                }
                if line.hasPrefix("      security:") {
                    out[op]!.security = String(line.dropFirst("      security:".count))
                }
                // `        "404": { $ref: ... }` or `        "200":` (an inline response follows).
                let trimmed = line.drop(while: { $0 == " " })
                if line.count - trimmed.count == 8, trimmed.hasPrefix("\""), trimmed.dropFirst(4).hasPrefix("\":") {
                    out[op]!.statuses[String(trimmed.dropFirst().prefix(3))] = String(trimmed.dropFirst(6))
                }
            }
        }
        return out
    }

    /// The reusable responses under `components: responses:`, each with the text of its block.
    static func componentResponses() throws -> [String: String] {
        let lines = try String(contentsOf: spec, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        var inComponents = false, inResponses = false, name: String?, out = [String: String]()
        for line in lines {
            if line == "components:" { inComponents = true; continue }
            if inComponents, !line.hasPrefix(" "), !line.isEmpty { break }
            guard inComponents else { continue }
            if line.hasPrefix("  "), !line.hasPrefix("   ") {
                inResponses = line == "  responses:"; name = nil; continue
            }
            guard inResponses else { continue }
            if line.hasPrefix("    "), !line.hasPrefix("     "), let colon = line.firstIndex(of: ":") {
                name = String(line[line.index(line.startIndex, offsetBy: 4)..<colon])
                out[name!] = String(line[colon...])
            } else if let name {
                out[name]! += "\n" + line
            }
        }
        return out
    }

    /// What a client generator and schemathesis rely on: every operation documents the 405 (with
    /// Allow) a known path answers for another method; every operation that reads input documents
    /// 400; every refusal is an RFC 9457 problem document, and every `$ref` resolves.
    @Test func everyOperationDocumentsItsRefusals() throws {
        let operations = try Self.operations()
        let responses = try Self.componentResponses()
        #expect(operations.count == (try Self.documented()).count)
        #expect(responses["MethodNotAllowed"]?.contains("Allow") == true, "405 carries Allow")
        #expect(responses["RateLimited"]?.contains("Retry-After") == true, "429 carries Retry-After")
        for (name, operation) in operations.sorted(by: { $0.key < $1.key }) {
            #expect(
                operation.statuses["405"]?.contains("#/components/responses/MethodNotAllowed") == true,
                "\(name) documents 405 with Allow")
            if operation.takesInput {
                #expect(operation.statuses["400"] != nil, "\(name) reads input, so it documents 400")
            }
            #expect(operation.statuses.keys.contains { $0.hasPrefix("2") }, "\(name) documents a success")
            for (status, text) in operation.statuses {
                if let ref = text.firstRange(of: "#/components/responses/") {
                    let target = String(text[ref.upperBound...].prefix { $0.isLetter })
                    #expect(responses[target] != nil, "\(name) \(status) refers to a response that exists: \(target)")
                    // A refusal is a problem document; the one exception is a chunk conflict,
                    // answered with a receipt of status conflict.
                    if status.hasPrefix("4") || status.hasPrefix("5"), target != "Receipt" {
                        #expect(
                            responses[target]?.contains("application/problem+json") == true,
                            "\(name) \(status) is application/problem+json")
                    } else if target == "Receipt" {
                        #expect(
                            status.hasPrefix("2") || (status == "409" && name == "PUT /v1/alerts/{alert}/chunks/{seq}"),
                            "\(name) \(status)")
                    }
                } else {
                    #expect(status.hasPrefix("2"), "\(name) \(status): refusals refer to a shared problem response")
                }
            }
        }
        // The device API documents every way a device request is refused.
        for (name, operation) in operations where name.contains("/v1/alerts/") && !name.contains("/admin/") {
            for status in ["400", "401", "403", "404", "413", "429", "503"] {
                #expect(operation.statuses[status] != nil, "\(name) documents \(status)")
            }
        }
    }

    /// The staff API: every operation needs a staff token and documents its refusal (401 with
    /// WWW-Authenticate) and the failures bucket (429 with Retry-After); every one but `me` needs
    /// a permission and documents 403 staff.forbidden; the admin routes take the admin token.
    @Test func everyStaffOperationDocumentsAuthenticationAndPermission() throws {
        let operations = try Self.operations()
        let responses = try Self.componentResponses()
        #expect(responses["StaffUnauthorized"]?.contains("WWW-Authenticate") == true)
        #expect(responses["TooManyFailures"]?.contains("Retry-After") == true)
        #expect(responses["Forbidden"]?.contains("staff.forbidden") == true)
        let staff = operations.filter { $0.key.contains(" /v1/staff/") }
        #expect(staff.count == 19)
        for (name, operation) in staff.sorted(by: { $0.key < $1.key }) {
            #expect(operation.security?.contains("staffToken") == true, "\(name) takes a staff token")
            #expect(operation.statuses["401"]?.contains("StaffUnauthorized") == true, "\(name) documents 401")
            #expect(operation.statuses["429"]?.contains("TooManyFailures") == true, "\(name) documents 429")
            #expect(operation.statuses["503"] != nil, "\(name): an access that cannot be recorded is 503")
            if name != "GET /v1/staff/me" {
                #expect(operation.statuses["403"]?.contains("Forbidden") == true, "\(name) documents 403")
            }
        }
        for (name, operation) in operations where name.contains(" /v1/admin/") {
            #expect(operation.security?.contains("adminToken") == true, "\(name) takes the admin token")
            #expect(operation.statuses["401"]?.contains("Unauthorized") == true, "\(name) documents 401")
        }
    }

    /// Every Problem code the service maps to a status of its own appears in Docs/api.md's table.
    @Test func theStatusTableNamesTheMappedCodes() throws {
        let api = try String(
            contentsOf: Self.spec.deletingLastPathComponent().appendingPathComponent("api.md"), encoding: .utf8)
        for code in [
            "device.unknown", "statement.bad-signature", "admin.unauthorized", "ledger.device-already-enrolled",
            "alert.unknown",
            "alert.conflict", "audio.too-large", "audio.unsupported-media", "rate.limited", "ledger.locked",
            "http.method-not-allowed", "query.bad", "chunk.bad-seq", "quota.device-bytes", "quota.alert-bytes",
            "chunk.too-many-conflicts", "staff.unauthorized", "staff.forbidden", "staff.too-many-failures",
            "account.unknown", "account.exists", "device.already-revoked", "device.revoked", "range.not-satisfiable",
        ] {
            #expect(api.contains("`\(code)`"), "Docs/api.md names \(code)")
        }
    }

    @Test func theSpecListsExactlyTheRegisteredRoutes() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("temoin-openapi-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = DataDirectory(root.path)
        _ = try await Ledger.initialize(directory: directory, origin: "test.example/openapi")
        let writer = try LedgerWriter(directory: directory)
        let service = DeviceService(
            writer: writer, ingestor: try AudioIngestor(writer: writer), limiter: RateLimiter(perMinute: 1),
            quota: ByteQuota(bytesPerHour: 1 << 30),
            metrics: ServiceMetrics(), configuration: ServiceConfiguration())
        let router = try TemoinService.buildRouter(
            directory: directory, service: service, publicLog: PublicLog(reader: service.reader),
            logger: Logger(label: "test"))
        let registered = Set(
            router.routes.map { "\($0.method) \($0.path)" }.map { route -> String in
                // "/v1/alerts/:alert" → "/v1/alerts/{alert}"
                let parts = route.split(separator: " ", maxSplits: 1)
                let path = parts[1].split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
                    .joined(separator: "/")
                return "\(parts[0]) /\(path)"
            }.filter {
                // HTML pages, not the API: Docs/console.md and Docs/fanout.md list them.
                !$0.contains(" /console") && !$0.hasSuffix(" /l") && !$0.contains(" /l/")
                    && !$0.hasSuffix(" /robots.txt")
            })
        let documented = try Self.documented()
        #expect(documented.count >= 11)
        #expect(
            registered == documented,
            Comment(
                rawValue: "only in code: \(registered.subtracting(documented)); only in the spec: "
                    + "\(documented.subtracting(registered))")
        )
    }
}
