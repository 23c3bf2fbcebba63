/// A RIFF/WAVE parser for hostile input: every size is checked against the bytes actually
/// present, nothing is allocated from a declared size, unknown chunks are skipped.
///
/// Accepted: PCM 8/16/24/32-bit, IEEE float 32/64-bit, WAVE_FORMAT_EXTENSIBLE with a PCM or
/// float sub-format; 8–48 kHz; 1–8 channels. Refused with a clear error: anything else,
/// truncated data, a partial final frame, no audio.
public enum WAV {
    static let pcmTag: UInt16 = 1
    static let floatTag: UInt16 = 3
    static let extensibleTag: UInt16 = 0xFFFE
    /// The 14 bytes after the 2-byte format code in a KSDATAFORMAT_SUBTYPE GUID.
    static let guidTail: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]

    public static func parse(_ bytes: [UInt8]) throws(TemoinError) -> PCMAudio {
        guard bytes.count >= 12, tag(bytes, 0) == "RIFF", tag(bytes, 8) == "WAVE" else {
            throw .malformed(.wavNotWav, "not a WAV file (no RIFF/WAVE header)")
        }
        var offset = 12
        var format: PCMFormat?
        while offset + 8 <= bytes.count {
            let id = tag(bytes, offset)
            let size = Int(le32(bytes, offset + 4))
            let body = offset + 8
            let available = bytes.count - body
            switch id {
            case "fmt ":
                guard format == nil else { throw .malformed(.wavTwoFormats, "the WAV file has two fmt chunks") }
                guard size <= available else { throw .malformed(.wavTruncated, "the fmt chunk is cut short") }
                format = try parseFormat(bytes[body..<body + size])
            case "data":
                guard let format else {
                    throw .malformed(.wavDataBeforeFormat, "the data chunk comes before the fmt chunk")
                }
                guard size <= available else {
                    throw .malformed(
                        .wavTruncated,
                        "the data chunk declares \(size) bytes but only \(available) are present: the file is truncated"
                    )
                }
                guard size > 0 else { throw .malformed(.audioEmpty, "the WAV file holds no samples") }
                guard size % format.blockAlign == 0 else {
                    throw .malformed(
                        .audioPartialFrame,
                        "the data chunk (\(size) bytes) is not a whole number of \(format.blockAlign)-byte frames")
                }
                return PCMAudio(format: format, data: bytes[body..<body + size])
            default:
                guard size <= available else {
                    throw .malformed(.wavTruncated, "chunk '\(printable(id))' is cut short")
                }
            }
            offset = body + size + (size & 1)
        }
        throw .malformed(
            format == nil ? .wavNoFormat : .wavNoData,
            format == nil ? "the WAV file has no fmt chunk" : "the WAV file has no data chunk")
    }

    static func parseFormat(_ b: ArraySlice<UInt8>) throws(TemoinError) -> PCMFormat {
        guard b.count >= 16 else { throw .malformed(.wavBadFormat, "the fmt chunk is shorter than 16 bytes") }
        let s = b.startIndex
        var code = le16(b, s)
        let channels = Int(le16(b, s + 2))
        let rate = Int(le32(b, s + 4))
        let byteRate = Int(le32(b, s + 8))
        let blockAlign = Int(le16(b, s + 12))
        let bits = Int(le16(b, s + 14))
        if code == extensibleTag {
            guard b.count >= 40, le16(b, s + 16) >= 22 else {
                throw .malformed(.wavBadFormat, "WAVE_FORMAT_EXTENSIBLE without its 22-byte extension")
            }
            let valid = Int(le16(b, s + 18))
            guard valid <= bits, valid > 0 else {
                throw .malformed(.wavBadFormat, "valid bits \(valid) exceed the container's \(bits)")
            }
            guard Array(b[(s + 26)..<(s + 40)]) == guidTail else {
                throw .malformed(.wavUnsupported, "the WAVE_FORMAT_EXTENSIBLE sub-format is not PCM or IEEE float")
            }
            code = le16(b, s + 24)
        }
        let encoding: PCMFormat.Encoding
        switch (code, bits) {
        case (pcmTag, 8): encoding = .unsigned8
        case (pcmTag, 16): encoding = .signed16
        case (pcmTag, 24): encoding = .signed24
        case (pcmTag, 32): encoding = .signed32
        case (floatTag, 32): encoding = .float32
        case (floatTag, 64): encoding = .float64
        default:
            throw .malformed(
                .wavUnsupported,
                "WAV format \(code) with \(bits)-bit samples is not supported (PCM 8/16/24/32-bit or float 32/64-bit)")
        }
        let format = try PCMFormat(encoding: encoding, sampleRate: rate, channels: channels)
        guard blockAlign == format.blockAlign, byteRate == rate * blockAlign else {
            throw .malformed(.wavBadFormat, "inconsistent fmt chunk (block align \(blockAlign), byte rate \(byteRate))")
        }
        return format
    }

    static func tag(_ b: [UInt8], _ o: Int) -> String {
        String(decoding: b[o..<o + 4], as: UTF8.self)
    }

    static func printable(_ s: String) -> String {
        String(s.unicodeScalars.map { $0.value >= 0x20 && $0.value < 0x7f ? Character($0) : "?" })
    }

    static func le16<C: Collection<UInt8>>(_ b: C, _ o: C.Index) -> UInt16 where C.Index == Int {
        UInt16(b[o]) | UInt16(b[o + 1]) << 8
    }

    static func le32<C: Collection<UInt8>>(_ b: C, _ o: C.Index) -> UInt32 where C.Index == Int {
        UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
    }

    /// A canonical WAV file (44-byte header, no extension) holding whole frames of `format`:
    /// how a long recording is cut into chunks that are each a valid WAV file.
    public static func encode(format: PCMFormat, data: ArraySlice<UInt8>) -> [UInt8] {
        precondition(!format.bigEndian && data.count % format.blockAlign == 0)
        var out = [UInt8]()
        out.reserveCapacity(44 + data.count)
        func put32(_ v: Int) {
            out += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24 & 0xff)]
        }
        func put16(_ v: Int) { out += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff)] }
        let float = format.encoding == .float32 || format.encoding == .float64
        out += Array("RIFF".utf8); put32(36 + data.count); out += Array("WAVE".utf8)
        out += Array("fmt ".utf8); put32(16); put16(float ? 3 : 1); put16(format.channels); put32(format.sampleRate)
        put32(format.sampleRate * format.blockAlign); put16(format.blockAlign); put16(format.bytesPerSample * 8)
        out += Array("data".utf8); put32(data.count)
        out += data
        return out
    }
}
