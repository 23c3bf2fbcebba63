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

/// An alert's id: 128 random bits chosen by the phone when the alert begins, as 32 lowercase hex
/// digits. The text is the wire form everywhere (paths, JSON, entries, receipts, bundles).
public struct AlertID: Hashable, Sendable, Comparable, CustomStringConvertible, LosslessStringConvertible, Codable {
    /// The 32 lowercase hex digits.
    public let rawValue: String

    /// Accepts exactly 32 lowercase hex digits, nothing else.
    public init?(_ text: some StringProtocol) {
        guard ID128.isValid(text) else { return nil }
        rawValue = String(text)
    }

    public init?(_ description: String) {
        guard ID128.isValid(description) else { return nil }
        rawValue = description
    }

    /// The id spelled by exactly 16 bytes, or nil for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == ID128.length / 2 else { return nil }
        rawValue = Hex.encode(bytes)
    }

    /// A value this module already checked (an entry field of type `id128`).
    init(checked text: String) { rawValue = text }

    /// A new alert id: 128 bits from the system's random generator.
    public static func random() -> AlertID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    public static func random(using generator: inout some RandomNumberGenerator) -> AlertID {
        AlertID(bytes: (0..<ID128.length / 2).map { _ in UInt8.random(in: 0...255, using: &generator) })!
    }

    public var description: String { rawValue }

    public static func < (a: AlertID, b: AlertID) -> Bool { a.rawValue < b.rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = AlertID(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "an alert id is exactly 32 lowercase hex digits")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A device's pseudonymous id: the first 16 bytes of SHA-256 of its raw Ed25519 public key, as
/// 32 lowercase hex digits (`DeviceID.derive(publicKey:)` in TemoinCrypto).
public struct DeviceID: Hashable, Sendable, Comparable, CustomStringConvertible, LosslessStringConvertible, Codable {
    /// The 32 lowercase hex digits.
    public let rawValue: String

    /// Accepts exactly 32 lowercase hex digits, nothing else.
    public init?(_ text: some StringProtocol) {
        guard ID128.isValid(text) else { return nil }
        rawValue = String(text)
    }

    public init?(_ description: String) {
        guard ID128.isValid(description) else { return nil }
        rawValue = description
    }

    /// The id spelled by exactly 16 bytes, or nil for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == ID128.length / 2 else { return nil }
        rawValue = Hex.encode(bytes)
    }

    /// A value this module already checked (an entry field of type `id128`).
    init(checked text: String) { rawValue = text }

    public var description: String { rawValue }

    public static func < (a: DeviceID, b: DeviceID) -> Bool { a.rawValue < b.rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = DeviceID(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "a device id is exactly 32 lowercase hex digits")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
