import IncidentCore

/// Posts status notices to `statusPage.webhooks` (an external status page, a static site builder), signed
/// and answered as the pager webhooks are (`SignedWebhookClient`, docs/status-page.md).
public typealias StatusWebhookClient = SignedWebhookClient<StatusNotice>

extension StatusNotice: SignedWebhookNotice {
    public var eventName: String { event }
    public static var receiverName: String { "status webhook" }
    public static var configPath: String { "statusPage.webhooks" }
}

extension StatusWebhook: SignedWebhookTarget {}
