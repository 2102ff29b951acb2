#!/usr/bin/env bash
# The full-size runs that docs/RESULTS.md discusses: every study on a grid larger than --quick, in
# two parallel streams (one thread each, for the small states of the training studies), then the
# scaling study, then the figures and REPORT.md.
#   scripts/run-full.sh [--out DIR]      (default results/full; needs a built build/release)
# About an hour on 2 cores. Like the main job, an interrupted run resumes where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
out=results/full
if [ $# -eq 2 ] && [ "$1" = --out ]; then out=$2; elif [ $# -ne 0 ]; then
  echo "usage: scripts/run-full.sh [--out DIR]" >&2; exit 2
fi
bin=build/release/experiments
python=/usr/bin/python3
mkdir -p "$out"
run() {  # run NAME ARGS...
  local name=$1
  shift
  "$bin/exp_$name" --out "$out/$name" "$@" 2>>"$out/$name.log"
  "$python" "plots/plot_$name.py" "$out/$name/$name.csv" >/dev/null
}
(
  # The default grid: n 2..8, depth 1..100, 400 circuits, ideal, depolarizing, amplitude_damping.
  run barren_plateau --threads 1
  # 3 vs 8 and moons, three models, seed 1, fixed depths 2, 4, 6, 8, 10, budget 40000.
  run adaptive --dataset digits38,moons --noise ideal --noise depolarizing --noise device_like \
    --fixed-depths 2,4,6,8,10 --seeds 1 --threads 1
) &
(
  # Five data sets, four models, depths 2..10 in steps of 2, seeds 1 and 2, 30 epochs.
  run classifier --depth 2:10:2 --seeds 1,2 --threads 1
  # The default grid: 3 models, noise scales 0.25..2, depths 1..10, seeds 1..5, 4 qubits.
  run zne --threads 1
  # Stronger noise: the shipped models at 1, 10 and 30 times their strengths.
  "$bin/exp_classifier" --out "$out/classifier_noise" --dataset digits38,moons --noise depolarizing \
    --noise device_like --noise-scale 1,10,30 --depth 2,6,10 --seeds 1 --threads 1 2>>"$out/classifier_noise.log"
  "$python" plots/plot_classifier.py "$out/classifier_noise/classifier.csv" >/dev/null
) &
wait
# Qubits 2..12, depths 2, 6, 10; ideal, depolarizing and device_like; epochs up to 10 qubits; one thread.
run scaling --noise ideal --noise depolarizing --noise device_like --qubits 2:12 --depth 2,6,10 --epoch-max-qubits 10 \
  --threads 1
"$python" plots/report.py "$out"
