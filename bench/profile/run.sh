#!/usr/bin/env bash
# Cost per command of the Slack slash-command path (issue 11's "profile the declare and note paths"), in
# measures that do not depend on what else the machine runs: allocations (calls of glibc's malloc, through
# which every Swift allocation goes), context switches (thread hops), system calls, fsyncs, and CPU time
# (the one measure a loaded machine still moves a little). A release `klaxon serve` on the shipped config
# with Slack on and its Web API at the tests' fake Slack (klaxon-fake-slack, answering every call at once
# unless FAKE_SLACK_PACING=slack), a fresh SQLite file, logging at `warning`;
# `send.py` sends N signed commands over C keep-alive connections and checks that every reply says the
# command took effect.
#
#   idle      IDLE seconds with no request: the background's rates, subtracted from each pass below
#   note      N `note INC-1 …` (one incident)
#   declare   N `declare sev3 …` (each a new incident: channel, announcement, status card via the outbox)
#
# For each kind three passes of N commands: counters (`perf stat` of software events and syscall
# tracepoints), allocations (a uprobe on malloc; apart, because a uprobe hit costs CPU), and a sampled
# call-graph profile (`perf record -g`, cpu-clock) whose top functions, by inclusive and by self share, are
# printed (report.py names them).
# Hardware counters (`instructions`) are used when the machine has them; this VM does not, and valgrind
# 3.19 crashes in libdispatch, so CPU time stands in for instructions.
#
#   bench/profile/run.sh                         # N=2000, C=4, IDLE=5
#   N=5000 C=32 KLAXON_BIN=/path/to/klaxon bench/profile/run.sh
#   KEEP=/tmp/profile bench/profile/run.sh       # keep perf.data and the binary it ran (see report.py)
#
# Needs root for the uprobe (it is removed on exit). Bounded (about a minute), loopback only; every process
# it starts is stopped on exit. KLAXON_PACKAGE_DIR / KLAXON_SCRATCH_PATH / KLAXON_FAKE_SLACK_BIN: see
# bench/lib.sh.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repository="$(cd "$here/../.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
N=${N:-2000}
C=${C:-4}
IDLE=${IDLE:-5}
TOP=${TOP:-30}
# Every call answered at once: a pass counts the outbox work its commands cause, as the recorded figures did;
# Slack's limits would defer most of a declaration's calls past the pass.
FAKE_SLACK_PACING=${FAKE_SLACK_PACING:-none}

if ! command -v perf >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf
fi

source "$here/../lib.sh"
bin=$(release_binary klaxon "${KLAXON_BIN:-}")
fake_slack_bin=$(fake_slack_binary)

work=${KEEP:-$(mktemp -d /tmp/klaxon-profile.XXXXXX)}
mkdir -p "$work"
libc=$(ldconfig -p | awk '/libc\.so\.6 .*x86-64/ { print $NF; exit }')
probe=
cleanup() {
  for pid in ${klaxon:-} ${fake:-}; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "$probe" ] && perf probe -q -d "$probe" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

secret="profile-signing-secret-$(date +%s)"
export SLACK_SIGNING_SECRET="$secret" SLACK_BOT_TOKEN="xoxb-profile"
fake_port=$(free_port)
start_fake_slack "$fake_slack_bin" "$fake_port" "$work/fake_slack.log" "$FAKE_SLACK_PACING"
slack_bench_config "$repository/bot-config.json" "$work" "$fake_port" > "$work/bot-config.json"
port=$(free_port)
url="http://127.0.0.1:$port"
# perf 6.1 (Debian 12) cannot name functions from the DWARF 5 the Swift toolchain writes; a copy without
# debug information keeps the symbol table, which is all it needs.
strip --strip-debug -o "$work/klaxon" "$bin"
"$work/klaxon" serve --config "$work/bot-config.json" --port "$port" > "$work/daemon.log" 2>&1 &
klaxon=$!
wait_healthy "$url" "$work/daemon.log"
python3 "$here/../vs-bolt/sign.py" --secret "$secret" --seed 1 --url "$url"

describe_machine "$work"
echo "klaxon:  $bin"
echo "N=$N commands per pass over C=$C connections; idle baseline ${IDLE}s"
echo

# send KIND TAG [COUNT]: the client's command line (perf runs it, so it is a program, not a function).
send() { echo python3 "$here/send.py" --url "$url" --secret "$secret" --kind "$1" --count "${3:-$N}" --connections "$C" --tag "$2"; }
# Not counted: the first statements, connections, caches. Declarations leave outbox work behind (posts the
# sender delivers for seconds afterwards), so they come last and the idle baseline before them.
$(send note warm 200)

events=task-clock,context-switches,cpu-migrations,page-faults,raw_syscalls:sys_enter,syscalls:sys_enter_futex,syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync
if perf stat -e instructions:u -x, -- true 2>&1 | grep -q '^[0-9]'; then events="instructions:u,$events"; fi
if perf probe -l 2>/dev/null | grep -q 'probe_libc:malloc '; then
  probe=probe_libc:malloc
elif perf probe -q -x "$libc" malloc 2>/dev/null; then
  probe=probe_libc:malloc
fi

# stat NAME EVENTS COMMAND...: counts EVENTS of the daemon while COMMAND runs; seconds in NAME.seconds.
stat() {
  local name=$1 events=$2
  shift 2
  local start end before
  before=$(delivered)
  start=$(date +%s.%N)
  perf stat -p "$klaxon" -e "$events" -x, -o "$work/$name.stat" -- "$@"
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }' > "$work/$name.seconds"
  echo $(($(delivered) - before)) > "$work/$name.delivered"
}
# Outbox messages delivered so far: a declaration's posts go out while later ones are sent, so a pass counts
# some of that work too, as much as the sender got through meanwhile.
delivered() { curl -fsS "$url/metrics" | awk '$1 ~ /^klaxon_outbox_delivered_total/ { sum += $NF } END { printf "%d", sum }'; }
stat idle "$events${probe:+,$probe}" sleep "$IDLE"
for kind in note declare; do
  [ "$kind" = declare ] && $(send declare warm 100)
  stat "$kind" "$events" $(send "$kind" counted)
  [ -n "$probe" ] && stat "$kind-malloc" "$probe" $(send "$kind" malloc)
  perf record -q -F 499 -g -e cpu-clock -p "$klaxon" -o "$work/$kind.perf.data" -- $(send "$kind" profiled) 2> /dev/null
done

# The table: per command, (count during the pass − idle rate × pass seconds) / N.
python3 - "$work" "$N" "${probe:-}" <<'PY'
import sys
work, n, probe = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def read(name):
    counts = {}
    for line in open("%s/%s.stat" % (work, name)):
        fields = line.strip().split(",")
        if len(fields) > 2 and not line.startswith("#"):
            try:
                counts[fields[2]] = float(fields[0])
            except ValueError:
                pass
    return counts, float(open("%s/%s.seconds" % (work, name)).read())

idle, idle_seconds = read("idle")
labels = [("instructions:u", "instructions", 1), ("task-clock", "CPU µs", 1000),
          ("probe_libc:malloc", "mallocs", 1), ("context-switches", "context switches", 1),
          ("cpu-migrations", "CPU migrations", 1), ("raw_syscalls:sys_enter", "system calls", 1),
          ("syscalls:sys_enter_futex", "futex calls", 1), ("syscalls:sys_enter_fsync", "fsync", 1),
          ("syscalls:sys_enter_fdatasync", "fdatasync", 1), ("page-faults", "page faults", 1)]
print("per command (idle background subtracted; idle rates per second in the last column):")
print("%-18s %12s %12s %12s" % ("", "note", "declare", "idle /s"))
rows = {}
for kind in ("note", "declare"):
    counts, seconds = read(kind)
    if probe:
        malloc, malloc_seconds = read(kind + "-malloc")
        counts[probe] = malloc[probe]
        # The malloc pass has its own duration.
        counts["_malloc_seconds"] = malloc_seconds
    rows[kind] = (counts, seconds)
for event, label, scale in labels:
    if event not in idle and event not in rows["note"][0]:
        continue
    cells = []
    for kind in ("note", "declare"):
        counts, seconds = rows[kind]
        if event not in counts:
            cells.append("-")
            continue
        if event == probe:
            seconds = counts["_malloc_seconds"]
        rate = idle.get(event, 0) / idle_seconds
        per = (counts[event] - rate * seconds) / n
        # task-clock is in milliseconds.
        cells.append("%.1f" % (per * scale) if scale != 1 or per < 100 else "%.0f" % per)
    rate = idle.get(event, 0) / idle_seconds * (scale if scale != 1 else 1)
    cells.append("%.1f" % rate)
    print("%-18s %12s %12s %12s" % (label, *cells))
for kind in ("note", "declare"):
    counts, seconds = rows[kind]
    delivered = int(open("%s/%s.delivered" % (work, kind)).read())
    print("%s pass: %d commands in %.2f s; outbox messages delivered meanwhile: %d" % (kind, n, seconds, delivered))
PY
echo "fake Slack calls (and 429s): $(curl -fsS "http://127.0.0.1:$fake_port/stats")"
echo
for kind in note declare; do
  echo "== $kind: the daemon's CPU samples (perf record -g, 499 Hz) by function"
  perf script -i "$work/$kind.perf.data" -F ip,sym,dso 2> /dev/null | python3 "$here/report.py" "$work/klaxon" "$TOP"
done
