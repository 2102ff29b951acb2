#!/usr/bin/env bash
# Configures and builds kraus in build/<name> (default: release). Extra arguments go to CMake.
#   scripts/build.sh                      # Release, tests and benchmarks
#   scripts/build.sh asan -DKRAUS_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-release}
shift || true
cmake -S . -B "build/$name" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "build/$name" -j "$(nproc)"
