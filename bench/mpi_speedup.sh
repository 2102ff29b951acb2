#!/usr/bin/env bash
# The MPI timings of docs/PERFORMANCE.md ("MPI"), as ratios within one run, each command ROUNDS
# times interleaved, the median reported:
#   1. trajectories: `kraus simulate --method trajectories` (8192 of a 16-qubit noisy circuit) under mpirun
#      -np 1 and -np 2, one thread per rank;
#   2. a sweep of 20 equal points (exp_scaling, 11-qubit density matrices, one evaluation each, no
#      timing loop) under -np 1 and -np 2, one thread per rank;
#   3. the MPI path with one rank (mpirun -np 1, MPI build) against the plain build (-DKRAUS_MPI=OFF)
#      on the trajectories of 1;
#   4. a 16-qubit, depth-10 trajectory-SGD epoch over 400 samples (exp_scaling's, T = 1) with
#      --data-parallel under -np 1 and -np 2, one thread per rank, and the plain build on 2 threads
#      (samples in parallel): its seconds_per_epoch column, the launch and the rest of the point aside.
#   bench/mpi_speedup.sh BUILD_DIR PLAIN_BUILD_DIR [ROUNDS]
set -euo pipefail
build=$(realpath "$1")
plain=$(realpath "$2")
rounds=${3:-3}
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader \
  OMPI_MCA_btl_vader_single_copy_mechanism=none
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 16 qubits, 4 layers of [RY on every qubit, CX ladder], depolarising noise after every gate.
python3 - "$work/layered16.qasm" <<'EOF'
import sys
n, lines = 16, ['OPENQASM 2.0;', 'include "qelib1.inc";', 'qreg q[16];']
for layer in range(4):
    lines += ['ry(%.3f) q[%d];' % (0.1 + 0.05 * q + 0.3 * layer, q) for q in range(n)]
    lines += ['cx q[%d], q[%d];' % (q, q + 1) for q in range(n - 1)]
open(sys.argv[1], 'w').write('\n'.join(lines) + '\n')
EOF
traj=(simulate "$work/layered16.qasm" --noise experiments/noise_models/depolarizing.json --method trajectories
      --trajectories 8192 --observable "Z0 Z15" --threads 1)
sweep=(--qubits 11 --depth 6 --seeds 1:20 --noise depolarizing --method density-matrix --repetitions 1
       --min-sample-seconds 0 --epoch-samples 0 --threads 1 --fresh)

epoch=(--qubits 16 --depth 10 --noise depolarizing --method trajectories --trajectories 2 --repetitions 1
       --min-sample-seconds 0 --epoch-samples 400 --fresh)

seconds() {  # wall seconds of a command, its output discarded
  local start end
  start=$(date +%s.%N)
  "$@" > /dev/null 2>&1
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
epoch_seconds() {  # the seconds_per_epoch of one exp_scaling run of the epoch above
  "$@" --out "$work/e" "${epoch[@]}" > /dev/null 2>&1
  python3 -c 'import csv, sys; print(next(csv.DictReader(open(sys.argv[1])))["seconds_per_epoch"])' "$work/e/scaling.csv"
}
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

declare -A t
for ((r = 0; r < rounds; ++r)); do
  t[traj1]+="$(seconds mpirun -np 1 --bind-to core "$build/cli/kraus" "${traj[@]}") "
  t[traj2]+="$(seconds mpirun -np 2 --bind-to core "$build/cli/kraus" "${traj[@]}") "
  t[plain]+="$(seconds "$plain/cli/kraus" "${traj[@]}") "
  t[sweep1]+="$(seconds mpirun -np 1 --bind-to core "$build/experiments/exp_scaling" --out "$work/s1" "${sweep[@]}") "
  t[sweep2]+="$(seconds mpirun -np 2 --bind-to core "$build/experiments/exp_scaling" --out "$work/s2" "${sweep[@]}") "
  t[epoch1]+="$(epoch_seconds mpirun -np 1 --bind-to core "$build/experiments/exp_scaling" --threads 1 --data-parallel) "
  t[epoch2]+="$(epoch_seconds mpirun -np 2 --bind-to core "$build/experiments/exp_scaling" --threads 1 --data-parallel) "
  t[epochplain]+="$(epoch_seconds "$plain/experiments/exp_scaling" --threads 2) "
done
for k in traj1 traj2 plain sweep1 sweep2 epoch1 epoch2 epochplain; do
  med=$(tr ' ' '\n' <<< "${t[$k]}" | grep . | median)
  printf '%-7s median %6.2f s of: %s\n' "$k" "$med" "${t[$k]}"
  eval "m_$k=$med"
done
echo "trajectories: -np 2 / -np 1 speed-up $(echo "scale=3; $m_traj1 / $m_traj2" | bc)"
echo "sweep:        -np 2 / -np 1 speed-up $(echo "scale=3; $m_sweep1 / $m_sweep2" | bc)"
echo "MPI path, 1 rank, against the plain build: $(echo "scale=4; ($m_traj1 / $m_plain - 1) * 100" | bc) %"
echo "epoch:        -np 2 / -np 1 speed-up $(echo "scale=3; $m_epoch1 / $m_epoch2" | bc), -np 2 against the plain build on 2 threads $(echo "scale=3; $m_epochplain / $m_epoch2" | bc)"
