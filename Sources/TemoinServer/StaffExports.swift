import Foundation
import HTTPTypes
import Hummingbird
import TemoinArchive
import TemoinCore
import TemoinExport
import TemoinLedger

/// An export made while phones keep uploading: `export.created` goes through the one writer like
/// any entry (between the phones' commits), the bundle is assembled in memory on the staff thread (never on
/// the cooperative pool), and the zip is sent in 1 MiB pieces with its length known first.
enum StaffExports {
    static func response(
        alert: AlertID, requester: String, reference: String, writer: LedgerWriter, reader: LedgerReader,
        directory: DataDirectory, executor: ThreadTaskExecutor
    ) async throws -> Response {
        let exported = try await withTaskExecutorPreference(executor) {
            try await Exporter(directory: directory).exportZip(
                alert: alert, requester: requester, reference: reference, writer: writer, reader: reader)
        }
        var headers = HTTPFields()
        headers[.contentType] = exported.contentType
        headers[.contentDisposition] = "attachment; filename=\"\(exported.fileName)\""
        headers[.contentLength] = String(exported.archive.size)
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("Temoin-Export-Entry")!] = String(exported.exportIndex)
        let archive = exported.archive
        // The bundle is in memory (`Exporter.exportZip`): the pieces are copies, cheap to take here.
        let body = ResponseBody(contentLength: Int(archive.size)) { writer in
            var chunks = archive.makeChunks()
            while let chunk = try chunks.next() { try await writer.write(ByteBuffer(bytes: chunk)) }
            try await writer.finish(nil)
        }
        return Response(status: .created, headers: headers, body: body)
    }
}
