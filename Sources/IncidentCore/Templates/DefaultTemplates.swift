/// The messages Klaxon posts, as mustache templates. The wording follows the runbooks in `shared/seeds`
/// (initial alert, update, resolution, post-incident summary); `templates` in `bot-config.json` overrides
/// any of them by name.
///
/// Text markup that every platform adapter understands: `<@ID>` mentions a user by platform id, `<#room>`
/// links the incident's own channel or thread. Templates are rendered as plain text (no HTML escaping).
public enum DefaultTemplates {
    public static let all: [String: String] = [
        "initialAlert": initialAlert,
        "announcement": announcement,
        "announceDigest": announceDigest,
        "update": update,
        "reminder": reminder,
        "resolution": resolution,
        "summary": summary,
        "page": page,
        "escalation": escalation,
        "review": review,
        "postmortem": postmortem,
        "emailSubject": emailSubject,
        "emailText": emailText,
        "emailHTML": emailHTML,
        "ticketTitle": ticketTitle,
        "ticketBody": ticketBody,
        "ticketResolved": ticketResolved,
        "publicAcknowledged": publicAcknowledged,
        "ticketReopened": ticketReopened,
        "actionItemTitle": actionItemTitle,
        "actionItemBody": actionItemBody,
    ]

    /// Published on the status page when a public incident is acknowledged (002-07): customers read it.
    public static let publicAcknowledged = "We are aware of the problem ({{id}}) and an engineer is investigating."

    /// Posted first in the incident's own channel.
    public static let initialAlert = """
        🚨 [{{severity}} INCIDENT] {{title}}
        Incident: {{id}} · Severity: {{severity}} ({{severityName}}) · Status: {{status}}
        Started: {{declaredAt}} · Declared by {{declaredBy}}
        {{#service}}Service: {{service}}
        {{/service}}{{#impact}}Impact: {{impact}}
        {{/impact}}{{#paged}}Paged: {{paged}}
        {{/paged}}Incident Commander: {{#commander}}{{commander}}{{/commander}}{{^commander}}unassigned (take it: /incident role ic @you){{/commander}}
        {{#updateEvery}}Updates every {{updateEvery}} here: /incident update <what changed>{{/updateEvery}}
        """

    /// Posted in the announce channel; in thread mode it is the root of the incident's thread.
    public static let announcement = """
        🚨 [{{severity}} INCIDENT] {{title}}
        {{id}} declared by {{declaredBy}} at {{declaredAt}}. Follow it in <#room>.
        """

    /// Posted in the announce channel instead of several announcements that the platform's pace held back
    /// (`AnnouncementDigest`): `count`, `incidents` (`id`, `severity`, `title`, `link`), `more`.
    public static let announceDigest = """
        🚨 {{count}} new incidents:
        {{#incidents}}• {{id}} {{severity}} {{title}} · {{link}}
        {{/incidents}}{{#more}}…and {{more}} more: /incident list
        {{/more}}
        """

    public static let update = """
        UPDATE [{{time}}] {{id}} · {{severity}} · {{status}}
        {{text}}
        {{#nextUpdate}}Next update: {{nextUpdate}}{{/nextUpdate}}
        """

    public static let reminder = """
        ⏰ {{owner}}: {{id}} has had no update for {{sinceLastUpdate}} ({{severity}} updates every {{updateEvery}}).{{#missed}} {{missed}} reminders were missed while Klaxon was down.{{/missed}}
        Post one: /incident update {{id}} <what changed>
        """

    public static let resolution = """
        ✅ RESOLVED [{{time}}] {{id}} · {{title}}
        {{#text}}{{text}}
        {{/text}}Duration: {{duration}}.{{#reviewDue}} Post-incident review due by {{reviewDue}}.{{/reviewDue}}{{#meeting}} Meeting: {{meeting}}{{/meeting}}{{#author}} Post-mortem: {{author}}{{/author}}
        """

    public static let summary = """
        INCIDENT SUMMARY · {{id}} · {{severity}}
        What: {{title}}
        {{#typeName}}Type: {{typeName}}
        {{/typeName}}Duration: {{declaredAt}} to {{endedAt}} = {{duration}}
        Time to acknowledge: {{timeToAcknowledge}} · to mitigate: {{timeToMitigate}} · to resolve: {{timeToResolve}}
        {{#impact}}Impact: {{impact}}
        {{/impact}}{{#usersAffected}}Users affected: {{usersAffected}}
        {{/usersAffected}}{{#revenueLost}}Revenue lost: {{revenueLost}}
        {{/revenueLost}}{{#rootCause}}Root cause: {{rootCause}}
        {{/rootCause}}{{#fix}}Fix: {{fix}}
        {{/fix}}{{^fix}}{{#resolution}}Fix: {{resolution}}
        {{/resolution}}{{/fix}}{{#commander}}Incident Commander: {{commander}}
        {{/commander}}{{#author}}Post-mortem author: {{author}}
        {{/author}}{{#actionItems}}Action {{number}}: {{text}}{{#owner}} · {{owner}}{{/owner}}{{#due}} · due {{due}}{{/due}} · {{status}}{{#issue}} · {{issue}}{{/issue}}
        {{/actionItems}}{{#reviewDue}}Post-incident review due by {{reviewDue}}
        {{/reviewDue}}{{#meeting}}Review meeting: {{meeting}}
        {{/meeting}}Timeline: /incident timeline {{id}} · Post-mortem draft: /incident postmortem {{id}}
        """

    public static let page = """
        📟 {{mentions}}: you are paged for {{id}} ({{severity}}): {{title}}
        Acknowledge with /incident ack {{id}}
        """

    public static let escalation = """
        ⚠️ {{id}} ({{severity}}) {{reason}}. Escalating to {{mentions}}.
        Acknowledge with /incident ack {{id}}
        """

    public static let review = """
        📝 The post-incident review of {{id}} ({{title}}) is due {{due}}.{{#meeting}} Meeting: {{meeting}}{{/meeting}}
        {{#author}}{{author}}: you write the post-mortem.
        {{/author}}Blameless: focus on systems, not people. Draft: {{#postmortemFile}}{{postmortemFile}}{{/postmortemFile}}{{^postmortemFile}}/incident postmortem {{id}}{{/postmortemFile}}
        """

    public static let postmortem = """
        ## Incident: {{title}}
        **ID**: {{id}} · **Severity**: {{severity}} · **Date**: {{date}}
        **Duration**: {{duration}}{{#author}} · **Author**: {{author}}{{/author}}
        **Impact**: {{#impact}}{{impact}}{{/impact}}{{^impact}}<who was affected and how>{{/impact}}{{#usersAffected}} · Users affected: {{usersAffected}}{{/usersAffected}}{{#revenueLost}} · Revenue lost: {{revenueLost}}{{/revenueLost}}
        {{#startedAt}}**Started**: {{startedAt}}{{#detectedAt}} · **Detected**: {{detectedAt}}{{/detectedAt}}{{#detectedBy}} by {{detectedBy}}{{/detectedBy}} · **Time to detect**: {{timeToDetect}}
        {{/startedAt}}

        ### Timeline
        {{#timeline}}
        - {{time}} {{text}}
        {{/timeline}}

        ### Metrics
        - Time to acknowledge: {{timeToAcknowledge}}
        - Time to mitigate: {{timeToMitigate}}
        - Time to resolve: {{timeToResolve}}

        ### Root Cause
        {{#rootCause}}{{rootCause}}{{/rootCause}}{{^rootCause}}{{#resolution}}{{resolution}}{{/resolution}}{{^resolution}}<what actually caused the issue: be specific>{{/resolution}}{{/rootCause}}
        {{#fix}}

        ### Fix
        {{fix}}
        {{/fix}}

        ### What Went Well
        -

        ### What Went Wrong
        -

        ### Action Items
        {{#actionItems}}
        - [{{#done}}x{{/done}}{{^done}} {{/done}}] {{text}}{{#owner}} · Owner: {{owner}}{{/owner}}{{#due}} · Due: {{due}}{{/due}}{{#issue}} · {{issue}}{{/issue}}
        {{/actionItems}}
        {{^actionItems}}
        - [ ] <preventive measure> · Owner: @who · Due: YYYY-MM-DD
        {{/actionItems}}
        """

    /// Mail (`email:` targets, docs/email.md): one subject line, a plain-text part and an HTML part of the
    /// same message. People are names here, not chat mentions. `emailHTML` is the one template whose
    /// values are HTML-escaped.
    public static let emailSubject = "[{{severity}} INCIDENT] {{id}}: {{title}}"

    public static let emailText = """
        {{event}}: {{id}} ({{severity}}, {{severityName}}) {{title}}
        {{#isEscalation}}The incident {{reason}}.{{/isEscalation}}{{^isEscalation}}Why: {{reason}}.{{/isEscalation}}

        Status: {{status}}
        Started: {{declaredAt}} · Declared by {{declaredBy}}
        Incident Commander: {{#commander}}{{commander}}{{/commander}}{{^commander}}unassigned{{/commander}}
        {{#updateEvery}}Updates every {{updateEvery}} in {{channel}}.{{/updateEvery}}

        Acknowledge in chat: /incident ack {{id}}
        """

    public static let emailHTML = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>{{id}}: {{title}}</title></head>
        <body style="font-family: sans-serif; line-height: 1.4">
        <h1 style="font-size: 1.2em">{{event}}: {{id}} ({{severity}}) {{title}}</h1>
        <p>{{#isEscalation}}The incident {{reason}}.{{/isEscalation}}{{^isEscalation}}Why: {{reason}}.{{/isEscalation}}</p>
        <table>
        <tr><th scope="row" align="left">Severity</th><td>{{severity}} ({{severityName}})</td></tr>
        <tr><th scope="row" align="left">Status</th><td>{{status}}</td></tr>
        <tr><th scope="row" align="left">Started</th><td>{{declaredAt}}, declared by {{declaredBy}}</td></tr>
        <tr><th scope="row" align="left">Incident Commander</th><td>{{#commander}}{{commander}}{{/commander}}{{^commander}}unassigned{{/commander}}</td></tr>
        </table>
        {{#updateEvery}}<p>Updates every {{updateEvery}} in {{channel}}.</p>{{/updateEvery}}
        <p>Acknowledge in chat: <code>/incident ack {{id}}</code></p>
        </body></html>
        """

    /// Issues (`severities[].ticket`, docs/tickets.md): GitHub renders the body and comment as Markdown.
    public static let ticketTitle = "[{{severity}}] {{id}}: {{title}}"

    public static let ticketBody = """
        **{{id}}** · {{severity}} ({{severityName}}) · declared {{declaredAt}} by {{declaredBy}}

        {{title}}

        Incident Commander: {{#commander}}{{commander}}{{/commander}}{{^commander}}unassigned{{/commander}}
        {{#updateEvery}}Updates every {{updateEvery}}.{{/updateEvery}}
        Filed by Klaxon; it is closed when the incident is resolved.
        """

    public static let ticketResolved = """
        ✅ {{id}} resolved {{now}} after {{duration}}.{{#text}}

        {{text}}{{/text}}
        """

    public static let ticketReopened = """
        🔁 {{id}} was reopened {{now}} by {{reopenedBy}}. Status: {{status}}.
        """

    /// An action item's own issue (`/incident action …` on an incident with a ticket target).
    public static let actionItemTitle = "{{id}} action {{number}}: {{text}}"

    public static let actionItemBody = """
        Action item {{number}} from **{{id}}** ({{severity}}): {{title}}

        {{text}}
        {{#owner}}
        Owner: {{owner}}{{/owner}}{{#due}}
        Due: {{due}}{{/due}}

        Filed by Klaxon; it is closed by `/incident action done {{number}}`.
        """
}
