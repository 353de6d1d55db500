import IncidentCore

/// Posts pager notices to the gateways in `paging.webhooks` (SMS, voice, a home-grown pager), signed as
/// `SignedWebhookClient` describes (docs/paging.md).
public typealias PagerWebhookClient = SignedWebhookClient<PagerNotice>

extension PagerNotice: SignedWebhookNotice {
    public var eventName: String { event.rawValue }
    public static var receiverName: String { "pager webhook" }
    public static var configPath: String { "paging.webhooks" }
}

extension PagerWebhook: SignedWebhookTarget {}
