// CircuitFunction's implementation, shared by its source files (internal header):
//  * execution.cpp: the compiled program, per-thread workspaces, forward passes, Pauli read-outs;
//  * adjoint.cpp: the adjoint method (pieces, stored states or checkpoints, backward pass);
//  * shift_rules.cpp: parameter shift and finite differences;
//  * mixture.cpp: batches as data mixtures (GradientOptions::data_mixtures);
//  * gradients.cpp: the public API.
#pragma once

#include <algorithm>
#include <atomic>
#include <complex>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "kraus/engine/program.hpp"
#include "kraus/noise/kernels.hpp"
#include "kraus/noise/readout.hpp"
#include "kraus/noise/sweep.hpp"
#include "kraus/optim/gradients.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace kraus::optim {

using Complex = std::complex<double>;

namespace detail {

inline int popcount64(std::uint64_t v) { return __builtin_popcountll(v); }

// i^k for k mod 4.
inline Complex i_power(int k) {
  switch (k & 3) {
    case 0: return {1.0, 0.0};
    case 1: return {0.0, 1.0};
    case 2: return {-1.0, 0.0};
    default: return {0.0, -1.0};
  }
}

// Tr(P ρ) for the Pauli string P = i^{|x&z|} X^x Z^z on a column-major d x d buffer.
double pauli_expectation(const Complex* m, std::uint64_t d, std::uint64_t xm, std::uint64_t zm);
// m += coeff P.
void add_pauli(Complex* m, std::uint64_t d, std::uint64_t xm, std::uint64_t zm, double coeff);

}  // namespace detail

// Per-thread buffers, allocated once and reused.
struct Workspace {
  std::vector<Complex> state, obs;
  // The program's forward schedule with this workspace's angles written in (Program::bind), and for
  // the adjoint method its adjoint maps and derivatives, call by call.
  std::vector<noise::KernelCall> bound, bound_adjoint;
  std::vector<noise::CallDerivative> derivatives;
  std::vector<double> call_grads;
  // What the adjoint method keeps: `slots` the arena of one segment's pieces (Impl::piece_offset),
  // checkpoint i at checkpoints[i·d²]; for run_sweeps, where each piece's state before it goes (null:
  // not kept) and the buffers of its derivative points.
  std::vector<Complex> slots, checkpoints;
  std::vector<Complex*> stored, kept;
  std::vector<Complex> tiles;  // noise::sweep_gradient's scratch
  // Data mixtures: a state-sized buffer (an observable in blocks, a mixture), and the initial state
  // of the program's rest when it is not the program's own (null: Program::initial_state).
  std::vector<Complex> mix;
  std::vector<double> probabilities, uniforms;  // shots (GradientOptions::shots)
  const Complex* initial = nullptr;
  std::vector<noise::KernelCall> heisenberg;  // the adjoint schedule, last call first
  std::vector<double> angles, theta, values, weights, angle_grads;
};

struct CircuitFunction::Impl {
  int n = 0;
  std::uint64_t d = 0;
  int num_params = 0;
  int num_features = 0;
  engine::Program program;
  // The adjoint method runs the program's fused forward schedule (Program::forward) in pieces, the
  // program's cache-blocked sweeps grown (plan_adjoint). The forward pass keeps each piece's tiles at
  // its derivative points (noise::derivative_points: where its rotations' derivatives can be read),
  // or, for a piece with an angle-dependent channel, the state before it; noise::sweep_gradient then
  // carries the observable back through one piece at a time, reading the derivatives there.
  std::vector<noise::Sweep> adjoint_plan;
  std::vector<char> piece_recompute;                      // the state before the piece is kept
  std::vector<std::vector<std::size_t>> piece_points;     // else its derivative points
  std::vector<std::size_t> piece_point_elems;             // and the elements of each
  std::vector<noise::CallDerivative> derivative_kinds;    // by call: kind and Pauli masks
  std::vector<int> diff_calls;        // call indices of the differentiable calls (parametrised steps)
  std::vector<int> shift_rotations;   // step indices of differentiable rotations (parameter shift)
  bool param_channels = false;
  std::vector<engine::PauliSum> observables;
  GradientOptions options;
  std::atomic<std::int64_t> evaluations{0};

  // Memory plan: segment i covers pieces [seg_begin[i], seg_begin[i+1]) of adjoint_plan; what they
  // keep lies in one arena of arena_elems elements, piece p's at piece_offset[p]. One segment: the
  // forward pass keeps everything. Several: the forward pass stores the state before each segment (a
  // checkpoint), and the backward pass recomputes a segment's pieces from it.
  std::vector<std::uint64_t> piece_offset;
  std::uint64_t arena_elems = 0;
  std::vector<int> seg_begin;

  // Data mixtures (mixture.cpp): engine::data_prefix of the program (-1: the data enter otherwise),
  // and with one, the program after the prefix as a function of its own (rest->program), with the
  // sweeps of its adjoint schedule run backwards (the Heisenberg picture: O -> E^dagger(O)).
  int prefix = -1;
  std::unique_ptr<Impl> rest;
  std::vector<noise::Sweep> heisenberg_sweeps;

  // Batch calls that drew random numbers (GradientOptions::trajectories or shots), and the model's
  // readout errors (for shots).
  std::atomic<std::uint64_t> random_calls{0};
  noise::ReadoutModel readout;

  // CircuitTiming: the calls' totals, and the current call's thread time per phase (forward,
  // backward, cotangent) for the phases that run interleaved.
  std::mutex timing_mutex;
  CircuitTiming timing;
  std::atomic<std::int64_t> phase_ns[3] = {{0}, {0}, {0}};
  // Adds a call of `wall` seconds: `direct` seconds by phase measured as wall time, the rest split
  // by the threads' time in phase_ns (then cleared).
  void add_timing(double wall, const CircuitTiming& direct);

  std::mutex pool_mutex;
  std::vector<std::unique_ptr<Workspace>> pool;

  // ---- compilation ----
  void compile(const engine::Circuit& circuit, const noise::NoiseModel* model);
  // Derived from `program`: sizes, the differentiable calls, and with `mixtures` the data mixtures'
  // rest (observables and options set before).
  void setup(bool mixtures);
  void plan_adjoint();

  // ---- workspaces ----
  std::unique_ptr<Workspace> acquire();
  void release(std::unique_ptr<Workspace> ws) {
    std::lock_guard<std::mutex> lock(pool_mutex);
    pool.push_back(std::move(ws));
  }
  void ensure_adjoint_buffers(Workspace& ws);
  void copy_state(const Complex* from, Complex* to) const;
  Complex* checkpoint(Workspace& ws, int i) const {
    return ws.checkpoints.data() + static_cast<std::size_t>(i) * d * d;
  }

  int threads() const {
    const int t = options.num_threads > 0 ? options.num_threads : engine::num_threads();
    return std::max(1, t);
  }

  // Runs task(ws, t) for t in [0, num_tasks): in parallel over per-thread workspaces for small
  // states, serially (kernels parallel) for large ones.
  template <class Task>
  void run_tasks(int num_tasks, const Task& task) {
    const int t_count = threads();
#ifdef _OPENMP
    const bool parallel = t_count > 1 && num_tasks > 1 && n < noise::kParallelMinQubits;
#else
    const bool parallel = false;
    (void)t_count;
#endif
    if (!parallel) {
      std::unique_ptr<Workspace> ws = acquire();
      try {
        for (int t = 0; t < num_tasks; ++t) task(*ws, t);
      } catch (...) {
        release(std::move(ws));
        throw;
      }
      release(std::move(ws));
      return;
    }
#ifdef _OPENMP
    std::exception_ptr error;
    std::mutex error_mutex;
    const int team = std::min(t_count, num_tasks);
#pragma omp parallel num_threads(team)
    {
      std::unique_ptr<Workspace> ws;
      try {
        ws = acquire();
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
#pragma omp for schedule(dynamic)
      for (int t = 0; t < num_tasks; ++t) {
        if (!ws) continue;
        try {
          task(*ws, t);
        } catch (...) {
          std::lock_guard<std::mutex> lock(error_mutex);
          if (!error) error = std::current_exception();
        }
      }
      if (ws) release(std::move(ws));
    }
    if (error) std::rethrow_exception(error);
#endif
  }

  // ---- passes ----
  void compute_angles(const double* theta, const double* x, std::vector<double>& out) const {
    program.angle_values(theta, x, out.data());
  }

  void prepare_initial(Workspace& ws, const double* x) const {
    if (ws.initial != nullptr) {
      copy_state(ws.initial, ws.state.data());
    } else {
      program.initial_state(x, ws.state.data());
    }
  }

  // Runs pieces [begin, end) of adjoint_plan on ws.state (angles bound), storing the state before
  // each piece in slot (piece - begin) when `store`.
  void run_pieces(Workspace& ws, int begin, int end);

  void read_values(const Workspace& ws, double* values) const;

  // Plain forward pass with ws.angles already set: the program's forward schedule (fused and
  // cache-blocked), as engine::run. With GradientOptions::shots the values are estimated from shots
  // drawn with the stream (call_seed, stream).
  void forward_plain(Workspace& ws, const double* x, double* values, std::uint64_t call_seed = 0,
                     std::uint64_t stream = 0);
  // The seed of a batch call that draws random numbers (GradientOptions::seed + the call's index).
  std::uint64_t next_call_seed() { return options.seed + random_calls.fetch_add(1); }

  static noise::Matrix angle_channel_derivative(const engine::Step& s, double a);

  bool single_segment() const { return seg_begin.size() <= 2; }


  // Adjoint forward pass: values, and the stored states (all of them, or the checkpoints).
  void forward_adjoint(Workspace& ws, const double* theta, const double* x, double* values);

  // Backward pass for the observable Σ_i weights[i] O_i after forward_adjoint; adds Σ_p-gradient
  // into `gradient` (num_params).
  void backward(Workspace& ws, const double* x, const double* weights, double* gradient);

  // gradient[p] += scale · Σ_a angle_grads[a] ∂a/∂θ_p.
  void chain_rule(const double* angle_grads, const double* x, double* gradient, double scale) const;

  // ---- data mixtures (mixture.cpp) ----
  // True when a batch of num_samples runs as data mixtures (GradientOptions::data_mixtures).
  bool use_mixtures(int num_samples, GradientMethod method) const;
  // ws.obs <- E_rest^dagger(O_i) at the angles in ws.angles (one backward pass of rest's schedule).
  void heisenberg(Workspace& ws, int i);
  void mixture_batch(const double* theta, const double* xs, int num_samples, const BatchCotangent* cotangent,
                     double* values, double* gradient);

  // With GradientOptions::trajectories: engine::trajectory_vjp over the batch (cotangent may be null).
  void trajectory_batch(const double* theta, const double* xs, int num_samples, const BatchCotangent* cotangent,
                        double* values, double* gradient);

  // ---- batched drivers ----
  // Jacobians (m x P row-major per sample) and values of `num_samples` samples by parameter shift or
  // finite differences.
  void shifted_jacobians(const double* theta, const double* xs, int num_samples, GradientMethod method,
                         double* values, double* jacobians);

  void check_method(GradientMethod method) const {
    if (options.shots > 0 && method != GradientMethod::kParameterShift) {
      throw std::invalid_argument(std::string("gradients from shots (GradientOptions::shots) use parameter shift, as "
                                              "hardware does, not ") + to_string(method));
    }
    if (options.trajectories > 0 && method != GradientMethod::kAdjoint) {
      throw std::invalid_argument(std::string("trajectories (GradientOptions::trajectories) estimate the adjoint "
                                              "gradient, not ") + to_string(method));
    }
    if (method == GradientMethod::kParameterShift && param_channels && options.strict_parameter_shift) {
      throw std::invalid_argument(
          "parameter shift is not valid for this circuit: a channel depends on the parameters (use the adjoint "
          "method or finite differences, or set GradientOptions::strict_parameter_shift = false)");
    }
  }

  // With shots, every observable must be read in the computational basis (std::invalid_argument).
  void check_shots() const {
    if (options.shots == 0) return;
    for (const engine::PauliSum& o : observables) {
      for (const auto& term : o.terms) {
        if (term.second.x_mask != 0) {
          throw std::invalid_argument("with shots (GradientOptions::shots) every observable must be a sum of Z strings, "
                                      "read in the computational basis; '" + term.second.to_string() + "' is not");
        }
      }
    }
  }

  void check_inputs(const double* theta, const double* xs) const {
    if (theta == nullptr && num_params > 0) throw std::invalid_argument("null parameter vector");
    if (xs == nullptr && num_features > 0) {
      throw std::invalid_argument("the circuit uses " + std::to_string(num_features) +
                                  " data features but no feature vector was given");
    }
  }
};

}  // namespace kraus::optim
