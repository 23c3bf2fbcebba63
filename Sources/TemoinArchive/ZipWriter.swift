public import TemoinCore
#if canImport(Glibc)
import Glibc
#endif

/// A deterministic zip writer (Docs/export.md, "The zip form"): stored entries only (Opus and
/// WAV do not compress), in the order given, every entry with the same fixed MS-DOS time, UTF-8
/// names (flag 11), Unix modes 0644 for files and 0755 for folders, no extra field, no comment,
/// no data descriptor, no ZIP64. The same entries and time always give the same bytes, and the
/// archive's size is known before the first byte is written (an HTTP Content-Length).
public enum ZipWriter {
    /// What an entry holds: bytes in memory, a file read when the archive is produced, or nothing
    /// (a folder; its name ends with "/").
    public enum Content: Sendable {
        case bytes([UInt8])
        case file(path: String)
        case directory
    }

    public struct Item: Sendable {
        public let name: String
        public let content: Content

        public init(name: String, content: Content) {
            self.name = name
            self.content = content
        }
    }

    /// Everything about the archive but the files' bytes: names, sizes, CRC-32s and offsets.
    public struct Plan: Sendable {
        struct Entry: Sendable {
            let item: Item
            let size: UInt32
            let crc: UInt32
            let offset: UInt32
            let header: [UInt8]
        }
        let entries: [Entry]
        let trailer: [UInt8]
        /// The archive's exact size in bytes.
        public let size: UInt64

        /// The whole archive in memory.
        public func bytes() throws(TemoinError) -> [UInt8] {
            var out = [UInt8]()
            out.reserveCapacity(Int(size))
            var chunks = makeChunks()
            while let chunk = try chunks.next() { out += chunk }
            return out
        }

        /// The archive as a sequence of byte chunks of at most `chunkSize` bytes (headers and
        /// pieces of data), read lazily: what an HTTP response streams.
        public func makeChunks(chunkSize: Int = 1 << 20) -> Chunks {
            Chunks(plan: self, chunkSize: max(chunkSize, 1024))
        }

        /// Writes the archive to `path` (created, never replaced) and flushes it to disk.
        public func write(to path: String) throws(TemoinError) {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw TemoinError(
                    errno == EEXIST ? .fsExists : .outputUnwritable, "the archive could not be created", context: path)
            }
            defer { close(fd) }
            var chunks = makeChunks()
            while let chunk = try chunks.next() {
                var done = 0
                while done < chunk.count {
                    let n = chunk.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else {
                        throw TemoinError(.fsIoError, "the archive could not be written", context: path)
                    }
                    done += n
                }
            }
            guard fsync(fd) == 0 else {
                throw TemoinError(.fsIoError, "the archive could not be flushed", context: path)
            }
        }
    }

    /// The chunks of an archive, in order; a file that changed since the plan was made fails.
    public struct Chunks {
        let plan: Plan
        let chunkSize: Int
        private var index = 0
        private var headerDone = false
        private var fd: Int32 = -1
        private var position: UInt32 = 0
        private var crc = CRC32()
        private var trailerDone = false

        init(plan: Plan, chunkSize: Int) {
            self.plan = plan
            self.chunkSize = chunkSize
        }

        public mutating func next() throws(TemoinError) -> [UInt8]? {
            while index < plan.entries.count {
                let entry = plan.entries[index]
                if !headerDone {
                    headerDone = true
                    return entry.header
                }
                switch entry.item.content {
                case .directory:
                    break
                case .bytes(let bytes):
                    if position < entry.size {
                        let end = min(Int(position) + chunkSize, bytes.count)
                        defer { position = UInt32(end) }
                        return Array(bytes[Int(position)..<end])
                    }
                case .file(let path):
                    if fd < 0 {
                        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
                        guard fd >= 0 else {
                            throw TemoinError(.zipChanged, "file gone since the archive was planned", context: path)
                        }
                    }
                    var chunk = [UInt8](repeating: 0, count: chunkSize)
                    let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    guard n >= 0 else { throw TemoinError(.fsIoError, "the file could not be read", context: path) }
                    if n > 0 {
                        guard UInt64(position) + UInt64(n) <= UInt64(entry.size) else { throw changed(path) }
                        chunk.removeLast(chunkSize - n)
                        crc.update(chunk)
                        position += UInt32(n)
                        return chunk
                    }
                    close(fd)
                    fd = -1
                    guard position == entry.size, crc.value == entry.crc else { throw changed(path) }
                }
                index += 1
                headerDone = false
                position = 0
                crc = CRC32()
            }
            if !trailerDone {
                trailerDone = true
                return plan.trailer
            }
            return nil
        }

        private func changed(_ path: String) -> TemoinError {
            TemoinError(.zipChanged, "file changed since the archive was planned", context: path)
        }
    }

    /// Plans an archive of `items`, in this order, every entry dated `modified` (UTC). Files are
    /// read once here for their size and CRC-32. Refused: a name the reader would refuse, a
    /// duplicate, more than 65 000 entries, an archive of 4 GiB or more.
    public static func plan(_ items: [Item], modified: Timestamp) throws(TemoinError) -> Plan {
        guard items.count <= ZipArchive.Limits.standard.maximumEntries else {
            throw TemoinError(
                .zipTooManyEntries, "more than \(ZipArchive.Limits.standard.maximumEntries) entries in one archive")
        }
        let (date, time) = ZipFormat.dosDateTime(modified)
        var entries = [Plan.Entry]()
        var central = [UInt8]()
        var offset: UInt64 = 0
        var names = Set<String>()
        for item in items {
            let name = Array(item.name.utf8)
            let checked = try ZipFormat.components(
                of: name, maximumLength: ZipArchive.Limits.standard.maximumNameLength)
            guard checked.isDirectory == { if case .directory = item.content { true } else { false } }() else {
                throw TemoinError(.zipBadName, "a folder's name ends with \"/\", a file's does not", context: item.name)
            }
            guard names.insert(checked.parts.joined(separator: "/").lowercased()).inserted else {
                throw TemoinError(.zipDuplicate, "the same name twice in one archive", context: item.name)
            }
            let size: UInt64
            let crc: UInt32
            switch item.content {
            case .directory:
                (size, crc) = (0, 0)
            case .bytes(let bytes):
                (size, crc) = (UInt64(bytes.count), CRC32.checksum(bytes))
            case .file(let path):
                (size, crc) = try checksum(file: path)
            }
            guard size <= ZipFormat.maximumArchiveSize, offset <= ZipFormat.maximumArchiveSize else {
                throw tooLarge()
            }
            var header = [UInt8]()
            header.appendLE32(ZipFormat.localHeaderSignature)
            header.appendLE16(20) // version needed: 2.0
            header.appendLE16(ZipFormat.flagUTF8)
            header.appendLE16(ZipFormat.methodStored)
            header.appendLE16(time)
            header.appendLE16(date)
            header.appendLE32(crc)
            header.appendLE32(UInt32(size))
            header.appendLE32(UInt32(size))
            header.appendLE16(UInt16(name.count))
            header.appendLE16(0) // no extra field
            header += name

            central.appendLE32(ZipFormat.centralHeaderSignature)
            central.appendLE16(3 << 8 | 20) // made by: Unix, 2.0
            central.appendLE16(20)
            central.appendLE16(ZipFormat.flagUTF8)
            central.appendLE16(ZipFormat.methodStored)
            central.appendLE16(time)
            central.appendLE16(date)
            central.appendLE32(crc)
            central.appendLE32(UInt32(size))
            central.appendLE32(UInt32(size))
            central.appendLE16(UInt16(name.count))
            central.appendLE16(0) // extra
            central.appendLE16(0) // comment
            central.appendLE16(0) // disk
            central.appendLE16(0) // internal attributes
            central.appendLE32(
                checked.isDirectory
                    ? (ZipFormat.unixDirectory | 0o755) << 16 | ZipFormat.dosDirectory
                    : (ZipFormat.unixRegular | 0o644) << 16)
            central.appendLE32(UInt32(offset))
            central += name

            entries.append(
                Plan.Entry(item: item, size: UInt32(size), crc: crc, offset: UInt32(offset), header: header))
            offset += UInt64(header.count) + size
        }
        let centralOffset = offset
        let total = centralOffset + UInt64(central.count) + UInt64(ZipFormat.endSize)
        guard total <= ZipFormat.maximumArchiveSize else { throw tooLarge() }
        var trailer = central
        trailer.appendLE32(ZipFormat.endSignature)
        trailer.appendLE16(0) // this disk
        trailer.appendLE16(0) // the central directory's disk
        trailer.appendLE16(UInt16(entries.count))
        trailer.appendLE16(UInt16(entries.count))
        trailer.appendLE32(UInt32(central.count))
        trailer.appendLE32(UInt32(centralOffset))
        trailer.appendLE16(0) // no comment
        return Plan(entries: entries, trailer: trailer, size: total)
    }

    private static func tooLarge() -> TemoinError {
        TemoinError(
            .zipTooLarge,
            "the archive would reach 4 GiB: bundles are zipped without ZIP64; export the folder instead")
    }

    /// Size and CRC-32 of a regular file, read in 1 MiB blocks (no link followed).
    static func checksum(file path: String) throws(TemoinError) -> (UInt64, UInt32) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw TemoinError(.inputNotFound, "the file to zip cannot be opened", context: path) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw TemoinError(.inputNotAFile, "only regular files are zipped", context: path)
        }
        var crc = CRC32()
        var size: UInt64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw TemoinError(.fsIoError, "the file to zip could not be read", context: path) }
            if n == 0 { return (size, crc.value) }
            crc.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            size += UInt64(n)
            guard size <= ZipFormat.maximumArchiveSize else { throw tooLarge() }
        }
    }
}
