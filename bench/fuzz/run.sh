#!/usr/bin/env bash
# Fuzzes every inbound decoder, the command parser and the config loader with libFuzzer (issue 12, item 1).
#
#   bash bench/fuzz/run.sh                 # 1,000,000 inputs per target (the benchmark figure)
#   bash bench/fuzz/run.sh --runs 10000    # CI's short run
#   bash bench/fuzz/run.sh --targets command,config --runs 200000
#
# Builds `klaxon-fuzz` with `-sanitize=fuzzer` into .build-fuzz (the normal build is left alone), then
# runs each target from the seeds in bench/fuzz/corpus/<target> (copied: the repository's corpus only
# changes by hand). An input that crashes or takes over 100 ms of CPU stops its target and is saved under
# the output directory; add it to bench/fuzz/corpus/<target>/ with the fix, and the test suite replays
# it from then on (Tests/EndToEndTests/FuzzCorpusTests.swift). Prints one line per target and exits 1 if
# any target found something.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"

runs=1000000
targets=""
out="${TMPDIR:-/tmp}/klaxon-fuzz-$$"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --targets) targets="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
[ -n "$targets" ] || targets="$(ls bench/fuzz/corpus | paste -sd, -)"

echo "== building klaxon-fuzz with libFuzzer (.build-fuzz)"
# lld: gold cannot link the instrumented objects. KLAXON_LIBFUZZER switches the entry point to libFuzzer's driver.
set +e
swift build -c release --scratch-path .build-fuzz --product klaxon-fuzz \
  -Xswiftc -sanitize=fuzzer -Xswiftc -DKLAXON_LIBFUZZER \
  -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld 2>&1 | grep --line-buffered -vE '^\[[0-9]+/[0-9]+\] |unhandled; explicitly declare|CMakeLists.txt$'
build_status=${PIPESTATUS[0]}
set -e
[ "$build_status" -eq 0 ] || { echo "the fuzzing build failed (exit $build_status)"; exit 1; }
bin=".build-fuzz/release/klaxon-fuzz"

mkdir -p "$out"
failed=0
printf '%-22s %12s %10s %12s %s\n' target inputs "inputs/s" "slowest" result
for target in ${targets//,/ }; do
  work="$out/$target"
  mkdir -p "$work/corpus" "$work/findings"
  cp bench/fuzz/corpus/"$target"/* "$work/corpus/"
  set +e
  # -timeout is libFuzzer's own hang guard; the 100 ms limit is enforced inside the binary (CPU time).
  # SWIFT_BACKTRACE off: libFuzzer's crash handler must see the signal and save the input.
  SWIFT_BACKTRACE=enable=no KLAXON_FUZZ_TARGET="$target" "$bin" \
    -runs="$runs" -max_len=16384 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/findings/" "$work/corpus" >"$work/log" 2>&1
  status=$?
  set -e
  executed=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" | grep -o '[0-9]*$' || echo 0)
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$work/log" | grep -o '[0-9]*$' || echo 0)
  slowest=$(grep -o 'stat::slowest_unit_time_sec: *[0-9]*' "$work/log" | grep -o '[0-9]*$' || echo "?")
  findings=$(ls "$work/findings" | wc -l)
  if [ "$status" -eq 0 ] && [ "$findings" -eq 0 ] && [ "${executed:-0}" -ge "$runs" ]; then
    result="ok, 0 crashes, 0 inputs over 100 ms"
  else
    result="FOUND (exit $status): $(ls "$work/findings" | head -3 | tr '\n' ' ') log: $work/log"
    grep -m3 -E 'Fatal error|ERROR: libFuzzer|SUMMARY' "$work/log" | sed 's/^/    /' || true
    failed=1
  fi
  printf "%-22s %12s %10s %12s %s\n" "$target" "$executed" "$speed" "${slowest}s" "$result"
done
exit $failed
