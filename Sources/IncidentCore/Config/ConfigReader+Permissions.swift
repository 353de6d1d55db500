// MARK: - groups and permissions

extension ConfigReader {
    func readGroups(_ root: ObjectFields, people: [String: Person]) -> [String: [String]] {
        var groups: [String: [String]] = [:]
        guard let entries = field(root, "groups", { entries($0, at: $1) }) else { return groups }
        for entry in entries {
            guard ConfigReader.isValidIdentifier(entry.key) else {
                report(entry.path, "group names are letters, digits, - and _")
                continue
            }
            guard let members = stringList(entry.value, at: entry.path, noun: "person id") else { continue }
            for (index, member) in members.enumerated() where people[member] == nil {
                report(entry.path.index(index), "unknown person \(Self.quote(member))" + Self.hint(for: member, among: Array(people.keys), known: "people"))
            }
            groups[entry.key] = members
        }
        return groups
    }

    func readPermissions(_ root: ObjectFields, severities: [SeverityPolicy], people: [String: Person], groups: [String: [String]]) -> [String: [Grantee]] {
        var permissions: [String: [Grantee]] = [:]
        guard let entries = field(root, "permissions", { entries($0, at: $1) }) else { return permissions }
        let severityIDs = severities.map(\.id)
        for entry in entries {
            var action = entry.key
            if action.hasPrefix("declare:") {
                let token = String(action.dropFirst("declare:".count))
                guard let policy = severities.first(where: { $0.id == token || $0.aliases.contains(token.lowercased()) }) else {
                    report(entry.path, "unknown severity \(Self.quote(token))" + Self.hint(for: token, among: severityIDs, known: "severity ids"))
                    continue
                }
                action = "declare:\(policy.id)"
            } else if !PermissionAction.names.contains(action) {
                let known = PermissionAction.names + ["declare:<severity>"]
                report(entry.path, "unknown action" + Self.hint(for: action, among: PermissionAction.names, known: "actions (\(known.joined(separator: ", ")))"))
                continue
            }
            guard let words = stringList(entry.value, at: entry.path, noun: "grantee") else { continue }
            var grantees: [Grantee] = []
            for (index, word) in words.enumerated() {
                let path = entry.path.index(index)
                guard let grantee = Grantee(parsing: word) else {
                    report(path, "\(Self.quote(word)) is not a grantee: use anyone, oncall, members, person:<id>, group:<name> or role:<ic|lead|comms|scribe>")
                    continue
                }
                switch grantee {
                case .person(let id) where people[id] == nil:
                    report(path, "unknown person \(Self.quote(id))" + Self.hint(for: id, among: Array(people.keys), known: "people"))
                case .group(let name) where groups[name] == nil:
                    report(path, "unknown group \(Self.quote(name))" + Self.hint(for: name, among: Array(groups.keys), known: "groups"))
                default:
                    grantees.append(grantee)
                }
            }
            if permissions[action] != nil {
                report(entry.path, "\(Self.quote(action)) is listed twice")
            }
            permissions[action] = grantees
        }
        return permissions
    }
}
