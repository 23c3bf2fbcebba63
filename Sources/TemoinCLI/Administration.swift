import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TemoinCore
import TemoinLedger

/// Administration commands append through the ledger's one writer: directly when no service
/// runs, else through the running service's admin API (`service.url`, `keys/admin.token`).
enum Administration {
    enum Route {
        case local(LedgerWriter)
        case service(URL, token: String)
    }

    static func route(_ directory: DataDirectory) throws -> Route {
        do {
            return .local(try LedgerWriter(directory: directory))
        } catch  where error.code == "ledger.locked" {
            guard let text = directory.readServiceURL(), let url = URL(string: text),
                let token = try? directory.loadOrCreateAdminToken()
            else {
                throw TemoinError(
                    .adminNoService,
                    "another process holds the ledger and no running service can be reached", context: directory.path)
            }
            return .service(url, token: token)
        }
    }

    /// GETs from the service's admin API; returns the body of a 2xx answer, else throws its problem.
    static func get(_ base: URL, _ path: String, token: String, headers: [String: String] = [:]) async throws -> Data {
        try await send("GET", base, path, token: token, json: nil, headers: headers)
    }

    /// POSTs to the service's admin API; returns the body of a 2xx answer, else throws its problem.
    static func post(
        _ base: URL, _ path: String, token: String, json: Data?, headers: [String: String] = [:]
    ) async throws -> Data {
        try await send("POST", base, path, token: token, json: json, headers: headers)
    }

    /// PUTs to the service's admin API; returns the body of a 2xx answer, else throws its problem.
    static func put(
        _ base: URL, _ path: String, token: String, json: Data?, headers: [String: String] = [:]
    ) async throws -> Data {
        try await send("PUT", base, path, token: token, json: json, headers: headers)
    }

    /// DELETEs on the service's admin API; returns the body of a 2xx answer, else throws its problem.
    static func delete(_ base: URL, _ path: String, token: String, headers: [String: String] = [:]) async throws -> Data
    {
        try await send("DELETE", base, path, token: token, json: nil, headers: headers)
    }

    private static func send(
        _ method: String, _ base: URL, _ path: String, token: String, json: Data?, headers: [String: String] = [:]
    ) async throws -> Data {
        var request = URLRequest(url: base.appendingPathComponent(path))
        request.httpMethod = method
        request.httpBody = json
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        let data: Data, response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            throw TemoinError(
                .adminNoService, "the running service at \(base) does not answer: \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            struct Problem: Decodable { let code: String; let detail: String }
            let p = try? JSONDecoder().decode(Problem.self, from: data)
            let category: TemoinError.Category = status >= 500 ? .environment : .usage
            // The service and this command are one build: they know the same codes.
            throw TemoinError(
                p.flatMap { ErrorCode(rawValue: $0.code) } ?? .adminHTTPFailed, category: category,
                p?.detail ?? "the service answered HTTP \(status)")
        }
        return data
    }
}
