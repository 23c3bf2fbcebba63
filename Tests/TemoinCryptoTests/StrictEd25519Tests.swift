import TemoinCore
import TemoinCrypto
import Testing

/// OpenSSL follows RFC 8032 but accepts keys of small order; Témoin's verifier does not.
struct StrictEd25519Tests {
    static let identity = Hex.decode("0100000000000000000000000000000000000000000000000000000000000000")!

    @Test func theIdentityKeyWithItsUniversalSignatureVerifiesNothing() {
        // R = identity, S = 0: [S]B = R + [k]A holds for every message when A is the identity.
        let universal = Self.identity + [UInt8](repeating: 0, count: 32)
        for message in ["temoin/device-statement/v1\nkind audio.chunk\n", "anything at all"] {
            #expect(!Ed25519().isValid(signature: universal, of: Array(message.utf8), publicKey: Self.identity))
        }
    }

    @Test func everySmallOrderOrNonCanonicalPointIsRefusedAsAKey() {
        for hex in [
            "0100000000000000000000000000000000000000000000000000000000000000",
            "0000000000000000000000000000000000000000000000000000000000000080",
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        ] {
            #expect(!Ed25519Encoding.isAcceptablePublicKey(Hex.decode(hex)!), "\(hex)")
        }
    }

    @Test func realKeysAndSignaturesStillVerifyButNotWithAnUnreducedS() throws {
        let key = try Ed25519PrivateKey.generate()
        let message = Array("a statement".utf8)
        let signature = try key.sign(message)
        #expect(Ed25519Encoding.isAcceptablePublicKey(key.publicKey))
        #expect(Ed25519().isValid(signature: signature, of: message, publicKey: key.publicKey))
        // S + L is the same scalar, not the same bytes: a second signature for one statement.
        let l = Hex.decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")!
        var s = Array(signature[32...]), carry = 0
        for i in 0..<32 {
            let v = Int(s[i]) + Int(l[i]) + carry
            s[i] = UInt8(v & 0xff)
            carry = v >> 8
        }
        if carry == 0 {
            #expect(!Ed25519().isValid(signature: Array(signature[..<32]) + s, of: message, publicKey: key.publicKey))
        }
        // R of small order is refused whatever S says.
        #expect(
            !Ed25519().isValid(
                signature: Self.identity + Array(signature[32...]), of: message, publicKey: key.publicKey))
    }
}
