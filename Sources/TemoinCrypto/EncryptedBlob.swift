public import TemoinCore

/// The file format of a stored blob, v1 (Docs/storage.md, "Blob files"): a 20-byte header
/// (`TMNBLOB`, version 0x01, a random 96-bit base nonce), then the plaintext in segments of
/// 65 536 bytes (the last one shorter, possibly empty), each sealed with AES-256-GCM under the
/// alert's key as its ciphertext followed by its 16-byte tag.
///
/// Segment i's nonce is the base nonce with its last five bytes XORed with i (32 bits, big-endian,
/// bytes 7–10) and the final flag (byte 11: 0x01 for the last segment, else 0x00). Every segment's
/// additional data is the header, the alert id (32 ASCII hex digits) and the plaintext's raw
/// 32-byte SHA-256 (the blob's name): a file moved to another alert or name, a segment dropped,
/// repeated, reordered or cut off, or a file cut at a segment boundary fails to authenticate.
public enum EncryptedBlob {
    public static let magic: [UInt8] = Array("TMNBLOB".utf8)
    public static let version: UInt8 = 1
    public static let headerSize = 20
    public static let segmentSize = 65_536
    /// One sealed segment at most: a full segment and its tag.
    public static let recordSize = segmentSize + AESGCM.tagSize

    /// Whether `prefix` (the file's first bytes) starts with a v1 header.
    public static func hasHeader(_ prefix: some Collection<UInt8>) -> Bool {
        prefix.count >= headerSize && prefix.prefix(8).elementsEqual(magic + [version])
    }

    /// The size of the sealed file for a plaintext of `count` bytes.
    public static func sealedSize(_ count: Int) -> Int {
        headerSize + count + max(1, (count + segmentSize - 1) / segmentSize) * AESGCM.tagSize
    }

    static func additionalData(header: ArraySlice<UInt8>, alert: AlertID, name: Hash) -> [UInt8] {
        Array(header) + Array(alert.rawValue.utf8) + name.bytes
    }

    static func nonce(base: ArraySlice<UInt8>, segment: UInt32, final: Bool) -> [UInt8] {
        var n = Array(base)
        n[7] ^= UInt8(truncatingIfNeeded: segment >> 24)
        n[8] ^= UInt8(truncatingIfNeeded: segment >> 16)
        n[9] ^= UInt8(truncatingIfNeeded: segment >> 8)
        n[10] ^= UInt8(truncatingIfNeeded: segment)
        n[11] ^= final ? 1 : 0
        return n
    }

    /// Seals `plaintext` (whose SHA-256 is `name`) for `alert`: the whole file's bytes.
    public static func seal(
        _ plaintext: [UInt8], name: Hash, alert: AlertID, key: SymmetricKey
    ) throws(TemoinError) -> [UInt8] {
        let count = plaintext.count
        let segments = max(1, (count + segmentSize - 1) / segmentSize)
        guard segments <= Int(UInt32.max) else { throw TemoinError(.blobTooLarge, "a blob holds at most 256 TiB") }
        let header = magic + [version] + (try SecureRandom.bytes(AESGCM.nonceSize))
        let aad = additionalData(header: header[...], alert: alert, name: name)
        let cipher = try AESGCM(key: key, encrypting: true)
        var out = [UInt8](repeating: 0, count: sealedSize(count))
        out.replaceSubrange(0..<headerSize, with: header)
        try TypedBytes.read(plaintext) { input throws(TemoinError) in
            try TypedBytes.write(&out) { output throws(TemoinError) in
                var write = headerSize
                for i in 0..<segments {
                    let start = i * segmentSize, end = min(count, start + segmentSize)
                    let nonce = nonce(base: header[8...], segment: UInt32(i), final: i == segments - 1)
                    let tag = try cipher.seal(
                        nonce: nonce, aad: aad, UnsafeRawBufferPointer(rebasing: input[start..<end]),
                        into: UnsafeMutableRawBufferPointer(rebasing: output[write..<(write + end - start)]))
                    write += end - start
                    UnsafeMutableRawBufferPointer(rebasing: output[write..<(write + AESGCM.tagSize)])
                        .copyBytes(from: tag)
                    write += AESGCM.tagSize
                }
            }
        }
        return out
    }

    /// Opens a sealed file segment by segment (bounded memory): give it the header, then each
    /// sealed record in order, saying which is the last.
    public final class Opener {
        private let cipher: AESGCM
        private let aad: [UInt8]
        private let header: [UInt8]
        private var segment: UInt32 = 0
        private var finished = false
        private var output = [UInt8](repeating: 0, count: EncryptedBlob.segmentSize)

        public init(header: [UInt8], alert: AlertID, name: Hash, key: SymmetricKey) throws(TemoinError) {
            guard EncryptedBlob.hasHeader(header), header.count == EncryptedBlob.headerSize else {
                throw TemoinError(.blobCorrupt, "not an encrypted blob of a known version")
            }
            self.header = header
            aad = EncryptedBlob.additionalData(header: header[...], alert: alert, name: name)
            cipher = try AESGCM(key: key, encrypting: false)
        }

        /// Authenticates and decrypts one record (ciphertext ‖ tag); `body` sees the plaintext.
        public func open(
            _ record: UnsafeRawBufferPointer, final: Bool, _ body: (UnsafeRawBufferPointer) -> Void
        ) throws(TemoinError) {
            guard !finished, record.count >= AESGCM.tagSize, record.count <= EncryptedBlob.recordSize,
                final || record.count == EncryptedBlob.recordSize
            else {
                throw TemoinError(.blobCorrupt, "an encrypted blob's segments are cut or misplaced")
            }
            let count = record.count - AESGCM.tagSize
            let nonce = EncryptedBlob.nonce(base: header[8...], segment: segment, final: final)
            let ok = try TypedBytes.write(&output) { out throws(TemoinError) in
                try cipher.open(
                    nonce: nonce, aad: aad, UnsafeRawBufferPointer(rebasing: record[..<count]),
                    tag: UnsafeRawBufferPointer(rebasing: record[count...]),
                    into: UnsafeMutableRawBufferPointer(rebasing: out[..<count]))
            }
            guard ok else {
                throw TemoinError(
                    .blobCorrupt,
                    "an encrypted blob does not authenticate: its bytes, its alert, its name or the key differ from "
                        + "what was sealed")
            }
            output.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            if segment == UInt32.max, !final { throw TemoinError(.blobTooLarge, "too many segments") }
            segment &+= 1
            finished = final
        }

        /// Whether the final segment was opened (a file that ends before it is cut).
        public var isComplete: Bool { finished }
    }

    /// Opens a whole sealed file held in memory.
    public static func open(
        _ sealed: [UInt8], name: Hash, alert: AlertID, key: SymmetricKey
    ) throws(TemoinError) -> [UInt8] {
        guard sealed.count >= headerSize + AESGCM.tagSize else {
            throw TemoinError(.blobCorrupt, "an encrypted blob is shorter than its header and one tag")
        }
        let opener = try Opener(header: Array(sealed[..<headerSize]), alert: alert, name: name, key: key)
        var plaintext = [UInt8]()
        plaintext.reserveCapacity(sealed.count)
        try TypedBytes.read(sealed) { all throws(TemoinError) in
            var offset = headerSize
            repeat {
                let end = min(all.count, offset + recordSize)
                try opener.open(UnsafeRawBufferPointer(rebasing: all[offset..<end]), final: end == all.count) {
                    plaintext.append(contentsOf: $0)
                }
                offset = end
            } while offset < all.count
        }
        return plaintext
    }
}
