internal import CTemoinOpenSSL
import TemoinCore

/// The pass-phrase callback of every PEM read (`OpenSSL.readPEM`): notes that a pass phrase was
/// asked for (`argument` points to a Bool) and gives none.
func refusePassphrase(
    _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int32, _ writing: Int32, _ argument: UnsafeMutableRawPointer?
) -> Int32 {
    argument?.assumingMemoryBound(to: Bool.self).pointee = true
    return 0
}

/// The one place where libcrypto's error queue becomes a Swift error.
enum OpenSSL {
    /// Drains the error queue into a `TemoinError` naming the operation that failed.
    static func error(_ operation: String, category: TemoinError.Category = .environment) -> TemoinError {
        var reasons = [String]()
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        let detail = reasons.isEmpty ? "no detail from OpenSSL" : reasons.joined(separator: "; ")
        return TemoinError(.opensslFailure, category: category, "OpenSSL failed to \(operation)", context: detail)
    }

    /// Throws unless `status` is 1 (OpenSSL's success).
    static func check(_ status: Int32, _ operation: String) throws(TemoinError) {
        guard status == 1 else { throw error(operation) }
    }

    /// Clears the error queue after an expected failure (e.g. a signature that does not verify).
    static func clearErrors() { ERR_clear_error() }

    /// Reads everything written to a memory BIO.
    static func drain(_ bio: OpaquePointer) -> [UInt8] {
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = BIO_read(bio, &chunk, Int32(chunk.count))
            if n <= 0 { break }
            out.append(contentsOf: chunk.prefix(Int(n)))
        }
        return out
    }

    /// Reads one PEM object with `read`, never asking for a pass phrase. With no callback, OpenSSL
    /// prompts on the terminal and waits (ignoring SIGTERM) — and any PEM, a certificate in an
    /// export bundle included, may ask for one with a `Proc-Type: 4,ENCRYPTED` header. Encrypted
    /// PEM is refused instead (`pem.encrypted`): `read` passes `refusePassphrase` and the argument
    /// it is given to OpenSSL.
    static func readPEM<T>(
        _ bytes: [UInt8], _ operation: String,
        _ read: (OpaquePointer, UnsafeMutableRawPointer) -> T?
    ) throws(TemoinError) -> T {
        var asked = false
        let value: T? = try withBIO(bytes) { bio in
            withUnsafeMutablePointer(to: &asked) { read(bio, UnsafeMutableRawPointer($0)) }
        }
        if let value { return value }
        guard !asked else {
            clearErrors()
            throw TemoinError(
                .pemEncrypted, "the PEM data is encrypted (a pass phrase is never asked for): give it unencrypted")
        }
        throw error(operation, category: .unusableInput)
    }

    /// A read-only memory BIO over `bytes`, valid during `body`.
    static func withBIO<T>(_ bytes: [UInt8], _ body: (OpaquePointer) throws(TemoinError) -> T) throws(TemoinError) -> T
    {
        let result: Result<T, TemoinError> = bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else {
                return .failure(error("allocate a memory BIO"))
            }
            defer { BIO_free(bio) }
            do throws(TemoinError) { return .success(try body(bio)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    static func withWriteBIO(_ body: (OpaquePointer) throws(TemoinError) -> Void) throws(TemoinError) -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw error("allocate a memory BIO") }
        defer { BIO_free(bio) }
        try body(bio)
        return drain(bio)
    }
}
