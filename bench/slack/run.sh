#!/usr/bin/env bash
# Load benchmark of Slack's inbound path (issue 3): signed `/incident declare` and `update` slash commands
# against POST /slack/commands of a release build, with the Web API pointed at the tests' fake Slack served by
# klaxon-fake-slack, so the outbox delivers to it while the load runs. Prints requests/s, latency
# percentiles (from each request's due time, open loop), the daemon's peak RSS and the fake's call counts.
#
#   bench/slack/run.sh                                  # 1,000 requests/s for 20 s over 32 connections
#   RATE=2000 DURATION=60 CONNECTIONS=64 bench/slack/run.sh
#
# Bounded: DURATION seconds at RATE, loopback only. KLAXON_PACKAGE_DIR: the package to build (default:
# this repository); KLAXON_SCRATCH_PATH: its build directory (default: SwiftPM's); KLAXON_BIN: an existing
# klaxon binary to run instead (to compare two builds with the same script). KEEP_LOG=file keeps the
# daemon log, KEEP_DB=dir the SQLite files. FAKE_SLACK_PACING: `slack` (default: Slack's rate limits, as a
# deployment meets them) or `none` (every call answered at once, as the figures in README.md were taken);
# KLAXON_FAKE_SLACK_BIN: an existing klaxon-fake-slack binary.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repository="$(cd "$here/../.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
RATE=${RATE:-1000}
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-32}
SEEDED=${SEEDED:-200}
MODE=${MODE:-channel}
MIX=${MIX:-commands}
FAKE_SLACK_PACING=${FAKE_SLACK_PACING:-slack}

source "$here/../lib.sh"
bin=$(release_binary klaxon "${KLAXON_BIN:-}")
fake_slack_bin=$(fake_slack_binary)

work=$(mktemp -d /tmp/klaxon-slack-bench.XXXXXX)
cleanup() {
  # KILL for the daemon: on an early exit it may be busy draining the outbox, which SIGTERM waits for.
  kill -KILL "${daemon:-0}" 2>/dev/null || true
  kill "${fake:-0}" 2>/dev/null || true
  wait 2>/dev/null || true
  [ -n "${KEEP_LOG:-}" ] && cp "$work/daemon.log" "$KEEP_LOG"
  [ -n "${KEEP_DB:-}" ] && mkdir -p "$KEEP_DB" && cp "$work"/klaxon.sqlite* "$KEEP_DB"/
  rm -rf "$work"
}
trap cleanup EXIT

fake_port=$(free_port)
port=$(free_port)
export SLACK_BOT_TOKEN="xoxb-bench"
start_fake_slack "$fake_slack_bin" "$fake_port" "$work/fake_slack.log" "$FAKE_SLACK_PACING"

secret="bench-signing-secret-$(date +%s)"
slack_bench_config "$repository/bot-config.json" "$work" "$fake_port" "$MODE" > "$work/bot-config.json"
SLACK_SIGNING_SECRET="$secret" KLAXON_STORE_STATS=${KLAXON_STORE_STATS:-} "$bin" serve --config "$work/bot-config.json" --port "$port" > "$work/daemon.log" 2>&1 &
daemon=$!
wait_healthy "http://127.0.0.1:$port" "$work/daemon.log"

echo "== machine: $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== load: ${RATE} requests/s for ${DURATION}s over ${CONNECTIONS} connections, declare:update = 1:3, ${MODE} mode, ${SEEDED} incidents seeded"
echo "== fake Slack: $(head -1 "$work/fake_slack.log")"
python3 "$here/load.py" --url "http://127.0.0.1:$port" --secret "$secret" --rate "$RATE" --duration "$DURATION" \
  --connections "$CONNECTIONS" --seeded "$SEEDED" --mix "$MIX" | tee "$work/load.txt"

rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$daemon/status")
echo "== daemon peak RSS: $((rss_kb / 1024)) MiB"
echo "== Web API calls the outbox made during the run (and 429s among them): $(curl -fsS "http://127.0.0.1:$fake_port/stats")"
# The daemon's own view: time from a request's head to its response (no client, no socket queues), from
# the klaxon_http_request_duration_seconds histogram; a percentile is reported as its bucket's upper bound.
curl -fsS "http://127.0.0.1:$port/metrics" | python3 -c '
import re, sys
buckets = [(float(le), int(n)) for le, n in re.findall(r"klaxon_http_request_duration_seconds_bucket\{route=\"/slack/commands\",le=\"([^\"]+)\"\} (\d+)", sys.stdin.read()) if le != "+Inf"]
buckets.sort()
total = max((n for _, n in buckets), default=0)
def upper(q):
    return next(("%g ms" % (le * 1000) for le, n in buckets if n >= q * total), "over %g ms" % (buckets[-1][0] * 1000))
print("== inside the daemon (%d requests): p50 <= %s, p99 <= %s" % (total, upper(0.5), upper(0.99)) if total else "== no request histogram")
'
echo "== outbox: $(curl -fsS "http://127.0.0.1:$port/metrics" | grep -E "^klaxon_outbox_(depth|delivered_total|failures_total)" | tr "\n" " ")"
stop_daemon "$daemon"
