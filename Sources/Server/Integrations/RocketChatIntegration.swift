/// Builds the RocketChat integration when `platforms.rocketchat` is configured.
enum RocketChatIntegrationFactory {
    static func make(_ dependencies: IntegrationDependencies) throws -> (any PlatformIntegration)? {
        nil
    }
}
