/// A SHA-256 digest: exactly 32 bytes.
public struct Hash: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// nil unless `bytes` holds exactly 32 bytes.
    public init?(_ bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        self.bytes = Array(bytes)
    }

    public init?(hex: some StringProtocol) {
        guard let b = Hex.decode(hex) else { return nil }
        self.init(b)
    }

    public init?(base64: some StringProtocol) {
        guard let b = Base64.decode(base64) else { return nil }
        self.init(b)
    }

    public var hex: String { Hex.encode(bytes) }
    public var base64: String { Base64.encode(bytes) }
    public var description: String { hex }
}

/// SHA-256, provided by an adapter (OpenSSL in `TemoinCrypto`), so the pure core and its
/// formats can be tested against any implementation.
public protocol SHA256Function: Sendable {
    func sha256(_ data: [UInt8]) -> Hash
}
