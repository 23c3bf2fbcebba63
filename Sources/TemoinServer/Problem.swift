import Foundation
public import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import TemoinCore

/// The routes the service registers, so that a known path asked with another method is answered
/// `405` with `Allow`, not `404`.
public final class KnownRoutes: Sendable {
    private let routes = NIOLockedValueBox<[(method: String, segments: [Substring])]>([])

    init() {}

    func learn(_ list: [(method: String, path: String)]) {
        routes.withLockedValue { routes in
            for (method, path) in list {
                let segments = path.split(separator: "/")
                if !routes.contains(where: { $0.method == method && $0.segments == segments }) {
                    routes.append((method, segments))
                }
            }
        }
    }

    /// The methods registered for a concrete path (`:name` segments match any one segment). As
    /// the router does, a literal segment wins over a parameter: `/contacts/person` is the route
    /// `contacts/person` alone, not also `contacts/:contact`.
    func methods(for path: String) -> [String] {
        let asked = path.split(separator: "/")
        func literals(_ segments: [Substring]) -> [Bool] {
            segments.map { !($0.hasPrefix(":") || $0.hasPrefix("{")) }
        }
        return routes.withLockedValue { routes in
            let matching = routes.filter { route in
                route.segments.count == asked.count
                    && zip(route.segments, asked).allSatisfy { $0.hasPrefix(":") || $0.hasPrefix("{") || $0 == $1 }
            }
            guard
                let best = matching.map({ literals($0.segments) }).max(by: {
                    $0.lexicographicallyPrecedes($1) { !$0 && $1 }
                })
            else { return [] }
            return Set(matching.filter { literals($0.segments) == best }.map(\.method)).sorted()
        }
    }
}

/// An RFC 9457 problem document. `code` is Témoin's stable error code; the status comes with it.
struct Problem: Error, Encodable {
    let type: String
    let title: String
    let status: Int
    let detail: String
    let code: String
    /// Seconds for `Retry-After` on a 429 (1 unless said).
    var retryAfter: Int?

    private enum CodingKeys: String, CodingKey { case type, title, status, detail, code }

    init(status: HTTPResponse.Status, code: ErrorCode, detail: String, retryAfter: Int? = nil) {
        type = "urn:temoin:problem:\(code.rawValue)"
        title = status.reasonPhrase
        self.status = status.code
        self.detail = detail
        self.code = code.rawValue
        self.retryAfter = retryAfter
    }

    init(_ error: TemoinError) {
        self.init(status: Problem.status(for: error), code: error.id, detail: error.reason)
    }

    /// The HTTP status of a failure: the one its code always gets (`ErrorCode.specificHTTPStatus`),
    /// otherwise its category's (400 malformed, 422 unusable content, 503 environment, 500 damage).
    static func status(for e: TemoinError) -> HTTPResponse.Status {
        standard(e.id.specificHTTPStatus ?? e.category.httpStatus)
    }

    /// A status with its standard reason phrase (the problem's `title`); `Status(code:)` alone has none.
    static func standard(_ code: Int) -> HTTPResponse.Status {
        let known: [HTTPResponse.Status] = [
            .badRequest, .unauthorized, .forbidden, .notFound, .methodNotAllowed, .conflict, .gone, .contentTooLarge,
            .unsupportedMediaType, .rangeNotSatisfiable, .unprocessableContent, .tooManyRequests, .internalServerError,
            .serviceUnavailable,
        ]
        return known.first { $0.code == code } ?? HTTPResponse.Status(code: code)
    }

    var response: Response {
        let body = (try? JSONEncoder().encode(self)) ?? Data()
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        if status == 429 { headers[.retryAfter] = String(max(1, retryAfter ?? 1)) }
        if status == 401 { headers[.wwwAuthenticate] = "Bearer realm=\"temoin\"" }
        headers[.cacheControl] = "no-store"
        return Response(
            status: Problem.standard(status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Turns every error into a problem document; nothing else reaches the client.
public struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let known: KnownRoutes

    public init(known: KnownRoutes) {
        self.known = known
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let p as Problem {
            return p.response
        } catch let r as RangeNotSatisfiable {
            return try r.response(from: request, context: context)
        } catch let e as TemoinError {
            if Problem.status(for: e).code >= 500 {
                context.logger.error("request failed", metadata: ["code": "\(e.code)", "path": "\(request.uri.path)"])
            }
            return Problem(e).response
        } catch let e as any HTTPResponseError
            where e.status == .notFound && !known.methods(for: request.uri.path).isEmpty
        {
            let allowed = known.methods(for: request.uri.path)
            var response = Problem(
                status: .methodNotAllowed, code: .httpMethodNotAllowed,
                detail: "\(request.method.rawValue) is not allowed here; use \(allowed.joined(separator: " or "))"
            ).response
            response.headers[.allow] = allowed.joined(separator: ", ")
            return response
        } catch let e as any HTTPResponseError {
            let code: ErrorCode
            switch e.status {
            case .notFound: code = .httpNotFound
            case .contentTooLarge: code = .httpTooLarge
            case .methodNotAllowed: code = .httpMethodNotAllowed
            default: code = .httpError
            }
            let detail =
                (e as? HTTPError)?.body
                ?? (e.status == .contentTooLarge
                    ? "the request body is larger than this service accepts" : e.status.reasonPhrase)
            return Problem(status: e.status, code: code, detail: detail).response
        } catch is DecodingError {
            return Problem(
                status: .badRequest, code: .jsonInvalid, detail: "the JSON body is malformed or lacks a field"
            ).response
        } catch is HTTPParserError {
            // Broken framing (chunk sizes, line ends, a body shorter than its Content-Length): the
            // client's fault, never a 5xx that a phone would retry as the server's.
            return Problem(
                status: .badRequest, code: .httpMalformed, detail: "the HTTP request is malformed or incomplete"
            ).response
        } catch is ChannelError {
            return Problem(
                status: .badRequest, code: .httpMalformed, detail: "the HTTP request is malformed or incomplete"
            ).response
        } catch {
            context.logger.error("unexpected failure", metadata: ["error": "\(String(describing: type(of: error)))"])
            return Problem(status: .internalServerError, code: .internalFailure, detail: "internal error").response
        }
    }
}
