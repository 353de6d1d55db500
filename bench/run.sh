#!/usr/bin/env bash
# Load benchmark of the local command path: signed-free console commands (`declare` and `update`) over
# HTTP against a release build, with wrk (Debian's package). Prints requests/s, latency percentiles and
# the daemon's peak RSS. Bounded: DURATION seconds, CONNECTIONS connections, loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
SEED_INCIDENTS=${SEED_INCIDENTS:-200}

if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi

echo "== building release"
swift build -c release --static-swift-stdlib --product klaxon 2>&1 | tail -1   # the same build as .ci/run and the Dockerfile
bin="$(swift build -c release --show-bin-path)/klaxon"

work=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
# The shipped config, with the store in the temp dir and logging quiet (log I/O would dominate).
sed -e "s#\"path\": \"data/klaxon.sqlite\"#\"path\": \"$work/klaxon.sqlite\"#" \
    -e 's#"level": "info"#"level": "warning"#' bot-config.json > "$work/bot-config.json"
"$bin" serve --config "$work/bot-config.json" --port 0 > "$work/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  url=$(grep -o 'http://[0-9.]*:[0-9]*' "$work/daemon.log" | head -1 || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "${url:-}" ] || { cat "$work/daemon.log"; exit 1; }

echo "== seeding $SEED_INCIDENTS incidents"
for i in $(seq 1 "$SEED_INCIDENTS"); do
  curl -fsS -o /dev/null -X POST "$url/api/commands" -H 'Content-Type: application/json' \
    -d "{\"text\":\"declare sev3 Seed incident $i\",\"user\":\"alice\"}"
done

echo "== wrk: ${THREADS} threads, ${CONNECTIONS} connections, ${DURATION}s, declare:update = 1:3"
SEED_INCIDENTS=$SEED_INCIDENTS wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
  -s bench/console-commands.lua "$url" | tee "$work/wrk.txt"

rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
echo "== daemon peak RSS: $((rss_kb / 1024)) MiB"
echo "== outbox after the run: $(curl -fsS "$url/metrics" | grep '^klaxon_outbox_depth' || true)"
kill -TERM "$pid"
wait "$pid" || true
