#!/usr/bin/env bash
# Idle memory of a freshly started daemon (issue 11): `klaxon serve` of a release build on the shipped
# bot-config.json (copied into a fresh directory, so its store `data/klaxon.sqlite` is new), left idle for
# IDLE seconds; then prints VmRSS and its parts from /proc/PID/status, the thread count and names, and
# the mappings that hold most of the resident memory.
#
#   bench/memory/run.sh              # IDLE=5
#   KLAXON_BIN=/path/to/klaxon bench/memory/run.sh
#   FLOOR=1 bench/memory/run.sh      # the same measures of bench/memory/floor: a Hummingbird server that
#                                    # only answers /healthz (same toolchain, same Hummingbird), the floor
#                                    # under any daemon built on this stack
#
# Bounded (a few seconds), loopback only, the daemon is stopped on exit. KLAXON_PACKAGE_DIR /
# KLAXON_SCRATCH_PATH: the package to build and its build directory (bench/lib.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repository="$(cd "$here/../.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
IDLE=${IDLE:-5}

source "$here/../lib.sh"
if [ -n "${FLOOR:-}" ]; then
  bin=$(KLAXON_PACKAGE_DIR="$here/floor" KLAXON_SCRATCH_PATH="" release_binary floor "")
else
  bin=$(release_binary klaxon "${KLAXON_BIN:-}")
fi

work=$(mktemp -d /tmp/klaxon-memory.XXXXXX)
cleanup() {
  kill -KILL "${daemon:-0}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cp "$repository/bot-config.json" "$work/"
port=$(free_port)
(cd "$work" && exec "$bin" serve --port "$port" > "$work/daemon.log" 2>&1) &
daemon=$!
wait_healthy "http://127.0.0.1:$port" "$work/daemon.log"
sleep "$IDLE"

describe_machine "$work"
echo "binary:  $bin"
status=/proc/$daemon/status
field() { awk -v f="$1:" '$1 == f {print $2}' "$status"; }
kib() { awk -v k="$1" 'BEGIN { printf "%6.1f MiB", k / 1024 }'; }
echo "idle ${IDLE}s after /healthz answered:"
echo "  VmRSS     $(kib "$(field VmRSS)")   (anonymous $(kib "$(field RssAnon)"), file-backed $(kib "$(field RssFile)"), shared memory $(kib "$(field RssShmem)"))"
echo "  VmHWM     $(kib "$(field VmHWM)")"
rollup() { awk -v f="$1:" '$1 == f {print $2}' "/proc/$daemon/smaps_rollup"; }
echo "  by owner  private dirty $(kib "$(rollup Private_Dirty)") (only this process's: heap, stacks, relocated data), private clean $(kib "$(rollup Private_Clean)"), shared clean $(kib "$(rollup Shared_Clean)"); PSS $(kib "$(rollup Pss)")"
[ ! -d "$work/data" ] || echo "  store     $(du -sk "$work/data" | cut -f1) KiB on disk in data/ (SQLite's page cache holds at most this much of it)"
echo "  threads   $(ls "/proc/$daemon/task" | wc -l): $(cat /proc/"$daemon"/task/*/comm | sort | uniq -c | awk '{printf "%s%s×%s", sep, $2, $1; sep=", "}')"
echo "  largest resident mappings (KiB):"
awk '
  /^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anonymous]" }
  /^Rss:/ { rss[name] += $2 }
  END { for (n in rss) if (rss[n] >= 512) printf "    %8d  %s\n", rss[n], n }
' "/proc/$daemon/smaps" | sort -rn | head -12
stop_daemon "$daemon" > /dev/null
