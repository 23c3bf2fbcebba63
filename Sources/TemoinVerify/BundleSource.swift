import TemoinArchive
import TemoinCore
import TemoinCrypto
#if canImport(Glibc)
import Glibc
#endif

/// One name of a bundle, as the verifier sees it, whether the bundle is a folder or a zip.
struct BundleItem {
    enum Kind: Equatable {
        case file(size: Int64)
        case directory
        case symbolicLink
        /// A FIFO, socket or device: nothing the format defines.
        case other
    }

    /// The path from the bundle's root, raw bytes joined by "/".
    let path: [UInt8]
    let kind: Kind
    /// The path as text when every name in it is UTF-8.
    var name: String? { String(validating: path, as: UTF8.self) }
    /// The path for a report: invalid bytes shown as \xNN.
    var display: String {
        if let name { return name }
        var s = ""
        for byte in path {
            if byte < 0x80 { s.unicodeScalars.append(Unicode.Scalar(byte)) } else { s += "\\x" + Hex.encode([byte]) }
        }
        return s
    }
}

/// What the verifier reads a bundle through: a folder (`BundleFolder`) or a zip of it
/// (`ZipBundle`). Every check is written once, against this.
protocol BundleSource: AnyObject {
    /// Every name under the bundle's root, depth first, in byte order; `truncated` past the limit.
    func list() -> (items: [BundleItem], truncated: Bool)
    /// A regular file's content, read in order; nil if it is absent or not a regular file.
    func openFile(_ name: String) -> (any BundleFileStream)?
}

/// One file's bytes, in order.
protocol BundleFileStream: AnyObject {
    /// Its size, as the folder or the archive states it.
    var size: Int64 { get }
    /// Fills at most `buffer.count` bytes and returns how many: 0 at the end, nil on an error.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int?
}

extension BundleFileStream {
    /// Fills `buffer` unless the file ends first; how many bytes were read, nil on an error.
    func readFully(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        var done = 0
        while done < buffer.count {
            guard let n = read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...])) else { return nil }
            if n == 0 { break }
            done += n
        }
        return done
    }
}

enum BundleReadResult {
    case bytes([UInt8])
    case missing
    case tooLarge
}

extension BundleSource {
    /// A small file read whole, at most `limit` bytes (a larger file is refused, not read).
    func read(_ name: String, limit: Int) -> BundleReadResult {
        guard let file = openFile(name) else { return .missing }
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            guard let n = buffer.withUnsafeMutableBytes({ file.read(into: $0) }) else { return .missing }
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
        guard let file = openFile(name) else { return nil }
        let hasher = SHA256Stream()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            guard let n = file.read(into: buffer) else { return nil }
            if n == 0 { return hasher.finalize() }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    /// The first `count` bytes of a file (fewer if it is shorter).
    func prefix(_ name: String, _ count: Int) -> [UInt8]? {
        guard let file = openFile(name) else { return nil }
        var buffer = [UInt8](repeating: 0, count: count)
        guard let n = buffer.withUnsafeMutableBytes({ file.readFully(into: $0) }) else { return nil }
        return Array(buffer.prefix(n))
    }
}

/// A bundle zipped (Docs/export.md, "The zip form"), read in place: the archive is checked whole
/// when opened (`ZipArchive`), then the names inside its one top-level folder are the bundle's.
final class ZipBundle: BundleSource {
    let archive: ZipArchive

    init(path: String) throws(TemoinError) {
        archive = try ZipArchive(path: path)
    }

    func list() -> (items: [BundleItem], truncated: Bool) {
        var kinds = [String: BundleItem.Kind]()
        for member in archive.members where !member.path.isEmpty {
            kinds[member.path] = member.isDirectory ? .directory : .file(size: Int64(member.size))
            // A folder is there when something is in it, listed or not.
            var parts = member.path.split(separator: "/").dropLast()
            while !parts.isEmpty {
                kinds[parts.joined(separator: "/")] = .directory
                parts = parts.dropLast()
            }
        }
        // The folder's order: depth first, names in byte order.
        let items = kinds.map { BundleItem(path: Array($0.key.utf8), kind: $0.value) }.sorted { a, b in
            a.path.split(separator: 0x2f).lexicographicallyPrecedes(b.path.split(separator: 0x2f)) {
                $0.lexicographicallyPrecedes($1)
            }
        }
        return (items, false)
    }

    func openFile(_ name: String) -> (any BundleFileStream)? {
        guard let member = archive.member(name), !member.isDirectory, let stream = try? archive.open(member) else {
            return nil
        }
        return ZipFile(stream: stream)
    }
}

/// A member of a zipped bundle, inflated as it is read; a size or CRC-32 that lies is an error.
final class ZipFile: BundleFileStream {
    let stream: ZipMemberStream
    var size: Int64 { Int64(stream.member.size) }

    init(stream: ZipMemberStream) { self.stream = stream }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? { try? stream.read(into: buffer) }
}
