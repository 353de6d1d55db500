import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// GitHub's issues API on 127.0.0.1, as its REST documentation describes it: bearer token or
/// `401 {"message": "Bad credentials"}`, a User-Agent or 403, `422 Validation Failed` with an `errors`
/// array for an issue without a title, 404 for an unknown issue, the issue and comment JSON it answers
/// with. Tests may script answers ahead of the real ones (a rate limit, an outage) and read every request.
final class FakeGitHub: Sendable {
    static let token = "github_pat_fake_0123456789abcdef"

    struct Request: Sendable {
        var method: String
        var path: String
        /// By lowercased name.
        var headers: [String: String]
        var json: [String: JSONFragment]
    }

    /// A JSON value as far as the tests look at it.
    enum JSONFragment: Sendable, Equatable {
        case string(String)
        case strings([String])
        case other
    }

    struct Issue: Sendable {
        var number: Int
        var title: String
        var body: String
        var labels: [String]
        var state = "open"
        var stateReason: String?
        var comments: [String] = []
    }

    /// A scripted answer: a status, headers and GitHub's error body. `createFirst` makes the request take
    /// effect before the error is answered (the issue exists, the client does not hear of it).
    struct Answer: Sendable {
        var status: HTTPResponse.Status
        var headers: [String: String] = [:]
        var message: String
        var errors: [[String: String]]? = nil
        var createFirst = false
    }

    private struct State {
        var requests: [Request] = []
        var issues: [Issue] = []
        var script: [Answer] = []
        var port = 0
    }

    private let state = Mutex(State())

    var requests: [Request] { state.withLock { $0.requests } }
    var issues: [Issue] { state.withLock { $0.issues } }
    var baseURL: String { "http://127.0.0.1:\(state.withLock { $0.port })" }

    func script(_ answers: Answer...) { state.withLock { $0.script += answers } }

    static func run<T>(_ body: (FakeGitHub) async throws -> T) async throws -> T {
        let github = FakeGitHub()
        let router = Router()
        router.post("repos/:owner/:repo/issues") { request, context in try await github.handle(request, context) }
        router.get("repos/:owner/:repo/issues") { request, context in try await github.handle(request, context) }
        router.post("repos/:owner/:repo/issues/:number/comments") { request, context in try await github.handle(request, context) }
        router.patch("repos/:owner/:repo/issues/:number") { request, context in try await github.handle(request, context) }
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "fake-github"),
            onServerRunning: { portSink.yield($0.localAddress?.port ?? 0) }, logger: quietLogger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next() ?? 0
            github.state.withLock { $0.port = port }
            defer { group.cancelAll() }
            return try await body(github)
        }
    }

    private func handle(_ request: Hummingbird.Request, _ context: BasicRequestContext) async throws -> Response {
        let buffer = try await request.body.collect(upTo: 1 << 20)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        var json: [String: JSONFragment] = [:]
        if buffer.readableBytes > 0, let object = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any] {
            for (key, value) in object {
                json[key] = (value as? String).map(JSONFragment.string) ?? (value as? [String]).map(JSONFragment.strings) ?? .other
            }
        }
        let path = request.uri.path
        let recorded = Request(method: request.method.rawValue, path: path, headers: headers, json: json)
        let scripted = state.withLock { state -> Answer? in
            state.requests.append(recorded)
            return state.script.isEmpty ? nil : state.script.removeFirst()
        }
        if headers["authorization"] != "Bearer \(Self.token)" {
            return Self.error(.unauthorized, message: "Bad credentials")
        }
        if (headers["user-agent"] ?? "").isEmpty {
            return Self.error(.forbidden, message: "Request forbidden by administrative rules. Please make sure your request has a User-Agent header")
        }
        if let scripted, !scripted.createFirst {
            return Self.error(scripted.status, message: scripted.message, errors: scripted.errors, headers: scripted.headers)
        }
        let answer = try apply(recorded, owner: context.parameters.get("owner") ?? "", repo: context.parameters.get("repo") ?? "")
        if let scripted { return Self.error(scripted.status, message: scripted.message, errors: scripted.errors, headers: scripted.headers) }
        return answer
    }

    /// The request's effect, and GitHub's answer to it.
    private func apply(_ request: Request, owner: String, repo: String) throws -> Response {
        let parts = request.path.split(separator: "/").map(String.init)
        let number = parts.count >= 5 ? Int(parts[4]) : nil
        switch (request.method, parts.count) {
        case ("GET", 4):
            let listed = issues.reversed().map { issueJSON($0, owner: owner, repo: repo) }
            return Self.json(.ok, listed)
        case ("POST", 4):
            guard case .string(let title)? = request.json["title"], !title.isEmpty else {
                return Self.error(
                    .unprocessableContent, message: "Validation Failed", errors: [["resource": "Issue", "field": "title", "code": "missing_field"]])
            }
            var labels: [String] = []
            if case .strings(let given)? = request.json["labels"] { labels = given }
            var body = ""
            if case .string(let given)? = request.json["body"] { body = given }
            let issue = state.withLock { state -> Issue in
                let issue = Issue(number: state.issues.count + 1, title: title, body: body, labels: labels)
                state.issues.append(issue)
                return issue
            }
            return Self.json(.created, issueJSON(issue, owner: owner, repo: repo))
        case ("POST", 6):
            guard case .string(let text)? = request.json["body"] else {
                return Self.error(
                    .unprocessableContent, message: "Validation Failed", errors: [["resource": "IssueComment", "field": "body", "code": "missing_field"]])
            }
            let found = state.withLock { state -> Bool in
                guard let index = state.issues.firstIndex(where: { $0.number == number }) else { return false }
                state.issues[index].comments.append(text)
                return true
            }
            guard found else { return Self.error(.notFound, message: "Not Found") }
            return Self.json(.created, ["id": 1000 + (number ?? 0), "body": text])
        case ("PATCH", 5):
            let updated = state.withLock { state -> Issue? in
                guard let index = state.issues.firstIndex(where: { $0.number == number }) else { return nil }
                if case .string(let value)? = request.json["state"] { state.issues[index].state = value }
                if case .string(let value)? = request.json["state_reason"] { state.issues[index].stateReason = value }
                return state.issues[index]
            }
            guard let updated else { return Self.error(.notFound, message: "Not Found") }
            return Self.json(.ok, issueJSON(updated, owner: owner, repo: repo))
        default:
            return Self.error(.notFound, message: "Not Found")
        }
    }

    private func issueJSON(_ issue: Issue, owner: String, repo: String) -> [String: Any] {
        [
            "id": 5_000_000 + issue.number, "number": issue.number, "title": issue.title, "body": issue.body, "state": issue.state,
            "html_url": "https://github.com/\(owner)/\(repo)/issues/\(issue.number)",
            "url": "\(baseURL)/repos/\(owner)/\(repo)/issues/\(issue.number)",
            "labels": issue.labels.map { ["name": $0] },
        ]
    }

    private static func json(_ status: HTTPResponse.Status, _ object: Any, headers: [String: String] = [:]) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json; charset=utf-8"
        for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data("{}".utf8)
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    private static func error(_ status: HTTPResponse.Status, message: String, errors: [[String: String]]? = nil, headers: [String: String] = [:]) -> Response {
        var body: [String: Any] = ["message": message, "documentation_url": "https://docs.github.com/rest"]
        if let errors { body["errors"] = errors }
        return json(status, body, headers: headers)
    }
}
