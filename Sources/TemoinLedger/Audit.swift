public import TemoinCore
import TemoinCrypto

/// One thing the audit found broken, and where.
public struct AuditProblem: Sendable, Hashable, CustomStringConvertible {
    /// `entry 12`, `node(level 3, index 1)`, `checkpoint 40`, `blob <alert>/<hash>`, `checkpoint file`.
    public let place: String
    public let problem: String

    public var description: String { "\(place): \(problem)" }
}

/// What an audit read and what it found.
public struct AuditReport: Sendable {
    public var entries: UInt64 = 0
    public var nodes: UInt64 = 0
    public var checkpoints: UInt64 = 0
    public var blobs: UInt64 = 0
    public var blobBytes: UInt64 = 0
    /// Blobs still stored in plaintext (a folder made before encryption at rest: `temoin migrate`).
    public var plaintextBlobs: UInt64 = 0
    public var problems: [AuditProblem] = []
    /// Alerts whose data was erased (`data.erased`), in log order.
    public var erasedAlerts: [AlertID] = []
    /// Erased alerts with something left to delete (a key row, blob files): an erasure a crash
    /// interrupted, which the same command finishes. Not a failure: nothing there can be read.
    public var unfinishedErasures: [AlertID] = []
    /// Alerts on legal hold at the end of the log, with the references of their holds.
    public var heldAlerts: [AlertID: [String]] = [:]
    /// Master-key rotations (`key.rotated`, `key-role master`), in log order: when the keys that
    /// open the evidence changed (backups made before each need the key it replaced).
    public var masterKeyRotations: [MasterKeyRotationSeen] = []
    /// `keys/master.key.next` is there: a master-key rotation was cut short, and
    /// `temoin keys rotate-master` finishes it. Not a failure: every key still opens.
    public var unfinishedMasterKeyRotation = false

    public var passed: Bool { problems.isEmpty }
}

/// A master-key rotation as the log records it.
public struct MasterKeyRotationSeen: Sendable, Equatable {
    public let index: UInt64
    public let time: Timestamp
    /// The new master key's id (`SoftwareMasterKey.id`: a one-way hash of the key).
    public let id: String
}

/// Re-reads everything from one read snapshot: every entry re-hashed and parsed, every stored
/// node recomputed, every blob re-hashed against its entry, every checkpoint's signature and
/// consistency checked, the per-alert chains followed, the checkpoint outside the database
/// compared. It takes no lock and may run while the writer appends.
public struct Auditor {
    public let directory: DataDirectory
    /// Where the rows live (default: the data folder's SQLite database).
    public let engine: (any LedgerEngine)?

    public init(directory: DataDirectory, engine: (any LedgerEngine)? = nil) {
        self.directory = directory
        self.engine = engine
    }

    public func run() throws(TemoinError) -> AuditReport {
        try directory.requireInitialized()
        // The copy outside the database is read *before* the snapshot starts: the writer copies a
        // checkpoint out only after committing it, so what was read here is never ahead of the
        // snapshot, whatever the writer does meanwhile (Docs/storage.md). Read after, it could be.
        let outside = try? FileSystem.read(directory.checkpointFile, limit: 1 << 16)
        let store = try (engine ?? directory.engine).openReading()
        try store.beginRead()
        defer { store.endRead() }
        var pass = AuditPass(
            directory: directory, store: store, outsideCheckpoint: outside,
            masterKey: directory.hasMasterKey ? try directory.loadMasterKey() : nil)
        try pass.run()
        return pass.report
    }
}

/// The state of one audit: a streaming pass over the entries, then the checkpoints.
struct AuditPass {
    let directory: DataDirectory
    let store: any LedgerStoreReading
    let hasher = SHA256.merkle
    var report = AuditReport()
    var key: VerifierKey?
    /// The genesis key and every log-key rotation seen so far, in log order.
    var logKeys: LogKeyHistory?
    var range = CompactRange()
    /// Roots recomputed from entry bytes at each checkpointed size.
    var roots: [UInt64: Hash] = [:]
    var checkpointSizes: Set<UInt64> = []
    var heads: [AlertID: Hash] = [:]
    var enrollments: [DeviceID: Hash] = [:]
    var erased: Set<AlertID> = []
    /// Device revocations (device → entry index) and the device of each alert.
    var revocations: [DeviceID: UInt64] = [:]
    var alertDevices: [AlertID: DeviceID] = [:]
    /// `account.created` entries (account → role, name hash, index) and `account.revoked` ones.
    var accountEntries: [String: (role: String, nameHash: Hash, tokenHash: Hash, index: UInt64)] = [:]
    var accountRevocations: [String: UInt64] = [:]
    /// Each device's contact-list hash as its latest `contacts.changed` (or revocation) left it.
    var contactLists: [DeviceID: (hash: Hash, index: UInt64)] = [:]
    /// Blobs missing, unreadable or not matching their entry: damage unless the alert was erased
    /// (an erasure interrupted after its entry may leave some, and their key is gone).
    var blobProblems: [(alert: AlertID, AuditProblem)] = []
    let masterKey: MasterKeyRing?
    /// Location entries whose row (salt and fix) is gone: damage unless the alert was erased.
    var missingLocations: [(alert: AlertID, AuditProblem)] = []
    /// The first entry of each statement key (`StatementKey`), across the ledger.
    var statementKeys: [Hash: UInt64] = [:]
    /// Whether the database has the statement index (migration 6).
    var hasStatementIndex = false
    let outsideCheckpoint: [UInt8]?
    /// What each alert's chain has shown so far, for the rules of `checkAlertRules`.
    var alerts: [AlertID: AlertState] = [:]

    struct AlertState {
        var closed: UInt64?
        var chunks: [UInt64: UInt64] = [:]
        var statements: [String: UInt64] = [:]
        var missing: [(ClosedRange<UInt64>, UInt64)] = []
        var erased: UInt64?
        /// References of the holds placed and not released, in order.
        var holds: [String] = []
    }

    init(
        directory: DataDirectory, store: any LedgerStoreReading, outsideCheckpoint: [UInt8]?,
        masterKey: MasterKeyRing?
    ) {
        self.directory = directory
        self.store = store
        self.outsideCheckpoint = outsideCheckpoint
        self.masterKey = masterKey
    }

    mutating func problem(_ place: String, _ text: String) {
        report.problems.append(AuditProblem(place: place, problem: text))
    }

    mutating func run() throws(TemoinError) {
        var sizes = Set<UInt64>()
        try store.forEachCheckpointRow { row throws(TemoinError) in sizes.insert(row.size) }
        checkpointSizes = sizes
        try auditEntriesAndNodes()
        try auditNodeCount()
        for (alert, p) in blobProblems where !erased.contains(alert) { report.problems.append(p) }
        for (alert, p) in missingLocations where !erased.contains(alert) { report.problems.append(p) }
        try auditSideTables()
        try auditErasures()
        try auditMasterKeys()
        try auditCheckpoints()
        try auditOutsideCheckpoint()
    }

    mutating func auditEntriesAndNodes() throws(TemoinError) {
        do throws(TemoinError) {
            hasStatementIndex = try store.hasStatementIndex()
        } catch  where error.id == .ledgerCorrupt {
            // Dropped by someone with the files: named, and the rest of the audit goes on (review L7).
            problem("statement index", error.reason)
            hasStatementIndex = false
        }
        var expected: UInt64 = 0
        try store.forEachEntryRow { row throws(TemoinError) in
            let index = row.index
            let place = "entry \(index)"
            if index != expected {
                problem(place, "entries \(expected)…\(index - 1) are missing")
                expected = index
            }
            let bytes = row.bytes
            let leaf = hasher.leafHash(bytes)
            if Hash(row.leafHash) != leaf { problem(place, "stored leaf hash does not match the entry bytes") }
            if let entry = try? Entry(parsing: bytes) {
                if entry.kind.rawValue != row.kind || entry.alert?.rawValue != row.alert
                    || LedgerWriter.subject(of: entry) != row.subject
                {
                    problem(place, "index columns do not match the entry bytes")
                }
                var fix: String?
                if entry.kind == .location {
                    if let row = try store.locationRow(entry: index) {
                        fix = row.fix
                        checkLocation(entry, alert: row.alert, salt: row.salt, fix: fix, place: place)
                    } else if let alert = entry.alert {
                        missingLocations.append(
                            (alert, AuditProblem(place: place, problem: "its location row (salt and fix) is missing")))
                    }
                }
                let key = origin.flatMap { StatementKey.of(entry, origin: $0, fix: fix) }
                check(entry, index: index, leaf: leaf, key: key, place: place)
                if let key, hasStatementIndex {
                    // The index the writer finds repeats by must name the first entry of each statement.
                    let first = statementKeys[key] ?? index
                    if let named = try store.statementEntry(key: key) {
                        if named != first {
                            problem(
                                place, "the statement index names entry \(named) for its statement, not entry \(first)")
                        }
                    } else {
                        problem(place, "its statement is missing from the statement index")
                    }
                }
                if let key, statementKeys[key] == nil { statementKeys[key] = index }
            } else {
                do throws(TemoinError) { _ = try Entry(parsing: bytes) } catch {
                    problem(place, "malformed entry: \(error.reason)")
                }
            }
            for (id, hash) in range.append(leaf, hasher: hasher) {
                report.nodes += 1
                if let stored = try store.storedNode(id) {
                    if Hash(stored) != hash { problem("\(id)", "stored node does not match its recomputed hash") }
                } else {
                    problem("\(id)", "stored node is missing")
                }
            }
            expected = index + 1
            report.entries = expected
            if checkpointSizes.contains(expected) { roots[expected] = range.root(hasher: hasher) }
        }
    }

    /// The log's origin, from the genesis entry: statements are rebuilt with it.
    var origin: String? { key?.name }

    /// A location row against its entry: the same alert, and salt ‖ fix hashing to the commitment
    /// (a fix changed in the table would otherwise be read as the phone's).
    /// `alert`: the row's column as stored.
    mutating func checkLocation(_ entry: Entry, alert: String?, salt: [UInt8], fix: String?, place: String) {
        if alert != entry.alert?.rawValue { problem(place, "its location row names another alert") }
        guard let fix, let commitment = entry.hash("commitment"), SHA256.hash(salt + Array(fix.utf8)) == commitment
        else {
            problem(place, "its location row (salt and fix) does not match the entry's commitment: the fix was changed")
            return
        }
    }

    /// Erased alerts whose key row or blob files are still there: an interrupted erasure (reported,
    /// not a failure). A key row for an erased alert would open blobs copied elsewhere.
    mutating func auditErasures() throws(TemoinError) {
        for alert in report.erasedAlerts {
            let keyLeft = try store.alertKeyRow(alert) != nil
            let blobsLeft =
                !(try directory.blobs.names(alert: alert)).isEmpty
                || FileSystem.isDirectory(directory.blobs.folder(alert))
            if keyLeft || blobsLeft { report.unfinishedErasures.append(alert) }
        }
    }

    /// Rows of the side tables that no entry accounts for.
    mutating func auditSideTables() throws(TemoinError) {
        try auditAccounts()
        try auditContacts()
        for entry in try store.orphanLocationRows() {
            problem("location row \(entry)", "names no location entry")
        }
        guard hasStatementIndex else { return }
        // Every row must be the key of the entry it names, re-derived above (a missing row was
        // named at its entry).
        try store.forEachStatementRow { row throws(TemoinError) in
            let entry = row.entry
            guard let key = Hash(row.key), let first = statementKeys[key] else {
                problem("statement index", "a row names entry \(entry) for a statement that no entry holds")
                return
            }
            if entry < 0 || UInt64(entry) != first {
                problem("statement index", "a row names entry \(entry) for the statement of entry \(first)")
            }
        }
    }

    /// Each account row against its entries: a root operator who adds a row, or changes a role or a
    /// token, without the entries the service appends is named here.
    mutating func auditAccounts() throws(TemoinError) {
        var seen = Set<String>()
        for account in try store.accounts() {
            let place = "account \(account.id)"
            seen.insert(account.id)
            guard let created = accountEntries[account.id] else {
                problem(place, "has no account.created entry: it was added to the table by hand")
                continue
            }
            if created.index != account.createdEntry || created.role != account.role.rawValue
                || created.nameHash != SHA256.hash(Array(account.name.utf8)) || created.tokenHash != account.tokenHash
            {
                problem(
                    place,
                    "its row (role, name, token or entry) differs from its account.created entry \(created.index)")
            }
            if account.revokedEntry != accountRevocations[account.id] {
                problem(place, "its revocation in the table differs from the ledger's account.revoked entries")
            }
        }
        for id in accountEntries.keys where !seen.contains(id) {
            problem("account \(id)", "its account.created entry has no row: the account was deleted from the table")
        }
    }

    /// Each device's contact rows against its latest `contacts.changed`: a list changed by hand in the
    /// database (a number swapped to divert the texts) is named here.
    mutating func auditContacts() throws(TemoinError) {
        var devices = Set(contactLists.keys)
        for device in try store.contactDevices() { devices.insert(device) }
        for device in devices.sorted() {
            let rows = try store.contacts(device: device)
            let stored = ContactListHash.of(rows.map { ($0.position, $0.id, $0.numberHash) })
            let expected = contactLists[device]
            if stored != (expected?.hash ?? ContactListHash.of([])) {
                problem(
                    "contacts of device \(device)",
                    "the stored list (\(rows.count) contacts) differs from "
                        + (expected.map { "its contacts.changed entry \($0.index)" } ?? "the ledger, which has none"))
            }
        }
    }

    /// Rules each entry must keep: genesis first, chains, enrollments, blobs, statements.
    mutating func check(_ entry: Entry, index: UInt64, leaf: Hash, key statementKey: Hash?, place: String) {
        if index == 0 {
            guard entry.kind == .genesis, let text = entry["log-key"], let k = try? VerifierKey(parsing: text),
                k.name == entry["origin"]
            else {
                problem(place, "entry 0 is not a valid genesis entry")
                return
            }
            key = k
            logKeys = LogKeyHistory(genesis: k)
        } else if entry.kind == .genesis {
            problem(place, "a genesis entry after entry 0")
        }
        switch entry.kind {
        case .deviceEnrolled:
            let device = entry.device!
            if let raw = Base64.decode(entry["device-key"]!), raw.count == 32 {
                if DeviceID.derive(publicKey: raw) != device {
                    problem(place, "device id is not derived from the device key")
                }
                if !Ed25519Encoding.isAcceptablePublicKey(raw) {
                    problem(
                        place, "device key is of small order or not canonical: one signature would verify any statement"
                    )
                }
            } else {
                problem(place, "device key is not a 32-byte Ed25519 key")
            }
            if enrollments[device] != nil { problem(place, "device \(device) enrolled twice") }
            enrollments[device] = leaf
        case .keyRotated where entry["key-role"] == "log":
            do throws(TemoinError) {
                guard let origin else { break }
                try logKeys?.append(
                    index: index, key: LogKeyTransition.newKey(of: entry, origin: origin, hash: SHA256()))
            } catch {
                problem(place, "not a valid log-key rotation: \(error.reason)")
            }
        case .keyRotated where entry["key-role"] == "master":
            let id = entry["key"] ?? ""
            if let earlier = report.masterKeyRotations.first(where: { $0.id == id }) {
                problem(
                    place,
                    "rotates to master key \(id), which entry \(earlier.index) already named: copies of the database "
                        + "made in between would open again")
            }
            report.masterKeyRotations.append(MasterKeyRotationSeen(index: index, time: entry.time, id: id))
        case .dataErased:
            if erased.insert(entry.alert!).inserted { report.erasedAlerts.append(entry.alert!) }
        case .deviceRevoked:
            let device = entry.device!
            if enrollments[device] == nil { problem(place, "revokes device \(device), which is not enrolled") }
            if revocations[device] != nil { problem(place, "device \(device) revoked twice") }
            revocations[device] = index
            // Its contacts are destroyed (or handed to its replacement, whose own list follows).
            contactLists[device] = (ContactListHash.of([]), index)
        case .contactsChanged:
            let device = entry.device!
            if enrollments[device] == nil {
                problem(place, "sets the contacts of device \(device), which is not enrolled")
            }
            if let revoked = revocations[device] {
                problem(place, "sets the contacts of device \(device) after its revocation (entry \(revoked))")
            }
            if let count = entry.uint("count"), count > 5 { problem(place, "more than five contacts") }
            contactLists[device] = (entry.hash("contacts-sha256")!, index)
        case .accountCreated:
            let account = entry["account"]!
            if accountEntries[account] != nil { problem(place, "account \(account) created twice") }
            accountEntries[account] = (entry["role"]!, entry.hash("name-sha256")!, entry.hash("token-sha256")!, index)
        case .accountRevoked:
            let account = entry["account"]!
            if accountEntries[account] == nil { problem(place, "revokes account \(account), which was never created") }
            if accountRevocations[account] != nil { problem(place, "account \(account) revoked twice") }
            accountRevocations[account] = index
        case .alertOpened:
            alertDevices[entry.alert!] = entry.device!
        default: break
        }
        if [.alertOpened, .audioChunk, .location, .alertClosed].contains(entry.kind), entry["statement-sig"] != "none",
            let device = entry.alert.flatMap({ alertDevices[$0] }), let revoked = revocations[device], revoked < index
        {
            problem(place, "a statement of device \(device) after its revocation (entry \(revoked))")
        }
        guard let alert = entry.alert else { return }
        let expectedPrev: Hash?
        if entry.kind == .alertOpened {
            if heads[alert] != nil { problem(place, "alert \(alert) opened twice") }
            expectedPrev = enrollments[entry.device!]
            if expectedPrev == nil { problem(place, "alert opened by a device that is not enrolled") }
        } else {
            expectedPrev = heads[alert]
            if expectedPrev == nil { problem(place, "entry of alert \(alert) before its alert.opened") }
        }
        if let expectedPrev, entry.previous != expectedPrev {
            problem(place, "prev does not name the previous entry of alert \(alert): the chain is broken")
        }
        heads[alert] = leaf
        checkAlertRules(entry, alert: alert, index: index, key: statementKey, place: place)
        for field in ["original-sha256", "opus-sha256"] {
            guard let hash = entry.hash(field) else { continue }
            let blobPlace = "blob \(alert)/\(hash.hex)"
            let blobs = directory.blobs
            if !blobs.exists(alert: alert, hash: hash) {
                blobProblems.append(
                    (alert, AuditProblem(place: blobPlace, problem: "missing (named by entry \(index))")))
                continue
            }
            report.blobs += 1
            do throws(TemoinError) {
                let (digest, sealed) = try blobs.inspect(alert: alert, hash: hash, key: alertKey(alert))
                if !sealed { report.plaintextBlobs += 1 }
                if digest != hash {
                    blobProblems.append(
                        (
                            alert,
                            AuditProblem(
                                place: blobPlace, problem: "content does not match its hash (named by entry \(index))")
                        ))
                }
            } catch {
                blobProblems.append((alert, AuditProblem(place: blobPlace, problem: "unreadable: \(error.reason)")))
            }
        }
    }

    /// The alert's key from the snapshot, unwrapped; nil when it has none (plaintext blobs only).
    func alertKey(_ alert: AlertID) throws(TemoinError) -> SymmetricKey? {
        guard let row = try store.alertKeyRow(alert) else { return nil }
        guard let masterKey else {
            throw TemoinError(.keysNoMasterKey, "the alert has a key but the folder has no master key")
        }
        return try masterKey.unwrap(row.wrapped, master: row.master, for: .alert(alert))
    }

    /// Every wrapped key (alerts' and devices') names the master key in force: the one the latest
    /// master-key rotation names or, before any, the folder's own (`keys/master.key`), which wrapped
    /// every key until then. A row naming another key would be a key a rotation missed — one that
    /// an older copy of the database and an old master key would still open. And the folder must
    /// hold the key in force.
    mutating func auditMasterKeys() throws(TemoinError) {
        report.unfinishedMasterKeyRotation = FileSystem.exists(directory.nextMasterKeyFile)
        let rows: [WrappedKeyRow]
        do throws(TemoinError) {
            rows = try store.wrappedKeyRows()
        } catch  where error.id == .ledgerCorrupt {
            problem("wrapped keys", error.reason)
            return
        }
        let latest = report.masterKeyRotations.last
        if let latest, let masterKey, masterKey.key(id: latest.id) == nil {
            problem(
                "keys/master.key",
                "holds master key \(masterKey.ids.joined(separator: " and ")), not \(latest.id), which the latest "
                    + "master-key rotation (entry \(latest.index)) put in force")
        }
        guard let expected = latest?.id ?? masterKey?.current.id else {
            // No rotation and no key file to compare with: the rows must at least agree.
            let ids = Set(rows.map(\.key.master))
            if ids.count > 1 {
                problem("wrapped keys", "wrapped by \(ids.count) master keys (\(ids.sorted().joined(separator: ", ")))")
            }
            return
        }
        let why = latest.map { "put in force by entry \($0.index)" } ?? "the folder's master key"
        for row in rows where row.key.master != expected {
            let place: String
            switch row.owner {
            case .alert(let alert): place = "alert key \(alert)"
            case .device(let device): place = "device key \(device)"
            }
            problem(place, "wrapped by master key \(row.key.master), not by \(expected) (\(why))")
        }
    }

    /// The rules an alert's chain keeps whatever the order requests arrived in: one close at
    /// most; one `audio.chunk` per sequence number (other bytes are `chunk.conflict`s naming the
    /// kept one, one per distinct content); one entry per device statement, by what it says
    /// (`StatementKey`) and by its signature; `chunk.missing` ranges that never overlap.
    mutating func checkAlertRules(_ entry: Entry, alert: AlertID, index: UInt64, key: Hash?, place: String) {
        var state = alerts[alert] ?? AlertState()
        defer { alerts[alert] = state }
        var repeatsOne = false
        if let key, let first = statementKeys[key] {
            repeatsOne = true
            problem(
                place,
                entry.kind == .chunkConflict
                    ? "records the same conflicting bytes for sequence number \(entry["seq"] ?? "?") again (entry "
                        + "\(first))"
                    : "repeats what the device statement of entry \(first) says: one statement must yield one entry")
        }
        if let sig = entry["statement-sig"], sig != "none" {
            if let first = state.statements[sig] {
                if !repeatsOne {
                    problem(place, "repeats the device statement of entry \(first): one statement must yield one entry")
                }
            } else {
                state.statements[sig] = index
            }
        }
        if let at = state.erased,
            [.audioChunk, .chunkConflict, .location, .exportCreated, .holdPlaced, .holdReleased, .smsSent, .linkViewed]
                .contains(entry.kind)
        {
            problem(place, "evidence recorded after the alert's data was erased (entry \(at))")
        }
        switch entry.kind {
        case .holdPlaced:
            let reference = entry["reference"] ?? ""
            if state.holds.contains(reference) {
                problem(place, "a second hold under reference '\(reference)' while the first is placed")
            }
            state.holds.append(reference)
            report.heldAlerts[alert] = state.holds
        case .holdReleased:
            let reference = entry["reference"] ?? ""
            if let i = state.holds.firstIndex(of: reference) {
                state.holds.remove(at: i)
            } else {
                problem(place, "releases a hold under reference '\(reference)' that is not placed")
            }
            report.heldAlerts[alert] = state.holds.isEmpty ? nil : state.holds
        case .dataErased:
            if !state.holds.isEmpty {
                problem(place, "alert \(alert) erased while on legal hold (\(state.holds.joined(separator: ", ")))")
            }
            if let first = state.erased { problem(place, "alert \(alert) erased again (first: entry \(first))") }
            if state.closed == nil { problem(place, "alert \(alert) erased while open") }
            state.erased = state.erased ?? index
        case .alertClosed:
            if let first = state.closed {
                problem(place, "alert \(alert) closed again (first closed by entry \(first))")
            }
            state.closed = state.closed ?? index
        case .audioChunk:
            guard let seq = entry.uint("seq") else { return }
            if let first = state.chunks[seq] {
                problem(
                    place, "a second audio.chunk for sequence number \(seq) of alert \(alert) (first: entry \(first))")
            } else {
                state.chunks[seq] = index
            }
        case .chunkConflict:
            guard let seq = entry.uint("seq"), let kept = entry.uint("kept-entry") else { return }
            if state.chunks[seq] != kept {
                problem(place, "names kept entry \(kept), which is not the audio.chunk of sequence number \(seq)")
            }
        case .chunkMissing:
            guard let first = entry.uint("first-seq"), let last = entry.uint("last-seq"), first <= last else {
                problem(place, "chunk.missing with an empty range")
                return
            }
            let range = first...last
            if let (other, at) = state.missing.first(where: { $0.0.overlaps(range) }) {
                problem(
                    place,
                    "records sequence numbers \(other.lowerBound)…\(other.upperBound) missing again (entry \(at))")
            }
            state.missing.append((range, index))
        default:
            break
        }
    }

    mutating func auditNodeCount() throws(TemoinError) {
        let stored = try store.nodeCount()
        if stored != report.nodes {
            problem("nodes", "\(stored) stored nodes where the entries give \(report.nodes)")
        }
    }

    mutating func auditCheckpoints() throws(TemoinError) {
        var previous: Checkpoint?
        var last: UInt64 = 0
        try store.forEachCheckpointRow { row throws(TemoinError) in
            report.checkpoints += 1
            let size = row.size
            last = size
            let place = "checkpoint \(size)"
            guard let signed = try? SignedCheckpoint(parsing: row.note) else {
                problem(place, "not a well-formed signed checkpoint")
                return
            }
            let c = signed.checkpoint
            // Signed by the key in force at its size; the first checkpoint covering a log-key
            // rotation by the old and the new key (the transition proof).
            if let logKeys {
                if let signers = logKeys.signers(size: size, previous: previous?.size ?? 0) {
                    for (n, signer) in signers.enumerated() {
                        do throws(TemoinError) { try signed.verify(key: signer, using: Ed25519()) } catch {
                            problem(
                                place,
                                signers.count == 2
                                    ? "the first checkpoint after a log-key rotation must be signed by the "
                                        + "\(n == 0 ? "old" : "new") key \(signer.keyIDHex): \(error.reason)"
                                    : error.reason)
                        }
                    }
                } else {
                    problem(place, "covers more than one log-key rotation: a transition would not be proven")
                }
            }
            if c.size != size || Hash(row.root) != c.root { problem(place, "columns do not match the signed note") }
            if size > report.entries {
                problem(place, "covers \(size) entries but only \(report.entries) are stored: entries were deleted")
            } else if roots[size] != c.root {
                problem(place, "root does not match the root recomputed from the entries")
            }
            if let previous, previous.size > 0, size <= report.entries {
                do throws(TemoinError) {
                    let proof = try store.prover.consistencyProof(first: previous.size, second: size)
                    try MerkleVerifier(hasher: hasher).verifyConsistency(
                        first: previous.size, second: size, firstRoot: previous.root, secondRoot: c.root, proof: proof)
                } catch {
                    problem(place, "not consistent with checkpoint \(previous.size): \(error.reason)")
                }
            }
            previous = c
        }
        if report.checkpoints == 0 {
            problem("checkpoints", "there is no checkpoint")
        } else if last < report.entries {
            problem("entry \(last)", "entries \(last)…\(report.entries - 1) are not covered by any signed checkpoint")
        }
    }

    mutating func auditOutsideCheckpoint() throws(TemoinError) {
        let place = "checkpoint file"
        guard let bytes = outsideCheckpoint else {
            problem(place, "the copy of the last checkpoint outside the database is missing or unreadable")
            return
        }
        guard let signed = try? SignedCheckpoint(parsing: bytes) else {
            problem(place, "not a well-formed signed checkpoint")
            return
        }
        if let logKeys {
            do throws(TemoinError) {
                try signed.verify(key: logKeys.key(forSize: signed.checkpoint.size), using: Ed25519())
            } catch {
                problem(place, error.reason)
            }
        }
        let size = signed.checkpoint.size
        if size > report.entries {
            problem(
                place,
                "covers \(size) entries but the database has \(report.entries): the database is behind (old backup?)")
        } else if let stored = try store.checkpoint(size: size), stored.bytes == bytes {
            return
        } else {
            problem(place, "the database has no identical checkpoint at size \(size): the database was rewritten")
        }
    }
}
