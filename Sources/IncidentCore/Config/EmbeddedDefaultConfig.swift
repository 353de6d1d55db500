extension ConfigLoader {
    /// The defaults embedded in the binary: identical in content to the shipped `bot-config.json` (a test
    /// reads that file and compares), so the binary and the repository never disagree on the defaults.
    public static let embeddedDefaultJSON = #"""
        {
          "$schema": "./bot-config.schema.json",
          "server": {
            "host": "127.0.0.1",
            "port": 8080,
            "maxBodyBytes": 1048576,
            "apiToken": "${KLAXON_API_TOKEN:-}"
          },
          "storage": {
            "sqlite": {
              "path": "data/klaxon.sqlite"
            }
          },
          "logging": {
            "level": "info",
            "format": "plain"
          },
          "platforms": {
            "console": {
              "announceChannel": "incidents"
            }
          },
          "incidents": {
            "mode": "channel",
            "channelName": "incident-{date}-{seq}",
            "timeZone": "UTC",
            "overdueAfterCadences": 2,
            "monitorFor": "30m"
          },
          "severities": [
            {
              "id": "sev1",
              "aliases": ["p0", "critical"],
              "name": "Critical",
              "description": "System down, all users affected",
              "updateEvery": "15m",
              "ackWithin": "5m",
              "page": true,
              "reviewWithin": "48h",
              "escalateAfter": "1h",
              "targets": { "acknowledge": "5m", "mitigate": "30m", "resolve": "2h" }
            },
            {
              "id": "sev2",
              "aliases": ["p1", "major"],
              "name": "Major",
              "description": "Major feature broken, many users affected",
              "updateEvery": "30m",
              "ackWithin": "15m",
              "page": true,
              "reviewWithin": "48h"
            },
            {
              "id": "sev3",
              "aliases": ["p2", "minor"],
              "name": "Minor",
              "description": "Minor feature broken, workaround exists",
              "updateEvery": "2h",
              "page": false,
              "reviewWithin": "5d"
            },
            {
              "id": "sev4",
              "aliases": ["p3", "low"],
              "name": "Low",
              "description": "Cosmetic or non-urgent issue",
              "page": false
            }
          ],
          "people": {
            "alice": {
              "name": "Alice Adams",
              "console": "alice",
              "slack": "U0ALICE",
              "rocketchat": "alice",
              "mattermost": "alice",
              "timezone": "Europe/Berlin"
            },
            "bob": {
              "name": "Bob Brown",
              "console": "bob",
              "slack": "U0BOB",
              "rocketchat": "bob",
              "mattermost": "bob",
              "timezone": "Europe/Berlin"
            },
            "carol": {
              "name": "Carol Chen",
              "console": "carol",
              "slack": "U0CAROL",
              "rocketchat": "carol",
              "mattermost": "carol",
              "timezone": "Europe/London"
            },
            "dave": {
              "name": "Dave Diaz",
              "console": "dave",
              "slack": "U0DAVE",
              "rocketchat": "dave",
              "mattermost": "dave",
              "timezone": "America/New_York"
            }
          },
          "oncall": {
            "rotations": [
              {
                "id": "primary",
                "members": ["alice", "bob"],
                "period": "1w",
                "handoff": "monday 09:00",
                "timezone": "Europe/Berlin",
                "start": "2024-01-01"
              },
              {
                "id": "secondary",
                "members": ["carol", "dave"],
                "period": "1w",
                "handoff": "monday 09:00",
                "timezone": "Europe/Berlin",
                "start": "2024-01-01"
              }
            ],
            "escalation": [
              { "after": "0s", "notify": ["rotation:primary"] },
              { "after": "5m", "notify": ["rotation:secondary"] },
              { "after": "15m", "notify": ["person:carol"] }
            ],
            "repeatEscalation": 0
          },
          "templates": {},
          "outbox": {
            "retryFor": "24h"
          }
        }

        """#
}
