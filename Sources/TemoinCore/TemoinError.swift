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

    public let code: String
    public let category: Category
    public let reason: String
    public let context: String?

    public init(_ category: Category, code: String, _ reason: String, context: String? = nil) {
        self.category = category
        self.code = code
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
        TemoinError(category, code: code, reason, context: context.map { "\(`where`): \($0)" } ?? `where`)
    }

    /// An unusable-input error: the common case of a parser refusing its input.
    public static func malformed(_ code: String, _ reason: String) -> TemoinError {
        TemoinError(.unusableInput, code: code, reason)
    }
}
