public import TemoinCore

/// One alert as a list shows it: derived from its entries, nothing stored apart.
public struct AlertSummary: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable { case open, closed }

    public let alert: AlertID
    public let device: DeviceID
    public let status: Status
    /// The server's time of the `alert.opened` entry, and the phone's own.
    public let openedAt: Timestamp
    public let openedAtDevice: Timestamp
    public let closedAt: Timestamp?
    public let closedBy: String?
    public let closeReason: String?
    public let chunks: UInt64
    /// The index of the `alert.opened` entry (the listing's cursor).
    public let openedIndex: UInt64
}

/// What filters a listing of alerts; every field optional.
public struct AlertFilter: Sendable, Equatable {
    public var status: AlertSummary.Status?
    public var device: DeviceID?
    public var openedAfter: Timestamp?
    public var openedBefore: Timestamp?

    public init(
        status: AlertSummary.Status? = nil, device: DeviceID? = nil, openedAfter: Timestamp? = nil,
        openedBefore: Timestamp? = nil
    ) {
        self.status = status
        self.device = device
        self.openedAfter = openedAfter
        self.openedBefore = openedBefore
    }
}

/// Everything staff may learn about one alert, from its chain.
public struct AlertDetail: Sendable {
    public struct Chunk: Sendable, Equatable {
        public let seq: UInt64
        public let index: UInt64
        public let captureStart: Timestamp
        public let durationMicroseconds: UInt64
        public let signed: Bool
        public let recordedAt: Timestamp
    }
    public struct Gap: Sendable, Equatable {
        public let firstSeq: UInt64
        public let lastSeq: UInt64
        public let reason: String
        public let index: UInt64
    }
    public struct Conflict: Sendable, Equatable {
        public let seq: UInt64
        public let index: UInt64
        public let keptEntry: UInt64
    }
    public struct Location: Sendable, Equatable {
        public let index: UInt64
        public let capturedAt: Timestamp
        /// The fix (`geo:` URI); nil once erased.
        public let fix: String?
    }

    public let summary: AlertSummary
    public let chunks: [Chunk]
    public let gaps: [Gap]
    public let conflicts: [Conflict]
    public let locations: [Location]
    public let exports: UInt64
    public let accesses: UInt64
    public let erased: Bool
    /// The index of the alert's latest entry.
    public let headIndex: UInt64

    public var durationMicroseconds: UInt64 { chunks.reduce(0) { $0 + $1.durationMicroseconds } }
}

/// A device as staff see it.
public struct DeviceSummary: Sendable, Equatable {
    public let device: DeviceID
    public let label: String?
    public let enrolledAt: Timestamp
    public let enrolledIndex: UInt64
    public let revokedAt: Timestamp?
    public let lastAlert: AlertID?
    public let lastAlertOpenedAt: Timestamp?
}

extension LedgerReader {
    /// Alerts matching `filter`, newest first, at most `limit`, strictly older than the alert
    /// opened at entry `before` when given (the cursor of the previous page).
    public func alerts(
        matching filter: AlertFilter, before: UInt64? = nil, limit: Int
    ) throws(TemoinError) -> (alerts: [AlertSummary], next: UInt64?) {
        try read { store throws(TemoinError) in
            let closes = try Self.closes(store)
            var page = [AlertSummary]()
            let opened = try store.entries(kind: .alertOpened, after: nil, limit: Int.max)
            for stored in opened.reversed() {
                if let before, stored.index >= before { continue }
                let entry = try stored.parsed()
                guard let alert = entry.alert, let device = entry.device else { continue }
                if let d = filter.device, d != device { continue }
                let status: AlertSummary.Status = closes[alert] == nil ? .open : .closed
                if let s = filter.status, s != status { continue }
                if let after = filter.openedAfter, entry.time < after { continue }
                if let until = filter.openedBefore, entry.time >= until { continue }
                if page.count == limit { return (page, page.last?.openedIndex) }
                page.append(try Self.summary(stored.index, entry, close: closes[alert], store))
            }
            return (page, nil)
        }
    }

    /// One alert's summary and chain, or nil if there is no such alert.
    public func alertDetail(_ alert: AlertID) throws(TemoinError) -> AlertDetail? {
        try read { store throws(TemoinError) in
            guard let first = try store.firstEntry(alert: alert) else { return nil }
            let opening = try first.parsed()
            var close: Entry?
            var chunks = [AlertDetail.Chunk]()
            var gaps = [AlertDetail.Gap]()
            var conflicts = [AlertDetail.Conflict]()
            var locations = [AlertDetail.Location]()
            var exports: UInt64 = 0
            var accesses: UInt64 = 0
            var erased = false
            var head = first.index
            for index in try store.entryIndices(alert: alert) {
                let e = try LedgerReader.entry(at: index, store).parsed()
                head = index
                switch e.kind {
                case .audioChunk:
                    chunks.append(
                        .init(
                            seq: e.uint("seq")!, index: index, captureStart: e.time("capture-start")!,
                            durationMicroseconds: e.uint("duration-us")!, signed: e["statement-sig"] != "none",
                            recordedAt: e.time))
                case .chunkMissing:
                    gaps.append(
                        .init(
                            firstSeq: e.uint("first-seq")!, lastSeq: e.uint("last-seq")!, reason: e["reason"]!,
                            index: index))
                case .chunkConflict:
                    conflicts.append(.init(seq: e.uint("seq")!, index: index, keptEntry: e.uint("kept-entry")!))
                case .location:
                    locations.append(
                        .init(
                            index: index, capturedAt: e.time("captured-at")!,
                            fix: try store.locationRow(entry: index)?.fix))
                case .alertClosed: close = e
                case .exportCreated: exports += 1
                case .access: accesses += 1
                case .dataErased: erased = true
                default: break
                }
            }
            chunks.sort { $0.seq < $1.seq }
            let summary = try Self.summary(first.index, opening, close: close, store, chunks: UInt64(chunks.count))
            return AlertDetail(
                summary: summary, chunks: chunks, gaps: gaps, conflicts: conflicts, locations: locations,
                exports: exports, accesses: accesses, erased: erased, headIndex: head)
        }
    }

    /// Every enrolled device, newest first, with its label, revocation and latest alert.
    public func devices() throws(TemoinError) -> [DeviceSummary] {
        try read { store throws(TemoinError) in
            var revoked = [DeviceID: Timestamp]()
            for e in try store.entries(kind: .deviceRevoked, after: nil, limit: Int.max) {
                let p = try e.parsed()
                revoked[p.device!] = p.time
            }
            var last = [DeviceID: (AlertID, Timestamp)]()
            for e in try store.entries(kind: .alertOpened, after: nil, limit: Int.max) {
                let p = try e.parsed()
                last[p.device!] = (p.alert!, p.time)
            }
            return try store.entries(kind: .deviceEnrolled, after: nil, limit: Int.max).reversed().map {
                e throws(TemoinError) in
                let p = try e.parsed()
                let device = p.device!
                return DeviceSummary(
                    device: device, label: try store.deviceLabel(device: device), enrolledAt: p.time,
                    enrolledIndex: e.index, revokedAt: revoked[device], lastAlert: last[device]?.0,
                    lastAlertOpenedAt: last[device]?.1)
            }
        }
    }

    /// How many `audio.chunk` entries an alert has (they are only ever added).
    public func chunkCount(alert: AlertID) throws(TemoinError) -> UInt64 {
        try read { store throws(TemoinError) in try store.entryCount(alert: alert, kind: .audioChunk) }
    }

    /// A device's label for staff, if it has one.
    public func deviceLabel(device: DeviceID) throws(TemoinError) -> String? {
        try read { store throws(TemoinError) in try store.deviceLabel(device: device) }
    }

    /// The `device.revoked` entry of a device, if it was revoked.
    public func revocation(device: DeviceID) throws(TemoinError) -> StoredEntry? {
        try read { store throws(TemoinError) in try store.entry(kind: .deviceRevoked, subject: device.rawValue) }
    }

    /// The account a bearer token belongs to (by the token's SHA-256), revoked or not.
    public func account(tokenHash: Hash) throws(TemoinError) -> StaffAccount? {
        try read { store throws(TemoinError) in try store.account(tokenHash: tokenHash) }
    }

    /// Every staff account, in creation order.
    public func accounts() throws(TemoinError) -> [StaffAccount] {
        try read { store throws(TemoinError) in try store.accounts() }
    }

    private static func closes(_ store: any LedgerStoreReading) throws(TemoinError) -> [AlertID: Entry] {
        var closes = [AlertID: Entry]()
        for e in try store.entries(kind: .alertClosed, after: nil, limit: Int.max) {
            let p = try e.parsed()
            if let a = p.alert, closes[a] == nil { closes[a] = p }
        }
        return closes
    }

    private static func summary(
        _ index: UInt64, _ opening: Entry, close: Entry?, _ store: any LedgerStoreReading, chunks: UInt64? = nil
    ) throws(TemoinError) -> AlertSummary {
        let alert = opening.alert!
        let count: UInt64
        if let chunks { count = chunks } else { count = try store.entryCount(alert: alert, kind: .audioChunk) }
        return AlertSummary(
            alert: alert, device: opening.device!, status: close == nil ? .open : .closed,
            openedAt: opening.time, openedAtDevice: opening.time("opened-at")!, closedAt: close?.time,
            closedBy: close?["closed-by"], closeReason: close?["reason"],
            chunks: count, openedIndex: index)
    }
}
