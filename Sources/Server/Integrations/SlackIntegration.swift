/// Builds the Slack integration when `platforms.slack` is configured.
enum SlackIntegrationFactory {
    static func make(_ dependencies: IntegrationDependencies) throws -> (any PlatformIntegration)? {
        nil
    }
}
