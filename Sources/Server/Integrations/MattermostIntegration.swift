/// Builds the Mattermost integration when `platforms.mattermost` is configured.
enum MattermostIntegrationFactory {
    static func make(_ dependencies: IntegrationDependencies) throws -> (any PlatformIntegration)? {
        nil
    }
}
