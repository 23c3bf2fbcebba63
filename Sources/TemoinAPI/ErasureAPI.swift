// Bodies of the erasure and legal-hold routes (Docs/api.md): `POST /v1/staff/alerts/{alert}/erase`
// and the administration's `POST /v1/admin/alerts/{alert}/erase|hold|release`.

/// `POST …/erase`: why the alert's data is erased (a court order, the victim's request).
public struct EraseRequest: Codable, Sendable, Equatable {
    public let reason: String

    public init(reason: String) {
        self.reason = reason
    }
}

/// An erasure done (or found done: `status` `already-erased`, nothing appended).
public struct ErasedResponse: Codable, Sendable, Equatable {
    public let alert: String
    /// `erased`, or `already-erased`.
    public let status: String
    /// The index of the `data.erased` entry.
    public let index: UInt64

    public init(alert: String, status: String, index: UInt64) {
        self.alert = alert
        self.status = status
        self.index = index
    }
}

/// `POST /v1/admin/alerts/{alert}/hold` and `…/release`: the legal reference (a case number, a
/// court order) under which erasure is blocked, or unblocked.
public struct HoldRequest: Codable, Sendable, Equatable {
    public let reference: String

    public init(reference: String) {
        self.reference = reference
    }
}

/// A hold placed or released.
public struct HoldResponse: Codable, Sendable, Equatable {
    public let alert: String
    /// `placed` or `released`.
    public let status: String
    /// The index of the `hold.placed` or `hold.released` entry.
    public let index: UInt64
    /// The references still held afterwards.
    public let holds: [String]

    public init(alert: String, status: String, index: UInt64, holds: [String]) {
        self.alert = alert
        self.status = status
        self.index = index
        self.holds = holds
    }
}
