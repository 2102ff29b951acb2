#include "kraus/optim/gradients.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>

#include "kraus/engine/program.hpp"
#include "kraus/noise/kernels.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace kraus::optim {

using Complex = std::complex<double>;

const char* to_string(GradientMethod method) {
  switch (method) {
    case GradientMethod::kAdjoint: return "adjoint";
    case GradientMethod::kParameterShift: return "parameter_shift";
    case GradientMethod::kFiniteDifference: return "finite_difference";
  }
  return "?";
}

bool GradientOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (!(finite_difference_step > 0.0 && finite_difference_step < 1.0)) {
    return fail("GradientOptions::finite_difference_step must be in (0, 1), got " +
                std::to_string(finite_difference_step));
  }
  if (num_threads < 0) return fail("GradientOptions::num_threads must be >= 0 (0 = engine::num_threads())");
  if (adjoint_memory_bytes == 0) return fail("GradientOptions::adjoint_memory_bytes must be positive");
  return true;
}

namespace {

constexpr double kPi = 3.14159265358979323846;

int popcount64(std::uint64_t v) { return __builtin_popcountll(v); }

// i^k for k mod 4.
Complex i_power(int k) {
  switch (k & 3) {
    case 0: return {1.0, 0.0};
    case 1: return {0.0, 1.0};
    case 2: return {-1.0, 0.0};
    default: return {0.0, -1.0};
  }
}

// ---- raw O(4^n) helpers on column-major 2^n x 2^n buffers --------------------------------------

// Tr(P ρ) for P = i^{|x&z|} X^x Z^z: P|b> = ph(b)|b^x>, ph(b) = i^{|x&z|} (-1)^{|b&z|}, so
// Tr(P ρ) = Σ_b ph(b) ρ(b, b^x).
double pauli_expectation(const Complex* m, std::uint64_t d, std::uint64_t xm, std::uint64_t zm) {
  double re = 0.0, im = 0.0;
  for (std::uint64_t b = 0; b < d; ++b) {
    const Complex v = m[b + (b ^ xm) * d];
    if (popcount64(b & zm) & 1) {
      re -= v.real();
      im -= v.imag();
    } else {
      re += v.real();
      im += v.imag();
    }
  }
  return std::real(i_power(popcount64(xm & zm)) * Complex(re, im));
}

// m += coeff P (P(b^x, b) = ph(b)).
void add_pauli(Complex* m, std::uint64_t d, std::uint64_t xm, std::uint64_t zm, double coeff) {
  const Complex base = coeff * i_power(popcount64(xm & zm));
  for (std::uint64_t b = 0; b < d; ++b) {
    const Complex v = (popcount64(b & zm) & 1) ? -base : base;
    m[(b ^ xm) + b * d] += v;
  }
}

// Im Tr(ρ O P) for Hermitian ρ: Tr(ρ O P) = Σ_{r,c} ρ(r,c) O(c, r^x) ph(r)
//                                         = Σ_r ph(r) Σ_c conj(ρ[c + r d]) O[c + (r^x) d].
// (The OpenMP pragmas sit behind a plain branch: even a false `if` clause costs a runtime call,
// which dominates for the small states.)
double rotation_gradient(const Complex* rho, const Complex* obs, std::uint64_t d, std::uint64_t xm, std::uint64_t zm,
                         int num_qubits) {
  const std::int64_t dd = static_cast<std::int64_t>(d);
  auto row = [&](std::int64_t r, double& re, double& im) {
    const std::uint64_t ur = static_cast<std::uint64_t>(r);
    const double* a = reinterpret_cast<const double*>(rho + ur * d);
    const double* b = reinterpret_cast<const double*>(obs + (ur ^ xm) * d);
    double sr = 0.0, si = 0.0;
    for (std::uint64_t c = 0; c < 2 * d; c += 2) {
      sr += a[c] * b[c] + a[c + 1] * b[c + 1];
      si += a[c] * b[c + 1] - a[c + 1] * b[c];
    }
    if (popcount64(ur & zm) & 1) {
      re -= sr;
      im -= si;
    } else {
      re += sr;
      im += si;
    }
  };
  double re = 0.0, im = 0.0;
  if (num_qubits >= noise::kParallelMinQubits) {
#pragma omp parallel for reduction(+ : re, im) schedule(static)
    for (std::int64_t r = 0; r < dd; ++r) row(r, re, im);
  } else {
    for (std::int64_t r = 0; r < dd; ++r) row(r, re, im);
  }
  return std::imag(i_power(popcount64(xm & zm)) * Complex(re, im));
}

// Re Σ conj(a_i) b_i = Tr(A B) for Hermitian A.
double hermitian_inner(const Complex* a, const Complex* b, std::uint64_t n, int num_qubits) {
  const double* x = reinterpret_cast<const double*>(a);
  const double* y = reinterpret_cast<const double*>(b);
  const std::int64_t len = static_cast<std::int64_t>(2 * n);
  double s = 0.0;
  if (num_qubits >= noise::kParallelMinQubits) {
#pragma omp parallel for reduction(+ : s) schedule(static)
    for (std::int64_t i = 0; i < len; ++i) s += x[i] * y[i];
  } else {
    for (std::int64_t i = 0; i < len; ++i) s += x[i] * y[i];
  }
  return s;
}

// Copies one d x d state.
void copy_state_bytes(const Complex* from, Complex* to, std::uint64_t elements) {
  std::memcpy(static_cast<void*>(to), static_cast<const void*>(from), elements * sizeof(Complex));
}

// Per-thread buffers, allocated once and reused.
struct Workspace {
  std::vector<Complex> state, obs, scratch;
  // Stored states, one contiguous block each: slot i at slots[i·d²], checkpoint i likewise.
  std::vector<Complex> slots, checkpoints;
  std::size_t num_slots = 0, num_checkpoints = 0;
  std::vector<double> angles, theta, values, weights, angle_grads;
};

}  // namespace

// ---- the implementation -------------------------------------------------------------------------

struct CircuitFunction::Impl {
  int n = 0;
  std::uint64_t d = 0;
  int num_params = 0;
  int num_features = 0;
  engine::Program program;
  std::vector<int> slot_of;           // per step: its index among the differentiable steps, or -1
  std::vector<int> diff_steps;        // step indices of the differentiable steps, in order
  std::vector<int> shift_rotations;   // step indices of differentiable rotations (parameter shift)
  bool param_channels = false;
  std::vector<engine::PauliSum> observables;
  GradientOptions options;
  std::atomic<std::int64_t> evaluations{0};

  // Adjoint plan: segment i covers steps [seg_begin[i], seg_begin[i+1]) and the differentiable
  // steps [i·seg_len, (i+1)·seg_len).
  int seg_len = 0;
  std::vector<int> seg_begin;

  std::mutex pool_mutex;
  std::vector<std::unique_ptr<Workspace>> pool;

  // ---- compilation ----
  void compile(const engine::Circuit& circuit, const noise::NoiseModel* model);
  void plan_adjoint();

  // ---- workspaces ----
  std::unique_ptr<Workspace> acquire() {
    std::unique_ptr<Workspace> ws;
    {
      std::lock_guard<std::mutex> lock(pool_mutex);
      if (!pool.empty()) {
        ws = std::move(pool.back());
        pool.pop_back();
      }
    }
    if (!ws) ws = std::make_unique<Workspace>();
    if (ws->state.size() != d * d) {
      engine::require_memory(n, engine::density_matrix_bytes(n));
      ws->state.assign(d * d, Complex(0.0, 0.0));
    }
    ws->angles.resize(program.angles.size());
    ws->theta.resize(static_cast<std::size_t>(num_params));
    ws->values.resize(observables.size());
    ws->weights.resize(observables.size());
    ws->angle_grads.resize(program.angles.size());
    return ws;
  }
  void release(std::unique_ptr<Workspace> ws) {
    std::lock_guard<std::mutex> lock(pool_mutex);
    pool.push_back(std::move(ws));
  }
  void ensure_adjoint_buffers(Workspace& ws) {
    const std::size_t num_slots = diff_steps.empty() ? 0 : static_cast<std::size_t>(seg_len);
    const std::size_t num_checkpoints = seg_begin.size() >= 2 ? seg_begin.size() - 2 : 0;
    bool need_scratch = false;
    for (int i : diff_steps) need_scratch = need_scratch || program.steps[static_cast<std::size_t>(i)].kind == engine::StepKind::kAngleChannel;
    const std::uint64_t dd = d * d;
    std::uint64_t missing = 0;
    const std::uint64_t state_bytes = engine::density_matrix_bytes(n);
    if (ws.obs.size() != dd) missing += state_bytes;
    if (need_scratch && ws.scratch.size() != dd) missing += state_bytes;
    if (ws.slots.size() != num_slots * dd) missing += num_slots * state_bytes;
    if (ws.checkpoints.size() != num_checkpoints * dd) missing += num_checkpoints * state_bytes;
    ws.num_slots = num_slots;
    ws.num_checkpoints = num_checkpoints;
    if (missing == 0) return;
    engine::require_memory(n, missing);
    // Value-initialised: the pages are touched once, here, and reused by every later evaluation.
    if (ws.obs.size() != dd) ws.obs.assign(dd, Complex(0.0, 0.0));
    if (need_scratch && ws.scratch.size() != dd) ws.scratch.assign(dd, Complex(0.0, 0.0));
    if (ws.slots.size() != num_slots * dd) {
      ws.slots.clear();
      ws.slots.shrink_to_fit();
      ws.slots.assign(num_slots * dd, Complex(0.0, 0.0));
    }
    if (ws.checkpoints.size() != num_checkpoints * dd) {
      ws.checkpoints.clear();
      ws.checkpoints.shrink_to_fit();
      ws.checkpoints.assign(num_checkpoints * dd, Complex(0.0, 0.0));
    }
  }
  void copy_state(const Complex* from, Complex* to) const { copy_state_bytes(from, to, d * d); }
  Complex* slot(Workspace& ws, int i) const { return ws.slots.data() + static_cast<std::size_t>(i) * d * d; }
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

  void prepare_initial(Workspace& ws, const double* x) const { program.initial_state(x, ws.state.data()); }

  static noise::Matrix angle_channel_derivative(const engine::Step& s, double a) {
    if (s.angle_channel->derivative) return s.angle_channel->derivative(a);
    // Fourth-order central difference of the superoperator.
    const double h = 1e-3;
    const noise::Matrix p1 = s.angle_channel->superoperator(a + h), m1 = s.angle_channel->superoperator(a - h);
    const noise::Matrix p2 = s.angle_channel->superoperator(a + 2 * h), m2 = s.angle_channel->superoperator(a - 2 * h);
    noise::Matrix out(p1.rows(), p1.cols());
    for (int r = 0; r < out.rows(); ++r)
      for (int c = 0; c < out.cols(); ++c)
        out(r, c) = (8.0 * (p1(r, c) - m1(r, c)) - (p2(r, c) - m2(r, c))) / (12.0 * h);
    return out;
  }

  // Runs steps [begin, end) on ws.state. With `store`, saves the states the adjoint needs: slot
  // (step.slot - slot_base) after a differentiable rotation, before a differentiable channel.
  void run_steps(Workspace& ws, int begin, int end, bool store, int slot_base, bool checkpoints) const {
    std::size_t next_checkpoint = 1;
    for (int i = begin; i < end; ++i) {
      const engine::Step& s = program.steps[static_cast<std::size_t>(i)];
      const int slot_index = slot_of[static_cast<std::size_t>(i)];
      if (checkpoints) {
        while (next_checkpoint + 1 < seg_begin.size() && seg_begin[next_checkpoint] == i) {
          copy_state(ws.state.data(), checkpoint(ws, static_cast<int>(next_checkpoint) - 1));
          ++next_checkpoint;
        }
      }
      if (store && slot_index >= 0 && s.kind == engine::StepKind::kAngleChannel) {
        copy_state(ws.state.data(), slot(ws, slot_index - slot_base));
      }
      program.apply_step(static_cast<std::size_t>(i), ws.angles.data(), ws.state.data());
      if (store && slot_index >= 0 && s.kind == engine::StepKind::kRotation) {
        copy_state(ws.state.data(), slot(ws, slot_index - slot_base));
      }
    }
  }

  void read_values(const Workspace& ws, double* values) const {
    for (std::size_t i = 0; i < observables.size(); ++i) {
      double v = 0.0;
      for (const auto& [coeff, ps] : observables[i].terms) {
        v += coeff * pauli_expectation(ws.state.data(), d, ps.x_mask, ps.z_mask);
      }
      values[i] = v;
    }
  }

  // Plain forward pass with ws.angles already set.
  void forward_plain(Workspace& ws, const double* x, double* values) {
    prepare_initial(ws, x);
    run_steps(ws, 0, static_cast<int>(program.steps.size()), false, 0, false);
    read_values(ws, values);
    evaluations.fetch_add(1, std::memory_order_relaxed);
  }

  bool single_segment() const { return seg_begin.size() <= 2; }

  // Adjoint forward pass: values, and the stored states (all of them, or the checkpoints).
  void forward_adjoint(Workspace& ws, const double* theta, const double* x, double* values) {
    ensure_adjoint_buffers(ws);
    compute_angles(theta, x, ws.angles);
    prepare_initial(ws, x);
    if (single_segment()) {
      run_steps(ws, 0, static_cast<int>(program.steps.size()), true, 0, false);
    } else {
      run_steps(ws, 0, static_cast<int>(program.steps.size()), false, 0, true);
    }
    read_values(ws, values);
    evaluations.fetch_add(1, std::memory_order_relaxed);
  }

  // Backward pass for the observable Σ_i weights[i] O_i after forward_adjoint; adds Σ_p-gradient
  // into `gradient` (num_params).
  void backward(Workspace& ws, const double* x, const double* weights, double* gradient) {
    Complex* o = ws.obs.data();
    std::fill(o, o + d * d, Complex(0.0, 0.0));
    for (std::size_t i = 0; i < observables.size(); ++i) {
      if (weights[i] == 0.0) continue;
      for (const auto& [coeff, ps] : observables[i].terms) add_pauli(o, d, ps.x_mask, ps.z_mask, weights[i] * coeff);
    }
    std::fill(ws.angle_grads.begin(), ws.angle_grads.end(), 0.0);
    const int num_segments = static_cast<int>(seg_begin.size()) - 1;
    for (int seg = num_segments - 1; seg >= 0; --seg) {
      const int slot_base = single_segment() ? 0 : seg * seg_len;
      if (!single_segment()) {
        if (seg == 0) {
          prepare_initial(ws, x);
        } else {
          copy_state(checkpoint(ws, seg - 1), ws.state.data());
        }
        run_steps(ws, seg_begin[static_cast<std::size_t>(seg)], seg_begin[static_cast<std::size_t>(seg) + 1], true,
                  slot_base, false);
      }
      for (int i = seg_begin[static_cast<std::size_t>(seg) + 1] - 1; i >= seg_begin[static_cast<std::size_t>(seg)];
           --i) {
        const engine::Step& s = program.steps[static_cast<std::size_t>(i)];
        const int slot_index = slot_of[static_cast<std::size_t>(i)];
        if (slot_index >= 0) {
          const Complex* saved = slot(ws, slot_index - slot_base);
          double g = 0.0;
          if (s.kind == engine::StepKind::kRotation) {
            g = s.sign * rotation_gradient(saved, o, d, s.x_mask, s.z_mask, n);
          } else {  // angle-dependent channel: Tr(O_k · S'(ρ_{k-1}))
            copy_state(saved, ws.scratch.data());
            const noise::Matrix ds = angle_channel_derivative(s, ws.angles[static_cast<std::size_t>(s.angle)]);
            noise::apply_superoperator(ws.scratch.data(), n, s.call.qubits, s.call.k, ds.data());
            g = hermitian_inner(o, ws.scratch.data(), d * d, n);
          }
          ws.angle_grads[static_cast<std::size_t>(s.angle)] += g;
        }
        program.apply_adjoint(static_cast<std::size_t>(i), ws.angles.data(), o);
      }
    }
    evaluations.fetch_add(single_segment() ? 1 : 2, std::memory_order_relaxed);
    chain_rule(ws.angle_grads.data(), x, gradient, 1.0);
  }

  // gradient[p] += scale · Σ_a angle_grads[a] ∂a/∂θ_p.
  void chain_rule(const double* angle_grads, const double* x, double* gradient, double scale) const {
    for (std::size_t a = 0; a < program.angles.size(); ++a) {
      const double g = angle_grads[a];
      if (g == 0.0) continue;
      for (const engine::AngleTerm& t : program.angles[a].terms) {
        if (t.param >= 0) gradient[t.param] += scale * g * engine::Angle::term_derivative(t, x);
      }
    }
  }

  // ---- batched drivers ----
  // Jacobians (m x P row-major per sample) and values of `num_samples` samples by parameter shift or
  // finite differences.
  void shifted_jacobians(const double* theta, const double* xs, int num_samples, GradientMethod method,
                         double* values, double* jacobians) {
    const int m = static_cast<int>(observables.size());
    const int P = num_params;
    const int per_sample =
        method == GradientMethod::kParameterShift ? 1 + 2 * static_cast<int>(shift_rotations.size()) : 1 + 2 * P;
    std::vector<double> out(static_cast<std::size_t>(num_samples) * per_sample * m);
    const double h = options.finite_difference_step;
    run_tasks(num_samples * per_sample, [&](Workspace& ws, int task) {
      const int sample = task / per_sample, t = task % per_sample;
      const double* x = xs ? xs + static_cast<std::size_t>(sample) * num_features : nullptr;
      double* dst = out.data() + static_cast<std::size_t>(task) * m;
      if (method == GradientMethod::kParameterShift || t == 0) {
        compute_angles(theta, x, ws.angles);
        if (t > 0) {
          const int r = (t - 1) / 2;
          const engine::Step& s = program.steps[static_cast<std::size_t>(shift_rotations[static_cast<std::size_t>(r)])];
          ws.angles[static_cast<std::size_t>(s.angle)] += (t % 2 == 1) ? kPi / 2 : -kPi / 2;
        }
      } else {
        std::copy(theta, theta + P, ws.theta.begin());
        const int p = (t - 1) / 2;
        ws.theta[static_cast<std::size_t>(p)] += (t % 2 == 1) ? h : -h;
        compute_angles(ws.theta.data(), x, ws.angles);
      }
      forward_plain(ws, x, dst);
    });
    std::vector<double> angle_grads(program.angles.size());
    for (int sample = 0; sample < num_samples; ++sample) {
      const double* base = out.data() + static_cast<std::size_t>(sample) * per_sample * m;
      const double* x = xs ? xs + static_cast<std::size_t>(sample) * num_features : nullptr;
      std::copy(base, base + m, values + static_cast<std::size_t>(sample) * m);
      double* jac = jacobians + static_cast<std::size_t>(sample) * m * P;
      std::fill(jac, jac + static_cast<std::size_t>(m) * P, 0.0);
      for (int i = 0; i < m; ++i) {
        if (method == GradientMethod::kParameterShift) {
          std::fill(angle_grads.begin(), angle_grads.end(), 0.0);
          for (std::size_t r = 0; r < shift_rotations.size(); ++r) {
            const engine::Step& s = program.steps[static_cast<std::size_t>(shift_rotations[r])];
            const double plus = base[(1 + 2 * r) * m + i], minus = base[(2 + 2 * r) * m + i];
            angle_grads[static_cast<std::size_t>(s.angle)] += 0.5 * (plus - minus);
          }
          chain_rule(angle_grads.data(), x, jac + static_cast<std::size_t>(i) * P, 1.0);
        } else {
          for (int p = 0; p < P; ++p) {
            const double plus = base[(1 + 2 * p) * m + i], minus = base[(2 + 2 * p) * m + i];
            jac[static_cast<std::size_t>(i) * P + p] = (plus - minus) / (2.0 * h);
          }
        }
      }
    }
  }

  void check_method(GradientMethod method) const {
    if (method == GradientMethod::kParameterShift && param_channels && options.strict_parameter_shift) {
      throw std::invalid_argument(
          "parameter shift is not valid for this circuit: a channel depends on the parameters (use the adjoint "
          "method or finite differences, or set GradientOptions::strict_parameter_shift = false)");
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

void CircuitFunction::Impl::compile(const engine::Circuit& circuit, const noise::NoiseModel* model) {
  program = engine::compile(circuit, model);
  n = program.num_qubits;
  d = std::uint64_t{1} << n;
  num_params = program.num_parameters;
  num_features = program.num_features;
  param_channels = circuit.has_parameter_dependent_channels();
  slot_of.assign(program.steps.size(), -1);
  for (std::size_t i = 0; i < program.steps.size(); ++i) {
    const engine::Step& s = program.steps[i];
    if (s.kind == engine::StepKind::kFixed || !program.angles[static_cast<std::size_t>(s.angle)].depends_on_parameters()) {
      continue;
    }
    slot_of[i] = static_cast<int>(diff_steps.size());
    diff_steps.push_back(static_cast<int>(i));
    if (s.kind == engine::StepKind::kRotation) shift_rotations.push_back(static_cast<int>(i));
  }
}

void CircuitFunction::Impl::plan_adjoint() {
  const int D = static_cast<int>(diff_steps.size());
  const int S = static_cast<int>(program.steps.size());
  seg_begin.clear();
  const std::uint64_t state_bytes = engine::density_matrix_bytes(n);
  const std::uint64_t max_states = options.adjoint_memory_bytes / std::max<std::uint64_t>(state_bytes, 1);
  if (D == 0 || static_cast<std::uint64_t>(D) <= max_states) {
    seg_len = D;
    seg_begin = {0, S};
    return;
  }
  // Segments of s differentiable steps: s slot buffers + (ceil(D/s) - 1) checkpoints.
  int best = -1;
  std::uint64_t best_total = UINT64_MAX;
  for (int s = 1; s <= D; ++s) {
    const std::uint64_t total = static_cast<std::uint64_t>(s) + static_cast<std::uint64_t>((D + s - 1) / s - 1);
    if (total <= max_states && total < best_total) {
      best_total = total;
      best = s;
    }
  }
  if (best < 0) {
    throw std::runtime_error("the adjoint gradient of " + std::to_string(D) + " parametrised steps on " +
                             std::to_string(n) + " qubits needs at least " +
                             std::to_string(2 * static_cast<std::uint64_t>(std::ceil(std::sqrt(D)))) +
                             " stored states, more than GradientOptions::adjoint_memory_bytes allows; raise it or "
                             "use parameter shift");
  }
  seg_len = best;
  seg_begin.push_back(0);
  for (int first = best; first < D; first += best) seg_begin.push_back(diff_steps[static_cast<std::size_t>(first)]);
  seg_begin.push_back(S);
}

// ---- public API -----------------------------------------------------------------------------------

CircuitFunction::CircuitFunction(const engine::Circuit& circuit, std::vector<engine::PauliSum> observables,
                                 const noise::NoiseModel* model, GradientOptions options)
    : impl_(std::make_unique<Impl>()) {
  std::string why;
  if (!options.IsValid(&why)) throw std::invalid_argument(why);
  if (observables.empty()) throw std::invalid_argument("CircuitFunction needs at least one observable");
  for (const engine::PauliSum& o : observables) {
    for (const auto& term : o.terms) {
      if (term.second.min_qubits() > circuit.num_qubits()) {
        throw std::invalid_argument("observable term '" + term.second.to_string() + "' acts on qubit " +
                                    std::to_string(term.second.min_qubits() - 1) + " of a " +
                                    std::to_string(circuit.num_qubits()) + "-qubit circuit");
      }
    }
  }
  impl_->observables = std::move(observables);
  impl_->options = options;
  impl_->compile(circuit, model);
  impl_->plan_adjoint();
}

CircuitFunction::~CircuitFunction() = default;
CircuitFunction::CircuitFunction(CircuitFunction&&) noexcept = default;
CircuitFunction& CircuitFunction::operator=(CircuitFunction&&) noexcept = default;

int CircuitFunction::num_qubits() const { return impl_->n; }
int CircuitFunction::num_parameters() const { return impl_->num_params; }
int CircuitFunction::num_features() const { return impl_->num_features; }
int CircuitFunction::num_outputs() const { return static_cast<int>(impl_->observables.size()); }
const GradientOptions& CircuitFunction::options() const { return impl_->options; }
int CircuitFunction::num_steps() const { return static_cast<int>(impl_->program.steps.size()); }
int CircuitFunction::num_parametrized_rotations() const { return static_cast<int>(impl_->shift_rotations.size()); }

void CircuitFunction::set_options(const GradientOptions& options) {
  std::string why;
  if (!options.IsValid(&why)) throw std::invalid_argument(why);
  impl_->options = options;
  impl_->plan_adjoint();
}

std::int64_t CircuitFunction::circuit_evaluations() const { return impl_->evaluations.load(); }
void CircuitFunction::reset_circuit_evaluations() { impl_->evaluations.store(0); }

void CircuitFunction::evaluate(const double* theta, const double* x, double* values) const {
  evaluate_batch(theta, x, 1, values);
}

void CircuitFunction::evaluate_batch(const double* theta, const double* xs, int num_samples, double* values) const {
  Impl& im = *impl_;
  im.check_inputs(theta, xs);
  const int m = num_outputs();
  im.run_tasks(num_samples, [&](Workspace& ws, int sample) {
    const double* x = xs ? xs + static_cast<std::size_t>(sample) * im.num_features : nullptr;
    im.compute_angles(theta, x, ws.angles);
    im.forward_plain(ws, x, values + static_cast<std::size_t>(sample) * m);
  });
}

void CircuitFunction::jacobian(const double* theta, const double* x, double* values, double* jacobian) const {
  jacobian_batch(theta, x, 1, values, jacobian, impl_->options.method);
}
void CircuitFunction::jacobian(const double* theta, const double* x, double* values, double* jacobian,
                               GradientMethod method) const {
  jacobian_batch(theta, x, 1, values, jacobian, method);
}

void CircuitFunction::jacobian_batch(const double* theta, const double* xs, int num_samples, double* values,
                                     double* jacobian) const {
  jacobian_batch(theta, xs, num_samples, values, jacobian, impl_->options.method);
}

void CircuitFunction::jacobian_batch(const double* theta, const double* xs, int num_samples, double* values,
                                     double* jacobian, GradientMethod method) const {
  Impl& im = *impl_;
  im.check_inputs(theta, xs);
  im.check_method(method);
  const int m = num_outputs(), P = num_parameters();
  if (method != GradientMethod::kAdjoint) {
    im.shifted_jacobians(theta, xs, num_samples, method, values, jacobian);
    return;
  }
  im.run_tasks(num_samples, [&](Workspace& ws, int sample) {
    const double* x = xs ? xs + static_cast<std::size_t>(sample) * im.num_features : nullptr;
    double* v = values + static_cast<std::size_t>(sample) * m;
    double* jac = jacobian + static_cast<std::size_t>(sample) * m * P;
    std::fill(jac, jac + static_cast<std::size_t>(m) * P, 0.0);
    im.forward_adjoint(ws, theta, x, v);
    for (int i = 0; i < m; ++i) {
      std::fill(ws.weights.begin(), ws.weights.end(), 0.0);
      ws.weights[static_cast<std::size_t>(i)] = 1.0;
      im.backward(ws, x, ws.weights.data(), jac + static_cast<std::size_t>(i) * P);
    }
  });
}

void CircuitFunction::vjp(const double* theta, const double* x, const Cotangent& cotangent, double* values,
                          double* gradient) const {
  vjp(theta, x, cotangent, values, gradient, impl_->options.method);
}
void CircuitFunction::vjp(const double* theta, const double* x, const Cotangent& cotangent, double* values,
                          double* gradient, GradientMethod method) const {
  vjp_batch(theta, x, 1, [&](int, const double* v, double* w) { cotangent(v, w); }, values, gradient, method);
}

void CircuitFunction::vjp_batch(const double* theta, const double* xs, int num_samples,
                                const BatchCotangent& cotangent, double* values, double* gradient) const {
  vjp_batch(theta, xs, num_samples, cotangent, values, gradient, impl_->options.method);
}

void CircuitFunction::vjp_batch(const double* theta, const double* xs, int num_samples,
                                const BatchCotangent& cotangent, double* values, double* gradient,
                                GradientMethod method) const {
  Impl& im = *impl_;
  im.check_inputs(theta, xs);
  im.check_method(method);
  const int m = num_outputs(), P = num_parameters();
  std::fill(gradient, gradient + P, 0.0);
  if (method != GradientMethod::kAdjoint) {
    std::vector<double> jac(static_cast<std::size_t>(num_samples) * m * P);
    im.shifted_jacobians(theta, xs, num_samples, method, values, jac.data());
    std::vector<double> w(static_cast<std::size_t>(m));
    for (int sample = 0; sample < num_samples; ++sample) {
      cotangent(sample, values + static_cast<std::size_t>(sample) * m, w.data());
      const double* js = jac.data() + static_cast<std::size_t>(sample) * m * P;
      for (int i = 0; i < m; ++i) {
        if (w[static_cast<std::size_t>(i)] == 0.0) continue;
        for (int p = 0; p < P; ++p) gradient[p] += w[static_cast<std::size_t>(i)] * js[static_cast<std::size_t>(i) * P + p];
      }
    }
    return;
  }
  std::vector<double> per_sample(static_cast<std::size_t>(num_samples) * P, 0.0);
  im.run_tasks(num_samples, [&](Workspace& ws, int sample) {
    const double* x = xs ? xs + static_cast<std::size_t>(sample) * im.num_features : nullptr;
    double* v = values + static_cast<std::size_t>(sample) * m;
    im.forward_adjoint(ws, theta, x, v);
    cotangent(sample, v, ws.weights.data());
    im.backward(ws, x, ws.weights.data(), per_sample.data() + static_cast<std::size_t>(sample) * P);
  });
  for (int sample = 0; sample < num_samples; ++sample) {
    const double* g = per_sample.data() + static_cast<std::size_t>(sample) * P;
    for (int p = 0; p < P; ++p) gradient[p] += g[p];
  }
}

engine::DensityMatrix CircuitFunction::state(const double* theta, const double* x) const {
  Impl& im = *impl_;
  im.check_inputs(theta, x);
  engine::DensityMatrix rho(im.n);
  im.run_tasks(1, [&](Workspace& ws, int) {
    im.compute_angles(theta, x, ws.angles);
    im.forward_plain(ws, x, ws.values.data());
    std::copy(ws.state.begin(), ws.state.end(), rho.data());
  });
  return rho;
}

arma::cx_mat pauli_sum_matrix(const engine::PauliSum& observable, int num_qubits) {
  const std::uint64_t d = std::uint64_t{1} << num_qubits;
  arma::cx_mat m(d, d, arma::fill::zeros);
  for (const auto& [coeff, ps] : observable.terms) {
    if (ps.min_qubits() > num_qubits) throw std::invalid_argument("Pauli term outside the register");
    add_pauli(m.memptr(), d, ps.x_mask, ps.z_mask, coeff);
  }
  return m;
}

}  // namespace kraus::optim
