#if canImport(Glibc)
import Glibc
#endif
import TemoinCore

/// Standard output and error, written byte for byte (checkpoints and proofs must not gain a newline).
public enum Output {
    public static func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(1, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { break }
                offset += n
            }
        }
    }

    public static func line(_ text: String) {
        write(Array((text + "\n").utf8))
    }

    public static func error(_ text: String) {
        let bytes = Array((text + "\n").utf8)
        bytes.withUnsafeBytes { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
