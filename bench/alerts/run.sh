#!/usr/bin/env bash
# Alert storm benchmark (issue 13): a release Klaxon with one Alertmanager source (autoResolve) on the
# console platform (the in-process fake chat platform: its posts are rows in the SQLite file), and a load
# client sending ALERT_GROUPS groups × ALERTS alerts as fast as the daemon answers, in three phases (fire, repeat,
# resolve; see storm.py). Prints throughput and answer times per phase, incidents created (must equal
# GROUPS), chat posts made, and the daemon's peak RSS.
#
#   bench/alerts/run.sh                         # 2,000 groups × 100 alerts = 200,000 alerts, 32 connections
#   ALERT_GROUPS=500 ALERTS=20 CONNECTIONS=16 bench/alerts/run.sh
#
# Bounded by the counts, loopback only. KLAXON_BIN: an existing klaxon binary to run instead of building.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repository="$(cd "$here/../.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
GROUPS_COUNT=${ALERT_GROUPS:-2000}  # not GROUPS: bash reserves it
ALERTS=${ALERTS:-100}
CONNECTIONS=${CONNECTIONS:-32}

source "$here/../lib.sh"
bin=$(release_binary klaxon "${KLAXON_BIN:-}")

work=$(mktemp -d /tmp/klaxon-alerts-bench.XXXXXX)
cleanup() {
  kill -KILL "${daemon:-0}" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -n "${KEEP_LOG:-}" ] && cp "$work/daemon.log" "$KEEP_LOG"
  rm -rf "$work"
}
trap cleanup EXIT

port=$(free_port)
token="bench-alert-token-$(date +%s)"
python3 - "$repository/bot-config.json" "$work" > "$work/bot-config.json" <<'PY'
import json, sys
path, work = sys.argv[1:]
config = json.load(open(path))
config["storage"]["sqlite"]["path"] = work + "/klaxon.sqlite"
config["logging"]["level"] = "warning"
config["server"]["maxBodyBytes"] = 4 << 20
config["alerts"] = {"sources": [{
    "id": "storm", "kind": "alertmanager", "token": "${STORM_TOKEN}", "platform": "console",
    "severity": {"label": "severity", "map": {"critical": "sev2", "warning": "sev3"}, "default": "sev3"},
    "title": "{{commonLabels.alertname}}", "autoResolve": True}]}
print(json.dumps(config, indent=2))
PY
STORM_TOKEN="$token" "$bin" serve --config "$work/bot-config.json" --port "$port" > "$work/daemon.log" 2>&1 &
daemon=$!
wait_healthy "http://127.0.0.1:$port" "$work/daemon.log"

describe_machine "$work"
python3 "$here/storm.py" --url "http://127.0.0.1:$port" --token "$token" --groups "$GROUPS_COUNT" --alerts "$ALERTS" --connections "$CONNECTIONS"

rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$daemon/status")
# Let the outbox deliver what the storm queued, then count from the file (read-only, WAL-safe).
for _ in $(seq 1 600); do
  depth=$(curl -fsS "http://127.0.0.1:$port/metrics" | awk '/^klaxon_outbox_depth / {print $2}')
  [ "${depth%.*}" = "0" ] && break
  sleep 0.5
done
announce=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["platforms"]["console"]["announceChannel"])' "$work/bot-config.json")
python3 - "$work/klaxon.sqlite" "$GROUPS_COUNT" "$announce" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
groups = int(sys.argv[2])
announce = sys.argv[3]
incidents = db.execute("SELECT COUNT(*) FROM incidents").fetchone()[0]
resolved = db.execute("SELECT COUNT(*) FROM incidents WHERE status = 'resolved'").fetchone()[0]
posts = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
rooms = db.execute("SELECT COUNT(*) FROM console_messages WHERE kind = 'post'").fetchone()[0]
timeline = db.execute("SELECT COUNT(*) FROM timeline WHERE kind = 'alert'").fetchone()[0]
print("== incidents created: %d (groups: %d)%s; resolved: %d" % (incidents, groups, "" if incidents == groups else "  <-- MISMATCH", resolved))
print("== chat messages queued: %d (%.1f per incident); console posts delivered: %d; alert timeline lines: %d" % (posts, posts / max(incidents, 1), rooms, timeline))
# New-incident announcements queue per announce channel (outbox.queue); those a platform's pace held back
# go out merged into digests (outbox.digest_of). The console paces nothing, so here each goes alone.
announcements = db.execute("SELECT COUNT(*) FROM outbox WHERE queue IS NOT NULL").fetchone()[0]
merged = db.execute("SELECT COUNT(*) FROM outbox WHERE digest_of IS NOT NULL AND digest_of <> id").fetchone()[0]
digests = db.execute("SELECT COUNT(*) FROM outbox WHERE digest_of = id").fetchone()[0]
announce_posts = db.execute("SELECT COUNT(*) FROM console_messages WHERE channel = ?", (announce,)).fetchone()[0]
print("== announce channel #%s: %d posts; new-incident announcements: %d (%d merged into %d digests)" % (announce, announce_posts, announcements, merged, digests))
PY
echo "== daemon peak RSS: $((rss_kb / 1024)) MiB"
