#!/usr/bin/env bash
# The store under the command path, without HTTP or a load client on the same CPUs (see bench/README.md):
# `CommandService` commands against a fresh SQLite file from 1, 8 and 32 callers at once, then 32 with the
# outbox sender running. It is the `commands` phase of the SchedulerBench executable.
#
#   bench/store/run.sh [commands]             # 8,000 commands per round
#
# KLAXON_PACKAGE_DIR / KLAXON_SCRATCH_PATH: the package to build and its build directory;
# SCHEDULER_BENCH_BIN: an existing SchedulerBench binary to run instead. BENCH_DIR: where the database
# goes (default: a fresh directory under /tmp, removed afterwards).
set -euo pipefail

commands="${1:-8000}"
workdir="${BENCH_DIR:-$(mktemp -d /tmp/klaxon-store-bench.XXXXXX)}"
cleanup() { [ -z "${BENCH_DIR:-}" ] && rm -rf "$workdir"; }
trap cleanup EXIT

source "$(dirname "$0")/../lib.sh"
bench=$(release_binary SchedulerBench "${SCHEDULER_BENCH_BIN:-}")

describe_machine "$workdir"
"$bench" commands "$workdir/commands.sqlite" "$commands"
