#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, AddressSanitizer and UndefinedBehaviorSanitizer in
# build/fuzz and runs each for a bounded time on a seed corpus made of the repository's own test
# programs and noise models. A finding (crash, sanitizer report, uncaught exception, time-out, memory
# limit) fails the run and leaves its reproducer in build/fuzz/findings/.
#   scripts/fuzz.sh [SECONDS]          (default 60 per target)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
CC=clang CXX=clang++ CXXFLAGS=-march=native cmake -S . -B build/fuzz -DKRAUS_FUZZ=ON -DKRAUS_OPENMP=OFF -DKRAUS_MPI=OFF -DKRAUS_BUILD_TESTS=OFF -DKRAUS_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/fuzz --target fuzz_qasm2 fuzz_noise_model -j "$(nproc)"
findings=build/fuzz/findings
mkdir -p "$findings"
fuzz() {  # fuzz TARGET DICT SEED_FILES...
  local target=$1 dict=$2
  shift 2
  local corpus seeds
  corpus=$(mktemp -d) seeds=$(mktemp -d)
  local f
  for f in "$@"; do cp "$f" "$seeds/${f//\//_}"; done
  echo "fuzz: $target for ${seconds} s on $(ls "$seeds" | wc -l) seed files" >&2
  # -timeout: one input may take at most 10 s (the readers' documented bounds keep every input far
  # below that, under the sanitizers too); -rss_limit_mb: 2 GiB per process.
  if ! "build/fuzz/fuzz/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -dict="$dict" \
      -print_final_stats=1 -artifact_prefix="$findings/$target-" "$corpus" "$seeds" 2>"build/fuzz/$target.log"; then
    tail -60 "build/fuzz/$target.log" >&2
    echo "fuzz: $target found a failing input (build/fuzz/findings/, log build/fuzz/$target.log)" >&2
    rm -rf "$corpus" "$seeds"
    return 1
  fi
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "build/fuzz/$target.log" | sed "s/^/fuzz: $target /" >&2
  rm -rf "$corpus" "$seeds"
}
status=0
fuzz fuzz_qasm2 fuzz/qasm2.dict $(git ls-files 'tests/data/*.qasm') || status=1
fuzz fuzz_noise_model fuzz/noise_model.dict $(git ls-files 'tests/data/*.json' 'experiments/noise_models/*.json') || status=1
exit $status
