// Typed identifiers, parsed once where text comes in (an HTTP path or body, a command-line
// argument, a database row, an entry field) so that nothing inside re-validates a string or can
// mistake an alert id for a device id. Both are 128 bits spelled as exactly 32 lowercase hex
// digits, the one canonical spelling of `EntryFieldType.id128`.

/// The syntax both identifiers share: exactly 32 of `0-9 a-f` (ASCII only: no uppercase, no
/// other digits, no space).
enum ID128 {
    static let length = 32

    static func isValid(_ text: some StringProtocol) -> Bool {
        var count = 0
        for c in text.utf8 {
            guard
                (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f"))
            else { return false }
            count += 1
            if count > length { return false }
        }
        return count == length
    }
}

/// What the 128-bit identifiers share: the one spelling (32 lowercase hex digits), parsing,
/// ordering and the JSON form (the plain string). Each conforming type is its own kind of id, so
/// an alert id cannot be passed where a device or contact id is expected.
public protocol Identifier128: Hashable, Sendable, Comparable, CustomStringConvertible,
    LosslessStringConvertible, Codable
{
    /// The 32 lowercase hex digits.
    var rawValue: String { get }
    /// Wraps text this module already checked.
    init(checkedRawValue: String)
    /// "an alert id", "a device id"…: for error messages.
    static var noun: String { get }
}

extension Identifier128 {
    /// Accepts exactly 32 lowercase hex digits, nothing else.
    public init?(_ text: some StringProtocol) {
        guard ID128.isValid(text) else { return nil }
        self.init(checkedRawValue: String(text))
    }

    public init?(_ description: String) {
        guard ID128.isValid(description) else { return nil }
        self.init(checkedRawValue: description)
    }

    /// The id spelled by exactly 16 bytes, or nil for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == ID128.length / 2 else { return nil }
        self.init(checkedRawValue: Hex.encode(bytes))
    }

    /// A value this module already checked (an entry field of type `id128`).
    init(checked text: String) { self.init(checkedRawValue: text) }

    /// A new id: 128 bits from the system's random generator.
    public static func random() -> Self {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    public static func random(using generator: inout some RandomNumberGenerator) -> Self {
        Self(bytes: (0..<ID128.length / 2).map { _ in UInt8.random(in: 0...255, using: &generator) })!
    }

    public var description: String { rawValue }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = Self(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "\(Self.noun) is exactly 32 lowercase hex digits")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// An alert's id: 128 random bits chosen by the phone when the alert begins, as 32 lowercase hex
/// digits. The text is the wire form everywhere (paths, JSON, entries, receipts, bundles).
public struct AlertID: Identifier128 {
    public let rawValue: String
    public init(checkedRawValue: String) { rawValue = checkedRawValue }
    public static let noun = "an alert id"
}

/// A device's pseudonymous id: the first 16 bytes of SHA-256 of its raw Ed25519 public key, as
/// 32 lowercase hex digits (`DeviceID.derive(publicKey:)` in TemoinCrypto).
public struct DeviceID: Identifier128 {
    public let rawValue: String
    public init(checkedRawValue: String) { rawValue = checkedRawValue }
    public static let noun = "a device id"
}

/// A trusted contact's pseudonymous id: 128 random bits given when the contact is added (the
/// ledger's `sms.sent`, `link.*` entries name contacts by it, never by name or number).
public struct ContactID: Identifier128 {
    public let rawValue: String
    public init(checkedRawValue: String) { rawValue = checkedRawValue }
    public static let noun = "a contact id"
}
