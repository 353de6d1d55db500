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

# KLAXON_BIN: an existing klaxon binary to run instead of building one (to compare two builds with the
# same script). KLAXON_PACKAGE_DIR / KLAXON_SCRATCH_PATH: the package to build and its build directory.
source "$(dirname "$0")/lib.sh"
# The same build as .ci/run and the Dockerfile.
bin=$(release_binary klaxon "${KLAXON_BIN:-}" --static-swift-stdlib)
echo "== machine: $(uname -srm), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

work=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
# The shipped config, with the store in the temp dir and logging quiet (log I/O would dominate).
sed -e "s#\"path\": \"data/klaxon.sqlite\"#\"path\": \"$work/klaxon.sqlite\"#" \
    -e 's#"level": "info"#"level": "warning"#' bot-config.json > "$work/bot-config.json"
# A free port chosen here: at `warning` the daemon does not log the "listening" line with its URL.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
"$bin" serve --config "$work/bot-config.json" --port "$port" > "$work/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "$url/healthz" 2>/dev/null && break
  sleep 0.1
done
curl -fsS -o /dev/null "$url/healthz" || { cat "$work/daemon.log"; exit 1; }

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
# A graceful stop drains the outbox first, which can take long after a load that outran it (or forever,
# if Slack is gone); the figures are taken already, so give it a few seconds and then stop it for good.
kill -TERM "$pid"
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
  echo "== the daemon did not stop within 5 s of SIGTERM (outbox still draining); killing it"
  kill -KILL "$pid"
fi
wait "$pid" 2>/dev/null || true
