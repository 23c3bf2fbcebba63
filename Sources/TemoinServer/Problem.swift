import Foundation
public import Hummingbird
import TemoinCore

/// An RFC 9457 problem document. `code` is Témoin's stable error code.
struct Problem: Error, Encodable {
    let type: String
    let title: String
    let status: Int
    let detail: String
    let code: String

    init(status: HTTPResponse.Status, code: String, detail: String) {
        type = "urn:temoin:problem:\(code)"
        title = status.reasonPhrase
        self.status = status.code
        self.detail = detail
        self.code = code
    }

    init(_ error: TemoinError) {
        self.init(status: Problem.status(for: error), code: error.code, detail: error.reason)
    }

    /// The HTTP status of each kind of failure.
    static func status(for e: TemoinError) -> HTTPResponse.Status {
        switch e.code {
        case "device.unknown": return .forbidden
        case "statement.bad-signature", "admin.unauthorized": return .unauthorized
        case "ledger.device-already-enrolled": return .conflict
        case "alert.unknown", "ledger.alert-not-open": return .notFound
        case "alert.conflict", "ledger.alert-already-open": return .conflict
        case "audio.too-large", "input.too-large": return .contentTooLarge
        case "audio.unsupported-media": return .unsupportedMediaType
        case "rate.limited": return .tooManyRequests
        case "ledger.locked", "sqlite.busy": return .serviceUnavailable
        default: break
        }
        switch e.category {
        case .usage, .unusableInput: return e.code.hasPrefix("wav.") || e.code.hasPrefix("audio.") ? .unprocessableContent : .badRequest
        case .environment: return .serviceUnavailable
        case .invalidEvidence: return .internalServerError
        }
    }

    var response: Response {
        let body = (try? JSONEncoder().encode(self)) ?? Data()
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        if status == 429 { headers[.retryAfter] = "1" }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Turns every error into a problem document; nothing else reaches the client.
public struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let p as Problem {
            return p.response
        } catch let e as TemoinError {
            if Problem.status(for: e).code >= 500 {
                context.logger.error("request failed", metadata: ["code": "\(e.code)", "path": "\(request.uri.path)"])
            }
            return Problem(e).response
        } catch let e as any HTTPResponseError {
            let code: String
            switch e.status {
            case .notFound: code = "http.not-found"
            case .contentTooLarge: code = "http.too-large"
            case .methodNotAllowed: code = "http.method-not-allowed"
            default: code = "http.error"
            }
            let detail = (e as? HTTPError)?.body ?? (e.status == .contentTooLarge ? "the request body is larger than this service accepts" : e.status.reasonPhrase)
            return Problem(status: e.status, code: code, detail: detail).response
        } catch is DecodingError {
            return Problem(status: .badRequest, code: "json.invalid", detail: "the JSON body is malformed or lacks a field").response
        } catch {
            context.logger.error("unexpected failure", metadata: ["error": "\(String(describing: type(of: error)))"])
            return Problem(status: .internalServerError, code: "internal", detail: "internal error").response
        }
    }
}
