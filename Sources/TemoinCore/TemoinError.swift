/// The one error type of Témoin.
///
/// `code` is stable (tests, logs and problem documents match on it), `reason` is a sentence a
/// person can act on, `context` says where (a file, an entry index, a node).
public struct TemoinError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is; it decides the exit code of every program.
    public enum Category: String, Sendable, Equatable {
        /// The command line or request was wrong (exit 2).
        case usage
        /// The input could not be used: malformed, truncated, unsupported (exit 2).
        case unusableInput
        /// The evidence is invalid or has been tampered with (exit 1).
        case invalidEvidence
        /// The machine refused: disk, permissions, locks, libraries (exit 2).
        case environment
    }

    /// What failed: a case of `ErrorCode`, never a string made up at the throw site.
    public let id: ErrorCode
    public let category: Category
    public let reason: String
    public let context: String?

    /// The stable code (`ErrorCode.rawValue`): what logs, problem documents and tests match on.
    public var code: String { id.rawValue }

    /// The HTTP status of a request refused with this error.
    public var httpStatus: Int { id.specificHTTPStatus ?? category.httpStatus }

    /// `category`: only where the thrower knows better than the code's usual category (an Ogg
    /// page that is bad in a bundle is damaged evidence, from a phone unusable input).
    public init(_ id: ErrorCode, category: Category? = nil, _ reason: String, context: String? = nil) {
        self.id = id
        self.category = category ?? id.category
        self.reason = reason
        self.context = context
    }

    /// 0 success or valid, 1 invalid or tampered evidence, 2 unusable input, usage or environment.
    public var exitCode: Int32 {
        category == .invalidEvidence ? 1 : 2
    }

    public var description: String {
        if let context { return "\(reason) [\(code); \(context)]" }
        return "\(reason) [\(code)]"
    }

    /// The same error with (more) context prepended.
    public func at(_ where: String) -> TemoinError {
        TemoinError(id, category: category, reason, context: context.map { "\(`where`): \($0)" } ?? `where`)
    }

    /// An unusable-input error: the common case of a parser refusing its input.
    public static func malformed(_ code: ErrorCode, _ reason: String) -> TemoinError {
        TemoinError(code, category: .unusableInput, reason)
    }
}
