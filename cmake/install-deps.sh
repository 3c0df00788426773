#!/usr/bin/env bash
# Installs every Debian bookworm package that caf-stream's build, tests, examples and
# benchmarks need. Idempotent and non-interactive; run as root (or through sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libcaf-dev libssl-dev openssl
  libboost-serialization-dev
  libspdlog-dev
  libsqlite3-dev
  libpqxx-dev libpq-dev postgresql
  librdkafka-dev
  libzmq3-dev cppzmq-dev
  libmosquitto-dev mosquitto
  libcurl4-openssl-dev nlohmann-json3-dev
  zlib1g-dev
  libcpp-httplib-dev libjs-chart.js chromium
  catch2
  clang-14 libclang-rt-14-dev
  gnuplot-nox
  valgrind
)

# The Flume tests' peer runs on Node (20 where the machines have it; Debian's
# nodejs 18 otherwise) with npm to install it.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
    || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
else
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The Flume tests' AvroSink stand-in: avsc 5.7.9 from npm, pinned by the
# lock file, into tests/flume/peer/node_modules (as the calling user).
peer="$(cd "$(dirname "$0")/.." && pwd)/tests/flume/peer"
if grep -qs '"version": "5.7.9"' "$peer/node_modules/avsc/package.json"; then
  echo "install-deps: avsc 5.7.9 already installed"
else
  echo "install-deps: installing avsc 5.7.9 into $peer/node_modules"
  (cd "$peer" && npm ci --no-audit --no-fund --loglevel=error)
fi
