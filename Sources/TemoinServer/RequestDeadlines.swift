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
            arm(context, deadlines.bodySilence)
            requestTimer?.cancel()
            let loop = context.eventLoop.assumeIsolated()
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            requestTimer = loop.scheduleTask(in: TimeAmount(deadlines.request)) { bound.value.close(promise: nil) }
        case .body:
            arm(context, deadlines.bodySilence)
        case .end:
            cancel()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            // The response is complete: the connection may wait for the next request head.
            cancel()
            arm(context, deadlines.head)
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, _ delay: Duration) {
        timer?.cancel()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) { bound.value.close(promise: nil) }
    }

    private func cancel() {
        timer?.cancel()
        timer = nil
        requestTimer?.cancel()
        requestTimer = nil
    }
}
