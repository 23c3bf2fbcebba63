import TemoinCore
import TemoinCrypto
import Testing

/// The signed-note example of golang.org/x/mod/sumdb/note (the reference implementation the
/// C2SP signed-note spec was written from): its Ed25519 seed, verifier key and signed note.
enum GoNoteExample {
    static let signerKey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
    static let verifierKey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    static let text =
        "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    static let note =
        text
        + "\n— PeterNeumann "
        + "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"

    static var seed: [UInt8] {
        let encoded = signerKey.split(separator: "+", maxSplits: 4)[4]
        return Array(Base64.decode(encoded)!.dropFirst())
    }
}

struct SignedNoteTests {
    @Test func theKeyIDRuleGivesThePublishedID() throws {
        let key = try Ed25519PrivateKey(seed: GoNoteExample.seed)
        let vkey = try VerifierKey(name: "PeterNeumann", publicKey: key.publicKey, hash: SHA256())
        #expect(vkey.keyIDHex == "c74f20a3")
        #expect(vkey.description == GoNoteExample.verifierKey)
    }

    @Test func signingReproducesThePublishedNoteByteForByte() throws {
        let signer = try Ed25519NoteSigner(
            name: "PeterNeumann", privateKey: Ed25519PrivateKey(seed: GoNoteExample.seed))
        let note = try SignedNote(signing: Array(GoNoteExample.text.utf8), with: signer)
        #expect(note.bytes == Array(GoNoteExample.note.utf8))
    }

    @Test func thePublishedNoteVerifiesAndAnyChangeIsRefused() throws {
        let key = try VerifierKey(parsing: GoNoteExample.verifierKey)
        let note = try SignedNote(parsing: Array(GoNoteExample.note.utf8))
        try note.verify(key: key, using: Ed25519())
        let altered = try SignedNote(
            parsing: Array(GoNoteExample.note.replacingOccurrences("cryptography", "cryptographY").utf8))
        #expect(throws: TemoinError.self) { try altered.verify(key: key, using: Ed25519()) }
    }

    @Test func signaturesFromUnknownKeysAreIgnoredButOneTrustedSignatureIsRequired() throws {
        let other = try Ed25519NoteSigner(name: "other.example", privateKey: Ed25519PrivateKey.generate())
        let note = try SignedNote(signing: Array(GoNoteExample.text.utf8), with: other)
        #expect(throws: TemoinError.self) {
            try note.verify(key: VerifierKey(parsing: GoNoteExample.verifierKey), using: Ed25519())
        }
        let peter = try SignedNote(parsing: Array(GoNoteExample.note.utf8))
        let both = SignedNote(text: peter.text, signatures: note.signatures + peter.signatures)
        try both.verify(key: VerifierKey(parsing: GoNoteExample.verifierKey), using: Ed25519())
    }

    @Test(arguments: [
        "no signature\n",
        "text\n\n",
        "text\n\n— PeterNeumann "
            + "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        "text\n\n— PeterNeumann "
            + "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\ntrailing "
            + "garbage\n",
        "text\n\n- PeterNeumann "
            + "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        "text\n\n— Peter Neumann "
            + "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
        "text\n\n— PeterNeumann AAAA\n",
        "tab\there\n\n— PeterNeumann "
            + "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
    ])
    func malformedNotesAreRefused(_ text: String) {
        #expect(throws: TemoinError.self) { try SignedNote(parsing: Array(text.utf8)) }
    }

    @Test(arguments: [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+AhpjZHIYAj0kVM4TPVGlvcNFfwyG0kbdwbDXzFxcMC8=",
        "PeterNeumann+c74f20a3",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ])
    func malformedVerifierKeysAreRefused(_ text: String) {
        #expect(throws: TemoinError.self) { try VerifierKey(parsing: text) }
    }
}

extension String {
    func replacingOccurrences(_ a: String, _ b: String) -> String {
        split(separator: a, omittingEmptySubsequences: false).joined(separator: b)
    }
}
