#!/usr/bin/env bash
# The main job: install dependencies, build, run every study in --quick mode over the shipped noise
# models, draw each study's figure and write results/REPORT.md (figures with a short table each).
#   scripts/run-main.sh [--fresh] [--out DIR]
# Runs resume: an interrupted main job started again skips the grid points already measured (each
# study's CSV and .progress in DIR/<study>/). --fresh discards earlier results instead (needed when
# a study's options changed since the results were written: the study refuses to mix them).
# About 2-4 minutes on 2 cores after the build (3 min 24 s measured on a 2-core Sapphire Rapids
# KVM guest), longer on a busy machine.
set -euo pipefail
cd "$(dirname "$0")/.."
fresh=()
out=results
while [ $# -gt 0 ]; do
  case $1 in
    --fresh) fresh=(--fresh) ;;
    --out) out=$2; shift ;;
    *) echo "run-main: unknown argument '$1' (usage: scripts/run-main.sh [--fresh] [--out DIR])" >&2; exit 2 ;;
  esac
  shift
done
bash scripts/install-deps.sh
bash scripts/build.sh release
bin=build/release/experiments
models=experiments/noise_models  # all five shipped models: ideal, depolarizing, amplitude_damping, readout_only, device_like
python=/usr/bin/python3           # Debian's, with matplotlib
mkdir -p "$out"

study() {  # study NAME ARGS...: runs exp_NAME, then plots/plot_NAME.py on its CSV
  local name=$1
  shift
  echo "run-main: exp_$name $*" >&2
  "$bin/exp_$name" --quick "${fresh[@]}" --out "$out/$name" "$@"
  "$python" "plots/plot_$name.py" "$out/$name/$name.csv" >/dev/null
}
# Qubits 2..10 rather than --quick's 2..8: the 4^n slope shows once states outgrow the caches.
study scaling --noise "$models" --qubits 2:10
study barren_plateau --noise "$models" --qubits 2:6 --depth 2,5,10,20 --circuits 100
# ZNE has nothing to mitigate under ideal, and scale-noise cannot scale readout-only noise.
study zne --noise depolarizing --noise amplitude_damping --noise device_like
study classifier --noise "$models" --dataset digits01,digits38,fashion,moons
study adaptive --noise "$models"
"$python" plots/report.py "$out"
