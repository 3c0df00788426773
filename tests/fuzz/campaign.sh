#!/usr/bin/env bash
# Runs every fuzz target for RUNS executions (default 10 million) on its seed
# corpus and what earlier runs found, then prints executions, crashes and
# time per target. Needs the test build (./run-tests.sh or cmake --build build).
#   tests/fuzz/campaign.sh [RUNS] [BUILD_DIR] [TARGET...]
# CAF_STREAM_FUZZ_FLAGS adds libFuzzer flags (e.g. -max_len=1024).
set -uo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-10000000}
build=${2:-build}
shift $(( $# > 2 ? 2 : $# ))
targets=${*:-line_splitter checkpoint config wal http flume flume_polling}
status=0
printf '%-15s %12s %8s %8s\n' target executions crashes seconds
for name in $targets; do
  fuzzer=$build/fuzz/tests/fuzz/${name}_fuzzer
  found=$build/tests/fuzz-corpus/$name
  mkdir -p "$found"
  log=$build/tests/fuzz-$name-campaign.log
  start=$SECONDS
  # shellcheck disable=SC2086 # the flags are words
  "$fuzzer" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    ${CAF_STREAM_FUZZ_FLAGS:-} \
    -artifact_prefix="$build/tests/fuzz-$name-" \
    "$found" "tests/fuzz/corpus/$name" > "$log" 2>&1
  rc=$?
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  crashes=0
  if [ $rc -ne 0 ]; then crashes=1; status=1; fi
  printf '%-15s %12s %8s %8s\n' "$name" "${executions:-?}" "$crashes" \
    "$((SECONDS - start))"
  [ $rc -eq 0 ] || echo "  $name failed (exit $rc): see $log"
done
exit $status
