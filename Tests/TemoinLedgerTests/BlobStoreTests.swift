import Foundation
@testable import TemoinLedger
import TemoinCore
import TemoinCrypto
import Testing

struct BlobStoreTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("temoin-blobs-\(UUID().uuidString)")
    var store: BlobStore { BlobStore(root: root.path + "/blobs") }
    let alert = AlertID("0123456789abcdef0123456789abcdef")!
    let key = try! SymmetricKey.random()

    @Test func aBlobIsStoredUnderItsAlertAndHashWithOwnerOnlyPermissions() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let bytes = Array("evidence".utf8)
        let hash = try store.put(alert: alert, bytes: bytes, key: key)
        #expect(hash == SHA256.hash(bytes))
        let path = store.path(alert: alert, hash: hash)
        #expect(path.hasSuffix("/blobs/\(alert)/\(hash.hex)"))
        #expect(try store.read(alert: alert, hash: hash, key: key) == bytes)
        #expect(try store.digest(alert: alert, hash: hash, key: key) == hash)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! Int
        #expect(mode == 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root.path + "/blobs/\(alert)")
        #expect(leftovers == [hash.hex], "no temporary file is left behind")
    }

    @Test func storingTheSameBytesAgainIsHarmlessButACorruptedBlobIsNeverPassedOver() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let bytes = Array("evidence".utf8)
        let hash = try store.put(alert: alert, bytes: bytes, key: key)
        #expect(try store.put(alert: alert, bytes: bytes, key: key) == hash)
        try Data("something else".utf8).write(to: URL(fileURLWithPath: store.path(alert: alert, hash: hash)))
        #expect { try store.put(alert: alert, bytes: bytes, key: key) } throws: {
            ($0 as? TemoinError)?.code == "blob.corrupt"
        }
    }

    @Test func severalBlobsStoredTogetherAreEachWriteOnceAndLeaveNoTemporaryFile() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let original = Array("original".utf8), stream = Array("opus stream".utf8), same = Array("original".utf8)
        let first = try store.put(alert: alert, bytes: original, key: key)
        // One new blob, one already stored, and the same bytes twice in one call.
        let hashes = try store.put(alert: alert, blobs: [original, stream, same], key: key)
        #expect(hashes == [first, SHA256.hash(stream), first])
        #expect(try store.read(alert: alert, hash: hashes[1], key: key) == stream)
        let names = try FileManager.default.contentsOfDirectory(atPath: root.path + "/blobs/\(alert)").sorted()
        #expect(names == [first.hex, SHA256.hash(stream).hex].sorted(), "no temporary file is left behind")
        // A stored blob that no longer matches its name is never passed over, in a group too.
        try Data("something else".utf8).write(to: URL(fileURLWithPath: store.path(alert: alert, hash: first)))
        #expect { try store.put(alert: alert, blobs: [stream, original], key: key) } throws: {
            ($0 as? TemoinError)?.code == "blob.corrupt"
        }
        #expect(try store.put(alert: alert, blobs: [], key: key).isEmpty)
    }

    @Test func anAlertIdThatIsNotHexCannotEscapeTheBlobFolder() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        for bad in ["../../etc", "0123456789ABCDEF0123456789ABCDEF", ""] {
            // The store takes an `AlertID`: an id that could name another folder is not one.
            #expect(AlertID(bad) == nil)
        }
    }
}
