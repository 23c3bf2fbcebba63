/// The kinds of ledger entries, format v1. See Docs/ledger-format.md.
public enum EntryKind: String, CaseIterable, Sendable {
    case genesis
    case deviceEnrolled = "device.enrolled"
    case alertOpened = "alert.opened"
    case audioChunk = "audio.chunk"
    case location
    case alertClosed = "alert.closed"
    case chunkMissing = "chunk.missing"
    case chunkConflict = "chunk.conflict"
    case access
    case exportCreated = "export.created"
    case keyRotated = "key.rotated"
    case dataErased = "data.erased"
    case staffAccess = "staff.access"
    case accountCreated = "account.created"
    case accountRevoked = "account.revoked"
    case deviceRevoked = "device.revoked"
    case holdPlaced = "hold.placed"
    case holdReleased = "hold.released"
    case contactsChanged = "contacts.changed"
    case smsSent = "sms.sent"
    case smsFailed = "sms.failed"
    case linkViewed = "link.viewed"
    case linkRevoked = "link.revoked"

    /// Whether entries of this kind belong to one alert's chain (and start with `alert` and `prev`).
    public var belongsToAlert: Bool {
        switch self {
        case .genesis, .deviceEnrolled, .keyRotated, .staffAccess, .accountCreated, .accountRevoked, .deviceRevoked,
            .contactsChanged:
            return false
        default: return true
        }
    }

    /// The fields of this kind, in their canonical order (after the `kind` line).
    public var fields: [EntryField] {
        let chain: [EntryField] = belongsToAlert ? [.init("alert", .id128), .init("prev", .hash)] : []
        let own: [EntryField]
        switch self {
        case .genesis:
            own = [.init("origin", .text), .init("log-key", .text), .init("export-cert-sha256", .hash)]
        case .deviceEnrolled:
            own = [.init("device", .id128), .init("device-key", .base64)]
        case .alertOpened:
            own = [.init("device", .id128), .init("opened-at", .time), .init("statement-sig", .signature)]
        case .audioChunk:
            own = [
                .init("seq", .uint), .init("capture-start", .time), .init("duration-us", .uint),
                .init("original-format", .token), .init("original-sha256", .hash), .init("original-size", .uint),
                .init("opus-sha256", .hash), .init("opus-packets", .uint), .init("opus-bytes", .uint),
                .init("codec", .text), .init("codec-library", .text), .init("statement-sig", .signature),
            ]
        case .location:
            own = [.init("captured-at", .time), .init("commitment", .hash), .init("statement-sig", .signature)]
        case .alertClosed:
            own = [
                .init("closed-by", .token), .init("reason", .token), .init("closed-at", .time),
                .init("last-seq", .uint),
                .init("statement-sig", .signature),
            ]
        case .chunkMissing:
            own = [.init("first-seq", .uint), .init("last-seq", .uint), .init("reason", .token)]
        case .chunkConflict:
            own = [
                .init("seq", .uint), .init("original-sha256", .hash), .init("original-size", .uint),
                .init("kept-entry", .uint), .init("statement-sig", .signature),
            ]
        case .access:
            own = [.init("actor", .id128), .init("role", .token), .init("action", .token), .init("reason", .text)]
        case .exportCreated:
            own = [
                .init("head-index", .uint), .init("requester-sha256", .hash), .init("reference-sha256", .hash),
                .init("export-cert-sha256", .hash),
            ]
        case .keyRotated:
            own = [.init("key-role", .token), .init("key", .text)]
        case .dataErased:
            own = [.init("scope", .token), .init("actor", .id128), .init("role", .token), .init("reason", .text)]
        case .staffAccess:
            own = [.init("actor", .id128), .init("role", .token), .init("action", .token), .init("target", .text)]
        case .accountCreated:
            own = [
                .init("account", .id128), .init("role", .token), .init("name-sha256", .hash),
                .init("token-sha256", .hash),
            ]
        case .accountRevoked:
            own = [.init("account", .id128)]
        case .deviceRevoked:
            own = [.init("device", .id128), .init("reason", .token)]
        case .holdPlaced, .holdReleased:
            own = [.init("actor", .id128), .init("role", .token), .init("reference", .text)]
        case .contactsChanged:
            own = [
                .init("device", .id128), .init("actor", .id128), .init("role", .token), .init("count", .uint),
                .init("contacts-sha256", .hash),
            ]
        case .smsSent:
            own = [
                .init("contact", .id128), .init("attempt", .uint), .init("gateway", .token),
                .init("message-sha256", .hash), .init("number-sha256", .hash), .init("status", .token),
                .init("provider-ref", .text),
            ]
        case .smsFailed:
            own = [
                .init("contact", .id128), .init("attempt", .uint), .init("gateway", .token),
                .init("message-sha256", .hash), .init("number-sha256", .hash), .init("outcome", .token),
                .init("reason", .token),
            ]
        case .linkViewed:
            own = [.init("contact", .id128)]
        case .linkRevoked:
            own = [.init("contact", .id128), .init("actor", .id128), .init("role", .token)]
        }
        return chain + own + [.init("time", .time)]
    }
}

/// One field of an entry kind: its name and the syntax of its value.
public struct EntryField: Sendable, Equatable {
    public let name: String
    public let type: EntryFieldType

    init(_ name: String, _ type: EntryFieldType) {
        self.name = name
        self.type = type
    }
}

/// The syntax of a field value. Each has exactly one canonical spelling.
public enum EntryFieldType: String, Sendable {
    /// 64 lowercase hex digits (a SHA-256 digest).
    case hash
    /// 32 lowercase hex digits (a 128-bit pseudonymous id).
    case id128
    /// Decimal without sign or leading zero, at most 2^63-1.
    case uint
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    case time
    /// Canonical padded standard base64, not empty.
    case base64
    /// `none`, or canonical padded standard base64.
    case signature
    /// 1 to 64 of `a-z 0-9 . _ -`.
    case token
    /// 1 to 1024 bytes of UTF-8 without control characters, no leading or trailing space.
    case text

    public func accepts(_ value: String) -> Bool {
        switch self {
        case .hash: return value.utf8.count == 64 && Hex.decode(value) != nil
        case .id128: return ID128.isValid(value)
        case .uint: return StrictDecimal.parse(value) != nil
        case .time: return Timestamp(rfc3339: value) != nil
        case .base64: return !value.isEmpty && Base64.decode(value) != nil
        case .signature: return value == "none" || (!value.isEmpty && Base64.decode(value) != nil)
        case .token:
            return (1...64).contains(value.utf8.count)
                && value.utf8.allSatisfy { c in
                    (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
                        || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                        || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
                }
        case .text:
            let u = Array(value.utf8)
            return (1...1024).contains(u.count) && u.first != 0x20 && u.last != 0x20
                && u.allSatisfy { $0 >= 0x20 && $0 != 0x7f }
        }
    }
}

/// A ledger entry: canonical, versioned bytes and the fields they hold.
///
/// The bytes are the Merkle leaf. They are always re-derivable from `kind` and the field values,
/// and `init(parsing:)` accepts only bytes that re-encode identically.
public struct Entry: Sendable, Hashable {
    /// The first line of every v1 entry.
    public static let versionLine = "temoin/entry/v1"
    /// Entries larger than this are refused.
    public static let maximumSize = 16 * 1024

    public let kind: EntryKind
    /// Values in the kind's canonical field order.
    public let values: [String]
    /// The exact leaf bytes.
    public let bytes: [UInt8]

    /// Builds an entry from named values; every field of the kind must be given once, no other.
    public init(kind: EntryKind, _ pairs: [(String, String)]) throws(TemoinError) {
        let fields = kind.fields
        var values = [String?](repeating: nil, count: fields.count)
        for (name, value) in pairs {
            guard let i = fields.firstIndex(where: { $0.name == name }) else {
                throw .malformed(.entryUnknownField, "\(kind.rawValue) has no field '\(name)'")
            }
            guard values[i] == nil else { throw .malformed(.entryDuplicateField, "field '\(name)' given twice") }
            guard fields[i].type.accepts(value) else {
                throw .malformed(.entryBadValue, "field '\(name)' is not a valid \(fields[i].type.rawValue)")
            }
            values[i] = value
        }
        if let missing = values.firstIndex(where: { $0 == nil }) {
            throw .malformed(.entryMissingField, "\(kind.rawValue) needs field '\(fields[missing].name)'")
        }
        self.kind = kind
        self.values = values.map { $0! }
        var text = Entry.versionLine + "\nkind " + kind.rawValue + "\n"
        for (field, value) in zip(fields, self.values) { text += field.name + " " + value + "\n" }
        bytes = Array(text.utf8)
        guard bytes.count <= Entry.maximumSize else {
            throw .malformed(.entryTooLarge, "entry is larger than \(Entry.maximumSize) bytes")
        }
    }

    /// Parses leaf bytes; refuses anything that is not exactly the canonical encoding.
    public init(parsing bytes: [UInt8]) throws(TemoinError) {
        guard bytes.count <= Entry.maximumSize else {
            throw .malformed(.entryTooLarge, "entry is larger than \(Entry.maximumSize) bytes")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .malformed(.entryNotUtf8, "entry is not valid UTF-8")
        }
        guard text.utf8.last == 0x0a else {
            throw .malformed(.entryNoFinalNewline, "entry does not end with a newline")
        }
        var lines = text.utf8.split(separator: 0x0a, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        lines.removeLast()
        guard lines.first == Entry.versionLine else {
            throw .malformed(.entryBadVersion, "entry does not start with '\(Entry.versionLine)'")
        }
        guard lines.count >= 2, lines[1].utf8.starts(with: "kind ".utf8),
            let kind = EntryKind(rawValue: String(decoding: lines[1].utf8.dropFirst(5), as: UTF8.self))
        else {
            throw .malformed(.entryBadKind, "entry has no known kind on its second line")
        }
        let fields = kind.fields
        guard lines.count == fields.count + 2 else {
            throw .malformed(
                .entryFieldCount, "\(kind.rawValue) has \(fields.count) fields, the entry has \(lines.count - 2) lines")
        }
        var pairs = [(String, String)]()
        for (field, line) in zip(fields, lines.dropFirst(2)) {
            // Byte by byte, not by Character: a value may begin with a combining mark (valid
            // text), which joins the separating space in one grapheme cluster, so that
            // `hasPrefix("reason ")` failed on an entry the writer had just built and stored.
            let prefix = Array((field.name + " ").utf8)
            let utf8 = Array(line.utf8)
            guard utf8.starts(with: prefix) else {
                throw .malformed(.entryFieldOrder, "expected field '\(field.name)' in canonical order")
            }
            pairs.append((field.name, String(decoding: utf8[prefix.count...], as: UTF8.self)))
        }
        try self.init(kind: kind, pairs)
        guard self.bytes == bytes else { throw .malformed(.entryNotCanonical, "entry bytes are not canonical") }
    }

    /// The value of a field, or nil if this kind has no such field.
    public subscript(name: String) -> String? {
        kind.fields.firstIndex { $0.name == name }.map { values[$0] }
    }

    public func hash(_ name: String) -> Hash? { self[name].flatMap { Hash(hex: $0) } }
    public func uint(_ name: String) -> UInt64? { self[name].flatMap { StrictDecimal.parse($0) } }
    public func time(_ name: String) -> Timestamp? { self[name].flatMap { Timestamp(rfc3339: $0) } }

    /// The alert this entry belongs to, if its kind belongs to an alert (the field was checked
    /// when the entry was built or parsed: no second parse).
    public var alert: AlertID? { kind.belongsToAlert ? self["alert"].map { AlertID(checked: $0) } : nil }
    /// The device of a `device.enrolled`, `device.revoked`, `alert.opened` or `contacts.changed` entry.
    public var device: DeviceID? {
        kind == .deviceEnrolled || kind == .deviceRevoked || kind == .alertOpened || kind == .contactsChanged
            ? self["device"].map { DeviceID(checked: $0) } : nil
    }
    /// The contact an `sms.*` or `link.*` entry is about.
    public var contact: ContactID? { self["contact"].map { ContactID(checked: $0) } }
    /// The leaf hash of the alert's previous entry (for `alert.opened`: the device's enrollment).
    public var previous: Hash? { kind.belongsToAlert ? hash("prev") : nil }
    /// Server time at which the entry was sequenced.
    public var time: Timestamp { time("time")! }
}
