internal import CTemoinZlib
public import TemoinCore
#if canImport(Glibc)
import Glibc
#endif

/// Random access to an archive's bytes: a file read with `pread`, or bytes in memory.
final class ZipBytes {
    private enum Storage {
        case file(Int32)
        case memory([UInt8])
    }
    private let storage: Storage
    let count: UInt64

    init(fd: Int32, count: UInt64) {
        storage = .file(fd)
        self.count = count
    }

    init(_ bytes: [UInt8]) {
        storage = .memory(bytes)
        count = UInt64(bytes.count)
    }

    deinit { if case .file(let fd) = storage { close(fd) } }

    /// Fills `buffer` from `offset`; false if the bytes are not all there.
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard offset <= count, UInt64(buffer.count) <= count - offset else { return false }
        switch storage {
        case .memory(let bytes):
            bytes.withUnsafeBytes { all in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: all[Int(offset)..<Int(offset) + buffer.count]))
            }
            return true
        case .file(let fd):
            var done = 0
            while done < buffer.count {
                let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                done += n
            }
            return true
        }
    }

    func bytes(at offset: UInt64, count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBytes { read(at: offset, into: $0) }
        return ok ? out : nil
    }
}

/// A zip archive read without extracting anything, refused as a whole unless every byte of it is
/// accounted for by one consistent structure (Docs/export.md, "The zip form"): one end record
/// ending the file, no ZIP64, one disk, a central directory that ends where the end record starts,
/// local headers that agree with it, entries laid end to end from byte 0 without gap or overlap,
/// names that stay inside one top-level folder and are unique (also ignoring case and Unicode
/// normalization), regular files and folders only, no encryption, stored or deflate data whose
/// size and CRC-32 are the declared ones — all checked when the archive is opened, before any
/// content is used, and again whenever a member is read.
public final class ZipArchive {
    /// Bounds on what the reader accepts (zip bombs, hostile directories).
    public struct Limits: Sendable {
        /// Entries, folders included (a bundle of a one-hour alert has a few thousand).
        public var maximumEntries = 65_000
        /// The sum of every member's declared size, the archive itself, each at most 4 GiB − 1.
        public var maximumTotalSize: UInt64 = ZipFormat.maximumArchiveSize
        public var maximumNameLength = 1024
        public var maximumCentralDirectory = 32 << 20

        public init() {}
        public static let standard = Limits()
    }

    /// One entry: a file or a folder.
    public struct Member: Sendable, Equatable {
        /// The name as stored (a folder's ends with "/").
        public let name: String
        /// The path inside the top-level folder, without the trailing "/"; "" for the folder itself.
        public let path: String
        public let isDirectory: Bool
        public let method: UInt16
        public let crc32: UInt32
        public let compressedSize: UInt64
        public let size: UInt64
        /// Where its local header starts and where its data starts, in the archive.
        public let headerOffset: UInt64
        public let dataOffset: UInt64
    }

    /// The one top-level folder's name.
    public let folder: String
    /// Every entry, in central-directory order.
    public let members: [Member]
    private let byPath: [String: Int]
    private let source: ZipBytes

    /// Opens and checks a zip file (at most 4 GiB − 1 bytes); the file is read, never extracted.
    public convenience init(path: String, limits: Limits = .standard) throws(TemoinError) {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            throw TemoinError(
                .inputNotFound, "archive introuvable ou illisible / archive missing or unreadable", context: path)
        }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw TemoinError(
                .inputNotAFile, "l'archive n'est pas un fichier ordinaire / the archive is not a regular file",
                context: path)
        }
        try self.init(source: ZipBytes(fd: fd, count: UInt64(st.st_size)), limits: limits)
    }

    /// Checks a zip held in memory (the fuzz target, tests).
    public convenience init(bytes: [UInt8], limits: Limits = .standard) throws(TemoinError) {
        try self.init(source: ZipBytes(bytes), limits: limits)
    }

    private init(source: ZipBytes, limits: Limits) throws(TemoinError) {
        self.source = source
        let (folder, members) = try Self.parse(source, limits: limits)
        self.folder = folder
        self.members = members
        var byPath = [String: Int]()
        for (i, m) in members.enumerated() { byPath[m.path] = i }
        self.byPath = byPath
        // Every member's data, inflated and checked against its size and CRC-32 before use.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        for m in members {
            let stream = try open(m)
            while try stream.read(into: buffer) > 0 {}
        }
    }

    /// The member at `path` inside the top-level folder ("entries/0.entry"), folders included.
    public func member(_ path: String) -> Member? { byPath[path].map { members[$0] } }

    /// A member's content as a stream of bytes.
    public func open(_ member: Member) throws(TemoinError) -> ZipMemberStream {
        try ZipMemberStream(source: source, member: member)
    }

    /// A member's content whole, refused over `limit` bytes.
    public func contents(_ member: Member, limit: Int) throws(TemoinError) -> [UInt8] {
        guard member.size <= UInt64(limit) else {
            throw TemoinError(.zipTooLarge, "membre trop grand / member too large", context: member.name)
        }
        let count = Int(member.size)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count + 1, alignment: 16)
        defer { buffer.deallocate() }
        let stream = try open(member)
        var done = 0
        while done <= count {
            let n = try stream.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
            guard n > 0 else { break }
            done += n
        }
        guard done == count else {
            throw TemoinError(.zipSizeMismatch, "taille différente / size differs", context: member.name)
        }
        return Array(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
    }

    // MARK: - The structure

    private struct Central {
        let name: [UInt8]
        let text: String
        let parts: [String]
        let isDirectory: Bool
        let flags: UInt16
        let method: UInt16
        let crc: UInt32
        let compressed: UInt32
        let size: UInt32
        let offset: UInt32
    }

    private static func parse(_ source: ZipBytes, limits: Limits) throws(TemoinError) -> (String, [Member]) {
        let fileSize = source.count
        guard fileSize <= ZipFormat.maximumArchiveSize else {
            throw TemoinError(
                .zipTooLarge,
                "archive de plus de 4 Gio : ZIP64 n'est pas accepté / archive over 4 GiB: ZIP64 is not accepted")
        }
        guard fileSize >= UInt64(ZipFormat.endSize) else {
            throw TemoinError(.zipNotZip, "pas une archive zip (trop courte) / not a zip archive (too short)")
        }
        // 1. The end record: the one whose comment ends exactly at the end of the file.
        let tailLength = Int(min(fileSize, UInt64(ZipFormat.endSize + 0xFFFF)))
        let tailStart = fileSize - UInt64(tailLength)
        guard let tail = source.bytes(at: tailStart, count: tailLength) else { throw readError() }
        var candidates = [Int]()
        var signatures = 0
        for i in stride(from: tailLength - ZipFormat.endSize, through: 0, by: -1)
        where le32(tail, i) == ZipFormat.endSignature {
            signatures += 1
            if i + ZipFormat.endSize + Int(le16(tail, i + 20)) == tailLength { candidates.append(i) }
        }
        guard candidates.count <= 1 else {
            throw TemoinError(
                .zipBadHeader,
                "deux fins d'archive possibles (lecture ambiguë) / two possible end records (ambiguous reading)")
        }
        guard let e = candidates.first else {
            if signatures > 0 {
                throw TemoinError(
                    .zipJunk, "octets après la fin d'archive / bytes after the archive's end record")
            }
            throw TemoinError(
                .zipNotZip, "pas une archive zip (aucune fin d'archive) / not a zip archive (no end record)")
        }
        let endOffset = tailStart + UInt64(e)
        let disk = le16(tail, e + 4), directoryDisk = le16(tail, e + 6)
        let entriesHere = le16(tail, e + 8), entries = le16(tail, e + 10)
        let directorySize = le32(tail, e + 12), directoryOffset = le32(tail, e + 16)
        if entries == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF
            || (e >= 20 && le32(tail, e - 20) == ZipFormat.zip64LocatorSignature)
        {
            throw TemoinError(.zipZip64, "archive ZIP64 : non acceptée / ZIP64 archive: not accepted")
        }
        guard disk == 0, directoryDisk == 0, entriesHere == entries else {
            throw TemoinError(
                .zipMultiDisk, "archive en plusieurs parties (disques) / archive split over several disks")
        }
        guard Int(entries) <= limits.maximumEntries else {
            throw TemoinError(
                .zipTooManyEntries,
                "plus de \(limits.maximumEntries) entrées / more than \(limits.maximumEntries) entries")
        }
        guard Int(directorySize) <= limits.maximumCentralDirectory else {
            throw TemoinError(.zipTooLarge, "répertoire central trop grand / central directory too large")
        }
        let directoryEnd = UInt64(directoryOffset) + UInt64(directorySize)
        guard directoryEnd <= endOffset else {
            throw TemoinError(
                .zipOverlap,
                "le répertoire central chevauche la fin d'archive / the central directory overlaps the end record")
        }
        guard directoryEnd == endOffset else {
            throw TemoinError(
                .zipJunk,
                "octets entre le répertoire central et la fin d'archive / bytes between the central directory and "
                    + "the end record")
        }

        // 2. The central directory, record by record, with every size checked before use.
        guard let directory = source.bytes(at: UInt64(directoryOffset), count: Int(directorySize)) else {
            throw readError()
        }
        var records = [Central]()
        var p = 0
        for _ in 0..<Int(entries) {
            guard p + ZipFormat.centralHeaderSize <= directory.count,
                le32(directory, p) == ZipFormat.centralHeaderSignature
            else {
                throw TemoinError(
                    .zipBadHeader,
                    "répertoire central tronqué ou illisible / central directory truncated or unreadable"
                )
            }
            let madeBy = le16(directory, p + 4), needed = le16(directory, p + 6)
            let flags = le16(directory, p + 8), method = le16(directory, p + 10)
            let crc = le32(directory, p + 16)
            let compressed = le32(directory, p + 20), size = le32(directory, p + 24)
            let nameLength = Int(le16(directory, p + 28)), extraLength = Int(le16(directory, p + 30))
            let commentLength = Int(le16(directory, p + 32)), startDisk = le16(directory, p + 34)
            let external = le32(directory, p + 38), offset = le32(directory, p + 42)
            let next = p + ZipFormat.centralHeaderSize + nameLength + extraLength + commentLength
            guard next <= directory.count else {
                throw TemoinError(.zipBadHeader, "répertoire central tronqué / central directory truncated")
            }
            let name = Array(
                directory[(p + ZipFormat.centralHeaderSize)..<(p + ZipFormat.centralHeaderSize + nameLength)])
            let where_ = String(decoding: name.prefix(200), as: UTF8.self)
            let checked = try ZipFormat.components(of: name, maximumLength: limits.maximumNameLength)
            if flags & (ZipFormat.flagEncrypted | ZipFormat.flagStrongEncryption | ZipFormat.flagMaskedDirectory) != 0
                || method == ZipFormat.methodAES
            {
                throw TemoinError(.zipEncrypted, "entrée chiffrée / encrypted entry", context: where_)
            }
            guard flags & ~ZipFormat.allowedFlags == 0 else {
                throw TemoinError(
                    .zipBadHeader, "indicateurs inconnus (0x\(String(flags, radix: 16))) / unknown flags",
                    context: where_)
            }
            guard method == ZipFormat.methodStored || method == ZipFormat.methodDeflate else {
                throw TemoinError(
                    .zipUnsupportedMethod,
                    "méthode de compression \(method) : seules 0 (stockée) et 8 (deflate) sont acceptées / "
                        + "compression method \(method): only 0 (stored) and 8 (deflate) are accepted",
                    context: where_)
            }
            let zip64Extra = try extraHasZip64(
                directory, from: p + ZipFormat.centralHeaderSize + nameLength, count: extraLength)
            if compressed == 0xFFFF_FFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF || needed & 0xFF > 20
                || zip64Extra
            {
                throw TemoinError(
                    .zipZip64, "entrée ZIP64 ou de version > 2.0 / ZIP64 or version > 2.0 entry", context: where_)
            }
            guard startDisk == 0 else {
                throw TemoinError(.zipMultiDisk, "entrée sur un autre disque / entry on another disk", context: where_)
            }
            guard method != ZipFormat.methodStored || compressed == size else {
                throw TemoinError(
                    .zipSizeMismatch,
                    "entrée stockée dont les deux tailles diffèrent / stored entry whose two sizes differ",
                    context: where_)
            }
            // The type: Unix mode (hosts 3 and 19) when present, MS-DOS attributes otherwise.
            let host = madeBy >> 8
            let mode = external >> 16
            let type = mode & ZipFormat.unixTypeMask
            if (host == 3 || host == 19) && type != 0 {
                if type == ZipFormat.unixSymlink {
                    throw TemoinError(.zipNotRegular, "lien symbolique / symbolic link", context: where_)
                }
                guard type == (checked.isDirectory ? ZipFormat.unixDirectory : ZipFormat.unixRegular) else {
                    throw TemoinError(
                        .zipNotRegular,
                        "ni fichier ordinaire ni dossier (mode 0o\(String(mode, radix: 8))) / neither a regular file "
                            + "nor a folder",
                        context: where_)
                }
            }
            if external & (ZipFormat.dosVolume | ZipFormat.dosReparsePoint) != 0
                || (external & ZipFormat.dosDirectory != 0) != checked.isDirectory
            {
                throw TemoinError(
                    .zipNotRegular,
                    "attributs MS-DOS d'un lien, d'un volume, ou qui contredisent le nom / "
                        + "MS-DOS attributes of a link, "
                        + "of a volume, or contradicting the name",
                    context: where_)
            }
            if checked.isDirectory && (size != 0 || crc != 0) {
                throw TemoinError(.zipSizeMismatch, "dossier avec un contenu / folder with content", context: where_)
            }
            records.append(
                Central(
                    name: name, text: checked.text, parts: checked.parts, isDirectory: checked.isDirectory,
                    flags: flags, method: method, crc: crc, compressed: compressed, size: size, offset: offset))
            p = next
        }
        guard p == directory.count else {
            throw TemoinError(
                .zipJunk,
                "octets dans le répertoire central au-delà des entrées annoncées / bytes in the central directory "
                    + "beyond the entries it announces")
        }

        // 3. One top-level folder; names unique, also ignoring case and Unicode normalization
        // (Swift compares strings by canonical equivalence); no file used as a folder.
        guard let top = records.first?.parts.first else {
            throw TemoinError(.zipTopLevel, "archive vide / empty archive")
        }
        var keys = Set<String>()
        var fileKeys = Set<String>()
        var total: UInt64 = 0
        for r in records {
            guard r.parts[0] == top else {
                throw TemoinError(
                    .zipTopLevel,
                    "plus d'un dossier de premier niveau (« \(top) », « \(r.parts[0]) ») / more than one top-level "
                        + "folder",
                    context: r.text)
            }
            guard r.isDirectory || r.parts.count > 1 else {
                throw TemoinError(
                    .zipTopLevel, "fichier hors du dossier de l'export / file outside the bundle folder",
                    context: r.text)
            }
            let key = r.parts.joined(separator: "/").lowercased()
            guard keys.insert(key).inserted else {
                throw TemoinError(
                    .zipDuplicate,
                    "nom en double (à la casse ou à la normalisation Unicode près) / duplicate name (ignoring case "
                        + "and Unicode normalization)",
                    context: r.text)
            }
            if !r.isDirectory { fileKeys.insert(key) }
            total += UInt64(r.size)
        }
        for r in records {
            for n in 1..<r.parts.count where fileKeys.contains(r.parts.prefix(n).joined(separator: "/").lowercased()) {
                throw TemoinError(
                    .zipDuplicate, "un fichier sert aussi de dossier / a file is also used as a folder",
                    context: r.text)
            }
        }
        guard total <= limits.maximumTotalSize else {
            throw TemoinError(
                .zipTooLarge,
                "contenu annoncé de plus de \(limits.maximumTotalSize) octets / declared content over "
                    + "\(limits.maximumTotalSize) bytes")
        }

        // 4. Local headers agree with the central directory; entries lie end to end from byte 0.
        var members = [Member]()
        var regions = [(start: UInt64, end: UInt64, name: String)]()
        for r in records {
            let start = UInt64(r.offset)
            guard start + UInt64(ZipFormat.localHeaderSize) <= UInt64(directoryOffset),
                let local = source.bytes(at: start, count: ZipFormat.localHeaderSize),
                le32(local, 0) == ZipFormat.localHeaderSignature
            else {
                throw TemoinError(
                    .zipOverlap,
                    "en-tête local absent ou hors des données / local header missing or outside the data",
                    context: r.text)
            }
            let flags = le16(local, 6), method = le16(local, 8)
            let crc = le32(local, 14), compressed = le32(local, 18), size = le32(local, 22)
            let nameLength = Int(le16(local, 26)), extraLength = Int(le16(local, 28))
            let dataOffset = start + UInt64(ZipFormat.localHeaderSize + nameLength + extraLength)
            let dataEnd = dataOffset + UInt64(r.compressed)
            guard dataEnd <= UInt64(directoryOffset),
                let nameAndExtra = source.bytes(
                    at: start + UInt64(ZipFormat.localHeaderSize), count: nameLength + extraLength)
            else {
                throw TemoinError(
                    .zipOverlap, "données hors de la zone des entrées / data outside the entries' area",
                    context: r.text)
            }
            guard flags == r.flags, method == r.method, nameAndExtra.prefix(nameLength).elementsEqual(r.name) else {
                throw TemoinError(
                    .zipBadHeader,
                    "en-tête local différent du répertoire central (nom, méthode, indicateurs) / "
                        + "local header differs "
                        + "from the central directory (name, method, flags)",
                    context: r.text)
            }
            if try extraHasZip64(nameAndExtra, from: nameLength, count: extraLength) {
                throw TemoinError(.zipZip64, "entrée ZIP64 / ZIP64 entry", context: r.text)
            }
            let descriptor = flags & ZipFormat.flagDescriptor != 0
            func agrees(_ local: UInt32, _ central: UInt32) -> Bool { local == central || (descriptor && local == 0) }
            guard agrees(compressed, r.compressed), agrees(size, r.size) else {
                throw TemoinError(
                    .zipSizeMismatch,
                    "tailles de l'en-tête local différentes du répertoire central / "
                        + "local header sizes differ from the "
                        + "central directory",
                    context: r.text)
            }
            guard agrees(crc, r.crc) else {
                throw TemoinError(
                    .zipCrcMismatch,
                    "CRC de l'en-tête local différent du répertoire central / local header CRC differs from the "
                        + "central directory",
                    context: r.text)
            }
            var end = dataEnd
            if descriptor {
                // crc, compressed size, size, after an optional signature.
                let expected: [UInt8] = {
                    var d = [UInt8]()
                    d.appendLE32(r.crc)
                    d.appendLE32(r.compressed)
                    d.appendLE32(r.size)
                    return d
                }()
                let room = UInt64(directoryOffset) - dataEnd
                let signed = room >= 16 ? source.bytes(at: dataEnd, count: 16) : nil
                let bare = room >= 12 ? source.bytes(at: dataEnd, count: 12) : nil
                if let signed, le32(signed, 0) == ZipFormat.descriptorSignature,
                    signed.dropFirst(4).elementsEqual(expected)
                {
                    end += 16
                } else if let bare, bare == expected {
                    end += 12
                } else {
                    throw TemoinError(
                        .zipSizeMismatch,
                        "descripteur de données absent ou différent du répertoire central / data descriptor missing "
                            + "or different from the central directory",
                        context: r.text)
                }
            }
            regions.append((start, end, r.text))
            members.append(
                Member(
                    name: r.text, path: r.parts.dropFirst().joined(separator: "/"), isDirectory: r.isDirectory,
                    method: r.method, crc32: r.crc, compressedSize: UInt64(r.compressed), size: UInt64(r.size),
                    headerOffset: start, dataOffset: dataOffset))
        }
        var cursor: UInt64 = 0
        for region in regions.sorted(by: { $0.start < $1.start }) {
            guard region.start >= cursor else {
                throw TemoinError(
                    .zipOverlap, "entrées qui se chevauchent / overlapping entries", context: region.name)
            }
            guard region.start == cursor else {
                throw TemoinError(
                    .zipJunk,
                    cursor == 0
                        ? "octets avant la première entrée / bytes before the first entry"
                        : "octets entre deux entrées / bytes between two entries",
                    context: region.name)
            }
            cursor = region.end
        }
        guard cursor == UInt64(directoryOffset) else {
            throw TemoinError(
                .zipJunk,
                "octets entre la dernière entrée et le répertoire central / bytes between the last entry and the "
                    + "central directory")
        }
        return (top, members)
    }

    /// Walks an extra field (id, size, data…), which must be well formed; true if it has ZIP64 data.
    private static func extraHasZip64(_ bytes: [UInt8], from start: Int, count: Int) throws(TemoinError) -> Bool {
        var i = start
        let end = start + count
        var zip64 = false
        while i < end {
            guard i + 4 <= end, i + 4 + Int(le16(bytes, i + 2)) <= end else {
                throw TemoinError(.zipBadHeader, "champ supplémentaire mal formé / malformed extra field")
            }
            if le16(bytes, i) == 0x0001 { zip64 = true }
            i += 4 + Int(le16(bytes, i + 2))
        }
        return zip64
    }

    static func readError() -> TemoinError {
        TemoinError(.zipRead, "l'archive n'a pas pu être lue / the archive could not be read")
    }
}

/// One member's content, read in order: stored bytes as they are, deflate data inflated by zlib
/// (raw deflate) with the output bounded by the declared size; the CRC-32 is checked at the end.
public final class ZipMemberStream {
    private let source: ZipBytes
    public let member: ZipArchive.Member
    private var consumed: UInt64 = 0
    private var produced: UInt64 = 0
    private var crc = CRC32()
    private var done = false
    private var inflater: UnsafeMutablePointer<z_stream>?
    private var input: UnsafeMutableRawBufferPointer?

    init(source: ZipBytes, member: ZipArchive.Member) throws(TemoinError) {
        self.source = source
        self.member = member
        if member.method == ZipFormat.methodDeflate {
            let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
            z.initialize(to: z_stream())
            guard inflateInit2_(z, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
                z.deallocate()
                throw TemoinError(.zipRead, "zlib n'a pas pu démarrer / zlib could not start")
            }
            inflater = z
            input = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        }
    }

    deinit {
        if let inflater {
            inflateEnd(inflater)
            inflater.deallocate()
        }
        input?.deallocate()
    }

    /// Fills up to `buffer.count` bytes and returns how many; 0 at the end, once size and CRC-32
    /// are checked.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TemoinError) -> Int {
        guard !buffer.isEmpty else { return 0 }
        if done { return 0 }
        let n: Int
        if let z = inflater, let input {
            n = try inflate(z, input: input, into: buffer)
        } else {
            let want = Int(min(UInt64(buffer.count), member.size - produced))
            guard
                source.read(
                    at: member.dataOffset + produced, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
            else { throw ZipArchive.readError() }
            n = want
        }
        produced += UInt64(n)
        crc.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        if n == 0 || (inflater == nil && produced == member.size) {
            try finish()
        }
        return n
    }

    private func finish() throws(TemoinError) {
        done = true
        guard produced == member.size else {
            throw TemoinError(
                .zipSizeMismatch,
                "contenu de \(produced) octets, l'archive en annonce \(member.size) / content of \(produced) bytes, "
                    + "the archive declares \(member.size)",
                context: member.name)
        }
        guard crc.value == member.crc32 else {
            throw TemoinError(
                .zipCrcMismatch, "CRC-32 différent de celui annoncé / CRC-32 differs from the declared one",
                context: member.name)
        }
    }

    private func inflate(
        _ z: UnsafeMutablePointer<z_stream>, input: UnsafeMutableRawBufferPointer,
        into buffer: UnsafeMutableRawBufferPointer
    ) throws(TemoinError) -> Int {
        // One byte more than what is left may come out: that is how a size that lies is seen.
        let room = Int(min(UInt64(buffer.count), member.size - produced + 1))
        z.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
        z.pointee.avail_out = uInt(room)
        while z.pointee.avail_out == uInt(room) {
            if z.pointee.avail_in == 0 && consumed < member.compressedSize {
                let want = Int(min(UInt64(input.count), member.compressedSize - consumed))
                guard
                    source.read(
                        at: member.dataOffset + consumed, into: UnsafeMutableRawBufferPointer(rebasing: input[0..<want])
                    )
                else { throw ZipArchive.readError() }
                consumed += UInt64(want)
                z.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                z.pointee.avail_in = uInt(want)
            }
            let status = CTemoinZlib.inflate(z, Z_NO_FLUSH)
            if status == Z_STREAM_END {
                guard z.pointee.avail_in == 0 && consumed == member.compressedSize else {
                    throw TemoinError(
                        .zipSizeMismatch,
                        "données compressées plus longues que le flux deflate / compressed data longer than the "
                            + "deflate stream",
                        context: member.name)
                }
                let n = room - Int(z.pointee.avail_out)
                if n == 0 { return 0 }
                try check(n)
                return n
            }
            guard status == Z_OK || (status == Z_BUF_ERROR && consumed < member.compressedSize) else {
                throw TemoinError(
                    status == Z_BUF_ERROR ? .zipSizeMismatch : .zipBadData,
                    status == Z_BUF_ERROR
                        ? "flux deflate tronqué / truncated deflate stream"
                        : "données deflate endommagées / damaged deflate data",
                    context: member.name)
            }
        }
        let n = room - Int(z.pointee.avail_out)
        try check(n)
        return n
    }

    private func check(_ n: Int) throws(TemoinError) {
        guard produced + UInt64(n) <= member.size else {
            throw TemoinError(
                .zipSizeMismatch,
                "contenu plus long que les \(member.size) octets annoncés / content longer than the "
                    + "\(member.size) bytes declared",
                context: member.name)
        }
    }
}
