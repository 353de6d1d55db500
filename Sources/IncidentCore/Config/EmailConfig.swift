import Foundation

/// `email`: how Klaxon sends mail (docs/email.md). Without `smtp`, `email:` notification targets are refused
/// by the config loader, so no message can be queued that could never go out.
public struct EmailConfig: Sendable, Decodable {
    public var smtp: SMTPConfig?
    public init(smtp: SMTPConfig? = nil) { self.smtp = smtp }
}

extension EmailConfig: ConfigObject { static let defaults = EmailConfig() }

/// `email.smtp`: the submission server Klaxon hands its mail to.
public struct SMTPConfig: Sendable, Hashable, Decodable {
    public var host: String
    /// Default 587 (submission); 25 for a local relay, 465 with `tls: "implicit"`.
    public var port: Int = 587
    /// The sender: `klaxon@example.com` or `Klaxon <klaxon@example.com>`.
    public var from: String
    /// AUTH user; without it Klaxon does not authenticate (a relay that trusts its network).
    public var username: String?
    /// The AUTH password: `password` (usually `"${SMTP_PASSWORD}"`) or the variable named by `passwordEnv`.
    public var password: Secret?
    /// The environment variable `password` was read from, when given that way (never its value).
    public var passwordEnv: String?
    public var tls: SMTPTLSMode = .starttls
    /// A PEM file of certificates to trust besides the system's (a private CA, a test certificate).
    public var caFile: String?
    /// How long one connection (connect, every command and reply) may take before the attempt is retried.
    public var timeout: TimeSpan = TimeSpan(seconds: 30)

    public init(
        host: String, port: Int = 587, from: String, username: String? = nil, password: Secret? = nil, passwordEnv: String? = nil,
        tls: SMTPTLSMode = .starttls, caFile: String? = nil, timeout: TimeSpan = TimeSpan(seconds: 30)
    ) {
        self.host = host
        self.port = port
        self.from = from
        self.username = username
        self.password = password
        self.passwordEnv = passwordEnv
        self.tls = tls
        self.caFile = caFile
        self.timeout = timeout
    }
}

extension SMTPConfig: ConfigObject {
    static let defaults = SMTPConfig(host: "", from: "")
    static let rules: [String: [ConfigRule]] = ["host": [.required], "from": [.required], "port": [.range(1...65_535)]]
}

/// How the SMTP connection is protected.
public enum SMTPTLSMode: String, Sendable, Hashable, CaseIterable, Decodable, ConfigChoice {
    /// STARTTLS when the server offers it; without it, mail goes in clear but AUTH is never sent in clear.
    case starttls
    /// STARTTLS or nothing: a server that does not offer it is treated like one refusing our credentials.
    case required
    /// TLS from the first byte (port 465, "SMTPS").
    case implicit
    /// Never TLS: a relay on loopback or a trusted network.
    case none
}

/// Whose mailbox an `email:` target names.
public enum EmailAddressee: Sendable, Hashable, CustomStringConvertible {
    /// `email:oncall@example.com`
    case address(String)
    /// `email:person:carol`: the person's `email` in `people`.
    case person(String)
    /// `email:group:stakeholders`: the `email` of each member of the group in `groups`.
    case group(String)
    /// `email:customers`: the addresses in the incident's `customers` fact (`/incident set customers …`,
    /// 000-13, 004-21); nobody when it is not set.
    case customers

    public init?(parsing text: String) {
        if text == "customers" {
            self = .customers
        } else if text.hasPrefix("person:") {
            let id = String(text.dropFirst("person:".count))
            guard !id.isEmpty else { return nil }
            self = .person(id)
        } else if text.hasPrefix("group:") {
            let name = String(text.dropFirst("group:".count))
            guard !name.isEmpty else { return nil }
            self = .group(name)
        } else {
            guard EmailAddress.isPlausible(text) else { return nil }
            self = .address(text)
        }
    }

    public var description: String {
        switch self {
        case .address(let address): address
        case .person(let id): "person:\(id)"
        case .group(let name): "group:\(name)"
        case .customers: "customers"
        }
    }
}

/// Address checks that keep a header or an SMTP command from being forged through a config value.
public enum EmailAddress {
    /// `local@domain`: one `@`, something on both sides, no spaces, control characters or angle brackets
    /// (which would end `RCPT TO:<…>` early). Deliverability is the server's business.
    public static func isPlausible(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, parts[1].contains(".") || parts[1] == "localhost" else { return false }
        return text.unicodeScalars.allSatisfy { $0.value > 32 && $0.value != 127 && !"<>(),;:\\\"[]".unicodeScalars.contains($0) }
    }

    /// The bare address of `Name <address>` or `address`; nil when neither shape holds a plausible one.
    public static func bareAddress(of mailbox: String) -> String? {
        let trimmed = mailbox.trimmingCharacters(in: .whitespaces)
        if let open = trimmed.lastIndex(of: "<"), trimmed.hasSuffix(">") {
            let inner = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            return isPlausible(inner) ? inner : nil
        }
        return isPlausible(trimmed) ? trimmed : nil
    }
}
