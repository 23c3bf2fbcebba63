import TemoinCore
import TemoinCrypto
import TemoinRecording

enum LogTargets {
    static func entry(_ bytes: [UInt8]) throws(Broken) -> Outcome {
        guard let entry = try? Entry(parsing: bytes) else { return .refused }
        try check(entry.bytes == bytes, "an accepted entry is its canonical bytes")
        let fields = entry.kind.fields
        try check(entry.values.count == fields.count, "one value per field")
        for (field, value) in zip(fields, entry.values) {
            try check(field.type.accepts(value), "field \(field.name) holds a valid \(field.type.rawValue)")
            switch field.type {
            case .time:
                try check(Timestamp(rfc3339: value)?.description == value, "time \(field.name) has one spelling")
            case .uint:
                try check(
                    StrictDecimal.parse(value).map { String($0) } == value, "decimal \(field.name) has one spelling")
            case .hash, .id128:
                try check(Hex.decode(value).map { Hex.encode($0) } == value, "hex \(field.name) has one spelling")
            case .base64:
                try check(
                    Base64.decode(value).map { Base64.encode($0) } == value, "base64 \(field.name) has one spelling")
            case .signature:
                try check(
                    value == "none" || Base64.decode(value).map { Base64.encode($0) } == value,
                    "signature \(field.name) has one spelling")
            case .token, .text: break
            }
        }
        // Rebuilding from the named values gives the same entry.
        guard let rebuilt = try? Entry(kind: entry.kind, Array(zip(fields.map(\.name), entry.values))) else {
            throw Broken(invariant: "an accepted entry's values rebuild an entry")
        }
        try check(rebuilt == entry, "rebuilding from the values gives the same entry")
        _ = entry.time
        if let codec = entry["codec"] {
            try self.codec(codec)
        }
        // The typed ids an entry gives are what parsing its fields gives (read without a second parse).
        try check(entry.alert == entry["alert"].flatMap { AlertID($0) }, "the entry's alert id is its field")
        try check(entry.device == entry["device"].flatMap { DeviceID($0) }, "the entry's device id is its field")
        // The device statement an entry's signature covers is rebuilt from the entry alone.
        if [.alertOpened, .audioChunk, .alertClosed].contains(entry.kind) {
            switch Result(catching: { () throws(TemoinError) in
                try DeviceStatement(entry: entry, origin: Fixtures.origin)
            }) {
            case .success(let statement):
                try check(statement.alert == entry.alert, "the statement names the entry's alert")
                let text = Array(statement.bytes)
                try check(
                    String(validating: text, as: UTF8.self) != nil && text.last == 0x0a
                        && text.starts(with: Array(DeviceStatement.contextLine.utf8)),
                    "a statement is a line-oriented UTF-8 text")
            case .failure(let e):
                // Only a sequence number beyond the device's range (entries allow up to 2^63 − 1).
                try check(
                    e.code == "statement.seq",
                    "a statement rebuilt from a valid entry fails only on its seq (\(e.code))")
            }
        }
        return .accepted
    }

    /// The `codec` field of an audio.chunk entry, as the recording's OpusHead is rebuilt from it.
    static func codec(_ codec: String) throws(Broken) {
        if let settings = try? OpusSettings(codecDescription: codec) {
            try check(settings.codecDescription == codec, "an Opus codec field has one spelling")
        }
        if let phone = try? PhoneStream(codecDescription: codec) {
            try check(phone.codecDescription == codec, "a phone-stream codec field has one spelling")
        }
        if let header = try? StreamHeader(codec: codec) {
            // OpusHead carries the pre-skip in 16 bits and the input rate in 32 (RFC 7845 §5.1).
            try check(
                (0...0xFFFF).contains(header.preSkip) && (0...Int(UInt32.max)).contains(header.inputRate),
                "a codec field holds only what an OpusHead can carry (pre-skip \(header.preSkip), rate "
                    + "\(header.inputRate))"
            )
        }
    }

    /// Signed notes and what they carry: checkpoints, receipts; and verifier keys.
    static func note(_ bytes: [UInt8]) throws(Broken) -> Outcome {
        var outcome = Outcome.refused
        if let text = String(validating: bytes, as: UTF8.self), let firstLine = text.split(separator: "\n").first,
            let key = try? VerifierKey(parsing: firstLine)
        {
            try check(key.description == firstLine, "a verifier key has one spelling")
            outcome = .accepted
        }
        guard let note = try? SignedNote(parsing: bytes) else { return outcome }
        outcome = .accepted
        try check(note.bytes == bytes, "an accepted note is its canonical bytes")
        try check((1...SignedNote.maximumSignatures).contains(note.signatures.count), "1 to 100 signatures")
        try check(
            note.text.last == 0x0a && !note.text.contains { $0 < 0x20 && $0 != 0x0a || $0 == 0x7f },
            "the note text is clean and ends in a newline")
        let key = Fixtures.logSigner.verifierKey
        if (try? note.verify(key: key, using: Ed25519())) != nil {
            for s in note.signatures where s.name == key.name && s.keyID == key.keyID {
                try check(
                    Fixtures.isTheSignature(s.signature, of: note.text, by: Fixtures.logKey),
                    "the note verifies only with the log key's own signature (no malleability)")
            }
            outcome = .verified
        }
        if let checkpoint = try? Checkpoint(parsing: note.text) {
            try check(checkpoint.text == note.text, "an accepted checkpoint is its canonical text")
            try check(
                !checkpoint.origin.isEmpty && checkpoint.extensions.allSatisfy { !$0.isEmpty },
                "checkpoint lines are not empty")
            let signed = try? SignedCheckpoint(note: note)
            if let signed, (try? signed.verify(key: key, using: Ed25519())) != nil {
                try check(checkpoint.origin == key.name, "a verified checkpoint is the log's")
                try check(
                    (1...UInt64(Fixtures.entries.count)).contains(checkpoint.size)
                        && checkpoint.root == Fixtures.prover.root(size: checkpoint.size),
                    "only checkpoints the log signed verify (size \(checkpoint.size))")
            }
        }
        if let receipt = try? Receipt(parsing: note.text) {
            try check(receipt.text == note.text, "an accepted receipt is its canonical text")
        }
        return outcome
    }

    /// A tlog-proof: the first byte picks the genuine entry it is checked against, the rest is the file.
    static func tlogProof(_ bytes: [UInt8]) throws(Broken) -> Outcome {
        guard let first = bytes.first else { return .refused }
        let index = Int(first) % Fixtures.entries.count
        let file = Array(bytes.dropFirst())
        guard let proof = try? TlogProof(parsing: file) else { return .refused }
        try check(proof.bytes == file, "an accepted tlog-proof is its canonical bytes")
        let key = Fixtures.logSigner.verifierKey
        guard
            (try? proof.verify(
                entry: Fixtures.entries[index].bytes, key: key, hasher: SHA256.merkle, ed25519: Ed25519())) != nil
        else { return .accepted }
        let size = proof.checkpoint.checkpoint.size
        try check(
            size >= 1 && size <= UInt64(Fixtures.entries.count),
            "a verified proof is against a checkpoint the log signed")
        try check(
            proof.checkpoint.checkpoint == Fixtures.checkpoints[Int(size) - 1].checkpoint,
            "the signed checkpoint is the genuine one")
        try check(
            proof.index == UInt64(index),
            "a verified proof puts the entry at its true index (\(proof.index) ≠ \(index))")
        try check(
            proof.path == Fixtures.prover.inclusionProof(index: UInt64(index), size: size),
            "the only verifying path is the genuine one")
        return .verified
    }
}
