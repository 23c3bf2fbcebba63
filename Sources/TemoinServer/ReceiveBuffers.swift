import NIOCore

/// Caps the buffer each connection reads into at 16 KiB (NIO's default grows it to 64 KiB, and
/// keeps more than one per connection while request bodies are in flight). With 100 phones each
/// uploading a chunk at once, the default cost 21 MB of the service's memory (heaptrack); reading
/// a 160 kB chunk in 16 KiB reads costs a few more system calls, nothing measurable next to
/// encoding it. Set once, when the connection's pipeline is built; passes everything through.
final class ReceiveBufferLimit: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    static let maximum = 16 * 1024

    func handlerAdded(context: ChannelHandlerContext) {
        let allocator = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: Self.maximum)
        try? context.channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: allocator)
    }
}
