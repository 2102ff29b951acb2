// Quantum trajectories: a noisy compiled program run as N state-vector trajectories whose average
// is the density matrix (docs/trajectories.md).
//
// Each trajectory starts from the program's initial state and walks its steps (program.hpp: the
// same steps, with the same noise placement, as every other executor). A channel {K_a} picks one
// Kraus operator a with the Born probability p_a = ||K_a psi||^2 and continues with
// K_a psi / sqrt(p_a); mid-circuit measurements and resets are channels too. Sampling a channel
// reads the state only when it has to: every operator carries a state-independent lower bound b_a
// <= p_a (the smallest eigenvalue of K_a^dagger K_a: exact for the scaled unitaries of depolarising,
// Pauli and flip channels; 1 - gamma for damping's no-jump operator). One uniform r per channel
// partitions [0, 1) into the bounds b_0, b_1, ... followed by the remainders p_a - b_a, so a draw
// below sum b_a picks its operator without touching the state (so unitary mixtures never read it),
// and only a draw beyond it reads the reduced density matrix of the channel's qubits (one pass) for
// the exact p_a. Gates and the operators picked from the bounds wait in a queue and are fused into
// matrices on at most fusion_max_qubits qubits when the state is next needed.
//
// Classical control: each trajectory keeps the program's classical bits (zero at the start); a
// measurement step writes its sampled outcome to its bit (Step::clbit), and a conditional step acts
// only when the bits hold its condition's value, read when the walk reaches it. A step whose
// condition fails draws no random number (it is skipped as a whole), which keeps every draw a
// function of the trajectory's own history. Readout errors act on the final read-outs (probabilities,
// shots), not on the outcomes conditions read.
//
// Random numbers: trajectory t draws from its own generator seeded by (seed, t) (splitmix64), in
// the order of the program's steps, so a trajectory's result depends on (seed, t) only. Results are
// combined in trajectory order: the same for any number of threads. Below kTrajectoryParallelQubits
// qubits the trajectories of a round of kTrajectoryRound run in parallel, one per thread; from it
// on, one at a time with the threads inside the kernels.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "kraus/engine/measurement.hpp"
#include "kraus/engine/observables.hpp"
#include "kraus/engine/program.hpp"
#include "kraus/noise/readout.hpp"

namespace kraus::engine {

inline constexpr int kTrajectoryParallelQubits = 18;
inline constexpr std::uint64_t kTrajectoryRound = 16;

struct TrajectoryOptions {
  // Number of trajectories, >= 2 (a standard error needs two). Default 1000.
  std::uint64_t trajectories = 1000;
  // Seed of every random choice (channels, shots, readout errors). Default 1.
  std::uint64_t seed = 1;
  // Also estimate the 2^n basis-state probabilities (mean and standard error). Default false.
  bool probabilities = false;
  // Measurement shots, spread over the trajectories in order (trajectory t takes
  // shots / N, plus one when t < shots mod N), each drawn from its trajectory's final state. One shot
  // per trajectory samples the noisy distribution with independent shots; more shots per trajectory
  // cost little but are correlated within a trajectory (docs/trajectories.md). Default 0.
  std::uint64_t shots = 0;
  // Readout errors applied to the probabilities and to every shot's bits (empty: none).
  noise::ReadoutModel readout;
  // With shots: the map of the circuit's classical bits (measurement_map(circuit, true)), so that
  // each shot is also counted by its classical-bit key in TrajectoryResult::clbit_counts; a recorded
  // bit takes the trajectory's value, a final measurement's bit its qubit in the shot (after readout
  // errors, drawn per trajectory from its own generator after its shots). Empty: no clbit_counts.
  MeasurementMap measurement;
  // The fused matrices' largest size in qubits, 1 to 4. Default 2 (bench/: fastest at 16-20 qubits).
  int fusion_max_qubits = 2;
  // Called on the calling thread after each round with the trajectories done and the total (for
  // progress reports of long runs); may be empty.
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;

  bool IsValid(std::string* error) const;
};

// A Monte-Carlo estimate: the mean over `samples` trajectories and its standard error s / sqrt(N)
// (s the sample standard deviation).
struct Estimate {
  double mean = 0.0;
  double standard_error = 0.0;
  std::uint64_t samples = 0;
};

struct TrajectoryResult {
  std::uint64_t trajectories = 0;
  std::uint64_t seed = 0;
  // One per observable: <psi_t|O|psi_t> averaged over trajectories (unbiased for Tr(O rho)).
  std::vector<Estimate> expectations;
  // With options.probabilities: per basis state (bit q = qubit q) the mean of |<i|psi_t>|^2 (with
  // readout errors when the options have them) and its standard error.
  std::vector<double> probabilities, probability_errors;
  // With options.shots: outcome (bit q = qubit q, after readout errors) -> count.
  std::map<std::uint64_t, std::uint64_t> counts;
  // With options.shots and options.measurement: classical-bit key (MeasurementMap::key, Aer's
  // format) -> count.
  std::map<std::string, std::uint64_t> clbit_counts;
  // Channel decisions that read the state (a reduced density matrix), over all trajectories, and
  // all channel decisions.
  std::uint64_t state_reads = 0, channel_decisions = 0;
};

// Runs `program` (at parameters theta and features x; either may be null when unused) as
// options.trajectories trajectories and estimates every observable. Throws std::invalid_argument
// for bad options or an observable on qubits the program lacks, std::runtime_error when the memory
// for the state vectors (one per thread below kTrajectoryParallelQubits, plus the probability
// slots) is missing.
TrajectoryResult run_trajectories(const Program& program, const double* theta, const double* x,
                                  const std::vector<PauliSum>& observables, const TrajectoryOptions& options);

}  // namespace kraus::engine
