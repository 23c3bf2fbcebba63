/// What staff can do through the service, one permission per kind of request. Each permission is
/// also the `action` token of the ledger entry that records its use (`access`, `staff.access`).
public enum StaffPermission: String, CaseIterable, Sendable, Codable {
    /// List alerts (ids, device, status, times, chunk counts).
    case listAlerts = "list-alerts"
    /// Read one alert's metadata: status, times, chunks, duration, gaps, conflicts, device.
    case readAlert = "read-alert"
    /// See where the victim was: the location fixes of an alert.
    case readLocations = "read-locations"
    /// Stream the alert's audio.
    case listen = "recording"
    /// Read the alert's custody history: every entry of its chain, accesses and exports included.
    case readCustody = "custody"
    /// Make a signed export bundle.
    case export = "export"
    /// List, enroll, replace and revoke devices.
    case manageDevices = "devices"
    /// Create, list and revoke staff accounts.
    case manageAccounts = "accounts"
    /// Erase an alert's data (crypto-shredding: its key destroyed, its audio and fixes deleted).
    case erase = "erase"
}

/// Staff roles, with separation of duties in the manner of NF Z42-020: who manages the devices
/// does not listen, who listens does not manage accounts, and nobody can change evidence (no
/// permission allows it: the ledger has no such operation). Legal alone may erase an alert's data
/// (a court order, the victim's request): the erasure is itself an entry, and the entries stay.
public enum StaffRole: String, CaseIterable, Sendable, Codable {
    /// The association: devices and alert metadata; no audio, no location, no export.
    case caseworker
    /// The association's lawyers and court experts: read, listen, export.
    case legal
    /// Investigators: an alert's metadata and custody, exports with a legal reference; no audio
    /// through the service (they listen to the exported bundle).
    case police
    /// Accounts (and, from the shell, keys); no evidence at all.
    case admin

    /// The one table of what each role may do (`Docs/security.md` prints it).
    public var permissions: Set<StaffPermission> {
        switch self {
        case .caseworker: [.listAlerts, .readAlert, .manageDevices]
        case .legal: [.listAlerts, .readAlert, .readLocations, .listen, .readCustody, .export, .erase]
        case .police: [.readAlert, .readLocations, .readCustody, .export]
        case .admin: [.manageAccounts]
        }
    }

    public func may(_ permission: StaffPermission) -> Bool { permissions.contains(permission) }

    /// Whether an export by this role must name a legal reference (réquisition, procès-verbal).
    public var exportNeedsReference: Bool { self == .police }

    /// Human names for pages, French first.
    public var title: (fr: String, en: String) {
        switch self {
        case .caseworker: ("Intervenant·e", "Caseworker")
        case .legal: ("Juriste", "Legal")
        case .police: ("Police", "Police")
        case .admin: ("Administration", "Administrator")
        }
    }
}

/// Free text a staff member gives (a reason, a legal reference, a name), in the ledger's `text`
/// syntax: spaces around it trimmed, 1–200 characters, no control character.
///
/// Characters are Unicode scalars (code points), as JSON Schema's `maxLength` and the OpenAPI
/// pattern count them: a grapheme cluster can hold any number of scalars, so counting clusters
/// left the length unbounded in bytes (past the ledger's 1024) and unlike the published contract.
public enum StaffText {
    public static let maximumLength = 200

    public static func parse(_ raw: String, field: String) throws(TemoinError) -> String {
        let scalars = raw.unicodeScalars
        let start = scalars.firstIndex { $0 != " " } ?? scalars.endIndex
        let end = scalars.lastIndex { $0 != " " }.map(scalars.index(after:)) ?? start
        let trimmed = String(String.UnicodeScalarView(scalars[start..<end]))
        guard !trimmed.isEmpty else {
            throw TemoinError(.staffBadText, "\(field) is empty")
        }
        guard trimmed.unicodeScalars.count <= maximumLength else {
            throw TemoinError(.staffBadText, "\(field) is longer than \(maximumLength) characters")
        }
        guard EntryFieldType.text.accepts(trimmed) else {
            throw TemoinError(.staffBadText, "\(field) contains a control character")
        }
        return trimmed
    }
}
