# Sourced by the bench scripts.

# release_binary PRODUCT EXISTING [build flags...]: prints the path of a release build of PRODUCT. When
# EXISTING is set it is that path, unchanged (to compare two builds with the same script); otherwise the
# product is built from KLAXON_PACKAGE_DIR (default: this repository) into KLAXON_SCRATCH_PATH (default:
# SwiftPM's), with the build's last line on stderr.
release_binary() {
  local product="$1" existing="$2"
  shift 2
  if [ -n "$existing" ]; then
    echo "$existing"
    return
  fi
  local package="${KLAXON_PACKAGE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
  local build=(swift build -c release --package-path "$package" "$@")
  [ -n "${KLAXON_SCRATCH_PATH:-}" ] && build+=(--scratch-path "$KLAXON_SCRATCH_PATH")
  echo "== building $product (release) in $package" >&2
  "${build[@]}" --product "$product" 2>&1 | tail -1 >&2
  echo "$("${build[@]}" --show-bin-path)/$product"
}

# fake_slack_binary: the path of a release build of klaxon-fake-slack (the tests' fake Slack as a server), or
# KLAXON_FAKE_SLACK_BIN when set. Built from this repository even when KLAXON_PACKAGE_DIR names another
# package: the fake is the instrument, so two builds compared meet the same Slack.
fake_slack_binary() {
  local repository scratch=""
  repository="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  [ "${KLAXON_PACKAGE_DIR:-$repository}" = "$repository" ] && scratch="${KLAXON_SCRATCH_PATH:-}"
  KLAXON_PACKAGE_DIR="$repository" KLAXON_SCRATCH_PATH="$scratch" release_binary klaxon-fake-slack "${KLAXON_FAKE_SLACK_BIN:-}"
}

# start_fake_slack BIN PORT LOG PACING: serves the fake Slack Web API (BIN, from fake_slack_binary) on PORT in
# the background, its pid in `fake`, accepting the bot token in SLACK_BOT_TOKEN; waits up to 10 s for its
# GET /stats (calls per method, and the 429s its rate limits answered) to answer. PACING `slack`: Slack's
# tier limits and about one post a second per channel, 429 with Retry-After beyond them; `none`: every call
# answered at once.
start_fake_slack() {
  local bin=$1 port=$2 log=$3 pacing=$4 flags=()
  case $pacing in
    slack) ;;
    none) flags+=(--no-rate-limits) ;;
    *) echo "== FAKE_SLACK_PACING must be slack or none, not '$pacing'" >&2; return 1 ;;
  esac
  "$bin" --port "$port" "${flags[@]}" > "$log" 2>&1 &
  fake=$!
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/stats" 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$log" >&2
  echo "== no answer from the fake Slack on port $port" >&2
  return 1
}

# describe_machine DIR: what the figures were measured on (CPU, memory, load, and the disk under DIR).
describe_machine() {
  echo "machine: $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "disk:    $(df -hT "$1" | awk 'NR==2 {print $2 " on " $1}')"
  echo
}

# free_port: a TCP port on loopback that nothing listens on right now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_healthy URL [LOG]: waits up to 10 s for URL/healthz to answer; on failure prints LOG and returns 1.
wait_healthy() {
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$1/healthz" 2>/dev/null && return 0
    sleep 0.1
  done
  [ -n "${2:-}" ] && cat "$2" >&2
  echo "== no answer from $1/healthz" >&2
  return 1
}

# stop_daemon PID: SIGTERM, then SIGKILL after 5 s. A graceful stop drains the outbox first, which can take
# long after a load that outran it (or forever, if Slack is gone); the figures are taken by then.
stop_daemon() {
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$1" 2>/dev/null; then
    echo "== the daemon did not stop within 5 s of SIGTERM (outbox still draining); killing it"
    kill -KILL "$1"
  fi
  wait "$1" 2>/dev/null || true
}

# slack_bench_config SHIPPED WORK FAKE_PORT [MODE]: the shipped config (file SHIPPED) with Slack on, its Web
# API at the fake Slack (start_fake_slack) on FAKE_PORT, the store in WORK and logging at `warning` (log I/O would
# dominate). The secrets stay `${VAR}` references: SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN.
slack_bench_config() {
  python3 - "$@" <<'PY'
import json, sys
path, work, fake_port = sys.argv[1:4]
config = json.load(open(path))
config["storage"]["sqlite"]["path"] = work + "/klaxon.sqlite"
config["logging"]["level"] = "warning"
config["incidents"]["mode"] = sys.argv[4] if len(sys.argv) > 4 else "channel"
config["platforms"]["slack"] = {
    "signingSecret": "${SLACK_SIGNING_SECRET}", "botToken": "${SLACK_BOT_TOKEN}",
    "apiBaseURL": "http://127.0.0.1:%s/api" % fake_port, "announceChannel": "C0ANNOUNCE",
}
print(json.dumps(config, indent=2))
PY
}
