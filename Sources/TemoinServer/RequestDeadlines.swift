import NIOCore
import NIOHTTPTypes

/// How long a client may take, enforced by the service itself (a reverse proxy may add its own).
public struct RequestDeadlines: Sendable {
    /// From the connection's opening, or the end of the previous response, to a complete request head.
    public var head: Duration = .seconds(10)
    /// Longest silence while a request body is being received.
    public var bodySilence: Duration = .seconds(30)
    /// Longest whole request, head to end of body (a 16 MiB chunk at 64 kB/s).
    public var request: Duration = .seconds(300)

    public init() {}
}

/// Closes connections that are idle, or that send their request too slowly (a request head in
/// dribbles, a body that stalls): each one holds memory and a task, so none may last for ever.
final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let deadlines: RequestDeadlines
    private var timer: Scheduled<Void>?
    private var requestTimer: Scheduled<Void>?
    /// Requests read (head seen) and not yet answered (response end written); pipelined ones count.
    private var unanswered = 0
    /// A request body is being received (head seen, end not yet).
    private var bodyOpen = false

    init(deadlines: RequestDeadlines) {
        self.deadlines = deadlines
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context, deadlines.head) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context, deadlines.head)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            unanswered += 1
            bodyOpen = true
            arm(context, deadlines.bodySilence)
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            requestTimer?.cancel()
            requestTimer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(deadlines.request)) {
                bound.value.close(promise: nil)
            }
        case .body:
            arm(context, deadlines.bodySilence)
        case .end:
            // The body is in: no deadline while the service works on it (a chunk may wait for its
            // predecessors); the last response's end starts the wait for the next head.
            bodyOpen = false
            cancel()
            if unanswered == 0 { arm(context, deadlines.head) }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            unanswered = max(0, unanswered - 1)
            // Answered before its body ended (a refusal): the rest of the body is drained under the
            // silence and whole-request deadlines still running. Otherwise, with nothing left to
            // answer, the connection may wait for the next request head.
            if !bodyOpen && unanswered == 0 { arm(context, deadlines.head) }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, _ delay: Duration) {
        timer?.cancel()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) {
            bound.value.close(promise: nil)
        }
    }

    private func cancel() {
        timer?.cancel()
        timer = nil
        requestTimer?.cancel()
        requestTimer = nil
    }
}
