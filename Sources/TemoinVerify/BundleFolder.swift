#if canImport(Glibc)
import Glibc
#endif
import TemoinCore
import TemoinCrypto

/// A bundle folder read with POSIX calls only, so nothing in it is invisible to the verifier:
/// names are raw bytes (not necessarily UTF-8), types come from `lstat` (a link is a link, never
/// what it points to), paths are opened one component at a time relative to the folder (no
/// PATH_MAX, no link followed inside the bundle). The folder itself may be reached through a link.
final class BundleFolder: BundleSource {
    typealias Kind = BundleItem.Kind
    typealias Item = BundleItem

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
                "l'export est introuvable, ni dossier ni archive zip / the bundle does not exist, or is neither a "
                    + "folder nor a zip archive",
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
    func openFile(_ name: String) -> (any BundleFileStream)? {
        guard let fd = openDescriptor(name) else { return nil }
        return FolderFile(fd: fd)
    }

    private func openDescriptor(_ name: String) -> Int32? {
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
}

/// A regular file of a bundle folder, read in order.
final class FolderFile: BundleFileStream {
    let fd: Int32
    let size: Int64

    init(fd: Int32) {
        self.fd = fd
        var st = stat()
        size = fstat(fd, &st) == 0 ? Int64(st.st_size) : -1
    }

    deinit { close(fd) }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n < 0 && errno == EINTR { continue }
            return n < 0 ? nil : n
        }
    }
}
