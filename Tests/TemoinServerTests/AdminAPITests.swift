import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
@testable import TemoinServer
import TemoinCore
import TemoinCrypto
import TemoinDevice
import TemoinLedger
import TemoinExport
import Testing

struct AdminAPITests {
    @Test func enrollmentAndRecordingsGoThroughTheRunningServiceWithTheAdminToken() async throws {
        let s = try await LiveServer()
        let token = try s.directory.loadOrCreateAdminToken()
        #expect(s.directory.readServiceURL() == s.url.absoluteString)
        let key = try Ed25519PrivateKey.generate()
        let body = Data(#"{"publicKey":"\#(Base64.encode(key.publicKey))","label":"Téléphone B"}"#.utf8)
        var (status, text) = try await s.raw(
            "POST", "v1/admin/devices", body: body, headers: ["Content-Type": "application/json"])
        #expect(status == 401, "no token, no administration: \(text)")
        (status, text) = try await s.raw(
            "POST", "v1/admin/devices", body: body, headers: ["Authorization": "Bearer wrong"])
        #expect(status == 401)
        (status, text) = try await s.raw(
            "POST", "v1/admin/devices", body: body, headers: ["Authorization": "Bearer \(token)"])
        #expect(status == 201, "\(text)")
        #expect(text.contains(DeviceID.derive(publicKey: key.publicKey).rawValue))
        (status, _) = try await s.raw(
            "POST", "v1/admin/devices", body: body, headers: ["Authorization": "Bearer \(token)"])
        #expect(status == 409)

        // The newly enrolled device can open an alert at once.
        let c = s.client(key: key)
        let a = LiveServer.alert()
        _ = try await c.openAlert(a, openedAt: LiveServer.t0)
        _ = try await c.putChunk(a, seq: 0, wav: LiveServer.chunk(0), capturedAt: LiveServer.at(0), isFinal: true)
        let operatorID = String(repeating: "ab", count: 16)
        var request = URLRequest(url: URL(string: s.url.absoluteString + "/v1/admin/alerts/\(a)/recording")!)
        request.httpMethod = "POST"
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.setValue(operatorID, forHTTPHeaderField: "Temoin-Operator")
        let (data, response) = try await URLSession.shared.data(for: request)
        #expect((response as! HTTPURLResponse).statusCode == 200)
        #expect(Array(data) == (try s.reader().recording(alert: a).bytes))
        let access = try s.reader().entries(alert: a).map(\.entry).last
        #expect(access?.kind == .access)
        #expect(access?["actor"] == operatorID)
        await s.stop()
    }
}
