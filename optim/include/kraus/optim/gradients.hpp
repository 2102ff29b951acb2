// Expectations of a noisy parametrised circuit and their exact gradients.
//
// CircuitFunction evaluates F_i(θ, x) = Tr(O_i ρ(θ, x)) for a list of Pauli-sum observables O_i,
// where ρ(θ, x) is the output of a parametrised engine::Circuit (angles that depend on θ and x,
// explicit channels, an amplitude initial state: kraus/engine/circuit.hpp) under a
// noise::NoiseModel, run as the one compiled engine::Program that kraus simulate also runs
// (kraus/engine/program.hpp places the noise). Readout errors of the model do not enter expectations
// (except with GradientOptions::shots, which reads what hardware reports). GradientOptions also
// selects data mixtures for batches, trajectory SGD and shots (below, and docs/optim.md).
//
// Gradient methods (GradientMethod):
//  * kAdjoint: reverse mode for density matrices. One forward pass stores what the backward pass
//    needs (the state right after each parametrised rotation and right before each angle-dependent
//    channel; or, beyond the memory budget, checkpoints from which segments are recomputed), then
//    the observable is carried backwards through the adjoint of every step (Heisenberg picture):
//        O_S = Σ_i w_i O_i,   O_{k-1} = E_k†(O_k) = Σ_j K_j† O_k K_j   (U† O U for a unitary).
//    For a rotation U_k = exp(-i a_k P / 2) with ρ'_k = U_k ρ_{k-1} U_k† the state right after it,
//        ∂C/∂a_k = Tr(O_k · (-i)[P/2, ρ'_k]) = Im Tr(ρ'_k O_k P),
//    and for an angle-dependent channel ∂C/∂a_k = Tr(O_k · (dS/da)(ρ_{k-1})). Every step of either
//    pass is one O(4^n) raw-kernel call on a 2^n x 2^n buffer (no dense products); the whole
//    gradient costs about 2 circuit evaluations (3 with checkpointing) whatever the number of
//    parameters. Valid with any channels, including θ-dependent ones.
//  * kParameterShift: per rotation, ∂C/∂a = [C(a + π/2) - C(a - π/2)] / 2 (two-term rule for
//    exp(-i a P / 2)), then the chain rule through the angles; 1 + 2·(number of parametrised
//    rotations) evaluations. Exact when no channel depends on θ (channels are linear, so C stays a
//    first-degree trigonometric polynomial in each rotation angle). INVALID when a channel depends
//    on θ (engine::AngleDependentChannel): the channel's dependence is ignored. Refused by default
//    (strict_parameter_shift).
//  * kFiniteDifference: central differences [C(θ + h e_p) - C(θ - h e_p)] / 2h, 1 + 2P evaluations;
//    error O(h²) + O(ε/h) (about 1e-10 at h = 1e-5). Always valid.
//
// Threads: independent circuit evaluations (the shifted circuits, the samples of a batch) run in
// parallel over per-thread workspaces when the state has fewer than noise::kParallelMinQubits
// qubits (the kernels are then single-threaded); for larger states the circuits run one after the
// other and the kernels use the threads. Results do not depend on the number of threads: every
// evaluation writes its own slot and sums are taken in a fixed order.
//
// Memory: each workspace (one per thread in use) holds the state, the observable, a scratch
// buffer, and for the adjoint method the stored states; buffers are allocated once, on first use,
// after engine::require_memory, and reused by every later evaluation (first writes to fresh pages
// are slow).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/observables.hpp"
#include "kraus/noise/noise_model.hpp"
#include "kraus/engine/circuit.hpp"

namespace kraus::optim {

enum class GradientMethod { kAdjoint, kParameterShift, kFiniteDifference };
const char* to_string(GradientMethod method);

struct GradientOptions {
  // Which gradient method the objectives use. Default: kAdjoint.
  GradientMethod method = GradientMethod::kAdjoint;
  // Central-difference step h. Default 1e-5 (error ~1e-10 for angles of order 1).
  double finite_difference_step = 1e-5;
  // Refuse parameter shift (std::invalid_argument) when a channel depends on the parameters, where
  // it would silently give a wrong gradient. Default true.
  bool strict_parameter_shift = true;
  // Threads for independent circuit evaluations; 0 = engine::num_threads(). Default 0.
  int num_threads = 0;
  // Budget in bytes for the states the adjoint method stores per workspace: one before each of its P
  // pieces (cache-blocked sweeps of the schedule; docs/optim.md). When P states do not fit, about
  // sqrt(P) checkpoints and sqrt(P) segment buffers are used (one extra forward pass). 0 (the
  // default): half the memory available when the function is built or its options set
  // (engine::available_memory_bytes), at least 1 GiB.
  std::uint64_t adjoint_memory_bytes = 0;
  // Data mixtures: when the features enter only through the state after the circuit's first steps
  // (engine::data_prefix: an angle encoding with its noise, or amplitude encoding), a batch of at
  // least twice as many samples as outputs is evaluated, and differentiated by the adjoint method,
  // through the observables carried back once, E^dagger(O_i), and per output the mixture
  // σ_i = Σ_x w_{x,i} ρ_x of the samples' states weighted by the cotangent: per output one backward
  // pass and one adjoint gradient whatever the number of samples (docs/optim.md). Equal to the
  // per-sample results up to rounding. Default true.
  bool data_mixtures = true;
  // Trajectory SGD: 0 (the default) computes exact density matrices. T >= 1 estimates each sample's
  // values, and with the adjoint method its loss gradient (vjp_batch), from T state-vector
  // trajectories (engine::trajectory_vjp: per trajectory one walk and one backward pass of the
  // cotangent's weighted observable), for circuits past the density matrix's size. Unbiased for a
  // loss linear in the values; a nonlinear loss of T-trajectory means is biased at order 1/T
  // (docs/trajectories.md). Jacobians and state() are refused.
  std::uint64_t trajectories = 0;
  // Shots, as hardware gives them: 0 (the default) reads exact expectation values. M >= 1 estimates
  // every circuit evaluation's values from M shots of its output distribution (the diagonal of ρ
  // with the noise model's readout errors applied), so every observable must be a sum of Z strings
  // (read in the computational basis); gradients by parameter shift, each shifted circuit from its
  // own M shots (the adjoint method, finite differences and data mixtures read what hardware cannot
  // and are refused or off). An estimate's variance is the binomial (1 - <P>^2) / M per Z string P.
  std::uint64_t shots = 0;
  // Seed of trajectories and shots: the k-th batch call of the function (counted from its
  // construction) draws from the streams of (seed + k), one per trajectory (engine::trajectory_vjp)
  // or per circuit evaluation of the call (shots), so a training run is reproducible for any number
  // of threads. Default 1.
  std::uint64_t seed = 1;
  // Data-parallel trajectory SGD over the ranks of a job (docs/distributed.md). With trajectories
  // > 0 and ranks > 1, every batch call runs this rank's contiguous slice of the samples (rank r of
  // R: samples [r·N/R, (r+1)·N/R), with the streams the whole batch would give them), and
  // all_gather (every rank's vector concatenated in rank order, on every rank; the experiments
  // pass kraus::dist::all_gather) brings every sample's values and loss gradient to every rank,
  // where the gradients are summed in sample order: each rank returns, bit for bit, what one
  // process returns for the whole batch, and counts every rank's circuit executions. A vjp batch's
  // cotangent is called on every rank for every sample (the other ranks' samples after the gather,
  // with their values), so what it records per sample is complete everywhere. Every rank must make
  // the same calls in the same order. Defaults: rank 0 of 1, no all_gather.
  struct DataParallel {
    int rank = 0, ranks = 1;
    std::function<std::vector<double>(const std::vector<double>&)> all_gather;
  };
  DataParallel data_parallel;

  bool IsValid(std::string* error) const;
};

// Where a CircuitFunction's batch calls spent their time, in wall-clock seconds since construction
// or reset_timing(): forward passes (values; every shifted circuit of parameter shift, every
// trajectory walk), backward passes (the adjoint method's, the data mixtures' gradients, the
// trajectories'), and the cotangent callbacks (the caller's loss and its weights). A phase that runs
// interleaved with the others on several threads (the samples of a per-sample batch, trajectories)
// gets the share of the call's wall time that the threads spent in it.
struct CircuitTiming {
  double forward_seconds = 0.0, backward_seconds = 0.0, cotangent_seconds = 0.0;
  CircuitTiming& operator+=(const CircuitTiming& o);
};

class CircuitFunction {
 public:
  // Compiles the circuit with the model's channels (the model is read here and not kept). Throws
  // std::invalid_argument (bad options, observables on missing qubits, classical control: only
  // trajectories run it) or noise::NoiseModelError.
  CircuitFunction(const engine::Circuit& circuit, std::vector<engine::PauliSum> observables,
                  const noise::NoiseModel* model = nullptr, GradientOptions options = {});
  ~CircuitFunction();
  CircuitFunction(CircuitFunction&&) noexcept;
  CircuitFunction& operator=(CircuitFunction&&) noexcept;

  int num_qubits() const;
  int num_parameters() const;
  int num_features() const;
  int num_outputs() const;
  const GradientOptions& options() const;
  void set_options(const GradientOptions& options);
  // Steps after compilation (gates, channels), and the rotations carrying a θ-dependent angle.
  int num_steps() const;
  int num_parametrized_rotations() const;

  // values[i] = Tr(O_i ρ(θ, x)). `x` may be null when the circuit uses no features.
  void evaluate(const double* theta, const double* x, double* values) const;

  // Values and the Jacobian ∂F_i/∂θ_p, row-major num_outputs x num_parameters, by `method`
  // (the options' method when omitted).
  void jacobian(const double* theta, const double* x, double* values, double* jacobian) const;
  void jacobian(const double* theta, const double* x, double* values, double* jacobian,
                GradientMethod method) const;

  // Vector-Jacobian product: `cotangent(values, weights)` is called once with the values at (θ, x)
  // and fills weights[0..num_outputs); gradient[p] = Σ_i weights[i] ∂F_i/∂θ_p. The adjoint method
  // needs one backward pass whatever the number of outputs.
  using Cotangent = std::function<void(const double* values, double* weights)>;
  void vjp(const double* theta, const double* x, const Cotangent& cotangent, double* values,
           double* gradient) const;
  void vjp(const double* theta, const double* x, const Cotangent& cotangent, double* values, double* gradient,
           GradientMethod method) const;

  // ---- batches: samples are rows of `xs` (num_features doubles each); run in parallel ----
  void evaluate_batch(const double* theta, const double* xs, int num_samples, double* values) const;
  // `cotangent(sample, values, weights)` may be called concurrently from several threads.
  using BatchCotangent = std::function<void(int sample, const double* values, double* weights)>;
  // values: num_samples x num_outputs; gradient: Σ over samples (summed in sample order).
  void vjp_batch(const double* theta, const double* xs, int num_samples, const BatchCotangent& cotangent,
                 double* values, double* gradient) const;
  void vjp_batch(const double* theta, const double* xs, int num_samples, const BatchCotangent& cotangent,
                 double* values, double* gradient, GradientMethod method) const;
  // values: num_samples x num_outputs; jacobian: (num_samples·num_outputs) x num_parameters.
  void jacobian_batch(const double* theta, const double* xs, int num_samples, double* values,
                      double* jacobian) const;
  void jacobian_batch(const double* theta, const double* xs, int num_samples, double* values, double* jacobian,
                      GradientMethod method) const;

  // The output state (a fresh DensityMatrix), for inspection.
  engine::DensityMatrix state(const double* theta, const double* x) const;

  // True when batches can run as data mixtures (GradientOptions::data_mixtures and a program that
  // allows them); a batch does when it has at least twice as many samples as outputs and, for
  // gradients, the method is the adjoint.
  bool data_mixtures() const;

  // Circuit evaluations so far, counted in passes over the whole circuit (a forward pass = 1, an
  // adjoint backward pass = 1, a segment recomputation pass = 1, each shifted circuit = 1).
  std::int64_t circuit_evaluations() const;
  void reset_circuit_evaluations();
  CircuitTiming timing() const;
  void reset_timing();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The 2^n x 2^n matrix of a Pauli sum (tests and small problems).
arma::cx_mat pauli_sum_matrix(const engine::PauliSum& observable, int num_qubits);

}  // namespace kraus::optim
