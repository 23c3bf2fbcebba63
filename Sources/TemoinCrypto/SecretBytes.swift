internal import CTemoinOpenSSL
import Foundation
public import TemoinCore

/// Key bytes kept in a buffer of their own, outside Swift's arrays (which are copied and freed
/// without being cleared), so that they can be destroyed: `destroy()` overwrites them with
/// `OPENSSL_cleanse` (which the compiler cannot drop), and so does the last release of the value.
/// Used for master keys (Docs/storage.md, "Rotating the master key"). Safe to share between
/// threads: every use holds a lock.
public final class SecretBytes: @unchecked Sendable {
    private let lock = NSLock()
    private let buffer: UnsafeMutableRawBufferPointer
    private var destroyed = false

    /// `count` bytes written by `fill` (which must fill all of them, or throw).
    public init(
        count: Int, _ fill: (UnsafeMutableRawBufferPointer) throws(TemoinError) -> Void
    ) throws(TemoinError) {
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 16)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        do throws(TemoinError) {
            try fill(buffer)
        } catch {
            OPENSSL_cleanse(buffer.baseAddress, buffer.count)
            buffer.deallocate()
            throw error
        }
    }

    /// A copy of `bytes` (the caller clears its own array, if it must).
    public convenience init(copying bytes: [UInt8]) throws(TemoinError) {
        try self.init(count: bytes.count) { buffer throws(TemoinError) in
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        }
    }

    /// `count` bytes from OpenSSL's CSPRNG, drawn straight into the buffer.
    public static func random(count: Int) throws(TemoinError) -> SecretBytes {
        try SecretBytes(count: count) { buffer throws(TemoinError) in
            guard RAND_bytes(buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(buffer.count)) == 1 else {
                throw OpenSSL.error("draw random bytes")
            }
        }
    }

    public var count: Int { buffer.count }

    /// Runs `body` with the bytes; `keys.destroyed` once they were destroyed.
    public func withBytes<R>(
        _ body: (UnsafeRawBufferPointer) throws(TemoinError) -> R
    ) throws(TemoinError) -> R {
        lock.lock()
        defer { lock.unlock() }
        guard !destroyed else {
            throw TemoinError(.keysUnwrapFailed, "this key was destroyed: its bytes are no longer in memory")
        }
        return try body(UnsafeRawBufferPointer(buffer))
    }

    /// Overwrites the bytes; every later use fails.
    public func destroy() {
        lock.lock()
        defer { lock.unlock() }
        OPENSSL_cleanse(buffer.baseAddress, buffer.count)
        destroyed = true
    }

    /// Whether `destroy()` was called (tests).
    public var isDestroyed: Bool { lock.withLock { destroyed } }

    deinit {
        OPENSSL_cleanse(buffer.baseAddress, buffer.count)
        buffer.deallocate()
    }
}
