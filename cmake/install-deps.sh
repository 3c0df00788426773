#!/usr/bin/env bash
# Installs every Debian bookworm package that caf-stream's build, tests, examples and
# benchmarks need. Idempotent and non-interactive; run as root (or through sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libcaf-dev
  libboost-serialization-dev
  libspdlog-dev
  libsqlite3-dev
  libpqxx-dev libpq-dev postgresql
  librdkafka-dev
  libzmq3-dev cppzmq-dev
  libmosquitto-dev mosquitto
  libcurl4-openssl-dev nlohmann-json3-dev
  catch2
  clang-14 libclang-rt-14-dev
  gnuplot-nox
  valgrind
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
    || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
