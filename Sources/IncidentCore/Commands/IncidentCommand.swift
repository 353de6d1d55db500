import Foundation

/// Who or what a command points at: a person by chat mention, or a rotation from the config.
public enum PageTarget: Sendable, Hashable {
    case user(ChatUser)
    case rotation(String)
}

/// Which incident a command is about when it says so (`/incident update INC-42 ...`); otherwise the
/// incident whose channel or thread the command was typed in.
public typealias IncidentReference = IncidentID?

/// The `/incident` language as plain data. `CommandParser` produces it; `IncidentEngine` acts on it.
public enum IncidentCommand: Sendable, Hashable {
    /// `type`: an incident type id as written (`--type security`); the engine checks it.
    case declare(severity: String, title: String, type: String? = nil)
    case ack(IncidentReference)
    case update(IncidentReference, text: String)
    case status(IncidentReference, IncidentStatus, text: String?)
    /// `/incident status` with no status: shows where the incident stands, its roles and its facts.
    case statusCard(IncidentReference)
    /// `/incident set <fact> <value>`; without an assignment (`/incident set`), lists the facts.
    case set(IncidentReference, FactAssignment?)
    case severity(IncidentReference, String)
    case role(IncidentReference, IncidentRole, ChatUser)
    case note(IncidentReference, text: String)
    /// A report from outside (a customer complaint, a colleague's "checkout fails for me too"): a timeline
    /// line that counts toward the storm rule, as a newly firing alert does.
    case report(IncidentReference, text: String)
    case mitigate(IncidentReference, text: String?)
    /// `monitor`: this resolution's monitoring window (`--monitor 1h`, 002-19), over the severity's.
    case resolve(IncidentReference, text: String?, monitor: TimeSpan? = nil)
    case close(IncidentReference, text: String?)
    case reopen(IncidentReference)
    case timeline(IncidentReference)
    case postmortem(IncidentReference)
    case list(includeClosed: Bool)
    case oncall(OnCallCommand)
    case page(IncidentReference, PageTarget)
    case escalate(IncidentReference)
    /// `/incident type security`: the incident type, as written; the engine checks it.
    case setType(IncidentReference, String)
    /// `/incident cadence 10m` (002-15).
    case cadence(IncidentReference, CadenceChange)
    /// The status-page component the incident affects; nil clears it (`/incident component none`).
    case component(IncidentReference, String?)
    case action(IncidentReference, ActionCommand)
    case stats(StatsQuery)
    case help(verb: String?)

    /// The canonical verb, used for metrics and help.
    public var verb: CommandVerb {
        switch self {
        case .declare: .declare
        case .ack: .ack
        case .update: .update
        case .status, .statusCard: .status
        case .set: .set
        case .severity: .severity
        case .role: .role
        case .note: .note
        case .report: .report
        case .mitigate: .mitigate
        case .resolve: .resolve
        case .close: .close
        case .reopen: .reopen
        case .timeline: .timeline
        case .postmortem: .postmortem
        case .list: .list
        case .oncall: .oncall
        case .page: .page
        case .escalate: .escalate
        case .setType: .type
        case .cadence: .cadence
        case .component: .component
        case .action: .action
        case .stats: .stats
        case .help: .help
        }
    }

    /// The text the user wrote for others to read (a title, an update, a note, a resolution), if any.
    public var freeText: String? {
        switch self {
        case .declare(_, let text, _), .update(_, let text), .note(_, let text), .report(_, let text): text
        case .status(_, _, let text), .mitigate(_, let text), .resolve(_, let text, _), .close(_, let text): text
        case .action(_, .add(let text, _, _)): text
        case .set(_, let assignment?):
            if case .text(let text) = assignment.input { text } else { nil }
        case .ack, .severity, .role, .reopen, .timeline, .postmortem, .list, .oncall, .page, .escalate, .setType, .component, .action, .stats, .help,
            .statusCard, .set, .cadence:
            nil
        }
    }

    /// The same command with its free text (see `freeText`) passed through `transform`.
    public func mappingFreeText(_ transform: (String) -> String) -> IncidentCommand {
        switch self {
        case .declare(let severity, let title, let type): .declare(severity: severity, title: transform(title), type: type)
        case .update(let ref, let text): .update(ref, text: transform(text))
        case .note(let ref, let text): .note(ref, text: transform(text))
        case .report(let ref, let text): .report(ref, text: transform(text))
        case .status(let ref, let status, let text): .status(ref, status, text: text.map(transform))
        case .mitigate(let ref, let text): .mitigate(ref, text: text.map(transform))
        case .resolve(let ref, let text, let monitor): .resolve(ref, text: text.map(transform), monitor: monitor)
        case .close(let ref, let text): .close(ref, text: text.map(transform))
        case .action(let ref, .add(let text, let owner, let due)): .action(ref, .add(text: transform(text), owner: owner, due: due))
        case .set(let ref, let assignment?):
            if case .text(let text) = assignment.input {
                .set(ref, FactAssignment(fact: assignment.fact, input: .text(transform(text))))
            } else {
                self
            }
        case .ack, .severity, .role, .reopen, .timeline, .postmortem, .list, .oncall, .page, .escalate, .setType, .component, .action, .stats, .help,
            .statusCard, .set, .cadence:
            self
        }
    }

    /// The incident the command names explicitly, if any.
    public var explicitIncident: IncidentID? {
        switch self {
        case .ack(let ref), .update(let ref, _), .status(let ref, _, _), .severity(let ref, _), .role(let ref, _, _),
            .note(let ref, _), .report(let ref, _), .mitigate(let ref, _), .resolve(let ref, _, _), .close(let ref, _), .reopen(let ref), .cadence(let ref, _),
            .timeline(let ref), .postmortem(let ref), .page(let ref, _), .escalate(let ref), .setType(let ref, _), .component(let ref, _),
            .action(let ref, _), .statusCard(let ref), .set(let ref, _):
            ref
        case .declare, .list, .oncall, .stats, .help: nil
        }
    }
}

/// `/incident action "Add connection pool alert" @bob due 2026-12-20`, `/incident action done 2`.
public enum ActionCommand: Sendable, Hashable {
    case add(text: String, owner: ChatUser?, due: String?)
    case done(Int)
}

/// `/incident stats [30d|this month|2026-11] [severity]`.
public struct StatsQuery: Sendable, Hashable {
    public var period: StatsPeriod
    /// A severity id; nil: all.
    public var severity: String?

    public init(period: StatsPeriod = .last(.days(30)), severity: String? = nil) {
        self.period = period
        self.severity = severity
    }
}

/// The incidents a statistic counts: those declared in this period.
public enum StatsPeriod: Sendable, Hashable {
    /// The last `span` up to now (`30d`).
    case last(TimeSpan)
    /// The calendar month so far, in the incidents' time zone.
    case thisMonth
    /// One calendar month (`2026-11`).
    case month(year: Int, month: Int)
}

/// One fact and what was written for it.
public struct FactAssignment: Sendable, Hashable {
    public var fact: IncidentFact
    public var input: FactInput

    public init(fact: IncidentFact, input: FactInput) {
        self.fact = fact
        self.input = input
    }
}

/// `/incident oncall`, `/incident oncall override @bob until 2026-11-25 09:00`, `/incident oncall override @bob for 4h`.
public enum OnCallCommand: Sendable, Hashable {
    case show(rotation: String?)
    /// `/incident oncall ping`: a message that mentions whoever is on call now, so they are notified: what
    /// an `@oncall` mention resolves to on Rocket.Chat (`platforms.rocketchat.oncallMention`, 004-14).
    case mention
    case override(user: ChatUser, rotation: String?, until: OverrideEnd)
}

public enum OverrideEnd: Sendable, Hashable {
    /// A local date and time, read in the rotation's (or the user's) time zone.
    case localTime(year: Int, month: Int, day: Int, hour: Int, minute: Int)
    case duration(TimeSpan)
}

/// What `/incident cadence` sets.
public enum CadenceChange: Sendable, Hashable {
    case every(TimeSpan)
    /// No update reminders for this incident.
    case off
    /// Back to the severity's `updateEvery`.
    case severityDefault
}

/// Every verb with the words that name it. The first alias is the canonical one.
public enum CommandVerb: String, Sendable, CaseIterable {
    case declare, ack, update, status, set, severity, role, note, report, mitigate, resolve, close, reopen, timeline
    case postmortem, list, oncall, page, escalate, type, component, action, stats, help, cadence
    /// `/incident meeting <url>` (000-19): `set meeting <url>` in a word of its own.
    case meeting

    public var aliases: [String] {
        switch self {
        case .declare: ["declare", "create", "new", "open", "start"]
        case .ack: ["ack", "acknowledge", "acknowledged"]
        case .update: ["update", "post", "u"]
        case .status: ["status", "state"]
        case .set: ["set", "fact", "facts"]
        case .severity: ["severity", "sev", "escalate-to", "setsev"]
        case .role: ["role", "assign"]
        case .note: ["note", "log"]
        case .report: ["report", "reported"]
        case .mitigate: ["mitigate", "mitigated"]
        case .resolve: ["resolve", "resolved", "fixed"]
        case .close: ["close", "closed", "end"]
        case .reopen: ["reopen"]
        case .timeline: ["timeline", "history"]
        case .postmortem: ["postmortem", "post-mortem", "pm", "review", "summary"]
        case .list: ["list", "ls", "incidents"]
        case .oncall: ["oncall", "on-call", "who"]
        case .page: ["page", "call"]
        case .escalate: ["escalate"]
        case .type: ["type", "kind"]
        case .component: ["component", "affects"]
        case .action: ["action", "actions", "todo"]
        case .stats: ["stats", "metrics"]
        case .help: ["help", "?", "-h", "--help"]
        case .cadence: ["cadence", "every"]
        case .meeting: ["meeting", "bridge"]
        }
    }

    /// The usage line shown in help and in error replies.
    public var usage: String {
        switch self {
        case .declare: "/incident declare <severity> [--type <type>] <title>   (also: /incident SEV1 <title>)"
        case .ack: "/incident ack [INC-n]"
        case .update: "/incident update [INC-n] <text>"
        case .status: "/incident status [INC-n] [investigating|identified|mitigating|monitoring|resolved] [public text]"
        case .set: "/incident set [INC-n] <fact> <value>   (facts: \(IncidentFact.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .severity: "/incident severity [INC-n] <level>"
        case .role: "/incident role [INC-n] <ic|lead|comms|scribe|author> <@user>"
        case .note: "/incident note [INC-n] <text>"
        case .report: "/incident report [INC-n] <what was reported>"
        case .mitigate: "/incident mitigate [INC-n] [text]"
        case .resolve: "/incident resolve [INC-n] [--monitor <duration>] [text]"
        case .close: "/incident close [INC-n] [text]"
        case .reopen: "/incident reopen [INC-n]"
        case .timeline: "/incident timeline [INC-n]"
        case .postmortem: "/incident postmortem [INC-n]"
        case .list: "/incident list [all]"
        case .oncall:
            "/incident oncall [rotation] | /incident oncall ping | /incident oncall override <@user> [rotation] until <YYYY-MM-DD HH:MM> | for <duration>"
        case .page: "/incident page [INC-n] <@user|rotation>"
        case .escalate: "/incident escalate [INC-n]"
        case .type: "/incident type [INC-n] <type>"
        case .component: "/incident component [INC-n] <component|none>"
        case .action: "/incident action [INC-n] \"<what to do>\" [@owner] [due YYYY-MM-DD] | /incident action [INC-n] done <n>"
        case .stats: "/incident stats [30d|this month|YYYY-MM] [severity]"
        case .help: "/incident help [verb]"
        case .cadence: "/incident cadence [INC-n] <duration|off|default>"
        case .meeting: "/incident meeting [INC-n] <link>"
        }
    }

    public var summary: String {
        switch self {
        case .declare: "Declare an incident: opens its channel, pages on-call, starts the update clock."
        case .ack: "Acknowledge the page: stops escalation."
        case .update: "Post a status update: resets the update reminder."
        case .status: "Show where the incident stands, or move it to investigating, identified, mitigating, monitoring or resolved."
        case .set: "Record a fact (impact, users affected, started at, root cause, …); /incident set alone lists them."
        case .severity: "Change the severity: re-times reminders and paging."
        case .role: "Assign a role: incident commander, tech lead, comms, scribe or post-mortem author."
        case .note: "Add a line to the timeline without posting an update."
        case .report: "Record a report (a customer complaint, a second sighting); many at once raise the severity."
        case .mitigate: "Mark the impact as mitigated (the fix may still be to come)."
        case .resolve: "Mark the incident resolved: stops reminders, starts the review clock (--monitor 1h: watch this long before it closes)."
        case .close: "Close the incident (resolving it first if needed)."
        case .reopen: "Reopen a resolved or closed incident."
        case .timeline: "Show the incident's timeline."
        case .postmortem: "Draft a blameless post-mortem from the timeline."
        case .list: "List open incidents (`all` includes closed ones)."
        case .oncall: "Show who is on call, or override the rotation."
        case .page: "Page a person or a rotation for this incident."
        case .escalate: "Notify the next step of the escalation chain now."
        case .type: "Set the incident type (security, data-loss, …): adds that type's rules and notifications."
        case .component: "Say which status-page component the incident affects."
        case .action: "Add a follow-up action item, or mark one done."
        case .stats: "MTTA, MTTM, MTTR and incident counts over a period, against the targets."
        case .help: "Show this help, or the usage of one verb."
        case .cadence: "Set how often updates are due for this incident (the update reminder follows it); default: the severity's."
        case .meeting: "Set the review meeting's link (call or calendar invite), shown in the resolution, the review reminder and the summary."
        }
    }

    public static func named(_ word: String) -> CommandVerb? {
        let lowered = word.lowercased()
        return allCases.first { $0.aliases.contains(lowered) }
    }
}

/// A command that could not be understood. `message` says what was wrong; `usage` shows the closest
/// valid form. Replying with it never changes anything.
public struct CommandUsageError: Error, Sendable, Hashable {
    public var message: String
    public var usage: String

    public init(message: String, usage: String) {
        self.message = message
        self.usage = usage
    }

    public var replyText: String { "\(message)\nUsage: \(usage)" }
}
