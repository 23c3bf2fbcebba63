import Foundation
@testable import TemoinServer
import TemoinCore
import TemoinCrypto
import TemoinDevice
import TemoinLedger
import TemoinTestSupport
import Testing

/// After real uploads (WAV chunks, a phone's Ogg Opus chunk, conflicting bytes), no file of the
/// data folder holds the audio in plaintext: not the originals' bytes, not a RIFF/WAVE or Ogg
/// header, not the Opus packets.
struct EncryptionAtRestTests {
    static func files(under root: String) throws -> [(String, Data)] {
        let e = FileManager.default.enumerator(atPath: root)!
        var out = [(String, Data)]()
        while let name = e.nextObject() as? String {
            var dir: ObjCBool = false
            let path = root + "/" + name
            if FileManager.default.fileExists(atPath: path, isDirectory: &dir), !dir.boolValue {
                out.append((name, try Data(contentsOf: URL(fileURLWithPath: path))))
            }
        }
        return out
    }

    @Test(.tags(.process)) func noFileOfTheDataFolderHoldsPlaintextAudioAfterRealUploads() async throws {
        let s = try await LiveServer()
        let c = s.client()
        let a = LiveServer.alert()
        _ = try await c.openAlert(a, openedAt: LiveServer.t0)
        var originals = [[UInt8]]()
        for seq in 0..<2 {
            originals.append(LiveServer.chunk(seq))
            _ = try await c.putChunk(
                a, seq: UInt64(seq), wav: originals[seq], capturedAt: LiveServer.at(seq), isFinal: false)
        }
        // Other bytes for a stored sequence number: kept in quarantine, sealed too.
        let conflicting = LiveServer.chunk(0, variant: 1)
        originals.append(conflicting)
        _ = try await c.putChunk(a, seq: 0, wav: conflicting, capturedAt: LiveServer.at(0), isFinal: false)
        // A phone's own Ogg Opus stream, on a second alert.
        let b = LiveServer.alert(1)
        _ = try await c.openAlert(b, openedAt: LiveServer.t0)
        let dir = s.root.appendingPathComponent("ogg")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(LiveServer.chunk(0)).write(to: dir.appendingPathComponent("in.wav"))
        _ = try await runProcess(
            "opusenc",
            ["--quiet", dir.appendingPathComponent("in.wav").path, dir.appendingPathComponent("c.opus").path])
        let ogg = try [UInt8](Data(contentsOf: dir.appendingPathComponent("c.opus")))
        originals.append(ogg)
        let signature = try s.chunkSignature(alert: b, seq: 0, capturedAt: LiveServer.at(0), bytes: ogg)
        let (status, body) = try await s.raw(
            "PUT", "v1/alerts/\(b)/chunks/0", body: Data(ogg),
            headers: [
                "Content-Type": "audio/ogg", "Temoin-Captured-At": LiveServer.at(0).description,
                "Temoin-Signature": signature, "Temoin-Final": "true",
            ])
        #expect(status == 201, "\(body)")

        // The Opus packet streams as stored (read back through the keys).
        let reader = try LedgerReader(directory: s.directory)
        var streams = [[UInt8]]()
        for alert in [a, b] {
            for e in try reader.entries(alert: alert).map(\.entry) where e.kind == .audioChunk {
                streams.append(try reader.blob(alert: alert, hash: e.hash("opus-sha256")!))
            }
        }
        #expect(streams.count == 3)
        let files = try Self.files(under: s.directory.path)
        let blobFiles = files.filter { $0.0.hasPrefix("blobs/") }
        var named = Set<String>()
        for alert in [a, b] {
            for e in try reader.entries(alert: alert).map(\.entry) {
                for field in ["original-sha256", "opus-sha256"] {
                    if let h = e[field] { named.insert("blobs/\(alert)/\(h)") }
                }
            }
        }
        #expect(Set(blobFiles.map(\.0)) == named, "every blob named by an entry, and nothing else")
        #expect(named.count >= 6)
        for (name, data) in files {
            for marker in ["RIFF", "OggS"] where name.hasPrefix("blobs/") {
                #expect(!data.starts(with: Data(marker.utf8)), "\(name) starts with \(marker)")
            }
            for marker in ["WAVEfmt ", "OpusHead", "OpusTags"] {
                #expect(data.range(of: Data(marker.utf8)) == nil, "\(name) holds \(marker)")
            }
            for plain in originals + streams {
                // A 64-byte window from the middle of each original and packet stream.
                let middle = plain.count / 2
                let window = Data(plain[middle..<min(plain.count, middle + 64)])
                #expect(data.range(of: window) == nil, "\(name) holds plaintext audio")
            }
        }
        #expect(try Auditor(directory: s.directory).run().passed)
        await s.stop()
    }
}
