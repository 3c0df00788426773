#!/usr/bin/env bash
# Sets up (installs the Debian packages), builds and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")"
bash cmake/install-deps.sh
# Tests and benches on, also after ./run-example.sh turned them off here.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCAF_STREAM_BUILD_TESTS=ON -DCAF_STREAM_BUILD_BENCH=ON
cmake --build build -j2
cd build && ctest --output-on-failure -j2 --timeout 600
