// The staff API's request and response bodies (Docs/api.md, Docs/openapi.yaml): shared by the
// service, the command line and the tests. Times are RFC 3339 UTC with milliseconds.

/// `POST /v1/staff/accounts` and `POST /v1/admin/accounts`.
public struct AccountRequest: Codable, Sendable, Equatable {
    public let name: String
    public let role: String

    public init(name: String, role: String) {
        self.name = name
        self.role = role
    }
}

/// A new account and its token, shown once: only its SHA-256 is stored.
public struct AccountCreatedResponse: Codable, Sendable, Equatable {
    public let id: String
    public let name: String
    public let role: String
    public let token: String
    /// The index of its `account.created` entry.
    public let index: UInt64

    public init(id: String, name: String, role: String, token: String, index: UInt64) {
        self.id = id
        self.name = name
        self.role = role
        self.token = token
        self.index = index
    }
}

/// An account as listed (never its token).
public struct AccountView: Codable, Sendable, Equatable {
    public let id: String
    public let name: String
    public let role: String
    public let createdEntry: UInt64
    public let revokedEntry: UInt64?

    public init(id: String, name: String, role: String, createdEntry: UInt64, revokedEntry: UInt64?) {
        self.id = id
        self.name = name
        self.role = role
        self.createdEntry = createdEntry
        self.revokedEntry = revokedEntry
    }
}

public struct AccountListResponse: Codable, Sendable, Equatable {
    public let accounts: [AccountView]

    public init(accounts: [AccountView]) { self.accounts = accounts }
}

/// `POST /v1/admin/accounts/revoke`: the command line names an account by its name.
public struct AccountRevokeRequest: Codable, Sendable, Equatable {
    public let name: String

    public init(name: String) { self.name = name }
}

public struct AccountRevokedResponse: Codable, Sendable, Equatable {
    public let id: String
    public let name: String
    /// The index of its `account.revoked` entry.
    public let index: UInt64

    public init(id: String, name: String, index: UInt64) {
        self.id = id
        self.name = name
        self.index = index
    }
}

/// `GET /v1/staff/me`: who the token belongs to and what the role allows.
public struct WhoAmIResponse: Codable, Sendable, Equatable {
    public let id: String
    public let name: String
    public let role: String
    public let permissions: [String]

    public init(id: String, name: String, role: String, permissions: [String]) {
        self.id = id
        self.name = name
        self.role = role
        self.permissions = permissions
    }
}

/// One alert in a listing.
public struct AlertSummaryView: Codable, Sendable, Equatable {
    public let alert: String
    public let device: String
    /// `open` or `closed`.
    public let status: String
    /// When the service recorded the opening, and the phone's own clock at the press.
    public let openedAt: String
    public let openedAtDevice: String
    public let closedAt: String?
    /// `device`, `server` or `operator`, and the close's reason token.
    public let closedBy: String?
    public let closeReason: String?
    public let chunks: UInt64

    public init(
        alert: String, device: String, status: String, openedAt: String, openedAtDevice: String, closedAt: String?,
        closedBy: String?, closeReason: String?, chunks: UInt64
    ) {
        self.alert = alert
        self.device = device
        self.status = status
        self.openedAt = openedAt
        self.openedAtDevice = openedAtDevice
        self.closedAt = closedAt
        self.closedBy = closedBy
        self.closeReason = closeReason
        self.chunks = chunks
    }
}

/// `GET /v1/staff/alerts`: one page, newest first; `next` is the cursor of the following page.
public struct AlertListResponse: Codable, Sendable, Equatable {
    public let alerts: [AlertSummaryView]
    public let next: String?

    public init(alerts: [AlertSummaryView], next: String?) {
        self.alerts = alerts
        self.next = next
    }
}

/// `GET /v1/staff/alerts/{alert}`.
public struct AlertDetailResponse: Codable, Sendable, Equatable {
    public struct Chunk: Codable, Sendable, Equatable {
        public let seq: UInt64
        public let index: UInt64
        public let captureStart: String
        public let durationMs: Double
        /// Whether the phone signed it (every chunk a phone sends is signed).
        public let deviceSigned: Bool
        public let recordedAt: String

        public init(
            seq: UInt64, index: UInt64, captureStart: String, durationMs: Double, deviceSigned: Bool,
            recordedAt: String
        ) {
            self.seq = seq
            self.index = index
            self.captureStart = captureStart
            self.durationMs = durationMs
            self.deviceSigned = deviceSigned
            self.recordedAt = recordedAt
        }
    }
    public struct Gap: Codable, Sendable, Equatable {
        public let firstSeq: UInt64
        public let lastSeq: UInt64
        public let reason: String
        public let index: UInt64

        public init(firstSeq: UInt64, lastSeq: UInt64, reason: String, index: UInt64) {
            self.firstSeq = firstSeq
            self.lastSeq = lastSeq
            self.reason = reason
            self.index = index
        }
    }
    public struct Conflict: Codable, Sendable, Equatable {
        public let seq: UInt64
        public let index: UInt64
        public let keptEntry: UInt64

        public init(seq: UInt64, index: UInt64, keptEntry: UInt64) {
            self.seq = seq
            self.index = index
            self.keptEntry = keptEntry
        }
    }
    public struct Location: Codable, Sendable, Equatable {
        public let index: UInt64
        public let capturedAt: String
        /// A `geo:` URI (RFC 5870); absent once erased.
        public let fix: String?

        public init(index: UInt64, capturedAt: String, fix: String?) {
            self.index = index
            self.capturedAt = capturedAt
            self.fix = fix
        }
    }

    public let summary: AlertSummaryView
    public let deviceLabel: String?
    public let durationMs: Double
    public let chunks: [Chunk]
    public let gaps: [Gap]
    public let conflicts: [Conflict]
    /// Only for roles that may see where the victim was (`legal`, `police`); absent otherwise.
    public let locations: [Location]?
    public let exports: UInt64
    public let accesses: UInt64
    public let erased: Bool
    /// The index of the alert's latest entry, and the size of the latest checkpoint: a chunk whose
    /// index is below it is included in that checkpoint.
    public let headIndex: UInt64
    public let checkpointSize: UInt64

    public init(
        summary: AlertSummaryView, deviceLabel: String?, durationMs: Double, chunks: [Chunk], gaps: [Gap],
        conflicts: [Conflict], locations: [Location]?, exports: UInt64, accesses: UInt64, erased: Bool,
        headIndex: UInt64, checkpointSize: UInt64
    ) {
        self.summary = summary
        self.deviceLabel = deviceLabel
        self.durationMs = durationMs
        self.chunks = chunks
        self.gaps = gaps
        self.conflicts = conflicts
        self.locations = locations
        self.exports = exports
        self.accesses = accesses
        self.erased = erased
        self.headIndex = headIndex
        self.checkpointSize = checkpointSize
    }
}

/// `GET /v1/staff/alerts/{alert}/custody`: every entry of the alert's chain, in log order.
public struct CustodyResponse: Codable, Sendable, Equatable {
    public struct Item: Codable, Sendable, Equatable {
        public let index: UInt64
        public let kind: String
        public let time: String
        /// Base64 of the entry's leaf hash.
        public let leafHash: String
        /// The entry's fields in canonical order, as name and value.
        public let fields: [[String]]
        /// The entry's exact bytes (UTF-8 text).
        public let entry: String

        public init(index: UInt64, kind: String, time: String, leafHash: String, fields: [[String]], entry: String) {
            self.index = index
            self.kind = kind
            self.time = time
            self.leafHash = leafHash
            self.fields = fields
            self.entry = entry
        }
    }

    public let alert: String
    public let entries: [Item]
    /// The latest signed checkpoint (C2SP signed note), which covers every entry listed.
    public let checkpoint: String

    public init(alert: String, entries: [Item], checkpoint: String) {
        self.alert = alert
        self.entries = entries
        self.checkpoint = checkpoint
    }
}

/// `POST /v1/staff/alerts/{alert}/exports`.
public struct ExportRequest: Codable, Sendable, Equatable {
    /// The legal reference (réquisition or procès-verbal number); required for the police role.
    public let reference: String?
    /// Who asked (a unit, a court).
    public let requester: String

    public init(reference: String?, requester: String) {
        self.reference = reference
        self.requester = requester
    }
}

/// `POST /v1/staff/devices`: enroll a phone by its public key, optionally replacing another
/// (which is revoked in the same step).
public struct StaffEnrollRequest: Codable, Sendable, Equatable {
    public let publicKey: String
    public let label: String?
    public let replaces: String?

    public init(publicKey: String, label: String?, replaces: String?) {
        self.publicKey = publicKey
        self.label = label
        self.replaces = replaces
    }
}

public struct StaffEnrolledResponse: Codable, Sendable, Equatable {
    public let device: String
    public let index: UInt64
    /// The `device.revoked` entry of the replaced device, if one was replaced.
    public let revokedIndex: UInt64?

    public init(device: String, index: UInt64, revokedIndex: UInt64?) {
        self.device = device
        self.index = index
        self.revokedIndex = revokedIndex
    }
}

public struct DeviceRevokedResponse: Codable, Sendable, Equatable {
    public let device: String
    public let index: UInt64

    public init(device: String, index: UInt64) {
        self.device = device
        self.index = index
    }
}

public struct DeviceView: Codable, Sendable, Equatable {
    public let device: String
    public let label: String?
    public let enrolledAt: String
    public let enrolledEntry: UInt64
    public let revokedAt: String?
    public let lastAlert: String?
    public let lastAlertOpenedAt: String?

    public init(
        device: String, label: String?, enrolledAt: String, enrolledEntry: UInt64, revokedAt: String?,
        lastAlert: String?, lastAlertOpenedAt: String?
    ) {
        self.device = device
        self.label = label
        self.enrolledAt = enrolledAt
        self.enrolledEntry = enrolledEntry
        self.revokedAt = revokedAt
        self.lastAlert = lastAlert
        self.lastAlertOpenedAt = lastAlertOpenedAt
    }
}

public struct DeviceListResponse: Codable, Sendable, Equatable {
    public let devices: [DeviceView]

    public init(devices: [DeviceView]) { self.devices = devices }
}

// MARK: Trusted contacts and their texts (issue 13)

/// One trusted contact of a device, in clear: only for staff who manage devices (and the operator).
public struct ContactView: Codable, Sendable, Equatable {
    /// The contact's id (32 hex digits), named by `contacts.changed`, `sms.*` and `link.*` entries.
    public let id: String
    /// 1 to 5: the order of the list.
    public let position: Int
    public let name: String
    /// E.164 (`+33612345678`).
    public let phone: String

    public init(id: String, position: Int, name: String, phone: String) {
        self.id = id
        self.position = position
        self.name = name
        self.phone = phone
    }
}

/// `GET /v1/staff/devices/{device}/contacts`: the list, in order, and the name the contacts know
/// the person by (absent when none is set).
public struct ContactListResponse: Codable, Sendable, Equatable {
    public let device: String
    public let person: String?
    public let contacts: [ContactView]

    public init(device: String, person: String?, contacts: [ContactView]) {
        self.device = device
        self.person = person
        self.contacts = contacts
    }
}

/// `POST /v1/staff/devices/{device}/contacts`.
public struct ContactRequest: Codable, Sendable, Equatable {
    public let name: String
    /// E.164 (`+33612345678`) or a French number of ten digits (`06 12 34 56 78`).
    public let phone: String

    public init(name: String, phone: String) {
        self.name = name
        self.phone = phone
    }
}

/// A contact added: the contact, and the index of the `contacts.changed` entry.
public struct ContactAddedResponse: Codable, Sendable, Equatable {
    public let device: String
    public let contact: ContactView
    public let index: UInt64

    public init(device: String, contact: ContactView, index: UInt64) {
        self.device = device
        self.contact = contact
        self.index = index
    }
}

/// A list changed by a removal or the person's name: how many contacts it holds now, and the
/// index of the `contacts.changed` entry.
public struct ContactsChangedResponse: Codable, Sendable, Equatable {
    public let device: String
    public let count: Int
    public let index: UInt64

    public init(device: String, count: Int, index: UInt64) {
        self.device = device
        self.count = count
        self.index = index
    }
}

/// `PUT /v1/staff/devices/{device}/contacts/person`: `person` is required, a name or `null` to
/// clear it (a body without it is refused: clearing is said, never implied).
public struct PersonRequest: Codable, Sendable, Equatable {
    public let person: String?

    public init(person: String?) { self.person = person }

    private enum CodingKeys: String, CodingKey { case person }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard c.contains(.person) else {
            throw DecodingError.keyNotFound(
                CodingKeys.person,
                .init(codingPath: c.codingPath, debugDescription: "person is required: a name, or null to clear it"))
        }
        person = try c.decodeNil(forKey: .person) ? nil : c.decode(String.self, forKey: .person)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if let person { try c.encode(person, forKey: .person) } else { try c.encodeNil(forKey: .person) }
    }
}

/// `GET /v1/staff/alerts/{alert}/fanout`: the alert's texts, one per contact texted, without any
/// name or number.
public struct FanoutResponse: Codable, Sendable, Equatable {
    public struct Text: Codable, Sendable, Equatable {
        public let contact: String
        /// The contact's place in its device's list now; absent once it was removed from it.
        public let position: Int?
        /// `pending`, `sending`, `sent` or `failed`.
        public let state: String
        public let attempts: UInt64
        /// The last attempt's failure (a token such as `timeout`, `http-503`); absent if none.
        public let lastError: String?
        /// The contact's live-location link, once the text was composed.
        public let link: Link?

        public init(contact: String, position: Int?, state: String, attempts: UInt64, lastError: String?, link: Link?) {
            self.contact = contact
            self.position = position
            self.state = state
            self.attempts = attempts
            self.lastError = lastError
            self.link = link
        }
    }

    public struct Link: Codable, Sendable, Equatable {
        public let createdAt: String
        public let views: UInt64
        public let firstViewedAt: String?
        public let lastViewedAt: String?
        public let revoked: Bool

        public init(createdAt: String, views: UInt64, firstViewedAt: String?, lastViewedAt: String?, revoked: Bool) {
            self.createdAt = createdAt
            self.views = views
            self.firstViewedAt = firstViewedAt
            self.lastViewedAt = lastViewedAt
            self.revoked = revoked
        }
    }

    public let alert: String
    public let device: String
    public let texts: [Text]

    public init(alert: String, device: String, texts: [Text]) {
        self.alert = alert
        self.device = device
        self.texts = texts
    }
}

/// `POST /v1/staff/alerts/{alert}/links/{contact}/revoke`: the `link.revoked` entry.
public struct LinkRevokedResponse: Codable, Sendable, Equatable {
    public let alert: String
    public let contact: String
    public let index: UInt64

    public init(alert: String, contact: String, index: UInt64) {
        self.alert = alert
        self.contact = contact
        self.index = index
    }
}
