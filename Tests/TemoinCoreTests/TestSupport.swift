extension String {
    /// Every occurrence of `a` replaced by `b` (no Foundation in the core's tests).
    func replacingOccurrences(_ a: String, _ b: String) -> String {
        split(separator: a, omittingEmptySubsequences: false).joined(separator: b)
    }
}
