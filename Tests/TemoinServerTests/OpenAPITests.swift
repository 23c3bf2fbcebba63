import Foundation
@testable import TemoinServer
import TemoinLedger
import Testing

/// Docs/openapi.yaml lists exactly the routes the service registers.
struct OpenAPITests {
    static let spec = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Docs/openapi.yaml")

    /// "METHOD /path/{param}" for every operation under `paths:`, read by indentation.
    static func documented() throws -> Set<String> {
        let lines = try String(contentsOf: spec, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
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

    @Test func theSpecListsExactlyTheRegisteredRoutes() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("temoin-openapi-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = DataDirectory(root.path)
        _ = try await Ledger.initialize(directory: directory, origin: "test.example/openapi")
        let writer = try LedgerWriter(directory: directory)
        let service = DeviceService(writer: writer, ingestor: AudioIngestor(writer: writer), limiter: RateLimiter(perMinute: 1),
                                    metrics: ServiceMetrics(), configuration: ServiceConfiguration())
        let router = try TemoinService.buildRouter(directory: directory, service: service, publicLog: PublicLog(directory: directory))
        let registered = Set(router.routes.map { "\($0.method) \($0.path)" }.map { route -> String in
            // "/v1/alerts/:alert" → "/v1/alerts/{alert}"
            let parts = route.split(separator: " ", maxSplits: 1)
            let path = parts[1].split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
            return "\(parts[0]) /\(path)"
        })
        let documented = try Self.documented()
        #expect(documented.count >= 11)
        #expect(registered == documented, "only in code: \(registered.subtracting(documented)); only in the spec: \(documented.subtracting(registered))")
    }
}
