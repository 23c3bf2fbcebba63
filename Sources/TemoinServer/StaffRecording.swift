import Foundation
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import TemoinCore
import TemoinCrypto
import TemoinExport
import TemoinLedger

/// The last few alerts' recordings, so that a browser seeking through one (a range request per
/// seek) does not rebuild it each time. A recording is a pure function of the alert's chunk
/// entries, which are only ever added: the number of chunk entries names its version.
final class RecordingCache: Sendable {
    struct Built: Sendable {
        let bytes: [UInt8]
        /// A strong validator: the SHA-256 of the bytes, quoted.
        let etag: String
        let chunks: UInt64
    }

    private let entries = NIOLockedValueBox<[(alert: AlertID, built: Built)]>([])
    private let capacity: Int
    private let maximumBytes: Int

    /// At most `capacity` recordings and `maximumBytes` in all (a longer recording is built for
    /// each request and not kept: memory stays bounded whatever an alert's length).
    init(capacity: Int = 4, maximumBytes: Int = 64 << 20) {
        self.capacity = capacity
        self.maximumBytes = maximumBytes
    }

    func recording(alert: AlertID, reader: LedgerReader, io: BlockingIO) async throws -> Built {
        let chunks = try reader.chunkCount(alert: alert)
        if let hit = entries.withLockedValue({ $0.first { $0.alert == alert && $0.built.chunks == chunks } }) {
            return hit.built
        }
        let built = try await io.run {
            let bytes = try reader.recording(alert: alert).bytes
            return Built(bytes: bytes, etag: "\"\(SHA256.hash(bytes).hex)\"", chunks: chunks)
        }
        guard built.bytes.count <= maximumBytes else { return built }
        entries.withLockedValue { list in
            list.removeAll { $0.alert == alert }
            list.insert((alert, built), at: 0)
            while list.count > capacity || list.reduce(0, { $0 + $1.built.bytes.count }) > maximumBytes {
                list.removeLast()
            }
        }
        return built
    }

    /// Forgets an alert (its audio was erased).
    func forget(alert: AlertID) {
        entries.withLockedValue { $0.removeAll { $0.alert == alert } }
    }
}

/// Single byte ranges (RFC 9110 §14): `bytes=a-b`, `bytes=a-`, `bytes=-n`; a browser's `<audio>`
/// seeks with them. Several ranges, or a Range header that is not one of these, get the whole
/// body (200), as the RFC allows; a range past the end gets 416 with the size.
enum RangeReply {
    static func response(
        _ bytes: [UInt8], etag: String, type: String, request: Request, filename: String
    ) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.acceptRanges] = "bytes"
        headers[.eTag] = etag
        headers[.cacheControl] = "private, no-store"
        headers[.contentDisposition] = "inline; filename=\"\(filename)\""
        let size = bytes.count
        var range: ClosedRange<Int>?
        if let header = request.headers[.range],
            request.headers[.ifRange].map({ $0 == etag }) ?? true
        {
            switch parse(header, size: size) {
            case .whole: break
            case .unsatisfiable:
                headers[.contentRange] = "bytes */\(size)"
                throw RangeNotSatisfiable(size: size)
            case .range(let r): range = r
            }
        }
        guard let range else {
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        headers[.contentRange] = "bytes \(range.lowerBound)-\(range.upperBound)/\(size)"
        return Response(
            status: .partialContent, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes[range])))
    }

    enum Parsed: Equatable {
        case whole
        case unsatisfiable
        case range(ClosedRange<Int>)
    }

    static func parse(_ header: String, size: Int) -> Parsed {
        guard header.hasPrefix("bytes="), !header.contains(",") else { return .whole }
        let spec = header.dropFirst(6).trimmingCharacters(in: .whitespaces)
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .whole }
        let first = parts[0].isEmpty ? nil : StrictDecimal.parse(parts[0])
        let last = parts[1].isEmpty ? nil : StrictDecimal.parse(parts[1])
        if (!parts[0].isEmpty && first == nil) || (!parts[1].isEmpty && last == nil) { return .whole }
        switch (first, last) {
        case (nil, nil):
            return .whole
        case (nil, let n?):
            // The last n bytes.
            guard n > 0, size > 0 else { return .unsatisfiable }
            return .range(max(0, size - Int(min(n, UInt64(size))))...(size - 1))
        case (let a?, let b):
            guard a < UInt64(size) else { return .unsatisfiable }
            if let b, b < a { return .whole }
            let end = min(Int(b ?? UInt64(size - 1)), size - 1)
            return .range(Int(a)...end)
        }
    }
}

/// 416, with the representation's size in `Content-Range`.
struct RangeNotSatisfiable: Error, HTTPResponseError {
    let size: Int
    var status: HTTPResponse.Status { .rangeNotSatisfiable }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = Problem(
            status: .rangeNotSatisfiable, code: .rangeNotSatisfiable,
            detail: "the range starts past the end of the recording (\(size) bytes)"
        ).response
        response.headers[.contentRange] = "bytes */\(size)"
        return response
    }
}
