public import TemoinCore
public import TemoinCrypto

/// The fan-out's reads (Docs/fanout.md), on the read side like every other read.
extension LedgerReader {
    /// The device's contacts as stored (sealed), in list order.
    public func contactRows(device: DeviceID) throws(TemoinError) -> [ContactRow] {
        try read { store throws(TemoinError) in try store.contacts(device: device) }
    }

    /// The device's contact key, unwrapped, and its sealed person name; nil if it has none yet.
    public func deviceKey(_ device: DeviceID) throws(TemoinError) -> (key: SymmetricKey, person: [UInt8]?)? {
        guard let row = try read({ store throws(TemoinError) in try store.deviceKeyRow(device) }) else { return nil }
        let key = try directory.loadMasterKey().unwrap(row.key.wrapped, master: row.key.master, for: .device(device))
        return (key, row.person)
    }

    public func dueOutbox(now: Int64, limit: Int) throws(TemoinError) -> [OutboxRow] {
        try read { store throws(TemoinError) in try store.dueOutbox(now: now, limit: limit) }
    }

    public func nextOutboxAttempt() throws(TemoinError) -> Int64? {
        try read { store throws(TemoinError) in try store.nextOutboxAttempt() }
    }

    public func outbox(alert: AlertID) throws(TemoinError) -> [OutboxRow] {
        try read { store throws(TemoinError) in try store.outbox(alert: alert) }
    }

    public func link(tokenHash: Hash) throws(TemoinError) -> LinkRow? {
        try read { store throws(TemoinError) in try store.link(tokenHash: tokenHash) }
    }

    public func links(alert: AlertID) throws(TemoinError) -> [(hash: Hash, row: LinkRow)] {
        try read { store throws(TemoinError) in try store.links(alert: alert) }
    }

    /// The alert's latest `limit` location fixes still stored, newest first, each with its entry
    /// (for `captured-at`).
    public func latestFixes(alert: AlertID, limit: Int) throws(TemoinError) -> [(fix: StoredFix, entry: Entry)] {
        try read { store throws(TemoinError) in
            var out = [(fix: StoredFix, entry: Entry)]()
            for fix in try store.latestFixes(alert: alert, limit: limit) {
                guard let stored = try store.entry(at: fix.index) else { continue }
                out.append((fix, try stored.parsed()))
            }
            return out
        }
    }

    /// The alert's `alert.opened` and `alert.closed` entries (nil if not closed), or nil if the
    /// alert is unknown.
    public func openingAndClosing(alert: AlertID) throws(TemoinError) -> (opened: Entry, closed: Entry?)? {
        try read { store throws(TemoinError) in
            guard let first = try store.firstEntry(alert: alert) else { return nil }
            let closed = try store.entries(alert: alert, kind: .alertClosed).first
            return (try first.parsed(), try closed?.parsed())
        }
    }
}
