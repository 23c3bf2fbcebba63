internal import CTemoinZlib
public import TemoinCore

/// The subset of the zip format (PKWARE APPNOTE 6.3.x) that export bundles use, shared by the
/// writer and the reader so that everything written is something the reader accepts
/// (Docs/export.md, "The zip form").
public enum ZipFormat {
    static let localHeaderSignature: UInt32 = 0x0403_4b50
    static let centralHeaderSignature: UInt32 = 0x0201_4b50
    static let endSignature: UInt32 = 0x0605_4b50
    static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    static let descriptorSignature: UInt32 = 0x0807_4b50

    static let localHeaderSize = 30
    static let centralHeaderSize = 46
    static let endSize = 22

    /// General-purpose flag bits: 0 encrypted, 1–2 deflate options, 3 data descriptor, 6 strong
    /// encryption, 11 UTF-8 names, 13 masked central directory.
    static let flagEncrypted: UInt16 = 0x0001
    static let flagDescriptor: UInt16 = 0x0008
    static let flagStrongEncryption: UInt16 = 0x0040
    static let flagUTF8: UInt16 = 0x0800
    static let flagMaskedDirectory: UInt16 = 0x2000
    /// Every flag a bundle's zip may carry: deflate options, data descriptor, UTF-8 names.
    static let allowedFlags: UInt16 = 0x0002 | 0x0004 | flagDescriptor | flagUTF8

    static let methodStored: UInt16 = 0
    static let methodDeflate: UInt16 = 8
    static let methodAES: UInt16 = 99

    /// Unix file types in the high 16 bits of the external attributes (host 3, Unix).
    static let unixTypeMask: UInt32 = 0o170000
    static let unixRegular: UInt32 = 0o100000
    static let unixDirectory: UInt32 = 0o040000
    static let unixSymlink: UInt32 = 0o120000
    /// MS-DOS attribute bits in the low byte: volume label, directory; NTFS reparse point (a link).
    static let dosVolume: UInt32 = 0x08
    static let dosDirectory: UInt32 = 0x10
    static let dosReparsePoint: UInt32 = 0x400

    /// A zip without ZIP64 addresses at most 4 GiB − 1 bytes, and counts at most 65 535 entries
    /// (0xFFFF means "see ZIP64"): the writer refuses more, the reader refuses ZIP64.
    public static let maximumArchiveSize = UInt64(UInt32.max)

    /// MS-DOS date and time of an instant, in UTC (DOS time has no zone; bundles say UTC):
    /// two-second resolution, clamped to 1980-01-01T00:00:00 … 2107-12-31T23:59:58.
    public static func dosDateTime(_ time: Timestamp) -> (date: UInt16, time: UInt16) {
        let text = Array(time.description.utf8) // YYYY-MM-DDTHH:MM:SS.mmmZ, always 24 characters
        func number(_ range: Range<Int>) -> Int {
            range.reduce(0) { $0 * 10 + Int(text[$1] &- UInt8(ascii: "0")) }
        }
        let year = number(0..<4)
        if year < 1980 { return (date: 1 << 5 | 1, time: 0) }
        if year > 2107 { return (date: UInt16(127 << 9 | 12 << 5 | 31), time: UInt16(23 << 11 | 59 << 5 | 29)) }
        let date = (year - 1980) << 9 | number(5..<7) << 5 | number(8..<10)
        let clock = number(11..<13) << 11 | number(14..<16) << 5 | number(17..<19) / 2
        return (UInt16(date), UInt16(clock))
    }

    /// Checks one entry name as the reader does and returns its path components (a directory's
    /// name ends with "/"). Names are UTF-8 paths relative to the archive's root, "/"-separated:
    /// no empty, "." or ".." component, no leading "/", no backslash, no ":" (drive letters,
    /// alternate streams), no control character, at most `maximumLength` bytes.
    static func components(
        of name: [UInt8], maximumLength: Int
    ) throws(TemoinError) -> (
        text: String, parts: [String], isDirectory: Bool
    ) {
        func refuse(_ fr: String, _ en: String) -> TemoinError {
            TemoinError(
                .zipBadName, "nom d'entrée refusé : \(fr) / entry name refused: \(en)",
                context: String(decoding: name.prefix(200), as: UTF8.self))
        }
        guard !name.isEmpty else { throw refuse("vide", "empty") }
        guard name.count <= maximumLength else {
            throw refuse("plus de \(maximumLength) octets", "over \(maximumLength) bytes")
        }
        guard let text = String(validating: name, as: UTF8.self) else {
            throw refuse("pas de l'UTF-8", "not UTF-8")
        }
        for byte in name {
            if byte < 0x20 || byte == 0x7f { throw refuse("caractère de contrôle", "control character") }
            if byte == UInt8(ascii: "\\") {
                throw refuse("barre oblique inverse (chemin Windows)", "backslash (Windows path)")
            }
            if byte == UInt8(ascii: ":") { throw refuse("deux-points (lettre de lecteur)", "colon (drive letter)") }
        }
        guard name[0] != UInt8(ascii: "/") else { throw refuse("chemin absolu", "absolute path") }
        let isDirectory = name.last == UInt8(ascii: "/")
        let body = isDirectory ? name.dropLast() : name[...]
        let parts = body.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        for part in parts {
            if part.isEmpty { throw refuse("composant vide (//)", "empty component (//)") }
            if part.elementsEqual([0x2e]) || part.elementsEqual([0x2e, 0x2e]) {
                throw refuse(
                    "composant « . » ou « .. » (sortie du dossier)",
                    "\".\" or \"..\" component (escapes the folder)")
            }
        }
        return (text, parts.map { String(decoding: $0, as: UTF8.self) }, isDirectory)
    }
}

/// CRC-32 (ISO-HDLC, the zip and gzip polynomial) through zlib.
public struct CRC32: Sendable {
    public private(set) var value: UInt32 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes
        while !rest.isEmpty {
            let n = min(rest.count, 1 << 30)
            let base = rest.baseAddress!.assumingMemoryBound(to: UInt8.self)
            value = UInt32(truncatingIfNeeded: crc32(uLong(value), base, uInt(n)))
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
        }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c = CRC32()
        c.update(bytes)
        return c.value
    }
}

extension Array where Element == UInt8 {
    mutating func appendLE16(_ v: UInt16) {
        append(UInt8(truncatingIfNeeded: v))
        append(UInt8(truncatingIfNeeded: v >> 8))
    }

    mutating func appendLE32(_ v: UInt32) {
        for i in 0..<4 { append(UInt8(truncatingIfNeeded: v >> (8 * UInt32(i)))) }
    }
}

/// Little-endian reads from a byte array, bounds checked by the caller.
@inline(__always) func le16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
@inline(__always) func le32(_ b: [UInt8], _ i: Int) -> UInt32 {
    UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
}
