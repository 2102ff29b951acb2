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

#include "kraus/engine/gates.hpp"
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

void fill_zero_state(Complex* m, std::uint64_t d) {
  std::fill(m, m + d * d, Complex(0.0, 0.0));
  m[0] = 1.0;
}

// ψ = x / |x| zero-padded to d; m = ψ ψ^T (ψ real).
void fill_amplitude_state(Complex* m, std::uint64_t d, const double* x, int num_features) {
  double norm2 = 0.0;
  for (int i = 0; i < num_features; ++i) norm2 += x[i] * x[i];
  if (!(norm2 > 0.0) || !std::isfinite(norm2)) {
    throw std::invalid_argument("amplitude encoding of an all-zero (or non-finite) feature vector");
  }
  const double inv = 1.0 / norm2;  // ψ_r ψ_c = x_r x_c / |x|²
  std::fill(m, m + d * d, Complex(0.0, 0.0));
  const std::uint64_t f = static_cast<std::uint64_t>(num_features);
  for (std::uint64_t c = 0; c < f; ++c) {
    for (std::uint64_t r = 0; r < f; ++r) m[r + c * d] = x[r] * x[c] * inv;
  }
}

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

// m -> (1 - p) m + p Tr(m) I / d (self-adjoint).
void global_depolarize(Complex* m, std::uint64_t d, double p, int num_qubits) {
  Complex tr(0.0, 0.0);
  for (std::uint64_t i = 0; i < d; ++i) tr += m[i + i * d];
  const double keep = 1.0 - p;
  const std::int64_t len = static_cast<std::int64_t>(d * d);
  if (num_qubits >= noise::kParallelMinQubits) {
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < len; ++i) m[i] *= keep;
  } else {
    for (std::int64_t i = 0; i < len; ++i) m[i] *= keep;
  }
  const Complex add = p * tr / static_cast<double>(d);
  for (std::uint64_t i = 0; i < d; ++i) m[i + i * d] += add;
}

// Copies one d x d state.
void copy_state_bytes(const Complex* from, Complex* to, std::uint64_t elements) {
  std::memcpy(static_cast<void*>(to), static_cast<const void*>(from), elements * sizeof(Complex));
}

std::vector<Complex> row_major(const arma::cx_mat& m) {
  std::vector<Complex> out(m.n_rows * m.n_cols);
  for (arma::uword r = 0; r < m.n_rows; ++r)
    for (arma::uword c = 0; c < m.n_cols; ++c) out[r * m.n_cols + c] = m(r, c);
  return out;
}

std::vector<Complex> row_major_adjoint(const arma::cx_mat& m) {
  return row_major(arma::cx_mat(m.t()));
}

std::vector<Complex> matrix_adjoint(const noise::Matrix& m) {
  const noise::Matrix a = m.adjoint();
  return std::vector<Complex>(a.data(), a.data() + static_cast<std::size_t>(a.rows()) * a.cols());
}

// ---- compiled steps ---------------------------------------------------------------------------

enum class StepKind { kUnitary, kRotation, kChannel, kAngleChannel, kGlobalDepolarizing };

// A channel and what its adjoint O -> Σ K† O K needs. Self-adjoint channels (Hermitian Kraus
// operators: depolarising, Pauli, phase damping; S† = S) reuse the forward fast paths; a
// single-Kraus (unitary) channel is K† O K through the unitary kernel; any other channel applies
// S† (the superoperator Σ Kᵀ ⊗ K† of the adjoint map) with the generic superoperator kernel.
struct ChannelData {
  std::shared_ptr<const noise::Channel> channel;
  enum class Adjoint { kSelf, kUnitary, kSuperoperator } adjoint_kind = Adjoint::kSuperoperator;
  std::vector<Complex> adjoint;  // kUnitary: row-major K†; kSuperoperator: row-major S†
};

std::shared_ptr<ChannelData> make_channel_data(std::shared_ptr<const noise::Channel> channel) {
  auto data = std::make_shared<ChannelData>();
  const noise::Matrix& s = channel->superoperator();
  const noise::Matrix adj = s.adjoint();
  double asym = 0.0;
  for (int r = 0; r < s.rows(); ++r)
    for (int c = 0; c < s.cols(); ++c) asym = std::max(asym, std::abs(s(r, c) - adj(r, c)));
  if (asym <= 1e-15) {
    data->adjoint_kind = ChannelData::Adjoint::kSelf;
  } else if (channel->kraus().size() == 1) {
    data->adjoint_kind = ChannelData::Adjoint::kUnitary;
    const noise::Matrix k_adj = channel->kraus()[0].adjoint();
    data->adjoint.assign(k_adj.data(), k_adj.data() + static_cast<std::size_t>(k_adj.rows()) * k_adj.cols());
  } else {
    data->adjoint_kind = ChannelData::Adjoint::kSuperoperator;
    data->adjoint.assign(adj.data(), adj.data() + static_cast<std::size_t>(adj.rows()) * adj.cols());
  }
  data->channel = std::move(channel);
  return data;
}

struct Step {
  StepKind kind = StepKind::kUnitary;
  std::vector<int> qubits;
  int k = 0;
  std::vector<Complex> u, u_adj;  // kUnitary, row-major
  std::vector<Complex> pauli;     // kRotation: row-major local generator P, U(a) = cos(a/2) I - i sin(a/2) P
  std::uint64_t x_mask = 0, z_mask = 0;  // kRotation: P on the register = sign · (Pauli string x, z)
  double sign = 1.0;
  int angle = -1;              // kRotation / kAngleChannel: index into Impl::angles
  bool differentiable = false;  // the angle depends on θ
  int slot = -1;               // index among the differentiable steps
  std::shared_ptr<const ChannelData> channel;
  std::shared_ptr<const AngleDependentChannel> angle_channel;
  double p = 0.0;
};

// The local generator of a Pauli rotation gate, P = i U(π), as ± a Pauli string: `pauli_index` in
// the base-4 digits of noise::pauli_matrix (digit j acts on the gate's j-th qubit).
struct RotationGenerator {
  std::vector<Complex> pauli;  // row-major P
  int pauli_index = 0;
  double sign = 1.0;
};

RotationGenerator compute_generator(engine::Gate gate) {
  const int k = engine::gate_info(gate).num_qubits;
  const arma::cx_mat u_pi = engine::gate_matrix(gate, {kPi});
  const arma::cx_mat p = Complex(0.0, 1.0) * u_pi;
  const int dim = 1 << k;
  int found = -1;
  double sign = 0.0;
  for (int idx = 1; idx < (1 << (2 * k)); ++idx) {
    const noise::Matrix pm = noise::pauli_matrix(idx, k);
    Complex overlap(0.0, 0.0);
    for (int r = 0; r < dim; ++r)
      for (int c = 0; c < dim; ++c) overlap += std::conj(pm(r, c)) * p(static_cast<arma::uword>(r), static_cast<arma::uword>(c));
    overlap /= static_cast<double>(dim);
    if (std::abs(std::abs(overlap.real()) - 1.0) < 1e-12 && std::abs(overlap.imag()) < 1e-12) {
      found = idx;
      sign = overlap.real() > 0 ? 1.0 : -1.0;
      break;
    }
  }
  if (found < 0) {
    throw std::logic_error("gate '" + std::string(engine::gate_info(gate).name) + "' is not a Pauli rotation");
  }
  // Check U(a) = cos(a/2) I - i sin(a/2) P at a generic angle.
  const double a = 0.7310585786;
  const arma::cx_mat ua = engine::gate_matrix(gate, {a});
  const arma::cx_mat expect = std::cos(a / 2) * arma::eye<arma::cx_mat>(dim, dim) - Complex(0.0, std::sin(a / 2)) * p;
  if (arma::abs(ua - expect).max() > 1e-12) {
    throw std::logic_error("gate '" + std::string(engine::gate_info(gate).name) + "' is not exp(-i a P / 2)");
  }
  RotationGenerator g;
  g.pauli = row_major(p);
  g.pauli_index = found;
  g.sign = sign;
  return g;
}

// Computed once per gate type (the table is small and immutable).
const RotationGenerator& rotation_generator(engine::Gate gate) {
  static std::mutex mutex;
  static std::map<engine::Gate, RotationGenerator> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(gate);
  if (it == cache.end()) it = cache.emplace(gate, compute_generator(gate)).first;
  return it->second;
}

void describe_rotation(engine::Gate gate, const std::vector<int>& qubits, Step* step) {
  const RotationGenerator& g = rotation_generator(gate);
  step->pauli = g.pauli;
  step->sign = g.sign;
  step->x_mask = step->z_mask = 0;
  int digits = g.pauli_index;
  for (std::size_t j = 0; j < qubits.size(); ++j, digits >>= 2) {
    const int dgt = digits & 3;
    const std::uint64_t bit = std::uint64_t{1} << qubits[j];
    if (dgt == 1 || dgt == 2) step->x_mask |= bit;
    if (dgt == 2 || dgt == 3) step->z_mask |= bit;
  }
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
  InitialState initial = InitialState::kZero;
  std::vector<Step> steps;
  std::vector<Angle> angles;
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
  void compile(const ParametrizedCircuit& circuit, const noise::NoiseModel* model);
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
    ws->angles.resize(angles.size());
    ws->theta.resize(static_cast<std::size_t>(num_params));
    ws->values.resize(observables.size());
    ws->weights.resize(observables.size());
    ws->angle_grads.resize(angles.size());
    return ws;
  }
  void release(std::unique_ptr<Workspace> ws) {
    std::lock_guard<std::mutex> lock(pool_mutex);
    pool.push_back(std::move(ws));
  }
  void ensure_adjoint_buffers(Workspace& ws) {
    const std::size_t num_slots = diff_steps.empty() ? 0 : static_cast<std::size_t>(seg_len);
    const std::size_t num_checkpoints = seg_begin.size() >= 2 ? seg_begin.size() - 2 : 0;
    const bool need_scratch = std::any_of(steps.begin(), steps.end(), [](const Step& s) {
      return s.kind == StepKind::kAngleChannel && s.differentiable;
    });
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
    for (std::size_t i = 0; i < angles.size(); ++i) out[i] = angles[i].value(theta, x);
  }

  void prepare_initial(Workspace& ws, const double* x) const {
    if (initial == InitialState::kAmplitude) {
      fill_amplitude_state(ws.state.data(), d, x, num_features_amplitude);
    } else {
      fill_zero_state(ws.state.data(), d);
    }
  }
  int num_features_amplitude = 0;

  void apply_forward(const Step& s, Complex* m, const std::vector<double>& angle_values) const {
    switch (s.kind) {
      case StepKind::kUnitary:
        noise::apply_unitary(m, n, s.qubits.data(), s.k, s.u.data(), -1.0);
        break;
      case StepKind::kRotation: {
        Complex u[16];
        rotation_matrix(s, angle_values[static_cast<std::size_t>(s.angle)], u);
        noise::apply_unitary(m, n, s.qubits.data(), s.k, u, -1.0);
        break;
      }
      case StepKind::kChannel:
        noise::apply_channel(m, n, s.qubits.data(), *s.channel->channel);
        break;
      case StepKind::kAngleChannel: {
        const noise::Matrix sop = s.angle_channel->superoperator(angle_values[static_cast<std::size_t>(s.angle)]);
        noise::apply_superoperator(m, n, s.qubits.data(), s.k, sop.data());
        break;
      }
      case StepKind::kGlobalDepolarizing:
        global_depolarize(m, d, s.p, n);
        break;
    }
  }

  void apply_adjoint(const Step& s, Complex* m, const std::vector<double>& angle_values) const {
    switch (s.kind) {
      case StepKind::kUnitary:
        noise::apply_unitary(m, n, s.qubits.data(), s.k, s.u_adj.data(), -1.0);
        break;
      case StepKind::kRotation: {
        Complex u[16];
        rotation_matrix(s, -angle_values[static_cast<std::size_t>(s.angle)], u);  // U(a)† = U(-a)
        noise::apply_unitary(m, n, s.qubits.data(), s.k, u, -1.0);
        break;
      }
      case StepKind::kChannel:
        switch (s.channel->adjoint_kind) {
          case ChannelData::Adjoint::kSelf:
            noise::apply_channel(m, n, s.qubits.data(), *s.channel->channel);
            break;
          case ChannelData::Adjoint::kUnitary:
            noise::apply_unitary(m, n, s.qubits.data(), s.k, s.channel->adjoint.data(), -1.0);
            break;
          case ChannelData::Adjoint::kSuperoperator:
            noise::apply_superoperator(m, n, s.qubits.data(), s.k, s.channel->adjoint.data());
            break;
        }
        break;
      case StepKind::kAngleChannel: {
        const noise::Matrix sop = s.angle_channel->superoperator(angle_values[static_cast<std::size_t>(s.angle)]);
        const std::vector<Complex> adj = matrix_adjoint(sop);
        noise::apply_superoperator(m, n, s.qubits.data(), s.k, adj.data());
        break;
      }
      case StepKind::kGlobalDepolarizing:
        global_depolarize(m, d, s.p, n);
        break;
    }
  }

  static void rotation_matrix(const Step& s, double a, Complex* u) {
    const int dim = 1 << s.k;
    const double c = std::cos(a / 2), sn = std::sin(a / 2);
    for (int r = 0; r < dim; ++r) {
      for (int col = 0; col < dim; ++col) {
        const std::size_t i = static_cast<std::size_t>(r * dim + col);
        u[i] = Complex(0.0, -sn) * s.pauli[i];
        if (r == col) u[i] += c;
      }
    }
  }

  noise::Matrix angle_channel_derivative(const Step& s, double a) const {
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
      const Step& s = steps[static_cast<std::size_t>(i)];
      if (checkpoints) {
        while (next_checkpoint + 1 < seg_begin.size() && seg_begin[next_checkpoint] == i) {
          copy_state(ws.state.data(), checkpoint(ws, static_cast<int>(next_checkpoint) - 1));
          ++next_checkpoint;
        }
      }
      if (store && s.differentiable && s.kind == StepKind::kAngleChannel) {
        copy_state(ws.state.data(), slot(ws, s.slot - slot_base));
      }
      apply_forward(s, ws.state.data(), ws.angles);
      if (store && s.differentiable && s.kind == StepKind::kRotation) {
        copy_state(ws.state.data(), slot(ws, s.slot - slot_base));
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
    run_steps(ws, 0, static_cast<int>(steps.size()), false, 0, false);
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
      run_steps(ws, 0, static_cast<int>(steps.size()), true, 0, false);
    } else {
      run_steps(ws, 0, static_cast<int>(steps.size()), false, 0, true);
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
        const Step& s = steps[static_cast<std::size_t>(i)];
        if (s.differentiable) {
          const Complex* saved = slot(ws, s.slot - slot_base);
          double g = 0.0;
          if (s.kind == StepKind::kRotation) {
            g = s.sign * rotation_gradient(saved, o, d, s.x_mask, s.z_mask, n);
          } else {  // angle-dependent channel: Tr(O_k · S'(ρ_{k-1}))
            copy_state(saved, ws.scratch.data());
            const noise::Matrix ds = angle_channel_derivative(s, ws.angles[static_cast<std::size_t>(s.angle)]);
            noise::apply_superoperator(ws.scratch.data(), n, s.qubits.data(), s.k, ds.data());
            g = hermitian_inner(o, ws.scratch.data(), d * d, n);
          }
          ws.angle_grads[static_cast<std::size_t>(s.angle)] += g;
        }
        apply_adjoint(s, o, ws.angles);
      }
    }
    evaluations.fetch_add(single_segment() ? 1 : 2, std::memory_order_relaxed);
    chain_rule(ws.angle_grads.data(), x, gradient, 1.0);
  }

  // gradient[p] += scale · Σ_a angle_grads[a] ∂a/∂θ_p.
  void chain_rule(const double* angle_grads, const double* x, double* gradient, double scale) const {
    for (std::size_t a = 0; a < angles.size(); ++a) {
      const double g = angle_grads[a];
      if (g == 0.0) continue;
      for (const AngleTerm& t : angles[a].terms) {
        if (t.param >= 0) gradient[t.param] += scale * g * Angle::term_derivative(t, x);
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
          const Step& s = steps[static_cast<std::size_t>(shift_rotations[static_cast<std::size_t>(r)])];
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
    std::vector<double> angle_grads(angles.size());
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
            const Step& s = steps[static_cast<std::size_t>(shift_rotations[r])];
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

void CircuitFunction::Impl::compile(const ParametrizedCircuit& circuit, const noise::NoiseModel* model) {
  n = circuit.num_qubits();
  d = std::uint64_t{1} << n;
  num_params = circuit.num_parameters();
  num_features = circuit.num_features();
  initial = circuit.initial_state();
  num_features_amplitude = circuit.amplitude_features();
  param_channels = circuit.has_parameter_dependent_channels();

  const auto& ops = circuit.operations();
  std::map<const noise::Channel*, std::shared_ptr<const ChannelData>> cache;
  auto channel_data = [&](const noise::Channel* c, std::shared_ptr<const noise::Channel> owned) {
    auto it = cache.find(c);
    if (it != cache.end()) return it->second;
    std::shared_ptr<const ChannelData> data =
        make_channel_data(owned ? std::move(owned) : std::make_shared<const noise::Channel>(*c));
    cache.emplace(c, data);
    return data;
  };
  auto push_channel = [&](const std::vector<int>& qubits, std::shared_ptr<const ChannelData> data) {
    Step s;
    s.kind = StepKind::kChannel;
    s.qubits = qubits;
    s.k = static_cast<int>(qubits.size());
    s.channel = std::move(data);
    steps.push_back(std::move(s));
  };

  auto emit = [&](const CircuitOp& op) {
    switch (op.type) {
      case OpType::kGate: {
        Step s;
        s.qubits = op.qubits;
        s.k = static_cast<int>(op.qubits.size());
        if (op.has_angle) {
          s.kind = StepKind::kRotation;
          describe_rotation(op.gate, op.qubits, &s);
          s.angle = static_cast<int>(angles.size());
          angles.push_back(op.angle);
          s.differentiable = op.angle.depends_on_parameters();
        } else {
          s.kind = StepKind::kUnitary;
          const arma::cx_mat u = engine::gate_matrix(op.gate, op.fixed_params);
          s.u = row_major(u);
          s.u_adj = row_major_adjoint(u);
        }
        steps.push_back(std::move(s));
        if (model) {
          const std::string name(engine::gate_info(op.gate).name);
          for (const noise::PlacedChannel& pc : model->channels_after(name, op.qubits)) {
            push_channel(pc.qubits, channel_data(pc.channel, nullptr));
          }
        }
        break;
      }
      case OpType::kChannel:
        push_channel(op.qubits, channel_data(op.channel.get(), op.channel));
        break;
      case OpType::kAngleChannel: {
        Step s;
        s.kind = StepKind::kAngleChannel;
        s.qubits = op.qubits;
        s.k = static_cast<int>(op.qubits.size());
        s.angle_channel = op.angle_channel;
        s.angle = static_cast<int>(angles.size());
        angles.push_back(op.angle);
        s.differentiable = op.angle.depends_on_parameters();
        steps.push_back(std::move(s));
        break;
      }
      case OpType::kGlobalDepolarizing: {
        Step s;
        s.kind = StepKind::kGlobalDepolarizing;
        s.p = op.probability;
        steps.push_back(std::move(s));
        break;
      }
      case OpType::kBarrier: break;
    }
  };

  const noise::Channel* idle = model ? model->idle_channel() : nullptr;
  if (idle == nullptr) {
    for (const CircuitOp& op : ops) emit(op);
  } else {
    // As-soon-as-possible layering as in engine::simulate: gates occupy a layer; barriers and
    // explicit channels align their qubits without occupying one; a global channel aligns all.
    std::vector<int> next_free(static_cast<std::size_t>(n), 0);
    std::vector<int> layer(ops.size(), 0);
    int num_layers = 0;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      const CircuitOp& op = ops[i];
      int l = 0;
      if (op.type == OpType::kGlobalDepolarizing) {
        for (int f : next_free) l = std::max(l, f);
        std::fill(next_free.begin(), next_free.end(), l);
      } else {
        for (int q : op.qubits) l = std::max(l, next_free[static_cast<std::size_t>(q)]);
        if (op.type == OpType::kGate) {
          for (int q : op.qubits) next_free[static_cast<std::size_t>(q)] = l + 1;
          num_layers = std::max(num_layers, l + 1);
        } else {
          for (int q : op.qubits) next_free[static_cast<std::size_t>(q)] = l;
        }
      }
      layer[i] = l;
    }
    std::vector<std::size_t> order(ops.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return layer[a] < layer[b]; });
    auto idle_data = channel_data(idle, nullptr);
    std::size_t next = 0;
    for (int l = 0; l < num_layers; ++l) {
      std::vector<bool> busy(static_cast<std::size_t>(n), false);
      for (; next < order.size() && layer[order[next]] == l; ++next) {
        const CircuitOp& op = ops[order[next]];
        if (op.type == OpType::kGate) {
          for (int q : op.qubits) busy[static_cast<std::size_t>(q)] = true;
        }
        emit(op);
      }
      for (int q = 0; q < n; ++q) {
        if (!busy[static_cast<std::size_t>(q)]) push_channel({q}, idle_data);
      }
    }
    for (; next < order.size(); ++next) emit(ops[order[next]]);
  }

  for (std::size_t i = 0; i < steps.size(); ++i) {
    Step& s = steps[i];
    if (s.differentiable) {
      s.slot = static_cast<int>(diff_steps.size());
      diff_steps.push_back(static_cast<int>(i));
      if (s.kind == StepKind::kRotation) shift_rotations.push_back(static_cast<int>(i));
    }
  }
}

void CircuitFunction::Impl::plan_adjoint() {
  const int D = static_cast<int>(diff_steps.size());
  const int S = static_cast<int>(steps.size());
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

CircuitFunction::CircuitFunction(const ParametrizedCircuit& circuit, std::vector<engine::PauliSum> observables,
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
int CircuitFunction::num_steps() const { return static_cast<int>(impl_->steps.size()); }
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
