import Foundation
import Logging
@testable import TemoinServer
import TemoinCore
import TemoinLedger
import TemoinIngest
import Testing

/// The retention period (`temoin serve --retention-days`): the sweeper erases what was closed
/// longer ago and is not on legal hold, each erasure a `data.erased` entry of reason `retention`.
struct RetentionTests {
    static func alert(_ n: Int) -> AlertID { AlertID(String(format: "%032x", n + 0x5eed))! }

    @Test func closedAlertsPastTheRetentionPeriodAreErasedUnlessHeld() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "temoin-retention-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let directory = DataDirectory(root.path)
        let created = try await Ledger.initialize(directory: directory, origin: "test.example/retention")
        let writer = try LedgerWriter(directory: directory)
        var configuration = ServiceConfiguration()
        configuration.retentionSeconds = 30 * 86_400
        let service = DeviceService(
            writer: writer, ingestor: try AudioIngestor(writer: writer), limiter: RateLimiter(perMinute: 600),
            quota: ByteQuota(bytesPerHour: 1 << 30), metrics: ServiceMetrics(), configuration: configuration)
        let logger = Logger(label: "test")
        for n in 0..<3 {
            _ = try await writer.append(
                EntryDraft(
                    kind: .alertOpened, alert: Self.alert(n), device: created.ingestDevice,
                    [("opened-at", "2026-11-29T17:00:00.000Z"), ("statement-sig", "none")]))
            if n < 2 {
                _ = try await writer.append(
                    EntryDraft(
                        kind: .alertClosed, alert: Self.alert(n),
                        [
                            ("closed-by", "operator"), ("reason", "released"),
                            ("closed-at", "2026-11-29T17:10:00.000Z"), ("last-seq", "0"), ("statement-sig", "none"),
                        ]))
            }
        }
        _ = try await service.hold(
            alert: Self.alert(1), placing: true, actor: ErasureActor.id, role: "operator", reference: "RG 26/1")
        let now = systemClock()
        // Not yet past the period: nothing is erased.
        #expect(await service.applyRetention(now: now, logger: logger).isEmpty)
        // 31 days later: the closed alert is erased; the held one and the open one are not.
        let later = Timestamp(millisecondsSinceEpoch: now.millisecondsSinceEpoch + 31 * 86_400_000)
        #expect(await service.applyRetention(now: later, logger: logger) == [Self.alert(0)])
        let reader = service.reader
        let entry = try #require(try reader.entries(alert: Self.alert(0)).last?.entry)
        #expect(entry.kind == .dataErased && entry["reason"] == "retention" && entry["role"] == "service")
        #expect(entry["actor"] == Erasure.serviceActor)
        #expect(try !reader.isErased(Self.alert(1)) && !reader.isErased(Self.alert(2)))
        // Released, the held alert goes at the next sweep; nothing is erased twice.
        _ = try await service.hold(
            alert: Self.alert(1), placing: false, actor: ErasureActor.id, role: "operator", reference: "RG 26/1")
        #expect(await service.applyRetention(now: later, logger: logger) == [Self.alert(1)])
        #expect(await service.applyRetention(now: later, logger: logger).isEmpty)
        let report = try Auditor(directory: directory).run()
        #expect(report.passed, "\(report.problems)")
        #expect(Set(report.erasedAlerts) == [Self.alert(0), Self.alert(1)])
    }

    @Test func retentionIsOffByDefaultAndAPeriodMustBePositive() throws {
        var configuration = ServiceConfiguration()
        #expect(configuration.retentionSeconds == nil)
        configuration.retentionSeconds = 0
        #expect(throws: TemoinError.self) { try configuration.validate() }
    }
}

enum ErasureActor {
    static let id = "0123456789abcdef0123456789abcdef"
}
