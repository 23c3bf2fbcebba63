public import TemoinCore
import TemoinCrypto
public import TemoinLedger
public import TemoinRecording

extension LedgerReader {
    /// The alert's deterministic Ogg Opus recording, from its `audio.chunk` entries and stored
    /// packets (each checked against its entry).
    /// `through`: only the entries up to that index (an export's own entry), so that chunks
    /// appended while the bundle is assembled stay out of it.
    public func recording(alert: AlertID, through last: UInt64? = nil) throws(TemoinError) -> Recording {
        let all = try entries(alert: alert).filter { last == nil || $0.index <= last! }
        guard !all.isEmpty else { throw TemoinError(.alertUnknown, "there is no alert \(alert) in this ledger") }
        var chunks = [RecordingChunk]()
        let key = try alertKey(alert)
        for (_, e) in all where e.kind == .audioChunk {
            let stream = try directory.blobs.read(alert: alert, hash: e.hash("opus-sha256")!, key: key)
            chunks.append(try RecordingChunk(entry: e, packetStream: stream) { SHA256.hash($0) })
        }
        return try Recording(origin: origin(), alert: alert, chunks: chunks)
    }
}
