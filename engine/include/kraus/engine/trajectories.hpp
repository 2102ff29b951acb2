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
// combined in a fixed order: Welford's update in trajectory order within each block of
// kTrajectoryBlock trajectories, then the blocks in block order by Chan et al.'s pairwise formula
// (TrajectoryCombiner), so the result is the same for any number of threads and for any split of
// the blocks over processes (docs/distributed.md). Below kTrajectoryParallelQubits
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
// Trajectories per block of the reduction (a multiple of kTrajectoryRound): block b holds
// trajectories [b * kTrajectoryBlock, (b + 1) * kTrajectoryBlock), the last one fewer.
inline constexpr std::uint64_t kTrajectoryBlock = 64;

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
// options.trajectories trajectories and estimates every observable: run_trajectory_blocks over all
// blocks folded by a TrajectoryCombiner. Throws std::invalid_argument
// for bad options or an observable on qubits the program lacks, std::runtime_error when the memory
// for the state vectors (one per thread below kTrajectoryParallelQubits, plus the probability
// slots) is missing.
TrajectoryResult run_trajectories(const Program& program, const double* theta, const double* x,
                                  const std::vector<PauliSum>& observables, const TrajectoryOptions& options);

// The statistics of one block of trajectories, what run_trajectory_blocks hands over and
// TrajectoryCombiner folds into a TrajectoryResult.
struct TrajectoryBlock {
  std::uint64_t trajectories = 0;  // in this block
  // Per quantity (the observables, then with options.probabilities the 2^n basis-state
  // probabilities): the block's mean and sum of squared deviations (Welford in trajectory order).
  std::vector<double> mean, m2;
  // With options.shots: outcome -> count, before the readout errors TrajectoryResult::counts has.
  std::map<std::uint64_t, std::uint64_t> counts;
  std::map<std::string, std::uint64_t> clbit_counts;  // as TrajectoryResult::clbit_counts
  std::uint64_t state_reads = 0, channel_decisions = 0;
};

// The number of blocks of `trajectories` trajectories: ceil(trajectories / kTrajectoryBlock).
std::uint64_t trajectory_blocks(std::uint64_t trajectories);

// Runs the trajectories of blocks [first_block, first_block + block_count) of run_trajectories
// (options.trajectories is the whole run's count, which the shots' spread depends on) and calls
// sink with each block in block order, on the calling thread. options.progress counts this range's
// trajectories. Throws as run_trajectories, and std::invalid_argument for blocks past the last.
void run_trajectory_blocks(const Program& program, const double* theta, const double* x,
                           const std::vector<PauliSum>& observables, const TrajectoryOptions& options,
                           std::uint64_t first_block, std::uint64_t block_count,
                           const std::function<void(TrajectoryBlock&&)>& sink);

// Folds blocks, given in block order, into the run's result. Two partial results (n_a, mean_a,
// M2_a) and (n_b, mean_b, M2_b) combine as n = n_a + n_b, d = mean_b - mean_a,
// mean = mean_a + d * n_b / n, M2 = M2_a + M2_b + d^2 * n_a * n_b / n (Chan, Golub and LeVeque), the
// first block taken as it is; the counts and tallies add up. result() then applies the readout
// errors to the counts (one stream from the seed) and gives the standard errors sqrt(M2 / (N - 1) / N).
class TrajectoryCombiner {
 public:
  TrajectoryCombiner(int num_qubits, std::size_t observables, const TrajectoryOptions& options);
  void add(const TrajectoryBlock& block);
  // After every block; throws std::logic_error when trajectories are missing.
  TrajectoryResult result() const;

 private:
  int num_qubits_;
  std::size_t observables_;
  TrajectoryOptions options_;
  std::uint64_t trajectories_ = 0;
  std::vector<double> mean_, m2_;
  TrajectoryResult partial_;  // the counts and tallies so far
};

// The adjoint gradient estimated from trajectories: per observable O and parameter i, the mean over
// trajectories of d<O>/dtheta_i as one trajectory sees it, and its standard error.
//
// Trajectory t follows one branch b of Kraus operators with probability p_b = ||psi~_b||^2, where
// psi~_b is its unnormalised final state, a function of theta (so is p_b under state-dependent
// channels such as damping, measurements and resets). Its estimate is grad <psi~_b|O|psi~_b> / p_b,
// whose mean over branches is exactly grad Tr(O rho): an unbiased estimate of the noisy gradient.
// It equals grad <O>_b + <O>_b grad log p_b (the derivative of the normalised value plus the score
// term that dropping would bias the estimate under damping: docs/trajectories.md). One backward pass
// per trajectory computes it (Jones & Gacon's adjoint on the branch's operators): the state is
// undone operator by operator (U^dagger, K^-1 of well-conditioned Kraus operators, a state saved
// during the forward walk before a singular one such as a jump or a projector) and the observable's
// states are carried back with K^dagger / sqrt(p), p the operator's conditional probability.
struct TrajectoryGradientResult {
  std::uint64_t trajectories = 0;
  std::uint64_t seed = 0;
  std::vector<Estimate> values;    // one per observable, as run_trajectories' expectations
  std::vector<Estimate> jacobian;  // observables x parameters, row-major: d<O_o>/dtheta_i
  // As in TrajectoryResult; saved_states: states saved for the backward passes, over all trajectories.
  std::uint64_t state_reads = 0, channel_decisions = 0, saved_states = 0;
};

// The values and the Jacobian of the observables at (theta, x) by options.trajectories
// trajectories (the same branches as run_trajectories with the same seed). The options' probabilities,
// shots and readout must be unset. Programs with angle-dependent channels or classical control are
// refused (std::invalid_argument), as are the cases run_trajectories refuses. Memory: per worker the state,
// one state per observable and a scratch state, plus the saved states.
TrajectoryGradientResult trajectory_gradient(const Program& program, const double* theta, const double* x,
                                             const std::vector<PauliSum>& observables,
                                             const TrajectoryOptions& options);

// Mini-batch gradients from trajectories (trajectory SGD; optim's GradientOptions::trajectories).
struct TrajectoryVjpOptions {
  // Trajectories per sample, >= 1 (one is a valid stochastic gradient: below). Default 1.
  std::uint64_t trajectories = 1;
  // Trajectory t of sample s draws from the stream (seed, (first_sample + s) * trajectories + t):
  // a batch split into slices (one per MPI rank, GradientOptions::data_parallel), each slice run
  // with first_sample its offset in the batch, draws what the whole batch draws. Defaults 1 and 0.
  std::uint64_t seed = 1;
  std::uint64_t first_sample = 0;
  int fusion_max_qubits = 2;  // as TrajectoryOptions::fusion_max_qubits
  // Threads for samples in parallel (below kTrajectoryParallelQubits); 0: num_threads(). Default 0.
  int num_threads = 0;
  bool IsValid(std::string* error) const;
};

struct TrajectoryVjpResult {
  std::uint64_t trajectories = 0;  // per sample
  // samples x observables, row-major: each sample's mean over its trajectories of <psi_t|O|psi_t>,
  // and with at least two trajectories its standard error (else empty).
  std::vector<double> values, value_errors;
  // With a cotangent: Σ over samples of the mean over its trajectories of Σ_o w_o g_o, with w the
  // weights the cotangent gave for the sample's mean values and g_o the trajectory's estimate of
  // ∂<O_o>/∂θ (trajectory_gradient's, score term included); with at least two trajectories per
  // sample, its standard error sqrt(Σ_s s_s^2 / T), s_s the sample standard deviation of sample s's
  // estimates (else empty).
  std::vector<double> gradient, gradient_errors;
  // With a cotangent: each sample's term of `gradient` (samples x parameters, row-major), which
  // `gradient` sums in sample order.
  std::vector<double> sample_gradients;
  // Walks (forward passes) and backward passes over all samples.
  std::uint64_t walks = 0, backward_passes = 0;
  // Thread-seconds in the walks, the backward passes and the cotangent calls, summed over threads.
  double walk_seconds = 0.0, backward_seconds = 0.0, cotangent_seconds = 0.0;
};

// The values of `observables` for each of num_samples samples (rows of xs, program.num_features
// each; null when the program reads none) and, when `cotangent` is set, the vector-Jacobian product
// of a loss of them: cotangent(s, values, weights) gets sample s's mean values and fills weights
// (one per observable), then one backward pass per trajectory carries back the single observable
// Σ_o w_o O_o (one state, not one per observable). With one trajectory a sample's weights come from
// its own walk; with T > 1 from the mean of its T walks, and the walks are repeated with the same
// streams for the backward passes (the same branches). Unbiased for Σ_s Σ_o w_o ∂<O_o>/∂θ when the
// weights do not depend on the values (a loss linear in them); a nonlinear loss of finite-T means
// (a softmax head) is biased at order 1/T (docs/trajectories.md).
// Samples run in parallel, one per thread, below kTrajectoryParallelQubits qubits (so `cotangent`
// may be called concurrently); from it on one at a time with the threads in the kernels. Results do not depend on the number of threads. Refuses
// (std::invalid_argument) what trajectory_gradient refuses, bad options, and observables on missing
// qubits; std::runtime_error when the memory for the states is missing.
using SampleCotangent = std::function<void(std::size_t sample, const double* values, double* weights)>;
TrajectoryVjpResult trajectory_vjp(const Program& program, const double* theta, const double* xs,
                                   std::size_t num_samples, const std::vector<PauliSum>& observables,
                                   const TrajectoryVjpOptions& options, const SampleCotangent& cotangent);

}  // namespace kraus::engine
