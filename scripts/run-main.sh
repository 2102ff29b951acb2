#!/usr/bin/env bash
# The main job: install dependencies, build, run the demo (a small noisy circuit).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh release
build/release/cli/kraus demo "$@"
