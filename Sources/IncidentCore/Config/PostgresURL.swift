import Foundation

/// A libpq-style connection URL, `postgres://user:password@host:port/database?sslmode=disable`, taken
/// apart. Pure, so that the config loader reports a malformed URL as a config problem and the store
/// builds its connection from the same parts.
///
/// `description` leaves the password out: the URL is logged as "where the store is" without the secret.
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
    /// libpq's `sslmode` values this build acts on.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS if the server offers it, else plain; the certificate is not verified (libpq's default).
        case prefer
        /// TLS or no connection; the certificate is not verified (as libpq's `require`).
        case require
        /// TLS with the certificate verified against the system's trust roots and the host name.
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var password: Secret?
    /// nil: the server's default (the user's name).
    public var database: String?
    public var sslMode: SSLMode

    public init(host: String, port: Int = 5432, user: String, password: Secret? = nil, database: String? = nil, sslMode: SSLMode = .prefer) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.sslMode = sslMode
    }

    public var description: String {
        "postgres://\(user)@\(host):\(port)/\(database ?? "")?sslmode=\(sslMode.rawValue)"
    }

    /// The URL's parts, or what is wrong with it. Messages never quote the URL (the password is in it).
    public static func parse(_ text: String) -> Result<PostgresURL, PostgresURLProblem> {
        guard let components = URLComponents(string: text) else { return .failure(.init("is not a URL")) }
        guard let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            return .failure(.init("must start with postgres:// or postgresql://"))
        }
        guard let host = components.host, !host.isEmpty else { return .failure(.init("has no host")) }
        guard let user = components.user, !user.isEmpty else { return .failure(.init("has no user name")) }
        if let port = components.port, !(1...65535).contains(port) { return .failure(.init("has a port outside 1…65535")) }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard !path.contains("/") else { return .failure(.init("has a path of more than one database name")) }
        var url = PostgresURL(
            host: host, port: components.port ?? 5432, user: user, password: components.password.map(Secret.init),
            database: path.isEmpty ? nil : path.removingPercentEncoding ?? path)
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                let modes = SSLMode.allCases.map(\.rawValue)
                guard let mode = item.value.flatMap(SSLMode.init(rawValue:)) else {
                    let supported = "supported: \(modes.joined(separator: ", "))"
                    // `allow` and `verify-ca` are libpq modes this build does not offer yet: say so rather than "unknown".
                    if item.value == "allow" || item.value == "verify-ca" {
                        return .failure(.init("sslmode=\(item.value ?? "") is not supported yet (\(supported))"))
                    }
                    return .failure(.init("has an unknown sslmode (\(supported))"))
                }
                url.sslMode = mode
            default:
                // Only the name: a value might be a secret.
                return .failure(.init("has the parameter \"\(item.name)\", which is not supported (only sslmode is)"))
            }
        }
        return .success(url)
    }
}

/// Why a PostgreSQL URL was refused.
public struct PostgresURLProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
