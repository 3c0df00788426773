#!/usr/bin/env bash
# Sets up (installs the Debian packages), builds and runs the main example:
# network_word_count fed by its built-in line generator, for 10 seconds.
set -euo pipefail
cd "$(dirname "$0")"
bash cmake/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCAF_STREAM_BUILD_TESTS=OFF -DCAF_STREAM_BUILD_BENCH=OFF
cmake --build build -j2 --target network_word_count
./build/examples/network_word_count localhost 9999 --generate --seconds="${SECONDS_TO_RUN:-10}"
