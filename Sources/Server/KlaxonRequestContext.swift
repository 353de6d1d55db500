import Hummingbird
import NIOCore

/// The request context of every Klaxon route: Hummingbird's basic one plus the address the connection
/// came from, which the audit log records for API calls (issue 12, item 4).
public struct KlaxonRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The peer as the audit log shows it: the IP address without the (ephemeral) port, or a Unix
    /// socket's path. nil when the connection has none (in-process test clients).
    public var remoteAddressText: String? {
        guard let remoteAddress else { return nil }
        return remoteAddress.ipAddress ?? remoteAddress.pathname ?? "\(remoteAddress)"
    }
}
