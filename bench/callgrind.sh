#!/usr/bin/env bash
# Instructions per record of a workload's pipeline (WordCount unless told)
# and of its hand-written loop under callgrind: noise-free figures to track regressions (wall-clock
# figures on shared machines are not). Only the batches are counted: the
# harness switches callgrind's instrumentation on after the input is built
# (and the context started) and off before it stops. The instructions of
# every thread are counted, so the pipeline's figure includes its scheduling.
#
#   bench/callgrind.sh [BUILD_DIR] [--workload=word_count] [--lines=N]
#                      [--batches=B]
set -euo pipefail
build=${1:-build}
shift || true
workload=word_count
args=()
for a in "$@"; do
  case $a in
    --workload=*) workload=${a#--workload=} ;;
    *) args+=("$a") ;;
  esac
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Prints "<instructions> <records>" for one harness run under callgrind.
count() {
  local name=$1
  shift
  valgrind --tool=callgrind --instr-atstart=no \
    --callgrind-out-file="$out/$name.callgrind" \
    "$build/bench/harness" --callgrind --callgrind-workload="$workload" \
      --lines=20000 --batches=5 "$@" \
    > "$out/$name.out" 2> "$out/$name.err" || {
      cat "$out/$name.err" >&2
      exit 1
    }
  local records instructions
  records=$(awk '/^records/ { print $2 }' "$out/$name.out")
  instructions=$(awk '/^totals:/ { s += $2 } END { print s + 0 }' \
                 "$out/$name.callgrind"*)
  if [ -z "$records" ] || [ "$instructions" = 0 ]; then
    echo "callgrind.sh: no instructions counted for $name (was the" \
         "harness built with valgrind/callgrind.h?)" >&2
    exit 1
  fi
  echo "$instructions $records"
}

engine_result=$(count engine "${args[@]}")
baseline_result=$(count baseline --baseline "${args[@]}")
read -r engine records <<< "$engine_result"
read -r baseline _ <<< "$baseline_result"
awk -v w="$workload" -v e="$engine" -v b="$baseline" -v r="$records" 'BEGIN {
  printf "%s under callgrind, %d records:\n", w, r
  printf "  pipeline          %12.0f instructions, %6.0f per record\n", e, e / r
  printf "  hand-written loop %12.0f instructions, %6.0f per record\n", b, b / r
  printf "  ratio (pipeline / loop): %.2f\n", e / b
  printf "{\"workload\":\"%s\",\"records\":%d,\"pipeline_instructions\":%.0f,\"baseline_instructions\":%.0f,\"pipeline_per_record\":%.1f,\"baseline_per_record\":%.1f,\"ratio\":%.3f}\n", w, r, e, b, e / r, b / r, e / b
}'
