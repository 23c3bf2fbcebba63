#if canImport(Glibc)
package import Glibc
#elseif canImport(Darwin)
package import Darwin
#endif
package import TemoinCore

/// Every system call of the ledger goes through here; errno becomes a `TemoinError` with the
/// path and operation, in `fail`.
package enum FileSystem {
    package static func fail(_ operation: String, _ path: String, errno code: Int32 = errno) -> TemoinError {
        let reason = String(cString: strerror(code))
        let id: ErrorCode
        switch code {
        case ENOSPC, EDQUOT: id = .fsDiskFull
        case EACCES, EPERM: id = .fsPermission
        case ENOENT: id = .fsNotFound
        case EEXIST: id = .fsExists
        case EIO: id = .fsIoError
        default: id = .fsError
        }
        return TemoinError(id, category: .environment, "cannot \(operation): \(reason)", context: path)
    }

    package static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    package static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Names in a directory, without "." and "..".
    package static func list(_ path: String) throws(TemoinError) -> [String] {
        guard let dir = opendir(path) else { throw fail("list the folder", path) }
        defer { closedir(dir) }
        var names = [String]()
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    package static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// fsync of a directory, so that names created or renamed in it survive a crash.
    package static func syncDirectory(_ path: String) throws(TemoinError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw fail("open the folder for fsync", path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw fail("fsync the folder", path) }
    }

    /// mkdir -p; every folder it creates is made durable in its parent.
    package static func makeDirectories(_ path: String, mode: mode_t = 0o700) throws(TemoinError) {
        if isDirectory(path) { return }
        let parent = parent(path)
        if parent != path { try makeDirectories(parent, mode: mode) }
        if mkdir(path, mode) != 0 {
            guard errno == EEXIST, isDirectory(path) else { throw fail("create the folder", path) }
            return
        }
        try syncDirectory(parent)
    }

    package static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(TemoinError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("write", path)
            }
            offset += n
        }
    }

    /// Writes `bytes` durably at `path`: a temporary file in the same folder, fsync, then a
    /// rename (replacing) or a hard link (write-once: fails with `fs.exists` if `path` exists),
    /// then fsync of the folder. Returns only when the file and its name are durable.
    package static func writeDurably(
        _ bytes: [UInt8], to path: String, mode: mode_t = 0o600, replace: Bool
    ) throws(TemoinError) {
        try writeDurably(to: path, mode: mode, replace: replace) { fd, temp throws(TemoinError) in
            try writeAll(fd, bytes, path: temp)
        }
    }

    /// `writeDurably` of bytes that are not in an array (a key's `SecretBytes`): no copy is made.
    package static func writeDurably(
        raw bytes: UnsafeRawBufferPointer, to path: String, mode: mode_t = 0o600, replace: Bool
    ) throws(TemoinError) {
        try writeDurably(to: path, mode: mode, replace: replace) { fd, temp throws(TemoinError) in
            var offset = 0
            while offset < bytes.count {
                let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw fail("write", temp)
                }
                offset += n
            }
        }
    }

    private static func writeDurably(
        to path: String, mode: mode_t, replace: Bool, _ fill: (Int32, String) throws(TemoinError) -> Void
    ) throws(TemoinError) {
        let folder = parent(path)
        let temp = try temporaryFile(in: folder, mode: mode, fill)
        var linked = false
        defer {
            if !linked { unlink(temp) }
        }
        if replace {
            guard rename(temp, path) == 0 else { throw fail("rename into place", path) }
            linked = true
        } else {
            guard link(temp, path) == 0 else { throw fail("link into place", path) }
            unlink(temp)
            linked = true
        }
        try syncDirectory(folder)
    }

    /// A new temporary file in `folder` (`.tmp-` and 16 random hex digits), filled by `fill`,
    /// fsynced and closed; removed again if any of that fails. Returns its path.
    private static func temporaryFile(
        in folder: String, mode: mode_t, _ fill: (Int32, String) throws(TemoinError) -> Void
    ) throws(TemoinError) -> String {
        var random = [UInt8](repeating: 0, count: 8)
        for i in random.indices { random[i] = UInt8.random(in: 0...255) }
        let temp = folder + "/.tmp-" + Hex.encode(random)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw fail("create a temporary file", temp) }
        do throws(TemoinError) {
            try fill(fd, temp)
            guard fsync(fd) == 0 else { throw fail("fsync", temp) }
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        guard close(fd) == 0 else {
            unlink(temp)
            throw fail("close", temp)
        }
        return temp
    }

    /// Writes several new files of one folder durably and write-once, with one fsync of the folder
    /// for all their names (instead of one each): every file is written to a temporary name and
    /// fsynced, then hard-linked to its name, then the folder is fsynced once. Returns, for each
    /// file, whether it was created (false: a file of that name was already there, left untouched).
    /// Durable when it returns; a failure may leave some of the files in place (each is whole).
    package static func writeOnceDurably(_ files: [(bytes: [UInt8], path: String)]) throws(TemoinError) -> [Bool] {
        guard let folder = files.first.map({ parent($0.path) }) else { return [] }
        precondition(files.allSatisfy { parent($0.path) == folder }, "writeOnceDurably: files of one folder")
        var temps = [String]()
        defer { for temp in temps { unlink(temp) } }
        for file in files {
            temps.append(
                try temporaryFile(in: folder, mode: 0o600) { fd, temp throws(TemoinError) in
                    try writeAll(fd, file.bytes, path: temp)
                })
        }
        var created = [Bool]()
        for (file, temp) in zip(files, temps) {
            if link(temp, file.path) == 0 {
                created.append(true)
            } else if errno == EEXIST {
                created.append(false)
            } else {
                throw fail("link into place", file.path)
            }
        }
        try syncDirectory(folder)
        return created
    }

    /// Reads a whole file, refusing files larger than `limit`.
    package static func read(_ path: String, limit: Int = 64 << 20) throws(TemoinError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fail("open", path) }
        defer { close(fd) }
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = Glibc.read(fd, &buffer, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("read", path)
            }
            if n == 0 { break }
            out.append(contentsOf: buffer.prefix(n))
            guard out.count <= limit else {
                throw TemoinError(.fsTooLarge, "file is larger than \(limit) bytes", context: path)
            }
        }
        return out
    }

    /// The first `count` bytes of a file (fewer if it is shorter).
    package static func readPrefix(_ path: String, count: Int) throws(TemoinError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fail("open", path) }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = out[filled...].withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("read", path)
            }
            if n == 0 { break }
            filled += n
        }
        return Array(out.prefix(filled))
    }

    /// Deletes a file; one already gone is not an error.
    package static func remove(_ path: String) throws(TemoinError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw fail("delete", path) }
    }

    /// Deletes an empty folder; one already gone is not an error.
    package static func removeDirectory(_ path: String) throws(TemoinError) {
        guard rmdir(path) == 0 || errno == ENOENT else { throw fail("delete the folder", path) }
    }

    /// Renames a file over another in the same folder, then fsyncs the folder.
    package static func renameDurably(_ from: String, to: String) throws(TemoinError) {
        guard Glibc.rename(from, to) == 0 else { throw fail("rename into place", to) }
        try syncDirectory(parent(to))
    }

    /// A second name for a file (a hard link), then fsyncs the folder.
    package static func linkDurably(_ from: String, to: String) throws(TemoinError) {
        guard link(from, to) == 0 else { throw fail("link", to) }
        try syncDirectory(parent(to))
    }

    /// Overwrites a file's bytes with zeros in place (same size) and fsyncs it: the plaintext a
    /// sealed copy replaces does not stay in the file's blocks (on file systems that write in place).
    package static func overwriteWithZeros(_ path: String) throws(TemoinError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fail("open", path) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw fail("stat", path) }
        let zeros = [UInt8](repeating: 0, count: 1 << 16)
        var left = Int(st.st_size)
        while left > 0 {
            let n = zeros.prefix(left).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("write", path)
            }
            left -= n
        }
        guard fsync(fd) == 0 else { throw fail("fsync", path) }
    }

    /// A file open for reading, closed with the value.
    package final class ReadingFile {
        let fd: Int32
        let path: String

        package init(_ path: String) throws(TemoinError) {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw FileSystem.fail("open", path) }
            self.path = path
        }

        deinit { close(fd) }

        /// Up to `count` bytes (fewer only at the end of the file).
        package func read(_ count: Int) throws(TemoinError) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: count)
            var filled = 0
            while filled < count {
                let n = out[filled...].withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileSystem.fail("read", path)
                }
                if n == 0 { break }
                filled += n
            }
            out.removeLast(count - filled)
            return out
        }

        package func skip(_ count: Int) throws(TemoinError) {
            guard lseek(fd, off_t(count), SEEK_CUR) >= 0 else { throw FileSystem.fail("seek", path) }
        }
    }

    /// Streams a file through `body` in 1 MiB pieces.
    package static func stream(_ path: String, _ body: (UnsafeRawBufferPointer) -> Void) throws(TemoinError) -> Int {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fail("open", path) }
        defer { close(fd) }
        var total = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("read", path)
            }
            if n == 0 { break }
            body(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            total += n
        }
        return total
    }
}

/// An exclusive advisory lock on a file, held for the life of the value: the one-writer rule
/// across processes (a second writer fails at once instead of forking the log).
final class FileLock {
    private let fd: Int32

    init(path: String, purpose: String) throws(TemoinError) {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileSystem.fail("open the lock file", path) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(fd)
            if code == EWOULDBLOCK {
                throw TemoinError(
                    .ledgerLocked,
                    "another process is already appending to this ledger (\(purpose)); stop it or use it", context: path
                )
            }
            throw FileSystem.fail("lock", path, errno: code)
        }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
