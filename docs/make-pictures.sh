#!/usr/bin/env bash
# Makes the README's pictures again, from a build (./run-tests.sh or
# cmake --build build): the streaming UI of network_word_count --generate in
# headless Chromium, the backpressure plot (~2 min) and the harness's
# throughput and latency plots (~20 min; skip them with --no-harness).
#   docs/make-pictures.sh [BUILD_DIR] [--no-harness]
set -euo pipefail
cd "$(dirname "$0")/.."
build=build
harness=1
for arg in "$@"; do
  case "$arg" in
    --no-harness) harness=0 ;;
    *) build=$arg ;;
  esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The UI after 30 batches of network_word_count --generate.
port=4040
while (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
"$build/examples/network_word_count" 127.0.0.1 9999 --generate --seconds=45 \
  --stream.ui.port=$port > "$work/example.log" 2>&1 &
example=$!
sleep 32
chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
  --no-first-run --user-data-dir="$work/profile" --window-size=1280,1500 \
  --virtual-time-budget=3000 --screenshot="$PWD/docs/ui.png" \
  "http://127.0.0.1:$port/" 2> "$work/chromium.log"
kill "$example" 2> /dev/null || true
wait "$example" 2> /dev/null || true

"$build/bench/backpressure_bench" --out="$work/backpressure" > /dev/null
cp "$work/backpressure/backpressure.png" docs/backpressure.png

if [ "$harness" = 1 ]; then
  "$build/bench/harness" --out="$work/harness" > /dev/null
  cp "$work/harness/throughput.png" "$work/harness/latency.png" docs/
fi
ls -l docs/*.png
