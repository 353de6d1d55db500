import Foundation

/// What `email:` notification targets are checked against: whether mail can be sent at all, and the people
/// and groups they may name.
struct MailTargets {
    var email: EmailConfig
    var people: [String: Person]
    var groups: [String: [String]]
}

// MARK: - email

extension ConfigReader {
    static let smtpKeys = ["host", "port", "from", "username", "password", "passwordEnv", "tls", "caFile", "timeout"]

    func readEmail(_ root: ObjectFields) -> EmailConfig {
        guard let fields = section(root, "email", keys: ["smtp"]),
              let smtp = section(fields, "smtp", keys: Self.smtpKeys)
        else { return EmailConfig() }
        return EmailConfig(smtp: readSMTP(smtp))
    }

    private func readSMTP(_ fields: ObjectFields) -> SMTPConfig? {
        let host = field(fields, "host", required: true) { string($0, at: $1) }
        let tls = field(fields, "tls") { value, path in choice(value, at: path, from: SMTPTLSMode.allCases.map(\.rawValue)).flatMap(SMTPTLSMode.init) }
            ?? .starttls
        let port = field(fields, "port") { integer($0, at: $1, in: 1...65_535) } ?? (tls == .implicit ? 465 : 587)
        let from = field(fields, "from", required: true) { value, path -> String? in
            guard let text = string(value, at: path) else { return nil }
            guard EmailAddress.bareAddress(of: text) != nil, !text.contains(where: \.isNewline) else {
                report(path, "\(Self.quote(text)) is not a sender such as \"klaxon@example.com\" or \"Klaxon <klaxon@example.com>\"")
                return nil
            }
            return text
        }
        let username = field(fields, "username") { string($0, at: $1) }
        var password = field(fields, "password") { secret($0, at: $1) }
        let passwordEnv = field(fields, "passwordEnv") { value, path -> String? in
            guard let name = string(value, at: path) else { return nil }
            guard let text = environment[name], !text.isEmpty else {
                report(path, "the environment variable \(Self.quote(name)) is not set")
                return nil
            }
            return name
        }
        if fields.values["password"] != nil, fields.values["passwordEnv"] != nil {
            report(fields.path.key("passwordEnv"), "give password or passwordEnv, not both")
        } else if let passwordEnv, let text = environment[passwordEnv] {
            // Read through `secret` so the value is scrubbed from every message, like any other secret.
            password = secret(.string(text.replacingOccurrences(of: "${", with: "$${")), at: fields.path.key("passwordEnv"))
        }
        let hasPassword = fields.values["password"] != nil || fields.values["passwordEnv"] != nil
        if username != nil, !hasPassword {
            report(fields.path.key("username"), "AUTH needs a password too: add password (\"${SMTP_PASSWORD}\") or passwordEnv")
        } else if username == nil, hasPassword {
            report(fields.path.key("password"), "a password without a username is never used: add username")
        }
        if username != nil, tls == .none {
            report(fields.path.key("tls"), "\"none\" would send the password in clear: use \"starttls\", \"required\" or \"implicit\"")
        }
        let caFile = field(fields, "caFile") { string($0, at: $1) }
        let timeout = field(fields, "timeout") { duration($0, at: $1) } ?? TimeSpan(seconds: 30)
        guard let host, let from else { return nil }
        return SMTPConfig(
            host: host, port: port, from: from, username: username, password: password, passwordEnv: passwordEnv, tls: tls, caFile: caFile,
            timeout: timeout)
    }

    /// An `email:` target can be sent to: mail is configured, and a person or group it names exists and
    /// has an address.
    func checkMailTarget(_ addressee: EmailAddressee, at path: ConfigPath, mail: MailTargets) -> Bool {
        guard mail.email.smtp != nil else {
            report(path, "email targets need email.smtp (docs/email.md)")
            return false
        }
        switch addressee {
        case .address:
            return true
        case .person(let id):
            guard let person = mail.people[id] else {
                report(path, "no person \(Self.quote(id)) in people" + Self.hint(for: id, among: Array(mail.people.keys), known: "people"))
                return false
            }
            return checkHasAddress(person, id: id, at: path)
        case .group(let name):
            guard let members = mail.groups[name] else {
                report(path, "no group \(Self.quote(name)) in groups" + Self.hint(for: name, among: Array(mail.groups.keys), known: "groups"))
                return false
            }
            return members.allSatisfy { id in mail.people[id].map { checkHasAddress($0, id: id, at: path) } ?? true }
        }
    }

    private func checkHasAddress(_ person: Person, id: String, at path: ConfigPath) -> Bool {
        guard let address = person.email else {
            report(path, "people.\(id) has no email")
            return false
        }
        guard EmailAddress.isPlausible(address) else {
            report(path, "people.\(id).email \(Self.quote(address)) is not an address such as \"carol@example.com\"")
            return false
        }
        return true
    }
}
