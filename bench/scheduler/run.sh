#!/usr/bin/env bash
# The scheduler benchmark of issue 4 (see bench/README.md). Builds SchedulerBench in release mode and runs
# its phases on one SQLite file: seed 100,000 open incidents with live timers, then measure a restart,
# idle CPU, and firing lateness at the rate the outbox sustains.
#
#   bench/scheduler/run.sh [incidents] [lateness-timers] [rate]
#
# rate: reminders/s that the 25/50/90/100 % lateness phases are fractions of (default: the rate measured with
# all reminders due at once), to compare two builds at the same absolute rates.
# KLAXON_PACKAGE_DIR: the package to build (default: this repository); KLAXON_SCRATCH_PATH: its build
# directory (default: SwiftPM's); SCHEDULER_BENCH_BIN: an existing SchedulerBench binary to run instead.
# BENCH_DIR: where the database goes (default: a fresh directory under /tmp, removed afterwards).
set -euo pipefail

incidents="${1:-100000}"
timers="${2:-5000}"
rate="${3:-}"
workdir="${BENCH_DIR:-$(mktemp -d /tmp/klaxon-bench.XXXXXX)}"
cleanup() { [ -z "${BENCH_DIR:-}" ] && rm -rf "$workdir"; }
trap cleanup EXIT

source "$(dirname "$0")/../lib.sh"
bench=$(release_binary SchedulerBench "${SCHEDULER_BENCH_BIN:-}")

describe_machine "$workdir"

db="$workdir/bench.sqlite"
"$bench" seed "$db" "$incidents"
# The cost of a restart without any timers, to subtract from the one with 100,000 incidents.
"$bench" seed "$workdir/empty.sqlite" 0 >/dev/null
echo "(empty store)"; "$bench" resume "$workdir/empty.sqlite"
echo "($incidents incidents)"; "$bench" resume "$db"
"$bench" idle "$db" 10
"$bench" lateness "$db" "$timers" $rate
