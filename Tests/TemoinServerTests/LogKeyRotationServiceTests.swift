import Foundation
import TemoinCore
import TemoinCrypto
import TemoinDevice
import TemoinLedger
import TemoinAPI
import Testing

/// A phone that holds the log key from before a rotation follows the proven transitions
/// (`GET /v1/proofs/log-keys`) and nothing else.
struct LogKeyRotationServiceTests {
    @Test func aPhoneHoldingTheOldKeyFollowsTwoRotations() async throws {
        let s = try await LiveServer(prepare: { w in
            _ = try await w.rotateLogKey(to: Ed25519PrivateKey.generate())
            _ = try await w.rotateLogKey(to: Ed25519PrivateKey.generate())
        })
        let c = s.client()
        let k0 = s.created.verifierKey
        let a = LiveServer.alert()
        let opened = try await c.openAlert(a, openedAt: LiveServer.t0)
        let keys = await c.followedKeys
        #expect(keys.count == 3 && keys.first == k0)
        let current = try VerifierKey(
            parsing: String(
                decoding: try Data(contentsOf: URL(fileURLWithPath: s.directory.verifierKeyFile)), as: UTF8.self
            )
            .trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(await c.logKey == current)
        let chunk = try await c.putChunk(
            a, seq: 0, wav: LiveServer.chunk(0), capturedAt: LiveServer.at(0), isFinal: true)
        for r in [opened, chunk] { _ = try await c.verifyInclusion(of: r) }
        #expect(await c.followedKeys.count == 3, "followed once")
        let (status, body) = try await s.raw("GET", "v1/proofs/log-keys")
        #expect(status == 200)
        #expect(try JSONDecoder().decode(LogKeyTransitionsResponse.self, from: Data(body.utf8)).transitions.count == 2)
        #expect(try Auditor(directory: s.directory).run().passed)
        await s.stop()
    }
}
