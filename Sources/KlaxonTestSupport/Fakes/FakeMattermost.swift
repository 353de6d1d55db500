import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// A Mattermost server as far as Klaxon uses it (`api/v4`, from the API reference and
/// `shared/specs/mattermost`):
/// - `Authorization: Bearer <token>`, else 401 with Mattermost's error envelope
///   `{id, message, detailed_error, request_id, status_code}`;
/// - channel names unique per team (400 `store.sql_channel.save_channel.exists.app_error`);
/// - `POST /posts` answers 201, `root_id` must be a post of the same channel;
/// - the limiter: 429 `limit exceeded` with `X-Ratelimit-Limit`, `-Remaining` and `-Reset` (seconds until
///   the window resets), off unless a test turns it on with `throttle`, as `RateLimitSettings.Enable` is
///   false in a server's default config;
/// - channel membership as the server's roles grant it: `create_post` is a channel permission members have,
///   so `POST /posts` into any channel the bot is not a member of, open ones too, is 403
///   `api.context.permissions.app_error`; the bot is a member of a channel it creates, one it joins
///   (`POST /channels/{id}/members` with its own id) and the channels seeded at `init` (as an announce
///   channel the bot was added to); `addChannel` makes one it is not in unless the test says so;
/// - private channels (`type: "P"`) are visible only to their members: looking one up, adding members or
///   patching it is 404 for anyone else, reading its posts 403 (`read_channel`); an open channel's posts
///   are readable by anyone in the team (`read_public_channel`);
/// - in an open channel the bot is not a member of, adding someone else (`manage_public_channel_members`)
///   and patching the channel (`manage_public_channel_properties`) are 403 as posting is: those are channel
///   permissions its members have; adding itself is joining (`join_public_channels`, every team member's);
/// - a body that is not JSON: 400 `api.context.invalid_body_param.app_error` in the same envelope;
/// - `GET /channels/{id}/posts`: with `since` (epoch milliseconds) every post changed after it; without,
///   the page `page` of `per_page` posts (default 60, at most 200), newest first in `order`, with
///   `next_post_id` / `prev_post_id` naming the posts just newer and just older than the page;
/// - `GET /users/{user_id}` with `timezone` as Mattermost stores it, a map of strings;
/// - interactive buttons (`props.attachments[].actions[]`, ids of letters and digits) and, for a click,
///   the server's POST of `PostActionIntegrationRequest` to the button's `integration.url` (`click`);
/// - interactive dialogs: `POST /actions/dialogs/open` with a `trigger_id` the server made for a click,
///   refused with 400 when it is missing, not one the server made, or older than the trigger's validity
///   (3 s on older servers: the strictest), and, for a submission, the server's POST of
///   `SubmitDialogRequest` to the dialog's `url` (`submit`).
public actor FakeMattermost {
    public struct User: Sendable {
        public var id: String
        public var username: String
        /// `useAutomaticTimezone` ("true"/"false"), `automaticTimezone`, `manualTimezone`.
        public var timezone: [String: String] = ["useAutomaticTimezone": "true", "automaticTimezone": "", "manualTimezone": ""]
    }

    public struct Action: Sendable {
        public var id: String
        public var name: String
        public var style: String?
        public var url: String
        public var context: [String: String]
    }

    public struct Channel: Sendable {
        public var id: String
        public var teamID: String
        public var name: String
        public var displayName: String
        /// `O`, `P`, `D`.
        public var type: String
        public var header: String
        public var memberIDs: [String]
        /// Who made the channel, and when (`creator_id`, `create_at`).
        public var creatorID = ""
        public var createAt = Date(timeIntervalSince1970: 0)
    }

    public struct DialogElement: Sendable {
        public var displayName: String
        public var name: String
        public var type: String
        public var placeholder: String?
        public var optional: Bool
        public var minLength: Int?
        public var maxLength: Int?
    }

    /// A dialog the server accepted, as it hands it to the user's client.
    public struct Dialog: Sendable {
        public var triggerID: String
        /// Who clicked: the dialog opens on their client only.
        public var userID: String
        public var url: String
        public var callbackID: String
        public var title: String
        public var introductionText: String?
        public var submitLabel: String?
        public var notifyOnCancel: Bool
        public var state: String
        public var elements: [DialogElement]
    }

    /// One call to `POST /actions/dialogs/open`: `dialog` when accepted, `errorID` when refused.
    public struct DialogOpening: Sendable {
        public var status: Int
        public var errorID: String?
        public var dialog: Dialog?
    }

    public struct Post: Sendable {
        public var id: String
        public var channelID: String
        public var message: String
        public var rootID: String?
        public var props: [String: String]
        public var actions: [Action]
        public var createAt: Date
    }

    public nonisolated let clock: ManualClock
    public nonisolated let teamID = "teamklaxon0000000000000000"
    public nonisolated let botToken = "mm-bot-access-token"
    public nonisolated let bot = User(id: "botuserid00000000000000000", username: "klaxon")

    public private(set) var users: [User]
    public private(set) var channels: [Channel] = []
    public private(set) var posts: [Post] = []
    public private(set) var statuses: [Int] = []
    private var throttledAfter: Int?
    private var throttleWindow: TimeInterval = 0
    private var throttledUntil: Date?
    private var nextNumber = 0
    /// While set, `GET /users/{user_id}` waits for `releaseUserLookups()`: a server too slow to answer.
    private var stalledLookups: [CheckedContinuation<Void, Never>]?
    public private(set) var userLookups = 0
    /// Trigger ids the server made for clicks: who clicked, and when.
    private var triggers: [String: (userID: String, issuedAt: Date)] = [:]
    private var triggerValidity: TimeInterval = 3
    public private(set) var dialogOpenings: [DialogOpening] = []
    private var openingWaiters: [(id: UUID, count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    /// While set, `POST /actions/dialogs/open` waits for `releaseDialogOpenings()`.
    private var stalledOpenings: [CheckedContinuation<Void, Never>]?
    /// What `openDialog` decided about the call being answered, for `answer` to record.
    private var openingOutcome: (errorID: String?, dialog: Dialog?)?

    public init(clock: ManualClock, usernames: [String] = ["alice", "bob", "carol"], channels channelNames: [String] = ["incidents"]) {
        self.clock = clock
        users = usernames.map { User(id: "uid\($0)", username: $0) } + [bot]
        for name in channelNames {
            channels.append(Channel(id: "cid\(name)", teamID: teamID, name: name, displayName: name, type: "O", header: "", memberIDs: users.map(\.id)))
        }
    }

    // MARK: What tests set up and read

    /// From the `afterCalls + 1`-th call on, every call is refused for `window` seconds.
    public func throttle(afterCalls: Int, window: TimeInterval) {
        throttledAfter = afterCalls
        throttleWindow = window
    }

    public func channel(named name: String) -> Channel? { channels.first { $0.name == name } }

    /// A channel someone made, as if by hand in Mattermost: its creator and `members` are in it, the bot
    /// only if named among them. `isPrivate` makes it a private channel (`P`).
    public func addChannel(named name: String, creatorID: String, createdAt: Date, isPrivate: Bool = false, members: [String] = []) {
        channels.append(
            Channel(
                id: newID("channel"), teamID: teamID, name: name, displayName: name, type: isPrivate ? "P" : "O", header: "",
                memberIDs: [creatorID] + members.filter { $0 != creatorID }, creatorID: creatorID, createAt: createdAt))
    }

    /// Someone joins or is added to a channel by hand (the bot by an admin, say).
    public func addMember(_ userID: String, toChannelNamed name: String) {
        guard let index = channels.firstIndex(where: { $0.name == name }), !channels[index].memberIDs.contains(userID) else { return }
        channels[index].memberIDs.append(userID)
    }

    /// A post made in a channel by someone other than Klaxon, at the clock's time (history for paging).
    @discardableResult
    public func addPost(_ message: String, toChannelNamed name: String) -> String? {
        guard let channel = channel(named: name) else { return nil }
        let post = Post(id: newID("post"), channelID: channel.id, message: message, rootID: nil, props: [:], actions: [], createAt: clock.now())
        posts.append(post)
        return post.id
    }

    public func posts(in channelName: String) -> [Post] {
        guard let channel = channel(named: channelName) else { return [] }
        return posts.filter { $0.channelID == channel.id }
    }

    public func tooManyRequestsAnswers() -> Int { statuses.filter { $0 == 429 }.count }

    public func setTimeZone(of username: String, automatic: Bool, automaticZone: String = "", manualZone: String = "") {
        guard let index = users.firstIndex(where: { $0.username == username }) else { return }
        users[index].timezone = ["useAutomaticTimezone": automatic ? "true" : "false", "automaticTimezone": automaticZone, "manualTimezone": manualZone]
    }

    /// How long after a click its trigger id opens a dialog; negative: never (as if Klaxon were too slow).
    public func setTriggerValidity(_ seconds: TimeInterval) { triggerValidity = seconds }

    /// The calls to open a dialog once there are at least `count`. Klaxon opens a dialog after answering
    /// the click, so the test waits for the call to arrive; the time limit only turns a call that never
    /// comes into a failed expectation instead of a test that hangs.
    public func dialogOpenings(atLeast count: Int, timeLimit: Duration = .seconds(10)) async -> [DialogOpening] {
        let id = UUID()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForOpenings(count, id: id) }
            group.addTask {
                try? await Task.sleep(for: timeLimit)
                await self.stopWaiting(id)
            }
            await group.next()
            group.cancelAll()
        }
        return dialogOpenings
    }

    private func waitForOpenings(_ count: Int, id: UUID) async {
        guard dialogOpenings.count < count else { return }
        await withCheckedContinuation { openingWaiters.append((id, count, $0)) }
    }

    private func stopWaiting(_ id: UUID) {
        guard let index = openingWaiters.firstIndex(where: { $0.id == id }) else { return }
        openingWaiters.remove(at: index).continuation.resume()
    }

    private func recordOpening(_ opening: DialogOpening) {
        dialogOpenings.append(opening)
        let ready = openingWaiters.filter { $0.count <= dialogOpenings.count }
        openingWaiters.removeAll { $0.count <= dialogOpenings.count }
        for waiter in ready { waiter.continuation.resume() }
    }

    public func stallDialogOpenings() { stalledOpenings = [] }

    public func releaseDialogOpenings() {
        for waiting in stalledOpenings ?? [] { waiting.resume() }
        stalledOpenings = nil
    }

    public func stallUserLookups() { stalledLookups = [] }

    public func releaseUserLookups() {
        for waiting in stalledLookups ?? [] { waiting.resume() }
        stalledLookups = nil
    }

    private func waitIfStalled() async {
        guard stalledLookups != nil else { return }
        await withCheckedContinuation { stalledLookups?.append($0) }
    }

    /// What the Mattermost server does when `username` clicks the button `actionID` of a post: it POSTs
    /// `PostActionIntegrationRequest` (`user_id`, `user_name`, `channel_id`, `channel_name`, `team_id`,
    /// `team_domain`, `post_id`, `trigger_id`, `type`, `data_source`, `context`) to the button's URL.
    ///
    /// `klaxon` (a live test client) stands in for the button URL's scheme, host and port: Klaxon is
    /// configured with the address Mattermost reaches it at, while the test's Klaxon listens on a port
    /// chosen at start, as behind a reverse proxy. The URL's path is kept.
    public func click(
        _ actionID: String, on postID: String, as username: String, klaxon: some TestClientProtocol, context override: [String: String]? = nil,
        sendUserName: Bool = true, triggerID: String? = UUID().uuidString
    ) async throws -> ClickAnswer {
        let post = try #require(posts.first { $0.id == postID })
        let action = try #require(post.actions.first { $0.id == actionID })
        let user = try #require(users.first { $0.username == username })
        let channel = try #require(channels.first { $0.id == post.channelID })
        var body: [String: Any] = [
            "user_id": user.id, "channel_id": channel.id, "channel_name": channel.name, "team_id": teamID,
            "team_domain": "klaxon", "post_id": post.id, "type": "button", "data_source": "", "context": override ?? action.context,
        ]
        // `DoPostActionWithCookie` makes the trigger id for the clicking user before calling the integration
        // (servers before 5.6 sent none).
        if let triggerID {
            triggers[triggerID] = (user.id, clock.now())
            body["trigger_id"] = triggerID
        }
        if sendUserName { body["user_name"] = user.username }
        let path = try #require(URLComponents(string: action.url)).path
        let response = try await klaxon.execute(
            uri: path, method: .post, headers: [.contentType: "application/json"],
            body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        let json = FakeJSON.object(response.body)
        return ClickAnswer(status: response.status, ephemeralText: json?["ephemeral_text"] as? String, updatesPost: json?["update"] != nil)
    }

    /// What the integration answered to a click (`PostActionIntegrationResponse`).
    public struct ClickAnswer: Sendable {
        public var status: HTTPResponse.Status
        public var ephemeralText: String?
        public var updatesPost: Bool
    }

    /// What the Mattermost server does when a user submits `dialog`: it POSTs `SubmitDialogRequest` (`type`
    /// `dialog_submission`, `callback_id`, `state`, `user_id`, `channel_id`, `team_id`, `submission`,
    /// `cancelled`) to the dialog's URL, `klaxon` standing in for its scheme, host and port as in `click`.
    /// The user is the one the dialog was opened for unless `username` says otherwise (a request made up
    /// by someone else); `state` and `callbackID` replace the dialog's, as a forger would.
    public func submit(
        _ dialog: Dialog, fields: [String: any Sendable], as username: String? = nil, in channelName: String = "incidents", state: String? = nil,
        callbackID: String? = nil, cancelled: Bool = false, klaxon: some TestClientProtocol
    ) async throws -> SubmitAnswer {
        var userID = dialog.userID
        if let username { userID = try #require(users.first { $0.username == username }).id }
        let room = try #require(channel(named: channelName))
        let body: [String: Any] = [
            "type": "dialog_submission", "callback_id": callbackID ?? dialog.callbackID, "state": state ?? dialog.state, "user_id": userID,
            "channel_id": room.id, "team_id": teamID, "submission": fields.mapValues { $0 as Any }, "cancelled": cancelled,
        ]
        let path = try #require(URLComponents(string: dialog.url)).path
        let response = try await klaxon.execute(
            uri: path, method: .post, headers: [.contentType: "application/json"],
            body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        let json = FakeJSON.object(response.body)
        return SubmitAnswer(status: response.status, errors: json?["errors"] as? [String: String], error: json?["error"] as? String, isJSON: json != nil)
    }

    /// What the integration answered to a submission (`SubmitDialogResponse`).
    public struct SubmitAnswer: Sendable {
        public var status: HTTPResponse.Status
        public var errors: [String: String]?
        public var error: String?
        public var isJSON: Bool
    }

    /// The body Mattermost sends for `/incident <text>` (`shared/specs/mattermost`, form-encoded).
    public func slashCommandBody(_ text: String, user username: String, channel channelName: String, token: String?, triggerID: String = UUID().uuidString)
        -> ByteBuffer
    {
        let user = users.first { $0.username == username }!
        let channel = channel(named: channelName)!
        var fields = [
            ("channel_id", channel.id), ("channel_name", channel.name), ("command", "/incident"),
            ("response_url", "http://localhost:8065/hooks/commands/xbrkb8p393gjpq5cawei7npije"), ("team_domain", "klaxon"),
            ("team_id", teamID), ("text", text), ("trigger_id", triggerID), ("user_id", user.id), ("user_name", user.username),
        ]
        if let token { fields.append(("token", token)) }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let body = fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
        return ByteBuffer(string: body)
    }

    // MARK: The HTTP side

    public nonisolated func router() -> Router<BasicRequestContext> {
        let router = Router()
        let routes: [(HTTPRequest.Method, String, String)] = [
            (.get, "users/me", "me"), (.get, "users/username/:username", "user"), (.get, "users/:userid", "userByID"),
            (.post, "channels", "createChannel"),
            (.get, "teams/:team/channels/name/:name", "channelByName"), (.post, "channels/direct", "direct"),
            (.post, "channels/:channel/members", "addMember"), (.put, "channels/:channel/patch", "patch"),
            (.post, "posts", "createPost"), (.get, "channels/:channel/posts", "channelPosts"),
            (.post, "actions/dialogs/open", "openDialog"),
        ]
        for (method, path, endpoint) in routes {
            router.on(RouterPath("api/v4/\(path)"), method: method) { request, context -> Response in
                let body = try await request.body.collect(upTo: 1 << 20)
                let parameters = ["username", "userid", "team", "name", "channel"].reduce(into: [String: String]()) { result, key in
                    result[key] = context.parameters.get(key)
                }
                return await self.answer(endpoint, request: request, parameters: parameters, body: body)
            }
        }
        return router
    }

    private func answer(_ endpoint: String, request: Request, parameters: [String: String], body: ByteBuffer) async -> Response {
        if endpoint == "userByID" {
            userLookups += 1
            await waitIfStalled()
        }
        if endpoint == "openDialog", stalledOpenings != nil {
            await withCheckedContinuation { stalledOpenings?.append($0) }
        }
        openingOutcome = nil
        let response = respond(endpoint, request: request, parameters: parameters, body: body)
        statuses.append(Int(response.status.code))
        if endpoint == "openDialog" {
            recordOpening(DialogOpening(status: Int(response.status.code), errorID: openingOutcome?.errorID, dialog: openingOutcome?.dialog))
        }
        return response
    }

    private func respond(_ endpoint: String, request: Request, parameters: [String: String], body: ByteBuffer) -> Response {
        guard request.headers[.authorization] == "Bearer \(botToken)" else {
            return failure("api.context.session_expired.app_error", "Invalid or expired session, please login again.", status: .unauthorized)
        }
        if let refusal = throttled() { return refusal }
        // A body that is not JSON is refused before the endpoint reads it (`openDialog` records its own refusal).
        if ["createChannel", "direct", "addMember", "patch", "createPost"].contains(endpoint), FakeJSON.value(body) == nil {
            return failure("api.context.invalid_body_param.app_error", "Invalid or missing body in request body.", status: .badRequest)
        }
        switch endpoint {
        case "me":
            return userJSON(bot)
        case "user":
            guard let user = users.first(where: { $0.username == parameters["username"] }) else {
                return failure("app.user.missing_account.const", "Unable to find the user.", status: .notFound)
            }
            return userJSON(user)
        case "userByID":
            guard let user = users.first(where: { $0.id == parameters["userid"] }) else {
                return failure("app.user.missing_account.const", "Unable to find the user.", status: .notFound)
            }
            return userJSON(user)
        case "createChannel":
            return createChannel(FakeJSON.object(body) ?? [:])
        case "channelByName":
            guard let channel = channels.first(where: { $0.teamID == parameters["team"] && $0.name == parameters["name"] && isVisibleToBot($0) }) else {
                return failure("app.channel.get_by_name.missing.app_error", "Channel does not exist.", status: .notFound)
            }
            return channelJSON(channel)
        case "direct":
            return direct(FakeJSON.value(body) as? [String] ?? [])
        case "addMember":
            guard let index = channels.firstIndex(where: { $0.id == parameters["channel"] && isVisibleToBot($0) }) else {
                return failure("app.channel.get.existing.app_error", "Unable to find the existing channel.", status: .notFound)
            }
            guard let userID = FakeJSON.object(body)?["user_id"] as? String, users.contains(where: { $0.id == userID }) else {
                return failure("api.context.invalid_body_param.app_error", "Invalid or missing user_id in request body.", status: .badRequest)
            }
            let joining = userID == bot.id && channels[index].type == "O"
            guard joining || channels[index].memberIDs.contains(bot.id) else { return permissionFailure() }
            if !channels[index].memberIDs.contains(userID) { channels[index].memberIDs.append(userID) }
            return FakeJSON.response(["channel_id": channels[index].id, "user_id": userID, "roles": "channel_user"], status: .created)
        case "patch":
            guard let index = channels.firstIndex(where: { $0.id == parameters["channel"] && isVisibleToBot($0) }) else {
                return failure("app.channel.get.existing.app_error", "Unable to find the existing channel.", status: .notFound)
            }
            guard channels[index].memberIDs.contains(bot.id) else { return permissionFailure() }
            if let header = FakeJSON.object(body)?["header"] as? String { channels[index].header = header }
            return channelJSON(channels[index])
        case "createPost":
            return createPost(FakeJSON.object(body) ?? [:])
        case "openDialog":
            return openDialog(FakeJSON.object(body))
        case "channelPosts":
            return channelPosts(parameters["channel"] ?? "", query: request.uri.queryParameters)
        default:
            return failure("api.context.404.app_error", "Sorry, we could not find the page.", status: .notFound)
        }
    }

    private func throttled() -> Response? {
        let now = clock.now()
        if let until = throttledUntil {
            if now < until { return tooManyRequests(until: until) }
            throttledUntil = nil
            throttledAfter = nil
            return nil
        }
        guard let after = throttledAfter else { return nil }
        if after > 0 {
            throttledAfter = after - 1
            return nil
        }
        let until = now.addingTimeInterval(throttleWindow)
        throttledUntil = until
        return tooManyRequests(until: until)
    }

    private func tooManyRequests(until: Date) -> Response {
        var headers = HTTPFields()
        headers[HTTPField.Name("X-Ratelimit-Limit")!] = "10"
        headers[HTTPField.Name("X-Ratelimit-Remaining")!] = "0"
        headers[HTTPField.Name("X-Ratelimit-Reset")!] = "\(Int(until.timeIntervalSince(clock.now()).rounded(.up)))"
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: .tooManyRequests, headers: headers, body: .init(byteBuffer: ByteBuffer(string: "limit exceeded\n")))
    }

    private func createChannel(_ json: [String: Any]) -> Response {
        guard let teamID = json["team_id"] as? String, teamID == self.teamID else {
            return failure("api.context.invalid_body_param.app_error", "Invalid or missing team_id in request body.", status: .badRequest)
        }
        guard let name = json["name"] as? String, !name.isEmpty, name.count <= 64,
            name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_") })
        else {
            return failure("model.channel.is_valid.name.app_error", "Invalid channel name.", status: .badRequest)
        }
        guard let displayName = json["display_name"] as? String, !displayName.isEmpty else {
            return failure("model.channel.is_valid.display_name.app_error", "Invalid display name.", status: .badRequest)
        }
        guard let type = json["type"] as? String, type == "O" || type == "P" else {
            return failure("model.channel.is_valid.type.app_error", "Invalid type.", status: .badRequest)
        }
        guard !channels.contains(where: { $0.teamID == teamID && $0.name == name }) else {
            return failure("store.sql_channel.save_channel.exists.app_error", "A channel with that name already exists on the same team.", status: .badRequest)
        }
        let channel = Channel(
            id: newID("channel"), teamID: teamID, name: name, displayName: displayName, type: type, header: json["header"] as? String ?? "",
            memberIDs: [bot.id],
            creatorID: bot.id, createAt: clock.now()
        )
        channels.append(channel)
        return channelJSON(channel, status: .created)
    }

    private func direct(_ ids: [String]) -> Response {
        guard ids.count == 2, ids.allSatisfy({ id in users.contains { $0.id == id } }) else {
            return failure("api.context.invalid_body_param.app_error", "Invalid or missing user_ids in request body.", status: .badRequest)
        }
        let name = ids.sorted().joined(separator: "__")
        if let existing = channels.first(where: { $0.name == name }) { return channelJSON(existing, status: .created) }
        let channel = Channel(id: newID("dm"), teamID: "", name: name, displayName: "", type: "D", header: "", memberIDs: ids)
        channels.append(channel)
        return channelJSON(channel, status: .created)
    }

    private func createPost(_ json: [String: Any]) -> Response {
        guard let channelID = json["channel_id"] as? String, !channelID.isEmpty else {
            return failure("api.context.invalid_body_param.app_error", "Invalid or missing channel_id in request body.", status: .badRequest)
        }
        // `create_post` comes with membership: the server checks it before it looks at the channel, so an
        // unknown channel and one the bot is not in (open or private) are refused alike.
        guard channels.contains(where: { $0.id == channelID && $0.memberIDs.contains(bot.id) }) else {
            return permissionFailure()
        }
        guard let message = json["message"] as? String, !message.isEmpty else {
            return failure("api.context.invalid_body_param.app_error", "Invalid or missing message in request body.", status: .badRequest)
        }
        let rootID = (json["root_id"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        if let rootID, !posts.contains(where: { $0.id == rootID && $0.channelID == channelID }) {
            return failure("api.post.create_post.root_id.app_error", "Invalid RootId parameter.", status: .badRequest)
        }
        let rawProps = json["props"] as? [String: Any] ?? [:]
        let props = rawProps.compactMapValues { $0 as? String }
        var actions: [Action] = []
        for attachment in rawProps["attachments"] as? [[String: Any]] ?? [] {
            for action in attachment["actions"] as? [[String: Any]] ?? [] {
                // The client routes a click as /posts/{post_id}/actions/{action_id:[A-Za-z0-9]+}.
                guard let id = action["id"] as? String, !id.isEmpty, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }),
                    let name = action["name"] as? String, let integration = action["integration"] as? [String: Any],
                    let url = integration["url"] as? String, URL(string: url)?.scheme != nil
                else {
                    return failure("model.post.is_valid.attachments.app_error", "Invalid attachments.", status: .badRequest)
                }
                let context = (integration["context"] as? [String: Any] ?? [:]).compactMapValues { $0 as? String }
                actions.append(Action(id: id, name: name, style: action["style"] as? String, url: url, context: context))
            }
        }
        let post = Post(
            id: newID("post"), channelID: channelID, message: message, rootID: rootID, props: props, actions: actions, createAt: clock.now())
        posts.append(post)
        return FakeJSON.response(postJSON(post), status: .created)
    }

    /// `GET /channels/{id}/posts` (`getPostsForChannel`): `since` gives every post after it and no cursors;
    /// otherwise a page, newest first, with the ids of the posts just beyond each end of it.
    private func channelPosts(_ channelID: String, query: Parameters) -> Response {
        // `read_channel` is a member's; an open channel's posts are open to the team (`read_public_channel`).
        guard let channel = channels.first(where: { $0.id == channelID }), channel.type == "O" || channel.memberIDs.contains(bot.id) else {
            return permissionFailure()
        }
        let parameters = ["since", "page", "per_page"].reduce(into: [String: String]()) { result, key in result[key] = query.get(key) }
        let newestFirst = posts.filter { $0.channelID == channel.id }.reversed() as [Post]
        if let since = parameters["since"].flatMap(Int64.init) {
            // The server compares `update_at > since`; the fake's posts never change, so `create_at` stands in.
            let matching = newestFirst.filter { Int64($0.createAt.timeIntervalSince1970 * 1000) > since }
            return postList(matching, next: "", previous: "")
        }
        // As the server reads its `page` and `per_page` parameters: anything not a number is the default,
        // too many is the most it hands out.
        let page = parameters["page"].flatMap(Int.init).map { max($0, 0) } ?? 0
        let perPage = parameters["per_page"].flatMap(Int.init).flatMap { $0 < 0 ? nil : min($0, Self.maximumPerPage) } ?? Self.defaultPerPage
        let start = min(page * perPage, newestFirst.count)
        let end = min(start + perPage, newestFirst.count)
        let slice = Array(newestFirst[start..<end])
        let next = start > 0 && !slice.isEmpty ? newestFirst[start - 1].id : ""
        let previous = end < newestFirst.count && !slice.isEmpty ? newestFirst[end].id : ""
        return postList(slice, next: next, previous: previous)
    }

    /// Mattermost's `per_page` default and limit (`PerPageDefault`, `PerPageMaximum`).
    public static let defaultPerPage = 60
    public static let maximumPerPage = 200

    private func postList(_ newestFirst: [Post], next: String, previous: String) -> Response {
        FakeJSON.response([
            "order": newestFirst.map(\.id), "posts": Dictionary(uniqueKeysWithValues: newestFirst.map { ($0.id, postJSON($0)) }),
            "next_post_id": next, "prev_post_id": previous,
        ])
    }

    /// `api4/integration_action.go` `openDialog` and `OpenInteractiveDialog`: the trigger id is checked
    /// (present, made by this server, fresh), then the dialog goes to the clicker's client.
    private func openDialog(_ json: [String: Any]?) -> Response {
        func refuse(_ id: String, _ message: String) -> Response {
            openingOutcome = (id, nil)
            return failure(id, message, status: .badRequest)
        }
        guard let json else { return refuse("api.context.invalid_body_param.app_error", "Invalid or missing dialog in request body.") }
        guard let url = json["url"] as? String, !url.isEmpty else { return refuse("api.context.invalid_param.app_error", "Invalid url parameter.") }
        let triggerID = json["trigger_id"] as? String ?? ""
        guard !triggerID.isEmpty else { return refuse("interactive_message.decode_trigger_id.missing_data", "Trigger ID is missing required data.") }
        guard let trigger = triggers[triggerID] else {
            return refuse("interactive_message.decode_trigger_id.verify_signature_failed", "Signature verification failed for trigger ID.")
        }
        guard clock.now().timeIntervalSince(trigger.issuedAt) <= triggerValidity else {
            return refuse("interactive_message.decode_trigger_id.expired", "Trigger ID for interactive dialog is expired.")
        }
        // The server only logs a warning for an invalid dialog, which the client may then fail to show;
        // the fake refuses it, so that a test sees the mistake.
        let raw = json["dialog"] as? [String: Any] ?? [:]
        let title = raw["title"] as? String ?? ""
        var elements: [DialogElement] = []
        for element in raw["elements"] as? [[String: Any]] ?? [] {
            let entry = DialogElement(
                displayName: element["display_name"] as? String ?? "", name: element["name"] as? String ?? "", type: element["type"] as? String ?? "",
                placeholder: element["placeholder"] as? String, optional: element["optional"] as? Bool ?? false,
                minLength: element["min_length"] as? Int, maxLength: element["max_length"] as? Int)
            let limit = entry.type == "textarea" ? 3000 : 150
            guard ["text", "textarea", "select", "bool", "radio"].contains(entry.type), !entry.name.isEmpty, entry.name.count <= 300,
                !entry.displayName.isEmpty, entry.displayName.count <= 24, (element["help_text"] as? String ?? "").count <= 150,
                (entry.placeholder ?? "").count <= limit, (element["default"] as? String ?? "").count <= limit,
                (entry.minLength ?? 0) >= 0, (entry.minLength ?? 0) <= (entry.maxLength ?? 0) || entry.maxLength == nil && entry.minLength == nil,
                !elements.contains(where: { $0.name == entry.name })
            else { return refuse("fake.dialog.invalid", "Invalid dialog element \(entry.name).") }
            elements.append(entry)
        }
        guard !title.isEmpty, title.count <= 24, elements.count <= 5 else { return refuse("fake.dialog.invalid", "Invalid dialog.") }
        let dialog = Dialog(
            triggerID: triggerID, userID: trigger.userID, url: url, callbackID: raw["callback_id"] as? String ?? "", title: title,
            introductionText: raw["introduction_text"] as? String, submitLabel: raw["submit_label"] as? String,
            notifyOnCancel: raw["notify_on_cancel"] as? Bool ?? false, state: raw["state"] as? String ?? "", elements: elements)
        openingOutcome = (nil, dialog)
        return FakeJSON.response(["status": "OK"])
    }

    // MARK: JSON

    private func userJSON(_ user: User) -> Response {
        FakeJSON.response(["id": user.id, "username": user.username, "roles": "system_user", "timezone": user.timezone])
    }

    /// Private channels exist, for a client, only if it is a member.
    private func isVisibleToBot(_ channel: Channel) -> Bool {
        channel.type != "P" || channel.memberIDs.contains(bot.id)
    }

    private func channelJSON(_ channel: Channel, status: HTTPResponse.Status = .ok) -> Response {
        FakeJSON.response(
            [
                "id": channel.id, "team_id": channel.teamID, "name": channel.name, "display_name": channel.displayName,
                "type": channel.type, "header": channel.header, "purpose": "",
                "creator_id": channel.creatorID, "create_at": Int64(channel.createAt.timeIntervalSince1970 * 1000),
            ], status: status)
    }

    private func postJSON(_ post: Post) -> [String: Any] {
        var props: [String: Any] = post.props.merging(["from_bot": "true"]) { own, _ in own }
        if !post.actions.isEmpty {
            // As the server hands posts out: buttons without their `integration` (URL and context).
            props["attachments"] = [["actions": post.actions.map { ["id": $0.id, "name": $0.name, "type": "button", "style": $0.style ?? "default"] }]]
        }
        return [
            "id": post.id, "channel_id": post.channelID, "message": post.message, "root_id": post.rootID ?? "",
            "user_id": bot.id, "create_at": Int64(post.createAt.timeIntervalSince1970 * 1000), "props": props,
        ]
    }

    private func failure(_ id: String, _ message: String, status: HTTPResponse.Status) -> Response {
        FakeJSON.response(
            ["id": id, "message": message, "detailed_error": "", "request_id": "req\(nextNumber)", "status_code": Int(status.code)],
            status: status)
    }

    private func permissionFailure() -> Response {
        failure("api.context.permissions.app_error", "You do not have the appropriate permissions.", status: .forbidden)
    }

    private func newID(_ prefix: String) -> String {
        nextNumber += 1
        return "\(prefix)\(nextNumber)"
    }
}
