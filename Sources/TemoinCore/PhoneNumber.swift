/// A phone number in E.164 form: `+`, a country code and the subscriber number, 8 to 15 digits
/// in all, the first not 0 (ITU-T E.164). Written with spaces, dots, dashes or brackets it is
/// accepted and normalised; a French national number (`06 12 34 56 78`) becomes `+33612345678`.
/// Nothing else is guessed: any other number without `+` is refused.
public struct PhoneNumber: Hashable, Sendable, CustomStringConvertible {
    /// `+` and 8 to 15 digits.
    public let e164: String

    public init?(_ text: String) {
        var digits = [UInt8]()
        var plus = false
        for (i, c) in text.utf8.enumerated() {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits.append(c)
            case UInt8(ascii: "+") where i == 0 || text.utf8.prefix(i).allSatisfy({ $0 == 0x20 }):
                plus = true
            case 0x20, UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "("), UInt8(ascii: ")"):
                continue
            default:
                return nil
            }
            if digits.count > 15 { return nil }
        }
        if !plus {
            // French national numbers: ten digits starting with 0 then 1–9.
            guard digits.count == 10, digits[0] == UInt8(ascii: "0"), digits[1] != UInt8(ascii: "0") else {
                return nil
            }
            digits = Array("33".utf8) + digits.dropFirst()
        }
        guard (8...15).contains(digits.count), digits[0] != UInt8(ascii: "0") else { return nil }
        // France (+33): exactly nine digits after the country code, not starting with 0.
        if digits.starts(with: Array("33".utf8)) {
            guard digits.count == 11, digits[2] != UInt8(ascii: "0") else { return nil }
        }
        e164 = "+" + String(decoding: digits, as: UTF8.self)
    }

    public var description: String { e164 }

    /// For logs and screens where the number must not be read: the country code and the last two
    /// digits (`+336••••••78`).
    public var masked: String {
        let u = Array(e164.utf8)
        let keepHead = u.starts(with: Array("+33".utf8)) ? 4 : 3
        let head = String(decoding: u.prefix(keepHead), as: UTF8.self)
        let tail = String(decoding: u.suffix(2), as: UTF8.self)
        return head + String(repeating: "•", count: max(0, u.count - keepHead - 2)) + tail
    }
}
