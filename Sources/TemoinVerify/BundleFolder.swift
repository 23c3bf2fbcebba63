#if canImport(Glibc)
import Glibc
#endif
import TemoinCore
import TemoinCrypto

/// A bundle folder read with POSIX calls only, so nothing in it is invisible to the verifier:
/// names are raw bytes (not necessarily UTF-8), types come from `lstat` (a link is a link, never
/// what it points to), paths are opened one component at a time relative to the folder (no
/// PATH_MAX, no link followed inside the bundle). The folder itself may be reached through a link.
final class BundleFolder {
    enum Kind: Equatable {
        case file(size: Int64)
        case directory
        case symbolicLink
        /// A FIFO, socket or device: nothing the format defines.
        case other
    }

    struct Item {
        /// The path from the bundle's root, raw bytes joined by "/".
        let path: [UInt8]
        let kind: Kind
        /// The path as text when every name in it is UTF-8.
        var name: String? { String(validating: path, as: UTF8.self) }
        /// The path for a report: invalid bytes shown as \xNN.
        var display: String {
            if let name { return name }
            var s = ""
            var i = 0
            while i < path.count {
                if path[i] < 0x80 { s.unicodeScalars.append(Unicode.Scalar(path[i])); i += 1; continue }
                s += "\\x" + Hex.encode([path[i]])
                i += 1
            }
            return s
        }
    }

    /// At most this many names are listed (and reported), whatever the folder holds.
    static let maximumItems = 1_000_000
    /// Folders deeper than this are reported but not descended into.
    static let maximumDepth = 4

    let descriptor: Int32

    init(path: String) throws(TemoinError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw TemoinError(
                .verifyNoFolder,
                "le dossier de l'export est introuvable ou n'est pas un dossier / the bundle folder does not exist "
                    + "or is not a folder",
                context: path)
        }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// Every name under the folder, depth first, in byte order.
    func list() -> (items: [Item], truncated: Bool) {
        var items = [Item]()
        var truncated = false
        func walk(_ fd: Int32, prefix: [UInt8], depth: Int) {
            guard let dir = fdopendir(fd) else { close(fd); return }
            defer { closedir(dir) }
            var names = [[UInt8]]()
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
                if name == [0x2e] || name == [0x2e, 0x2e] { continue }
                names.append(name)
                if names.count + items.count > BundleFolder.maximumItems { truncated = true; break }
            }
            for name in names.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                let path = prefix.isEmpty ? name : prefix + [0x2f] + name
                var st = stat()
                let kind: Kind
                if fstatat(dirfd(dir), name.map { CChar(bitPattern: $0) } + [0], &st, AT_SYMLINK_NOFOLLOW) != 0 {
                    kind = .other
                } else {
                    switch st.st_mode & S_IFMT {
                    case S_IFREG: kind = .file(size: Int64(st.st_size))
                    case S_IFDIR: kind = .directory
                    case S_IFLNK: kind = .symbolicLink
                    default: kind = .other
                    }
                }
                items.append(Item(path: path, kind: kind))
                if kind == .directory, depth < BundleFolder.maximumDepth, !truncated {
                    let sub = openat(
                        dirfd(dir), name.map { CChar(bitPattern: $0) } + [0],
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    if sub >= 0 { walk(sub, prefix: path, depth: depth + 1) }
                }
            }
        }
        let fd = openat(descriptor, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { walk(fd, prefix: [], depth: 0) }
        return (items, truncated)
    }

    /// Opens a regular file by its path in the bundle, never following a link at any component.
    func openFile(_ name: String) -> Int32? {
        var fd = descriptor
        let parts = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for (i, part) in parts.enumerated() {
            guard !part.isEmpty, part != ".", part != ".." else { break }
            let last = i == parts.count - 1
            // O_NONBLOCK: a FIFO put in the bundle must not hang the verifier (it is refused below).
            let next = openat(
                fd, part, (last ? O_RDONLY | O_NONBLOCK : O_RDONLY | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC)
            if fd != descriptor { close(fd) }
            guard next >= 0 else { return nil }
            fd = next
            if last {
                var st = stat()
                guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { close(fd); return nil }
                return fd
            }
        }
        if fd != descriptor { close(fd) }
        return nil
    }

    enum ReadResult {
        case bytes([UInt8])
        case missing
        case tooLarge
    }

    /// A small file read whole, at most `limit` bytes (a larger file is refused, not read).
    func read(_ name: String, limit: Int) -> ReadResult {
        guard let fd = openFile(name) else { return .missing }
        defer { close(fd) }
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return .missing }
            if n == 0 { return .bytes(out) }
            out += buffer.prefix(n)
            if out.count > limit { return .tooLarge }
        }
    }

    func bytes(_ name: String, limit: Int) -> [UInt8]? {
        if case .bytes(let b) = read(name, limit: limit) { return b }
        return nil
    }

    /// SHA-256 of a file of any size, read in 1 MiB blocks.
    func sha256(_ name: String) -> Hash? {
        guard let fd = openFile(name) else { return nil }
        defer { close(fd) }
        let hasher = SHA256Stream()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { return hasher.finalize() }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    /// The first `count` bytes of a file (fewer if it is shorter).
    func prefix(_ name: String, _ count: Int) -> [UInt8]? {
        guard let fd = openFile(name) else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: count)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, 0) }
        return n < 0 ? nil : Array(buffer.prefix(n))
    }
}
