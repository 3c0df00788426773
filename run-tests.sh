#!/usr/bin/env bash
# Sets up (installs the Debian packages), builds and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")"
bash cmake/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j2
cd build && ctest --output-on-failure -j2 --timeout 600
