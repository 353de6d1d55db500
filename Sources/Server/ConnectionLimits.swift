import Foundation
import Hummingbird
import HummingbirdCore
import IncidentCore
import Logging
import NIOCore
import NIOHTTPTypes

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The HTTP server's defences against slow and idle clients (`server.idleTimeout`, `headerTimeout`,
/// `bodyTimeout`, `maxConnections`), in NIO's terms.
struct ConnectionLimits {
    let idleTimeout: TimeAmount
    let headerTimeout: TimeAmount
    let bodyTimeout: TimeAmount
    let maxConnections: Int
    let delegate: MaximumAvailableConnections

    /// File descriptors kept back from the connection cap: the SQLite files, the HTTP client's pool,
    /// logs. With the cap above the process limit, `accept` would fail with EMFILE instead of waiting.
    static let reservedDescriptors = 128

    init(server: ServerConfig, logger: Logger) {
        idleTimeout = .seconds(server.idleTimeout.seconds)
        headerTimeout = .seconds(server.headerTimeout.seconds)
        bodyTimeout = .seconds(server.bodyTimeout.seconds)
        var cap = server.maxConnections
        if let limit = Self.descriptorLimit(), limit - Self.reservedDescriptors < cap {
            cap = max(16, limit - Self.reservedDescriptors)
            logger.warning(
                "server.maxConnections lowered to what the file descriptor limit allows",
                metadata: ["configured": "\(server.maxConnections)", "used": "\(cap)", "nofile": "\(limit)"])
        }
        maxConnections = cap
        delegate = MaximumAvailableConnections(cap, logger: logger)
    }

    /// The soft `RLIMIT_NOFILE`, nil if unknown or unlimited.
    static func descriptorLimit() -> Int? {
        var limit = rlimit()
        // RLIM_INFINITY is all ones; anything beyond a million is as good as unlimited here.
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < 1 << 40 else { return nil }
        return Int(clamping: limit.rlim_cur)
    }
}

/// Closes a connection whose request head does not arrive within `headerTimeout` of the connection's
/// start (or of its previous response), or whose body does not end within `bodyTimeout` of its head:
/// the slow clients (slowloris) that an idle timeout alone lets through by trickling a byte at a time.
/// It sits after HTTP decoding, so it sees whole heads and body parts; the response is none of its business.
final class RequestReadTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let headerTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private var deadline: Scheduled<Void>?
    /// Requests read but not yet answered: no header deadline runs while the server owes an answer.
    private var unanswered = 0

    init(headerTimeout: TimeAmount, bodyTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(headerTimeout, context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(headerTimeout, context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            unanswered += 1
            arm(bodyTimeout, context: context)
        case .end:
            disarm()
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            unanswered = max(0, unanswered - 1)
            // Keep-alive: a connection between requests is idle, and the next head (perhaps trickled a
            // byte at a time, which resets NIO's idle timer) must be complete within the idle timeout.
            if unanswered == 0 { arm(idleTimeout, context: context) }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ timeout: TimeAmount, context: ChannelHandlerContext) {
        disarm()
        // Runs on the channel's event loop, like every other method of the handler, so the state it
        // touches is never shared across threads.
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            loopBound.value.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}
