/// Strict text encodings of bytes. Decoders accept only the canonical form, so that one value
/// has exactly one encoding and signed bytes can be reproduced from parsed values.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    /// Lowercase hexadecimal.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out = [UInt8]()
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes lowercase hexadecimal only; returns nil for anything else.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var i = 0
        while i < utf8.count {
            guard let hi = value(utf8[i]), let lo = value(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}

/// Standard base64 (RFC 4648 §4) with padding, as C2SP formats use.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var out = [UInt8]()
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= input.count {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            out.append(alphabet[Int(n & 63)])
            i += 3
        }
        let rest = input.count - i
        if rest == 1 {
            let n = UInt32(input[i]) << 16
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        } else if rest == 2 {
            let n = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            out.append(UInt8(ascii: "="))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes canonical padded base64 only (no whitespace, no stray bits); nil otherwise.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 4 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 4 * 3)
        var i = 0
        while i < utf8.count {
            let last = i + 4 == utf8.count
            let c = utf8[i..<i + 4]
            let pad = c.reversed().prefix { $0 == UInt8(ascii: "=") }.count
            guard pad <= 2, pad == 0 || last else { return nil }
            var n: UInt32 = 0
            for (j, ch) in c.enumerated() {
                let v: UInt8
                if j >= 4 - pad {
                    v = 0
                } else {
                    v = reverse[Int(ch)]
                    guard v != 0xff else { return nil }
                }
                n = n << 6 | UInt32(v)
            }
            let bytes = [UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]
            // Canonical form: the bits that padding hides must be zero.
            if pad == 1, bytes[2] != 0 { return nil }
            if pad == 2, bytes[1] != 0 || bytes[2] != 0 { return nil }
            out.append(contentsOf: bytes.prefix(3 - pad))
            i += 4
        }
        return out
    }
}

/// Canonical unsigned decimal: digits only, no sign, no leading zero unless the value is 0.
public enum StrictDecimal {
    public static func parse(_ text: some StringProtocol, max: UInt64 = UInt64(Int64.max)) -> UInt64? {
        let utf8 = Array(text.utf8)
        guard !utf8.isEmpty, utf8.count <= 20 else { return nil }
        if utf8.count > 1, utf8[0] == UInt8(ascii: "0") { return nil }
        var value: UInt64 = 0
        for c in utf8 {
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(c - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            value = s
        }
        return value <= max ? value : nil
    }
}
