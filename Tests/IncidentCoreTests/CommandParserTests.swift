import Foundation
import KlaxonTestSupport
import Testing

@testable import IncidentCore

// MARK: - Fixtures

/// The severities of the runbooks, worst first, with the aliases people type.
private let testSeverities: [SeverityPolicy] = [
    SeverityPolicy(id: "sev1", aliases: ["p0", "critical"], name: "Critical"),
    SeverityPolicy(id: "sev2", aliases: ["p1", "major"], name: "Major"),
    SeverityPolicy(id: "sev3", aliases: ["p2", "minor"], name: "Minor"),
    SeverityPolicy(id: "sev4", aliases: ["p3", "low"], name: "Low"),
]

private let parser = CommandParser(severities: testSeverities, rotationIDs: ["primary", "secondary"])

private let alice = ChatUser(id: "alice", name: "alice")
private let bob = ChatUser(id: "bob", name: "bob")

private func inc(_ number: Int) -> IncidentID { IncidentID(number) }

/// A command the parser must understand, and what it must read it as.
struct ParserValidCase: Sendable, CustomTestStringConvertible {
    var input: String
    var expected: IncidentCommand
    var testDescription: String { "\(input.debugDescription) → \(expected)" }
}

/// A command the parser must refuse: the message must contain `messageContains`, the usage must be `verb`'s.
struct ParserInvalidCase: Sendable, CustomTestStringConvertible {
    var input: String
    var messageContains: String
    var verb: CommandVerb
    var testDescription: String { "\(input.debugDescription) ✗ \(messageContains.debugDescription)" }
}

private func valid(_ input: String, _ expected: IncidentCommand) -> ParserValidCase {
    ParserValidCase(input: input, expected: expected)
}

private func invalid(_ input: String, _ messageContains: String, _ verb: CommandVerb) -> ParserInvalidCase {
    ParserInvalidCase(input: input, messageContains: messageContains, verb: verb)
}

// MARK: - Tables

private let declareCases: [ParserValidCase] = [
    valid(#"declare sev1 "Payment processing down""#, .declare(severity: "sev1", title: "Payment processing down")),
    valid("declare sev1 Payment processing down", .declare(severity: "sev1", title: "Payment processing down")),
    valid("create sev2 Checkout slow", .declare(severity: "sev2", title: "Checkout slow")),
    valid("new SEV-1 Payment processing down", .declare(severity: "sev1", title: "Payment processing down")),
    valid("open Sev 1 Payment processing down", .declare(severity: "sev1", title: "Payment processing down")),
    valid("start p0 Database on fire", .declare(severity: "sev1", title: "Database on fire")),
    valid("DECLARE P0 Database on fire", .declare(severity: "sev1", title: "Database on fire")),
    valid("declare critical Login broken", .declare(severity: "sev1", title: "Login broken")),
    valid("declare major Login broken", .declare(severity: "sev2", title: "Login broken")),
    valid("declare minor Typo on the status page", .declare(severity: "sev3", title: "Typo on the status page")),
    valid("declare low Typo", .declare(severity: "sev4", title: "Typo")),
    valid("declare sev_3 Search degraded", .declare(severity: "sev3", title: "Search degraded")),
    valid("declare P 1 Search degraded", .declare(severity: "sev2", title: "Search degraded")),
    // Runbook 004: no severity, so the least severe one.
    valid(#"create "API response time degraded""#, .declare(severity: "sev4", title: "API response time degraded")),
    valid("declare Database down", .declare(severity: "sev4", title: "Database down")),
    valid(#"declare "sev1 outage, quoted so it is the title""#, .declare(severity: "sev4", title: "sev1 outage, quoted so it is the title")),
    valid("declare sev1 2 servers down", .declare(severity: "sev1", title: "2 servers down")),
    valid("declare Database 2 down", .declare(severity: "sev4", title: "Database 2 down")),
    // The bare form: the first word is a severity.
    valid("SEV1 Payment processing down", .declare(severity: "sev1", title: "Payment processing down")),
    valid("sev2 Checkout slow", .declare(severity: "sev2", title: "Checkout slow")),
    valid("Sev 1 Payment processing down", .declare(severity: "sev1", title: "Payment processing down")),
    valid("sev 1 Payment processing down", .declare(severity: "sev1", title: "Payment processing down")),
    valid("SEV-3 Search degraded", .declare(severity: "sev3", title: "Search degraded")),
    valid("P0 Everything is down", .declare(severity: "sev1", title: "Everything is down")),
    valid("critical Everything is down", .declare(severity: "sev1", title: "Everything is down")),
    // Trigger words left in the text.
    valid("/incident declare sev1 Payment processing down", .declare(severity: "sev1", title: "Payment processing down")),
    valid("!incident SEV1 Payment processing down", .declare(severity: "sev1", title: "Payment processing down")),
    valid("/INCIDENT declare sev3 Slow", .declare(severity: "sev3", title: "Slow")),
    // Quotes.
    valid("declare sev1 “Payment processing down”", .declare(severity: "sev1", title: "Payment processing down")),
    valid("declare sev1 'Payment processing down'", .declare(severity: "sev1", title: "Payment processing down")),
    valid("declare sev1 'Bob's laptop is on fire'", .declare(severity: "sev1", title: "Bob's laptop is on fire")),
    valid("declare sev1 ‘Bob’s laptop is on fire’", .declare(severity: "sev1", title: "Bob’s laptop is on fire")),
    valid(#"declare sev1 "Payment down"#, .declare(severity: "sev1", title: #""Payment down"#)),
    valid(#"declare sev1 "a" and "b""#, .declare(severity: "sev1", title: #""a" and "b""#)),
    valid(#"declare sev1 ""#, .declare(severity: "sev1", title: #"""#)),
    valid(#"declare sev1 """"#, .declare(severity: "sev1", title: #"""""#)),
    valid(#"declare sev1 "  padded  ""#, .declare(severity: "sev1", title: "padded")),
    // Slack escapes, whitespace, emoji.
    valid("declare sev1 Payments &amp; refunds &lt;down&gt;", .declare(severity: "sev1", title: "Payments & refunds <down>")),
    valid("declare sev1 &amp;lt; stays escaped once", .declare(severity: "sev1", title: "&lt; stays escaped once")),
    valid("declare sev1 AT&T link &amp down", .declare(severity: "sev1", title: "AT&T link &amp down")),
    valid("  declare\tsev1\n  Payment   processing down  ", .declare(severity: "sev1", title: "Payment   processing down")),
    valid("declare sev1 Line one\nLine two", .declare(severity: "sev1", title: "Line one\nLine two")),
    valid("declare sev1 🔥 Payments 🔥", .declare(severity: "sev1", title: "🔥 Payments 🔥")),
    valid("declare\u{00A0}sev2\u{00A0}Non-breaking", .declare(severity: "sev2", title: "Non-breaking")),
]

private let ackAndUpdateCases: [ParserValidCase] = [
    valid("ack", .ack(nil)),
    valid("ack INC-7", .ack(inc(7))),
    valid("acknowledge inc-7", .ack(inc(7))),
    valid("ACK #INC-12", .ack(inc(12))),
    valid("acknowledged INC42", .ack(inc(42))),
    valid("ack   INC-7   ", .ack(inc(7))),
    valid("update DB failover done", .update(nil, text: "DB failover done")),
    valid("update INC-42 DB failover done", .update(inc(42), text: "DB failover done")),
    valid("post Still investigating", .update(nil, text: "Still investigating")),
    valid(#"u INC-3 "Rolled back""#, .update(inc(3), text: "Rolled back")),
    valid("update Latency &gt; 2s for EU", .update(nil, text: "Latency > 2s for EU")),
    valid("update INC-1 line one\n  line two", .update(inc(1), text: "line one\n  line two")),
    valid("update INC-5 INC-4 is related", .update(inc(5), text: "INC-4 is related")),
    valid("update\n\nINC-5\n\nDone", .update(inc(5), text: "Done")),
    valid("UPDATE see <https://status.example.com|status page>", .update(nil, text: "see <https://status.example.com|status page>")),
]

private let statusAndSeverityCases: [ParserValidCase] = [
    valid("status identified", .status(nil, .identified, text: nil)),
    valid("status INC-3 monitoring", .status(inc(3), .monitoring, text: nil)),
    valid(#"status identified "Root cause found""#, .status(nil, .identified, text: "Root cause found")),
    valid("state Investigating looking at logs", .status(nil, .investigating, text: "looking at logs")),
    valid("status INC-9 resolved All clear", .status(inc(9), .resolved, text: "All clear")),
    valid(#"status monitoring """#, .status(nil, .monitoring, text: nil)),
    valid("status identified “Bad deploy”", .status(nil, .identified, text: "Bad deploy")),
    valid("severity sev2", .severity(nil, "sev2")),
    valid("severity INC-4 SEV-1", .severity(inc(4), "sev1")),
    valid("sev INC-4 Sev 2", .severity(inc(4), "sev2")),
    valid("setsev critical", .severity(nil, "sev1")),
    valid("escalate-to p0", .severity(nil, "sev1")),
    valid("severity Sev 3", .severity(nil, "sev3")),
    valid("severity p3", .severity(nil, "sev4")),
    valid("severity MAJOR", .severity(nil, "sev2")),
    // `sev` is the severity verb's alias: alone with a level and no title, it changes the severity.
    valid("sev 2", .severity(nil, "sev2")),
    valid("sev sev3", .severity(nil, "sev3")),
    valid("Sev 1", .severity(nil, "sev1")),
]

private let roleAndNoteCases: [ParserValidCase] = [
    valid("role ic @alice", .role(nil, .commander, alice)),
    valid("role INC-2 lead <@U123|bob>", .role(inc(2), .techLead, ChatUser(id: "U123", name: "bob"))),
    valid("assign comms <@U999>", .role(nil, .comms, ChatUser(id: "U999"))),
    valid("role @alice ic", .role(nil, .commander, alice)),
    valid("role scribe @carol.smith", .role(nil, .scribe, ChatUser(id: "carol.smith", name: "carol.smith"))),
    valid("role Commander @alice", .role(nil, .commander, alice)),
    valid("role INC-2 <@U123|bob> tl", .role(inc(2), .techLead, ChatUser(id: "U123", name: "bob"))),
    valid("role lead <@U0ADA|Ada Lovelace>", .role(nil, .techLead, ChatUser(id: "U0ADA", name: "Ada Lovelace"))),
    valid("role IC @bob", .role(nil, .commander, bob)),
    valid("note Restarted the primary", .note(nil, text: "Restarted the primary")),
    valid("log INC-8 Paged the DBA", .note(inc(8), text: "Paged the DBA")),
    valid(#"note "quoted note""#, .note(nil, text: "quoted note")),
    valid("note INC-8 a &amp; b", .note(inc(8), text: "a & b")),
]

private let lifecycleCases: [ParserValidCase] = [
    valid("mitigate", .mitigate(nil, text: nil)),
    valid("mitigated INC-4 Traffic shifted to EU", .mitigate(inc(4), text: "Traffic shifted to EU")),
    valid("resolve", .resolve(nil, text: nil)),
    valid(#"resolve "Rolled back deploy 1234""#, .resolve(nil, text: "Rolled back deploy 1234")),
    valid("resolved INC-4", .resolve(inc(4), text: nil)),
    valid("fixed INC-4 config reverted", .resolve(inc(4), text: "config reverted")),
    valid(#"resolve """#, .resolve(nil, text: nil)),
    valid("close", .close(nil, text: nil)),
    valid(#"closed INC-10 "Duplicate of INC-9""#, .close(inc(10), text: "Duplicate of INC-9")),
    valid("end INC-10", .close(inc(10), text: nil)),
    valid("close '   '", .close(nil, text: nil)),
    valid("reopen", .reopen(nil)),
    valid("reopen INC-11", .reopen(inc(11))),
    valid("timeline", .timeline(nil)),
    valid("history INC-2", .timeline(inc(2))),
    valid("postmortem", .postmortem(nil)),
    valid("post-mortem INC-2", .postmortem(inc(2))),
    valid("pm INC-2", .postmortem(inc(2))),
    valid("review", .postmortem(nil)),
    valid("summary INC-3", .postmortem(inc(3))),
    valid("escalate", .escalate(nil)),
    valid("escalate INC-5", .escalate(inc(5))),
    valid("list", .list(includeClosed: false)),
    valid("list all", .list(includeClosed: true)),
    valid("ls ALL", .list(includeClosed: true)),
    valid("incidents", .list(includeClosed: false)),
]

private let oncallAndPageCases: [ParserValidCase] = [
    valid("oncall", .oncall(.show(rotation: nil))),
    valid("oncall primary", .oncall(.show(rotation: "primary"))),
    valid("who secondary", .oncall(.show(rotation: "secondary"))),
    valid("on-call Primary", .oncall(.show(rotation: "primary"))),
    valid(
        "oncall override @bob until 2026-11-25 09:00",
        .oncall(.override(user: bob, rotation: nil, until: .localTime(year: 2026, month: 11, day: 25, hour: 9, minute: 0)))
    ),
    valid(
        "oncall override @bob primary until 2026-11-25T09:00",
        .oncall(.override(user: bob, rotation: "primary", until: .localTime(year: 2026, month: 11, day: 25, hour: 9, minute: 0)))
    ),
    valid(
        "oncall override <@U42|bob> secondary for 4h",
        .oncall(.override(user: ChatUser(id: "U42", name: "bob"), rotation: "secondary", until: .duration(.hours(4))))
    ),
    valid("oncall override @bob for 1h30m", .oncall(.override(user: bob, rotation: nil, until: .duration(.minutes(90))))),
    valid("oncall override @bob for 1h 30m", .oncall(.override(user: bob, rotation: nil, until: .duration(.minutes(90))))),
    valid(
        "oncall OVERRIDE @bob UNTIL 2028-02-29 23:59",
        .oncall(.override(user: bob, rotation: nil, until: .localTime(year: 2028, month: 2, day: 29, hour: 23, minute: 59)))
    ),
    valid(
        "oncall override @bob until 2026-1-5 7:05",
        .oncall(.override(user: bob, rotation: nil, until: .localTime(year: 2026, month: 1, day: 5, hour: 7, minute: 5)))
    ),
    valid(
        "oncall override @bob Secondary until 2000-02-29t00:00",
        .oncall(.override(user: bob, rotation: "secondary", until: .localTime(year: 2000, month: 2, day: 29, hour: 0, minute: 0)))
    ),
    valid("page @alice", .page(nil, .user(alice))),
    valid("page INC-3 primary", .page(inc(3), .rotation("primary"))),
    valid("call rotation:secondary", .page(nil, .rotation("secondary"))),
    valid("page INC-3 <@U77|dave>", .page(inc(3), .user(ChatUser(id: "U77", name: "dave")))),
    valid("page Primary", .page(nil, .rotation("primary"))),
    valid("page rotation:PRIMARY", .page(nil, .rotation("primary"))),
]

private let helpCases: [ParserValidCase] = [
    valid("", .help(verb: nil)),
    valid("   \n\t ", .help(verb: nil)),
    valid("/incident", .help(verb: nil)),
    valid("!incident   ", .help(verb: nil)),
    valid("help", .help(verb: nil)),
    valid("help declare", .help(verb: "declare")),
    valid("help create", .help(verb: "declare")),
    valid("?", .help(verb: nil)),
    valid("--help oncall", .help(verb: "oncall")),
    valid("-h", .help(verb: nil)),
    valid("HELP Ack", .help(verb: "ack")),
    valid("help sev", .help(verb: "severity")),
]

let allValidCases =
    declareCases + ackAndUpdateCases + statusAndSeverityCases + roleAndNoteCases
    + lifecycleCases + oncallAndPageCases + helpCases

private let unknownCommandCases: [ParserInvalidCase] = [
    invalid("decalre sev1 Payment", #"Unknown command "decalre". Did you mean "declare"?"#, .declare),
    invalid("/incident decalre", #"Did you mean "declare"?"#, .declare),
    invalid("acknowlege", #"Did you mean "acknowledge"?"#, .ack),
    invalid("updte foo", #"Did you mean "update"?"#, .update),
    invalid("lst", #"Did you mean "list"?"#, .list),
    invalid("oncal", #"Did you mean "oncall"?"#, .oncall),
    invalid("mitgate now", #"Did you mean "mitigate"?"#, .mitigate),
    invalid("resovle", #"Did you mean "resolve"?"#, .resolve),
    invalid("xyzzy", #"Unknown command "xyzzy". Try /incident help."#, .help),
    invalid("INC-4 update foo", #"Unknown command "INC-4""#, .help),
    invalid(#"""#, "Unknown command", .help),
    invalid(#""""""#, "Unknown command", .help),
    invalid("🔥🔥🔥", "Unknown command", .help),
    invalid("@alice", "Unknown command", .help),
    invalid("x", "Try /incident help", .help),
    invalid(String(repeating: "a", count: 500), "…", .help),
    invalid("help frobnicate", #"Unknown command "frobnicate""#, .help),
    invalid("help decalre", #"Did you mean "declare"?"#, .help),
    invalid("help declare now", #"Unexpected "now" after help."#, .help),
]

private let declareAndSeverityErrorCases: [ParserInvalidCase] = [
    invalid("declare sev1", "declare needs a title", .declare),
    invalid("declare", "declare needs a title", .declare),
    invalid(#"declare sev1 """#, "declare needs a title", .declare),
    invalid(#"declare sev1 "   ""#, "declare needs a title", .declare),
    invalid("declare sev1 \n\t", "declare needs a title", .declare),
    invalid("SEV1", "declare needs a title", .declare),
    invalid("P 0", "declare needs a title", .declare),
    invalid("declare sev9 Something", #"Unknown severity "sev9". Use one of: sev1, sev2, sev3, sev4."#, .declare),
    invalid("declare Sev 9 Something", #"Unknown severity "Sev 9""#, .declare),
    invalid("sev9 Something broke", #"Unknown severity "sev9""#, .declare),
    invalid("SEV-0 Something broke", #"Unknown severity "SEV-0""#, .declare),
    invalid("declare p7 Oops", #"Unknown severity "p7""#, .declare),
    invalid("severity", "severity needs a level. Use one of: sev1, sev2, sev3, sev4.", .severity),
    invalid("severity INC-3", "severity needs a level", .severity),
    invalid("severity sev9", #"Unknown severity "sev9""#, .severity),
    invalid("severity high", #"Unknown severity "high""#, .severity),
    invalid("severity sev1 because customers", #"Unexpected "because customers" after severity."#, .severity),
    invalid("sev INC-2 Sev 9", #"Unknown severity "Sev 9""#, .severity),
    invalid("sev 9", #"Unknown severity "9""#, .severity),
]

private let extraArgumentCases: [ParserInvalidCase] = [
    invalid("ack now please", #"Unexpected "now please" after ack."#, .ack),
    invalid("ack INC-3 now", #"Unexpected "now""#, .ack),
    invalid("ack ack", #"Unexpected "ack""#, .ack),
    invalid("ack " + String(repeating: "x", count: 500), "…", .ack),
    invalid("reopen foo", #"Unexpected "foo" after reopen."#, .reopen),
    invalid("timeline INC-1 INC-2", #"Unexpected "INC-2""#, .timeline),
    invalid("postmortem please", #"Unexpected "please""#, .postmortem),
    invalid("escalate now", #"Unexpected "now""#, .escalate),
    invalid("escalate INC-0", #"Unexpected "INC-0""#, .escalate),
    invalid("list open", #"Unexpected "open" after list."#, .list),
    invalid("list all now", #"Unexpected "now""#, .list),
    invalid("reopen INC-2 and\n\n  then   more", #"Unexpected "and then more" after reopen."#, .reopen),
]

private let textAndStatusErrorCases: [ParserInvalidCase] = [
    invalid("update", "update needs the text of the update", .update),
    invalid("update INC-4", "update needs the text", .update),
    invalid(#"update INC-4 """#, "update needs the text", .update),
    invalid("note", "note needs the text", .note),
    invalid("log INC-3", "note needs the text", .note),
    invalid("status fixed", #"Unknown status "fixed". Use one of: investigating, identified, mitigating, monitoring, resolved."#, .status),
    invalid("status declared", #"Unknown status "declared""#, .status),
    invalid("status INC-3 mitigated Foo", #"Unknown status "mitigated""#, .status),
]

private let roleErrorCases: [ParserInvalidCase] = [
    invalid("role", "role needs a role (ic, lead, comms, scribe, author) and a person (@name).", .role),
    invalid("role INC-3", "role needs a role", .role),
    invalid("role ic", "role needs the person to assign", .role),
    invalid("role @alice", "role needs a role: ic, lead, comms, scribe, author.", .role),
    invalid("role ic alice", #"Expected a person as @name, got "alice"."#, .role),
    invalid("role alice ic", #"Expected a person as @name, got "alice"."#, .role),
    invalid("role janitor @alice", #"Unknown role "janitor". Use one of: ic, lead, comms, scribe, author."#, .role),
    invalid("role @alice janitor", #"Unknown role "janitor""#, .role),
    invalid("role janitor", #"Unknown role "janitor""#, .role),
    invalid("role ic @alice @bob", #"Unexpected "@bob" after role."#, .role),
    invalid("role ic @here", #"got "@here""#, .role),
    invalid("role ic <@>", #"got "<@>""#, .role),
    invalid("role ic @", #"got "@""#, .role),
    invalid("role INC-3 ic <#C123|general>", "Expected a person as @name", .role),
    invalid("role ic <@U1|alice", "Expected a person as @name", .role),
]

private let oncallAndPageErrorCases: [ParserInvalidCase] = [
    invalid("oncall tertiary", #"Unknown rotation "tertiary". Use one of: primary, secondary."#, .oncall),
    invalid("oncall primary now", #"Unexpected "now" after oncall."#, .oncall),
    invalid("oncall override", "oncall override needs the person taking over", .oncall),
    invalid("oncall override bob for 4h", #"Expected a person as @name, got "bob"."#, .oncall),
    invalid("oncall override @bob", "oncall override needs an end", .oncall),
    invalid("oncall override @bob primary", "oncall override needs an end", .oncall),
    invalid("oncall override @bob tertiary for 4h", #"Unknown rotation "tertiary""#, .oncall),
    invalid("oncall override @bob tomorrow", #"Expected until or for, got "tomorrow""#, .oncall),
    invalid("oncall override @bob primary secondary for 4h", #"Expected until or for, got "secondary""#, .oncall),
    invalid("oncall override @bob until 2026-13-01 09:00", #"Invalid date and time "2026-13-01 09:00": there is no month 13."#, .oncall),
    invalid("oncall override @bob until 2026-11-25 25:00", "there is no hour 25", .oncall),
    invalid("oncall override @bob until 2026-11-25 09:60", "there is no minute 60", .oncall),
    invalid("oncall override @bob until 2026-02-30 09:00", "that month has no day 30", .oncall),
    invalid("oncall override @bob until 2027-02-29 09:00", "that month has no day 29", .oncall),
    invalid("oncall override @bob until 2100-02-29 09:00", "that month has no day 29", .oncall),
    invalid("oncall override @bob until 2026-04-31T09:00", "that month has no day 31", .oncall),
    invalid("oncall override @bob until 2026-00-10 09:00", "there is no month 0", .oncall),
    invalid("oncall override @bob until 2026-11-25", "until needs a time after the date", .oncall),
    invalid("oncall override @bob until", "until needs a date and time", .oncall),
    invalid("oncall override @bob until tomorrow 9am", #"Invalid date and time "tomorrow 9am": write it as YYYY-MM-DD HH:MM"#, .oncall),
    invalid("oncall override @bob until 2026/11/25 09:00", "write it as YYYY-MM-DD HH:MM", .oncall),
    invalid("oncall override @bob until 2026-11-25T9", "write it as YYYY-MM-DD HH:MM", .oncall),
    invalid("oncall override @bob until 2026-11-25 +9:00", "write it as YYYY-MM-DD HH:MM", .oncall),
    invalid("oncall override @bob until 2026-11-25 09:00 UTC", #"Unexpected "UTC""#, .oncall),
    invalid("oncall override @bob for", "for needs a duration", .oncall),
    invalid("oncall override @bob for ever", #"Invalid duration "ever""#, .oncall),
    invalid("oncall override @bob for 0h", #"Invalid duration "0h""#, .oncall),
    // The override that once killed the daemon (its end date overflowed the store's milliseconds).
    invalid("oncall override @bob for 10000000000000000s", "an override lasts at most 365d (one year)", .oncall),
    invalid("oncall override @bob for 99999999999999999999999w", "an override lasts at most 365d (one year)", .oncall),
    invalid("oncall override @bob for 366d", "an override lasts at most 365d (one year)", .oncall),
    invalid("oncall override @bob for -4h", "Invalid duration", .oncall),
    invalid("oncall override @bob for 99999999999999999999h", "Invalid duration", .oncall),
    invalid("page", "page needs someone to page: @name or a rotation (primary, secondary).", .page),
    invalid("page INC-3", "page needs someone to page", .page),
    invalid("page tertiary", #"Unknown rotation or person "tertiary". Page a person as @name or a rotation: primary, secondary."#, .page),
    invalid("page rotation:tertiary", #"Unknown rotation "tertiary""#, .page),
    invalid("page rotation:", #"Unknown rotation """#, .page),
    invalid("page @alice now", #"Unexpected "now" after page."#, .page),
    invalid("page @everyone", #"Expected a person as @name, got "@everyone""#, .page),
]

let allInvalidCases =
    unknownCommandCases + declareAndSeverityErrorCases + extraArgumentCases
    + textAndStatusErrorCases + roleErrorCases + oncallAndPageErrorCases

// MARK: - Table tests

@Suite("CommandParser")
struct CommandParserTests {
    @Test("understands", arguments: allValidCases)
    func understands(_ row: ParserValidCase) {
        switch parser.parse(row.input) {
        case .success(let command):
            #expect(command == row.expected)
        case .failure(let error):
            Issue.record("expected \(row.expected), got \(error.replyText)")
        }
    }

    @Test("refuses", arguments: allInvalidCases)
    func refuses(_ row: ParserInvalidCase) {
        switch parser.parse(row.input) {
        case .success(let command):
            Issue.record("expected an error containing \(row.messageContains.debugDescription), got \(command)")
        case .failure(let error):
            #expect(error.message.contains(row.messageContains), "message: \(error.message)")
            #expect(error.usage == row.verb.usage)
        }
    }

    @Test func tablesAreLargeAndDistinct() {
        #expect(allValidCases.count + allInvalidCases.count >= 120)
        let inputs = allValidCases.map(\.input) + allInvalidCases.map(\.input)
        #expect(Set(inputs).count == inputs.count, "a row is listed twice")
    }

    @Test("every verb alias is understood", arguments: CommandVerb.allCases)
    func everyAliasNamesItsVerb(_ verb: CommandVerb) {
        for alias in verb.aliases {
            switch parser.parse(alias) {
            case .success(let command):
                #expect(command.verb == verb, "\(alias)")
            case .failure(let error):
                // Verbs that need arguments refuse, but with their own usage: the alias was recognised.
                #expect(error.usage == verb.usage, "\(alias): \(error.message)")
            }
        }
    }

    @Test func defaultSeverityIsTheLastConfigured() throws {
        #expect(parser.defaultSeverity?.id == "sev4")
        let reversed = CommandParser(severities: testSeverities.reversed(), rotationIDs: [])
        #expect(try reversed.parse("declare Something").get() == .declare(severity: "sev1", title: "Something"))
    }

    @Test("runbook 004: incidents.defaultSeverity sets what `create \"…\"` declares")
    func configuredDefaultSeverity() throws {
        let configured = CommandParser(severities: testSeverities, rotationIDs: [], defaultSeverity: "sev2")
        #expect(try configured.parse(#"create "API response time degraded""#).get() == .declare(severity: "sev2", title: "API response time degraded"))
        #expect(try configured.parse("declare sev1 Down").get() == .declare(severity: "sev1", title: "Down"))
        let config = try ConfigLoader.load(
            json:
                #"{"incidents": {"defaultSeverity": "p1"}, "severities": [{"id": "sev1", "name": "C"}, {"id": "sev2", "aliases": ["p1"], "name": "M"}, {"id": "sev3", "name": "m"}]}"#,
            environment: [:]
        ).get()
        #expect(config.incidents.defaultSeverity == "sev2", "an alias is stored as its id")
        guard
            case .failure(let errors) = ConfigLoader.load(
                json: #"{"incidents": {"defaultSeverity": "sev7"}, "severities": [{"id": "sev1", "name": "C"}]}"#, environment: [:])
        else {
            Issue.record("an unknown default severity must be refused")
            return
        }
        #expect(errors.description.hasPrefix(#"incidents.defaultSeverity: unknown severity "sev7""#), "\(errors)")
    }

    @Test func worksWithNothingConfigured() throws {
        let bare = CommandParser(severities: [], rotationIDs: [])
        let declare = bare.parse("declare Something")
        #expect(declare.failureMessage?.contains("No severities are configured") == true)
        #expect(bare.parse("severity sev1").failureMessage?.contains("No severities are configured") == true)
        #expect(bare.parse("page primary").failureMessage?.contains("Unknown rotation or person") == true)
        #expect(bare.parse("oncall primary").failureMessage?.contains("No rotations are configured") == true)
        #expect(try bare.parse("oncall").get() == .oncall(.show(rotation: nil)))
        #expect(try bare.parse("ack INC-1").get() == .ack(inc(1)))
    }

    @Test func configuredAliasesAndNumberingScheme() throws {
        let custom = CommandParser(
            severities: [
                SeverityPolicy(id: "S1", aliases: ["urgent"], name: "One"),
                SeverityPolicy(id: "S2", name: "Two"),
            ],
            rotationIDs: ["ops-emea"]
        )
        // The configured id comes back as configured.
        #expect(try custom.parse("declare s 1 Outage").get() == .declare(severity: "S1", title: "Outage"))
        #expect(try custom.parse("urgent Outage").get() == .declare(severity: "S1", title: "Outage"))
        // `s` numbers severities in this config, so `s7` is an unknown severity, not a title word.
        // 000-01: declare's mistakes list the levels with what they mean.
        #expect(
            custom.parse("declare s7 Outage").failureMessage
                == "Unknown severity \"s7\". Use one of: S1, S2.\nSeverities (worst first):\n• S1 (urgent) · One\n• S2 · Two")
        #expect(try custom.parse("page OPS-EMEA").get() == .page(nil, .rotation("ops-emea")))
    }

    @Test func cutsVeryLongFreeTextToTheMaximumWithAnEllipsis() throws {
        let title = String(repeating: "lorem ipsum ", count: 10_000).trimmingCharacters(in: .whitespaces)
        let kept = String(title.prefix(FreeText.maximumLength - 1)) + "…"
        #expect(try parser.parse("declare sev2 \(title)").get() == .declare(severity: "sev2", title: kept))
        let exactlyAtTheLimit = String(repeating: "x", count: FreeText.maximumLength)
        #expect(try parser.parse("note INC-1 \(exactlyAtTheLimit)").get() == .note(inc(1), text: exactlyAtTheLimit))
    }

    @Test func replyTextShowsMessageAndUsage() {
        let error = parser.parse("ack now").failure
        #expect(error?.replyText == "Unexpected \"now\" after ack.\nUsage: /incident ack [INC-n]")
    }

    @Test func closestVerbUsesEditDistance() {
        #expect(CommandParser.editDistance(Array("decalre"), Array("declare")) == 1)
        #expect(CommandParser.editDistance(Array("kitten"), Array("sitting")) == 3)
        #expect(CommandParser.editDistance([], Array("abc")) == 3)
        #expect(CommandParser.closestVerb(to: "ak")?.verb == .ack)
        #expect(CommandParser.closestVerb(to: "PAGEE")?.verb == .page)
        #expect(CommandParser.closestVerb(to: "zz") == nil)
        #expect(CommandParser.closestVerb(to: "completely-unrelated") == nil)
    }
}

// MARK: - Mentions

@Suite("ChatMention")
struct ChatMentionTests {
    @Test(
        "parses",
        arguments: [
            ("<@U123|alice>", ChatUser(id: "U123", name: "alice")),
            ("<@U123>", ChatUser(id: "U123", name: nil)),
            ("<@W0ENTERPRISE|bob>", ChatUser(id: "W0ENTERPRISE", name: "bob")),
            ("<@U0ADA|Ada Lovelace>", ChatUser(id: "U0ADA", name: "Ada Lovelace")),
            ("<@U123|>", ChatUser(id: "U123", name: nil)),
            ("@alice", ChatUser(id: "alice", name: "alice")),
            ("@carol.smith", ChatUser(id: "carol.smith", name: "carol.smith")),
            ("@dev_ops-2", ChatUser(id: "dev_ops-2", name: "dev_ops-2")),
            ("  @alice  ", ChatUser(id: "alice", name: "alice")),
            ("@José", ChatUser(id: "José", name: "José")),
        ]
    )
    func parses(_ token: String, _ expected: ChatUser) {
        #expect(ChatMention.parse(token) == expected)
    }

    @Test(
        "refuses",
        arguments: [
            "alice", "", "@", "<@>", "<@|alice>", "<@U123", "<@U 123|x>", "<#C123|general>", "<!here>",
            "@here", "@channel", "@All", "@everyone", "@alice,bob", "@al ice", "@🔥", "<@U123|alice>x", "@@alice",
        ]
    )
    func refuses(_ token: String) {
        #expect(ChatMention.parse(token) == nil)
    }
}

// MARK: - Free text

@Suite("FreeText")
struct FreeTextTests {
    @Test(
        arguments: [
            ("plain", "plain"),
            ("  trimmed \n", "trimmed"),
            ("\"quoted\"", "quoted"),
            ("„German“", "German"),
            ("«guillemets»", "guillemets"),
            ("'it's'", "it's"),
            ("'a' or 'b'", "'a' or 'b'"),
            ("\"unbalanced", "\"unbalanced"),
            ("&lt;&gt;&amp;", "<>&"),
            ("&amp;amp;", "&amp;"),
            ("&quot;left alone&quot;", "&quot;left alone&quot;"),
            ("inner  spacing\tkept", "inner  spacing\tkept"),
            // Unicode white space at the ends goes too (no-break space, ideographic space, line separator).
            ("\u{00A0}\u{3000}wide\u{2028}\r\n", "wide"),
            ("\u{00A0}\"quoted after a no-break space\"\u{3000}", "quoted after a no-break space"),
            ("e\u{0301}\u{00A0}", "e\u{0301}"),
        ]
    )
    func cleans(_ raw: String, _ expected: String) {
        #expect(FreeText.clean(raw) == expected)
    }

    @Test(arguments: ["", "   ", "\"\"", "''", "“ ”", "\n\n"])
    func emptyIsNil(_ raw: String) {
        #expect(FreeText.clean(raw) == nil)
    }
}

// MARK: - Fuzz

@Suite("CommandParser fuzz")
struct CommandParserFuzzTests {
    /// Pieces that steer random input into every branch: verbs, severities, references, mentions, dates,
    /// quotes, escapes, odd whitespace and odd Unicode.
    static let fragments: [String] =
        CommandVerb.allCases.flatMap(\.aliases) + [
            "/incident", "!incident", "sev1", "SEV-2", "Sev", "1", "9", "p0", "critical", "sev9", "INC-1", "inc-0",
            "#INC-99999999999999999999", "@alice", "@", "<@U1|bob>", "<@U1", "<@", ">", "<", "<#C1|x>", "@here",
            "ic", "lead", "comms", "scribe", "override", "until", "for", "2026-11-25", "09:00", "2026-11-25T09:00",
            "2026-13-45", "99:99", "4h", "1h30m", "0h", "-1h", "primary", "secondary", "rotation:", "rotation:primary",
            "all", "identified", "monitoring", "resolved", "\"", "“", "”", "'", "‘", "’", "„", "«", "»", "&amp;",
            "&lt;", "&gt;", "&", ";", " ", "  ", "\t", "\n", "\r\n", "\u{00A0}", "\u{200B}", "\u{0}", "🔥", "👩‍👩‍👧",
            "e\u{301}", "\u{301}", "İ", "ß", "日本語", "\u{202E}", "T", "t", "-", ":", "|", "?", "--help",
        ]

    static func randomInput(using generator: inout SeededGenerator) -> String {
        // Half the inputs start with a real verb, so the random rest reaches each verb's argument parsing.
        let verbs = CommandVerb.allCases.flatMap(\.aliases)
        var text = Bool.random(using: &generator) ? verbs.randomElement(using: &generator)! + " " : ""
        for _ in 0..<Int.random(in: 0...12, using: &generator) {
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<6:
                text += fragments.randomElement(using: &generator)!
            case 6..<8:
                text += " "
            case 8:
                // A random scalar, surrogates excepted (they are not valid scalars).
                let value = UInt32.random(in: 0...0x10FFFF, using: &generator)
                text.unicodeScalars.append(Unicode.Scalar(value) ?? "?")
            default:
                text += String(repeating: fragments.randomElement(using: &generator)!, count: Int.random(in: 1...50, using: &generator))
            }
        }
        return text
    }

    @Test func neverCrashesAndAlwaysExplains() {
        var generator = SeededGenerator(seed: 0x4B4C_4158_4F4E)
        let usages = Set(CommandVerb.allCases.map(\.usage))
        var successes = 0
        for _ in 0..<5_000 {
            let input = Self.randomInput(using: &generator)
            let result = parser.parse(input)
            // Plain checks, recorded only when they fail: thousands of `#expect`s would dominate the run time.
            if result != parser.parse(input) {
                Issue.record("not deterministic for \(input.debugDescription)")
            }
            switch result {
            case .success(.declare(let severity, let title, _)):
                successes += 1
                if title.isEmpty || !testSeverities.contains(where: { $0.id == severity }) {
                    Issue.record("odd declaration \(severity) \(title.debugDescription) from \(input.debugDescription)")
                }
            case .success:
                successes += 1
            case .failure(let error):
                if error.message.isEmpty || !usages.contains(error.usage) {
                    Issue.record("odd error \(error) for \(input.debugDescription)")
                }
            }
        }
        // The generator must reach both outcomes, or it is not testing much.
        #expect(successes > 200 && successes < 4_800)
    }

    @Test(arguments: [
        String(repeating: "\"", count: 10_000),
        String(repeating: "<", count: 10_000),
        String(repeating: "&amp;", count: 10_000),
        "declare sev1 " + String(repeating: "🔥", count: 20_000),
        String(repeating: "sev ", count: 5_000),
        "oncall override @bob for " + String(repeating: "9", count: 1_000) + "h",
        "role " + String(repeating: "<@U1|", count: 2_000),
    ])
    func survivesHugeInput(_ input: String) {
        if case .failure(let error) = parser.parse(input) {
            #expect(!error.message.isEmpty && !error.usage.isEmpty)
            #expect(error.message.count < 400, "echoes of the input are cut short")
        }
    }
}

// MARK: - Helpers

extension Result where Failure == CommandUsageError {
    fileprivate var failure: CommandUsageError? {
        if case .failure(let error) = self { return error }
        return nil
    }

    fileprivate var failureMessage: String? { failure?.message }
}

/// `component`, `action` and `stats`.
@Suite struct ReportVerbParserTests {
    let parser = CommandParser(severities: EngineFixture.severities, rotationIDs: ["primary", "secondary"])

    func parse(_ text: String) -> Result<IncidentCommand, CommandUsageError> { parser.parse(text) }

    @Test func component() throws {
        #expect(try parse("component INC-4 checkout").get() == .component(IncidentID(4), "checkout"))
        #expect(try parse("component none").get() == .component(nil, nil))
        #expect(throws: CommandUsageError.self) { try parse("component").get() }
        #expect(throws: CommandUsageError.self) { try parse("component api checkout").get() }
    }

    @Test func action() throws {
        #expect(
            try parse("action \"Add connection pool alert\" @bob due 2026-12-20").get()
                == .action(nil, .add(text: "Add connection pool alert", owner: ChatUser(id: "bob", name: "bob"), due: "2026-12-20")))
        #expect(try parse("action INC-3 Update the runbook").get() == .action(IncidentID(3), .add(text: "Update the runbook", owner: nil, due: nil)))
        #expect(try parse("action done 2").get() == .action(nil, .done(2)))
        #expect(try parse("action INC-3 done #1").get() == .action(IncidentID(3), .done(1)))
        let badDate = parse("action Fix it due 2026-02-30")
        #expect(throws: CommandUsageError.self) { try badDate.get() }
        if case .failure(let error) = badDate { #expect(error.message.contains("2026-02-30")) }
        #expect(throws: CommandUsageError.self) { try parse("action done two").get() }
        #expect(throws: CommandUsageError.self) { try parse("action @bob").get() }
    }

    @Test func stats() throws {
        #expect(try parse("stats").get() == .stats(StatsQuery()))
        #expect(try parse("stats 7d").get() == .stats(StatsQuery(period: .last(.days(7)))))
        #expect(try parse("stats this month sev1").get() == .stats(StatsQuery(period: .thisMonth, severity: "sev1")))
        #expect(try parse("stats P0 2026-11").get() == .stats(StatsQuery(period: .month(year: 2026, month: 11), severity: "sev1")))
        #expect(throws: CommandUsageError.self) { try parse("stats yesterday").get() }
        #expect(throws: CommandUsageError.self) { try parse("stats 2026-13").get() }
    }
}
