#!/usr/bin/env bash
# Issue 16's benchmark (see bench/README.md): the command mix, the scheduler benchmark and failover, on
# PostgreSQL over loopback with one and three `klaxon serve` replicas, and the same on SQLite beside them.
# A throwaway PostgreSQL 15 is started for it the way .ci/run starts one (.ci/postgres.sh) and removed after.
#
#   bench/postgres/run.sh
#
#   DURATION (10)      seconds of wrk per command-mix round
#   CONNECTIONS (16)   wrk connections in all, split between the replicas
#   INCIDENTS (100000) open incidents seeded for the scheduler benchmark (two live timers each)
#   TIMERS (1000)      reminders per scheduler lateness phase (at most INCIDENTS / 5)
#   FAILOVER_INCIDENTS (30) SEV1 incidents reminding every second during the failover round
#   ROUNDS ("mix scheduler failover") which rounds to run, e.g. ROUNDS=mix for the command mix alone
# KLAXON_BIN / SCHEDULER_BENCH_BIN: existing binaries to run instead of release builds (say which in the
# figures: a debug build is several times slower). Needs wrk, curl, python3 (as bench/run.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-16}
INCIDENTS=${INCIDENTS:-100000}
TIMERS=${TIMERS:-1000}
FAILOVER_INCIDENTS=${FAILOVER_INCIDENTS:-30}
ROUNDS=${ROUNDS:-mix scheduler failover}
SEED_INCIDENTS=200
CADENCE=1

command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
source bench/lib.sh
source .ci/postgres.sh
bin=$(release_binary klaxon "${KLAXON_BIN:-}")
round() { [[ " $ROUNDS " == *" $1 "* ]]; }
bench=""
if round scheduler; then bench=$(release_binary SchedulerBench "${SCHEDULER_BENCH_BIN:-}"); fi

work=$(mktemp -d /tmp/klaxon-pg-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  postgres_stop
  rm -rf "$work"
}
trap cleanup EXIT
postgres_start
psql="$KLAXON_PG_BIN/psql"
describe_machine "$work"
echo "klaxon:  $bin"
echo

# new_database NAME: an empty database on the throwaway server; prints its URL.
new_database() {
  "$psql" "$KLAXON_TEST_POSTGRES_URL" -qc "CREATE DATABASE $1" >/dev/null
  echo "${KLAXON_TEST_POSTGRES_URL/\/klaxon_test\?/\/$1?}"
}

# write_config FILE STORE LEVEL [CADENCE]: the shipped config on STORE (`sqlite:PATH` or `postgres`, the
# URL then from $DATABASE_URL) with a 3 s lease, logging at LEVEL; with CADENCE, SEV1 reminds every
# CADENCE seconds and pages nobody (the failover round).
write_config() {
  python3 - "$@" <<'PY'
import json, sys
out, store, level = sys.argv[1:4]
config = json.load(open("bot-config.json"))
if store.startswith("sqlite:"):
    config["storage"] = {"sqlite": {"path": store[len("sqlite:"):]}, "leaseTime": "3s"}
else:
    config["storage"] = {"postgres": {"url": "${DATABASE_URL}", "poolSize": 8}, "leaseTime": "3s"}
config["logging"]["level"] = level
if len(sys.argv) > 4:
    config["incidents"]["overdueAfterCadences"] = 1000
    sev1 = config["severities"][0]
    sev1["updateEvery"] = sys.argv[4] + "s"
    sev1["page"] = False
    for key in ("ackWithin", "escalateAfter"):
        sev1.pop(key, None)
json.dump(config, open(out, "w"), indent=2)
PY
}

# start_replicas N CONFIG: N `klaxon serve` on CONFIG, each on a free port; sets `urls` and `replica_pids`.
start_replicas() {
  urls=()
  replica_pids=()
  for n in $(seq 1 "$1"); do
    local port
    port=$(free_port)
    KLAXON_REPLICA="replica-$n" "$bin" serve --config "$2" --port "$port" >"$work/replica-$n.log" 2>&1 &
    pids+=($!)
    replica_pids+=($!)
    urls+=("http://127.0.0.1:$port")
    wait_healthy "http://127.0.0.1:$port" "$work/replica-$n.log"
  done
}

stop_replicas() {
  for pid in "${replica_pids[@]}"; do stop_daemon "$pid" >/dev/null; done
}

# command_mix LABEL N CONFIG: N replicas, 200 seeded incidents, then wrk on each replica at once with
# CONNECTIONS / N connections (declare:update = 1:3, updates of the same 200 incidents from every replica).
command_mix() {
  local label="$1" replicas="$2"
  start_replicas "$replicas" "$3"
  for i in $(seq 1 "$SEED_INCIDENTS"); do
    curl -fsS -o /dev/null -X POST "${urls[$((i % replicas))]}/api/commands" -H 'Content-Type: application/json' \
      -d "{\"text\":\"declare sev3 Seed incident $i\",\"user\":\"alice\"}"
  done
  local each=$((CONNECTIONS / replicas)) wrks=() commits_before=""
  # PostgreSQL: the database's committed transactions (reads included) during the wrk run, per command.
  [[ "$label" == PostgreSQL* ]] && commits_before=$(xact_commits)
  for n in $(seq 0 $((replicas - 1))); do
    SEED_INCIDENTS=$SEED_INCIDENTS wrk -t1 -c"$each" -d"${DURATION}s" --latency -s bench/console-commands.lua "${urls[$n]}" >"$work/wrk-$n.txt" 2>&1 &
    wrks+=($!)
  done
  for pid in "${wrks[@]}"; do wait "$pid"; done
  # Throughput: the replicas' sum. p99: the worst replica's (wrk reports each client's own).
  python3 - "$label" "$work"/wrk-*.txt <<'PY'
import re, sys
label, files = sys.argv[1], sys.argv[2:]
rate, p50, p99, errors = 0.0, 0.0, 0.0, 0
def ms(text):
    value, unit = float(re.match(r"([\d.]+)", text).group(1)), re.search(r"(us|ms|s)$", text).group(1)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
for name in files:
    text = open(name).read()
    rate += float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    p50 = max(p50, ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1)))
    p99 = max(p99, ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)))
    found = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors += int(found.group(1)) if found else 0
print(f"  {label:<34} {rate:7.0f} commands/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   non-2xx {errors}")
PY
  local requests
  requests=$(cat "$work"/wrk-*.txt | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' | paste -sd+ | bc)
  rm -f "$work"/wrk-*.txt
  stop_replicas
  if [ -n "$commits_before" ]; then
    # Backends report their counts when they exit (stop_replicas closed them); the statistics collector
    # publishes them within a second.
    sleep 1
    local commits=$(($(xact_commits) - commits_before))
    echo "  $(printf '%-34s' "$label") $commits transactions committed for $requests commands: $(echo "scale=2; $commits / $requests" | bc) per command"
  fi
}

# xact_commits: transactions committed in $DATABASE_URL's database so far.
xact_commits() {
  "$psql" "$DATABASE_URL" -Atc "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
}

if round mix; then
echo "== command mix: wrk, $CONNECTIONS connections in all, ${DURATION} s, declare:update = 1:3 over $SEED_INCIDENTS incidents"
write_config "$work/sqlite.json" "sqlite:$work/mix.sqlite" warning
command_mix "SQLite, 1 process" 1 "$work/sqlite.json"
write_config "$work/postgres.json" postgres warning
export DATABASE_URL; DATABASE_URL=$(new_database mix1); command_mix "PostgreSQL, 1 replica" 1 "$work/postgres.json"
export DATABASE_URL; DATABASE_URL=$(new_database mix3); command_mix "PostgreSQL, 3 replicas" 3 "$work/postgres.json"
echo
fi

if round scheduler; then
echo "== scheduler: $INCIDENTS open incidents (two live timers each), then $TIMERS reminders per lateness phase, one process"
echo "-- SQLite"
"$bench" seed "$work/timers.sqlite" "$INCIDENTS"
"$bench" lateness "$work/timers.sqlite" "$TIMERS"
echo "-- PostgreSQL"
timers_db=$(new_database timers)
"$bench" seed "$timers_db" "$INCIDENTS"
"$bench" lateness "$timers_db" "$TIMERS"
echo
fi

# failover LABEL N CONFIG STORE: N replicas, FAILOVER_INCIDENTS SEV1 incidents reminding every second,
# the busiest replica (most timers fired; the only one on SQLite) killed with SIGKILL after 6 s. On
# SQLite a new process is started at once, as a supervisor would; on PostgreSQL the others take over.
failover() {
  local label="$1" replicas="$2" config="$3" store="$4"
  start_replicas "$replicas" "$config"
  for i in $(seq 1 "$FAILOVER_INCIDENTS"); do
    curl -fsS -o /dev/null -X POST "${urls[$((i % replicas))]}/api/commands" -H 'Content-Type: application/json' \
      -d "{\"text\":\"declare sev1 Failover incident $i\",\"user\":\"alice\"}"
  done
  sleep 6
  local victim=0
  if [ "$replicas" -gt 1 ]; then
    local owner
    owner=$("$psql" "$DATABASE_URL" -At -c "SELECT lease_owner FROM timers WHERE state = 'done' AND lease_owner IS NOT NULL GROUP BY lease_owner ORDER BY COUNT(*) DESC LIMIT 1")
    victim=$(grep -l "owner=$owner" "$work"/replica-*.log | head -1 | sed 's/.*replica-\([0-9]*\)\.log/\1/')
    victim=$((victim - 1))
  fi
  local killed_at
  killed_at=$(date +%s%3N)
  kill -KILL "${replica_pids[$victim]}"
  wait "${replica_pids[$victim]}" 2>/dev/null || true
  if [ "$replicas" -eq 1 ]; then
    # The supervisor's restart: same file, same port.
    local port="${urls[0]##*:}"
    "$bin" serve --config "$config" --port "$port" >"$work/replica-restarted.log" 2>&1 &
    pids+=($!)
    replica_pids=($!)
  else
    unset 'replica_pids[victim]'
  fi
  sleep 8
  stop_replicas
  if [ "$store" = postgres ]; then
    python3 bench/postgres/failover.py postgres "$DATABASE_URL" "$killed_at" "$CADENCE" "$psql" | sed "s/^/  $label: /"
  else
    python3 bench/postgres/failover.py sqlite "$work/failover.sqlite" "$killed_at" "$CADENCE" | sed "s/^/  $label: /"
  fi
}

if round failover; then
echo "== failover: $FAILOVER_INCIDENTS SEV1 incidents reminding every ${CADENCE} s, lease 3 s, the busiest process killed (SIGKILL) after 6 s"
write_config "$work/failover-sqlite.json" "sqlite:$work/failover.sqlite" info "$CADENCE"
failover "SQLite, 1 process + restart" 1 "$work/failover-sqlite.json" sqlite
write_config "$work/failover-postgres.json" postgres info "$CADENCE"
export DATABASE_URL; DATABASE_URL=$(new_database failover3); failover "PostgreSQL, 3 replicas" 3 "$work/failover-postgres.json" postgres
echo
fi
echo "== load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
