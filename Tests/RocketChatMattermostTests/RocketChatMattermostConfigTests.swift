import Foundation
import IncidentCore
import Testing

/// The Rocket.Chat and Mattermost keys of `bot-config.json`: `privateChannels` on both, `actionsURL` on
/// Mattermost. (Here rather than in IncidentCoreTests so that this suite builds on its own.)
@Suite("Rocket.Chat and Mattermost config")
struct RocketChatMattermostConfigTests {
    static let environment = ["RC_TOKEN": "rc-auth-token-0123456789", "MM_BOT": "mm-bot-token-0123456789", "MM_COMMAND": "mm-command-token-0123456789"]

    /// The shipped config with `platforms` replaced.
    static func load(rocketChat: [String: Any], mattermost: [String: Any]) throws -> Result<KlaxonConfig, ConfigErrors> {
        var document = try #require(try JSONSerialization.jsonObject(with: Data(ConfigLoader.embeddedDefaultJSON.utf8)) as? [String: Any])
        document["platforms"] = ["rocketchat": rocketChat, "mattermost": mattermost]
        let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
        return ConfigLoader.load(json: String(decoding: data, as: UTF8.self), environment: environment)
    }

    static var rocketChat: [String: Any] {
        [
            "serverURL": "https://chat.example.com", "userId": "klaxonbot", "authToken": "${RC_TOKEN}", "announceChannel": "incidents",
        ]
    }
    static var mattermost: [String: Any] {
        [
            "serverURL": "https://mm.example.com", "botToken": "${MM_BOT}", "teamId": "t1", "commandToken": "${MM_COMMAND}", "announceChannel": "incidents",
        ]
    }

    @Test func defaultsArePublicChannelsAndTextButtons() throws {
        let config = try Self.load(rocketChat: Self.rocketChat, mattermost: Self.mattermost).get()
        #expect(config.platforms.rocketchat?.privateChannels == false)
        #expect(config.platforms.mattermost?.privateChannels == false)
        #expect(config.platforms.mattermost?.actionsURL == nil)
    }

    @Test func theNewKeysAreRead() throws {
        var rocketChat = Self.rocketChat
        rocketChat["privateChannels"] = true
        var mattermost = Self.mattermost
        mattermost["privateChannels"] = true
        mattermost["actionsURL"] = "https://klaxon.example.com/mattermost/actions"
        let config = try Self.load(rocketChat: rocketChat, mattermost: mattermost).get()
        #expect(config.platforms.rocketchat?.privateChannels == true)
        #expect(config.platforms.mattermost?.privateChannels == true)
        #expect(config.platforms.mattermost?.actionsURL == "https://klaxon.example.com/mattermost/actions")
    }

    @Test func badValuesAreReportedWithTheirPaths() throws {
        var rocketChat = Self.rocketChat
        rocketChat["privateChannels"] = "yes"
        var mattermost = Self.mattermost
        mattermost["privateChannels"] = 1
        mattermost["actionsURL"] = "klaxon.example.com/mattermost/actions"
        mattermost["actionURL"] = "https://klaxon.example.com/mattermost/actions"
        let result = try Self.load(rocketChat: rocketChat, mattermost: mattermost)
        guard case .failure(let errors) = result else {
            Issue.record("a config with bad values loaded")
            return
        }
        let paths = errors.problems.map(\.path)
        #expect(paths.contains("platforms.rocketchat.privateChannels"))
        #expect(paths.contains("platforms.mattermost.privateChannels"))
        #expect(paths.contains("platforms.mattermost.actionsURL"))
        #expect(paths.contains("platforms.mattermost.actionURL"), "a misspelt key is an unknown key, not silently ignored")
        #expect(errors.problems.count == 4, "\(errors)")
    }
}
