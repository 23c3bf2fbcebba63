import TemoinCore
import TemoinLedger

// TEMPORARY (not committed): replaced when the zip writer lands.
enum StaffExports {
    struct Zipped: Sendable {
        let bytes: [UInt8]
        let exportIndex: UInt64
    }
    static func zip(
        alert: AlertID, requester: String, reference: String, writer: LedgerWriter, reader: LedgerReader,
        directory: DataDirectory, io: BlockingIO
    ) async throws -> Zipped {
        throw TemoinError(.exportServiceRunning, "not yet")
    }
}
