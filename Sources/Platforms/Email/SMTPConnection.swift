import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// Hands each reply to whoever waits for it, in order. Replies that come before anyone waits (the
/// greeting) are kept until asked for; a failure or a closed connection fails every waiter and every
/// later request. Lives on its channel's event loop only.
final class SMTPReplyRouter: ChannelInboundHandler {
    typealias InboundIn = SMTPReply

    private var waiting = CircularBuffer<EventLoopPromise<SMTPReply>>()
    private var early = CircularBuffer<SMTPReply>()
    private var failure: (any Error)?

    func expect(_ promise: EventLoopPromise<SMTPReply>) {
        if let reply = early.popFirst() {
            promise.succeed(reply)
        } else if let failure {
            promise.fail(failure)
        } else {
            waiting.append(promise)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        if let promise = waiting.popFirst() {
            promise.succeed(reply)
        } else if early.count < 16 {
            early.append(reply)
        } else {
            failAll(SMTPProtocolViolation(description: "the server sends replies nobody asked for"))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(SMTPConnection.Closed())
        context.fireChannelInactive()
    }

    private func failAll(_ error: any Error) {
        if failure == nil { failure = error }
        while let promise = waiting.popFirst() { promise.fail(error) }
    }
}

/// One SMTP connection: a command, its reply. Every wait is bounded by `timeout`; when it passes, the
/// connection is closed and the waiter fails.
final class SMTPConnection: Sendable {
    struct Closed: Error, CustomStringConvertible {
        var description: String { "the server closed the connection" }
    }

    struct TimedOut: Error, CustomStringConvertible {
        var seconds: Int64
        var description: String { "no answer within \(seconds) s" }
    }

    private let channel: any Channel
    private let router: NIOLoopBound<SMTPReplyRouter>
    private let timeout: TimeAmount
    /// Whether TLS is on (implicit or after STARTTLS).
    private let secured: Mutex<Bool>

    var isSecure: Bool { secured.withLock { $0 } }

    private init(channel: any Channel, router: NIOLoopBound<SMTPReplyRouter>, timeout: TimeAmount, secure: Bool) {
        self.channel = channel
        self.router = router
        self.timeout = timeout
        self.secured = Mutex(secure)
    }

    /// Connects; with `implicitTLS`, TLS starts before the first byte.
    static func connect(
        host: String, port: Int, implicitTLS: NIOSSLContext?, serverHostname: String?, timeout: TimeAmount, group: any EventLoopGroup
    ) async throws -> SMTPConnection {
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let implicitTLS {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: implicitTLS, serverHostname: serverHostname))
                    }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPReplyDecoder()))
                    try channel.pipeline.syncOperations.addHandler(SMTPReplyRouter())
                }
            }
            .connect(host: host, port: port)
            .get()
        let router = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: SMTPReplyRouter.self), eventLoop: channel.eventLoop)
        }.get()
        return SMTPConnection(channel: channel, router: router, timeout: timeout, secure: implicitTLS != nil)
    }

    /// Sends `line` (CRLF added) and waits for its reply; nil waits for a reply without sending (the greeting).
    func command(_ line: String?) async throws -> SMTPReply {
        var buffer: ByteBuffer?
        if let line { buffer = channel.allocator.buffer(string: line + "\r\n") }
        return try await exchange(buffer)
    }

    /// Sends raw bytes (a message's DATA) and waits for the one reply they earn.
    func send(raw: ByteBuffer) async throws -> SMTPReply {
        try await exchange(raw)
    }

    private func exchange(_ bytes: ByteBuffer?) async throws -> SMTPReply {
        let channel = self.channel
        let router = self.router
        let promise = channel.eventLoop.makePromise(of: SMTPReply.self)
        let seconds = timeout.nanoseconds / 1_000_000_000
        let deadline = channel.eventLoop.scheduleTask(in: timeout) {
            promise.fail(TimedOut(seconds: seconds))
            channel.close(promise: nil)
        }
        channel.eventLoop.execute {
            router.value.expect(promise)
            if let bytes { channel.writeAndFlush(bytes, promise: nil) }
        }
        defer { deadline.cancel() }
        return try await promise.futureResult.get()
    }

    /// After the server's `220` to STARTTLS: TLS from here on, below the reply decoder.
    func startTLS(context: NIOSSLContext, serverHostname: String?) async throws {
        let channel = self.channel
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverHostname), position: .first)
        }.get()
        secured.withLock { $0 = true }
    }

    func close() async {
        do {
            try await channel.close().get()
        } catch ChannelError.alreadyClosed {
            // Closed by the server or by a time-out: what we wanted.
        } catch {
            // Nothing left to do with a connection that cannot even close cleanly; it is dropped either way.
        }
    }
}
