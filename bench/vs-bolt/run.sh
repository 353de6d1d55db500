#!/usr/bin/env bash
# Klaxon against a minimal Slack Bolt for Python app (issue 11's benchmark): the same pre-signed `/incident`
# slash commands, the same load client (wrk, 2 threads, 32 connections), rounds alternating A B A B
# (Klaxon, Bolt, Klaxon, Bolt) so drift on this shared machine hits both sides. Per side and round it
# prints requests/s, p50/p99 latency, goodput/s (Klaxon: replies saying the command took effect; Bolt:
# HTTP 200 acks) and refused ("try again") replies; then one A B pair at 50 % of each side's saturated
# rate for the latency at half load.
#
#   bench/vs-bolt/run.sh                                # note, declare, mix; 10 s rounds (5–6 minutes)
#   ROUND_SECONDS=5 SCENARIOS="note" bench/vs-bolt/run.sh
#
# Scenarios: note   `note INC-1 …` from 32 connections on one incident (declared first)
#            declare `declare sev3 …`, every one a new incident
#            mix    one `declare` for every three `update INC-n …` of 200 incidents (declared first)
#
# Bounded (per scenario a WARMUP_SECONDS round per side, then 6 rounds of ROUND_SECONDS), loopback only;
# every process it starts is stopped on exit. KLAXON_BIN: an existing klaxon binary instead of a release
# build; KLAXON_PACKAGE_DIR / KLAXON_SCRATCH_PATH: the package to build and its build directory (lib.sh).
# Both sides' Web API is the tests' fake Slack (klaxon-fake-slack; KLAXON_FAKE_SLACK_BIN: an existing one),
# by default answering every call at once (FAKE_SLACK_PACING=none) as the sink of the recorded figures did;
# FAKE_SLACK_PACING=slack gives it Slack's rate limits.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repository="$(cd "$here/../.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"
ROUND_SECONDS=${ROUND_SECONDS:-10}
WARMUP_SECONDS=${WARMUP_SECONDS:-2}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
# Requests signed per second of a round: more than either side answers, so none is sent twice.
MAX_RATE=${MAX_RATE:-10000}
SCENARIOS=${SCENARIOS:-note declare mix}
SEEDED=200
FAKE_SLACK_PACING=${FAKE_SLACK_PACING:-none}

if ! command -v wrk >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
if ! python3 -c 'import slack_bolt, aiohttp' 2>/dev/null; then
  python3 -m pip install -q slack_bolt aiohttp
fi

source "$here/../lib.sh"
bin=$(release_binary klaxon "${KLAXON_BIN:-}")
fake_slack_bin=$(fake_slack_binary)

work=$(mktemp -d /tmp/klaxon-vs-bolt.XXXXXX)
cleanup() {
  for pid in ${klaxon:-} ${bolt:-} ${fake:-}; do
    kill -CONT "$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

secret="bench-signing-secret-$(date +%s)"
export SLACK_SIGNING_SECRET="$secret" SLACK_BOT_TOKEN="xoxb-bench"
fake_port=$(free_port)
# Its log: a paused or stopped Klaxon leaves it broken pipes to complain about.
start_fake_slack "$fake_slack_bin" "$fake_port" "$work/fake_slack.log" "$FAKE_SLACK_PACING"
bolt_port=$(free_port)
python3 "$here/bolt_app.py" "$bolt_port" "$fake_port" > "$work/bolt.log" 2>&1 &
bolt=$!
wait_healthy_bolt() {
  # Bolt has no health route; a GET of its path answers 405 once it listens.
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$bolt_port/slack/commands" && return 0
    sleep 0.1
  done
  cat "$work/bolt.log" >&2
  return 1
}
wait_healthy_bolt

describe_machine "$work"
echo "klaxon:  $bin"
echo "slack:   $(head -1 "$work/fake_slack.log")"
echo "bolt:    slack_bolt $(python3 -c 'import slack_bolt.version as v; print(v.__version__)'), aiohttp $(python3 -c 'import aiohttp; print(aiohttp.__version__)'), Python $(python3 -c 'import platform; print(platform.python_version())')"
echo "load:    wrk -t$THREADS -c$CONNECTIONS, ${ROUND_SECONDS}s rounds, A B A B saturated, then A B at 50 %"
echo

start_klaxon() {
  mkdir -p "$work/$1"
  slack_bench_config "$repository/bot-config.json" "$work/$1" "$fake_port" > "$work/$1/bot-config.json"
  klaxon_port=$(free_port)
  "$bin" serve --config "$work/$1/bot-config.json" --port "$klaxon_port" > "$work/$1/daemon.log" 2>&1 &
  klaxon=$!
  wait_healthy "http://127.0.0.1:$klaxon_port" "$work/$1/daemon.log"
}

# round SCENARIO SIDE KIND N [RATE]: one wrk run against SIDE with freshly signed requests; the side not
# under test is paused (SIGSTOP), so its background work (Klaxon's outbox) cannot take the other's CPU.
round() {
  local scenario=$1 side=$2 kind=$3 n=$4 rate=${5:-}
  local port=$klaxon_port other=$bolt this=$klaxon
  if [ "$side" = bolt ]; then port=$bolt_port other=$klaxon this=$bolt; fi
  local file="$work/requests-$scenario-$side-$n"
  # Enough requests for the round: MAX_RATE a second flat out, the rate and a margin when rate-limited.
  local count=$((ROUND_SECONDS * MAX_RATE))
  [ -n "$rate" ] && count=$((ROUND_SECONDS * rate * 5 / 4 + 1000))
  python3 "$here/sign.py" --secret "$secret" --scenario "$scenario" --round "$side$kind$n" \
    --count "$count" --incidents "$SEEDED" --out "$file"
  kill -STOP "$other"
  kill -CONT "$this"
  local load; load=$(cut -d' ' -f1 /proc/loadavg)
  local out
  out=$(SIDE=$side REQUESTS=$file THREADS=$THREADS RATE=$rate \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${ROUND_SECONDS}s" --timeout 10s -s "$here/slash.lua" \
    "http://127.0.0.1:$port/slack/commands")
  kill -CONT "$other"
  rm -f "$file"
  local result; result=$(grep '^RESULT' <<<"$out" | cut -d' ' -f2-)
  echo "$scenario $side $kind $n load=$load target=${rate:-max} $result" >> "$work/results"
  printf '%-8s %-6s %-9s round %s  load %-5s %s\n' "$scenario" "$side" "$kind" "$n" "$load" "$result"
  grep '^SAMPLE' <<<"$out" | cut -c1-300 | sed 's/^/         /' || true
}

saturated_rate() { # SCENARIO SIDE: mean requests/s of the side's saturated rounds
  awk -v s="$1" -v d="$2" '$1 == s && $2 == d && $3 == "saturated" {
    for (i = 4; i <= NF; i++) if ($i ~ /^rps=/) { sub("rps=", "", $i); sum += $i; n++ } }
    END { printf "%d", sum / n }' "$work/results"
}

for scenario in $SCENARIOS; do
  start_klaxon "$scenario"
  case $scenario in
    note) python3 "$here/sign.py" --secret "$secret" --seed 1 --url "http://127.0.0.1:$klaxon_port" ;;
    mix) python3 "$here/sign.py" --secret "$secret" --seed "$SEEDED" --url "http://127.0.0.1:$klaxon_port" ;;
  esac
  # Not reported: connections, Bolt's first auth.test, Klaxon's first statements.
  ROUND_SECONDS=$WARMUP_SECONDS round "$scenario" klaxon warmup 1 > /dev/null
  ROUND_SECONDS=$WARMUP_SECONDS round "$scenario" bolt warmup 1 > /dev/null
  for n in 1 2; do
    round "$scenario" klaxon saturated "$n"
    round "$scenario" bolt saturated "$n"
  done
  klaxon_half=$(( $(saturated_rate "$scenario" klaxon) / 2 ))
  bolt_half=$(( $(saturated_rate "$scenario" bolt) / 2 ))
  round "$scenario" klaxon half 1 "$klaxon_half"
  round "$scenario" bolt half 1 "$bolt_half"
  echo "         klaxon outbox: $(curl -fsS "http://127.0.0.1:$klaxon_port/metrics" | grep -E '^klaxon_outbox_(depth|delivered_total)' | tr '\n' ' ')"
  echo "         fake Slack so far: $(curl -fsS "http://127.0.0.1:$fake_port/stats")"
  stop_daemon "$klaxon" > /dev/null
  klaxon=
  echo
done

python3 "$here/summary.py" "$work/results"
