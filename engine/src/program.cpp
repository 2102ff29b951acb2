#include "kraus/engine/program.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <utility>

#include "fusion.hpp"
#include "kraus/engine/measurement.hpp"
#include "kraus/engine/simulator.hpp"
#include "kraus/noise/channel.hpp"
#include "kraus/noise/kernels.hpp"
#include "kraus/noise/vector_kernels.hpp"

namespace kraus::engine {
namespace {

using noise::Complex;
using noise::KernelCall;
using noise::KernelKind;

constexpr double kPi = 3.14159265358979323846;

std::vector<Complex> row_major(const arma::cx_mat& m) {
  std::vector<Complex> out(m.n_rows * m.n_cols);
  for (arma::uword r = 0; r < m.n_rows; ++r)
    for (arma::uword c = 0; c < m.n_cols; ++c) out[r * m.n_cols + c] = m(r, c);
  return out;
}

// A fixed step (`channel`: the channel it applies, null for a gate); a real 2-qubit superoperator that keeps its block elements in small groups (a
// 2-qubit Pauli channel, a product of 1-qubit channels of real block form) takes the grouped form.
Step fixed_step(KernelCall call, std::shared_ptr<const noise::Channel> channel = nullptr) {
  noise::to_real_groups(&call);
  Step s;
  s.kind = StepKind::kFixed;
  s.call = std::move(call);
  s.channel = std::move(channel);
  return s;
}

// The non-selective measurement (|0><0|, |1><1|: the index of the operator a trajectory picks is the
// outcome it records, Step::clbit) and the reset (|0><0|, |0><1|) of one qubit.
std::shared_ptr<const noise::Channel> measurement_channel() {
  static const auto channel = std::make_shared<const noise::Channel>(noise::Channel::from_kraus(
      {noise::Matrix::rows_of({{1.0, 0.0}, {0.0, 0.0}}), noise::Matrix::rows_of({{0.0, 0.0}, {0.0, 1.0}})}));
  return channel;
}
std::shared_ptr<const noise::Channel> reset_channel() {
  static const auto channel = std::make_shared<const noise::Channel>(noise::Channel::from_kraus(
      {noise::Matrix::rows_of({{1.0, 0.0}, {0.0, 0.0}}), noise::Matrix::rows_of({{0.0, 1.0}, {0.0, 0.0}})}));
  return channel;
}

KernelCall qubits_only(const std::vector<int>& qubits) {
  KernelCall c;
  c.k = static_cast<int>(qubits.size());
  std::copy(qubits.begin(), qubits.end(), c.qubits);
  return c;
}

// The local generator of a Pauli rotation gate, P = i U(π), as ± a Pauli string: `pauli_index` in
// the base-4 digits of noise::pauli_matrix (digit j acts on the gate's j-th qubit).
struct RotationGenerator {
  std::vector<Complex> pauli;  // row-major P
  int pauli_index = 0;
  double sign = 1.0;
};

RotationGenerator compute_generator(Gate gate) {
  const int k = gate_info(gate).num_qubits;
  const arma::cx_mat p = Complex(0.0, 1.0) * gate_matrix(gate, {kPi});
  const int dim = 1 << k;
  for (int idx = 1; idx < (1 << (2 * k)); ++idx) {
    const noise::Matrix pm = noise::pauli_matrix(idx, k);
    Complex overlap(0.0, 0.0);
    for (int r = 0; r < dim; ++r)
      for (int c = 0; c < dim; ++c) overlap += std::conj(pm(r, c)) * p(static_cast<arma::uword>(r), static_cast<arma::uword>(c));
    overlap /= static_cast<double>(dim);
    if (std::abs(std::abs(overlap.real()) - 1.0) < 1e-12 && std::abs(overlap.imag()) < 1e-12) {
      // Check U(a) = cos(a/2) I - i sin(a/2) P at a generic angle.
      const double a = 0.7310585786;
      const arma::cx_mat expect =
          std::cos(a / 2) * arma::eye<arma::cx_mat>(dim, dim) - Complex(0.0, std::sin(a / 2)) * p;
      if (arma::abs(gate_matrix(gate, {a}) - expect).max() > 1e-12) break;
      return {row_major(p), idx, overlap.real() > 0 ? 1.0 : -1.0};
    }
  }
  throw std::logic_error("gate '" + std::string(gate_info(gate).name) + "' is not exp(-i a P / 2) for a Pauli P");
}

// Computed once per gate type (the table is small and immutable).
const RotationGenerator& rotation_generator(Gate gate) {
  static std::mutex mutex;
  static std::map<Gate, RotationGenerator> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(gate);
  if (it == cache.end()) it = cache.emplace(gate, compute_generator(gate)).first;
  return it->second;
}

Step rotation_step(const Operation& op, int angle) {
  Step s;
  s.kind = StepKind::kRotation;
  s.call = qubits_only(op.qubits);
  s.call.kind = KernelKind::kUnitary;
  const RotationGenerator& g = rotation_generator(op.gate);
  s.generator = g.pauli;
  s.sign = g.sign;
  int digits = g.pauli_index;
  for (std::size_t j = 0; j < op.qubits.size(); ++j, digits >>= 2) {
    const int dgt = digits & 3;
    const std::uint64_t bit = std::uint64_t{1} << op.qubits[j];
    if (dgt == 1 || dgt == 2) s.x_mask |= bit;
    if (dgt == 2 || dgt == 3) s.z_mask |= bit;
  }
  s.angle = angle;
  return s;
}

// For each operation: does a later operation (other than a barrier or measure) use one of its qubits?
std::vector<bool> followed_by_operation(const Circuit& circuit) {
  const auto& ops = circuit.operations();
  std::vector<bool> used_later(static_cast<std::size_t>(circuit.num_qubits()), false);
  std::vector<bool> out(ops.size(), false);
  for (std::size_t i = ops.size(); i-- > 0;) {
    const Operation& op = ops[i];
    for (int q : op.qubits) out[i] = out[i] || used_later[static_cast<std::size_t>(q)];
    if (op.kind != OpKind::kBarrier && op.kind != OpKind::kMeasure) {
      for (int q : op.qubits) used_later[static_cast<std::size_t>(q)] = true;
    }
  }
  return out;
}

// Builds the steps of one circuit under one model.
class Compiler {
 public:
  Compiler(const Circuit& circuit, const noise::NoiseModel* model, Program& program)
      : circuit_(circuit), model_(model), program_(program) {}

  void run() {
    const auto& ops = circuit_.operations();
    const std::vector<bool> followed = followed_by_operation(circuit_);
    recorded_ = recorded_measurements(circuit_);
    const std::shared_ptr<const noise::Channel> idle = model_ ? model_->idle_channel() : nullptr;
    if (idle == nullptr) {
      for (std::size_t i = 0; i < ops.size(); ++i) emit(ops[i], recorded_[i]);
      return;
    }
    const noise::KernelKind idle_kernel = model_->idle_noise->kernel(1);
    // Layer by layer (a stable reordering that keeps every qubit's operations in order), then the
    // idle channel on the qubits the layer left alone.
    const int n = circuit_.num_qubits();
    int num_layers = 0;
    const std::vector<int> layer = asap_layers(circuit_, &num_layers);
    std::vector<std::size_t> order(ops.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return layer[a] < layer[b]; });
    // A qubit is read out at its first measurement that no other operation follows (later ones
    // measure it again): no idle noise afterwards.
    std::vector<int> idle_until(static_cast<std::size_t>(n), num_layers);
    for (std::size_t i = 0; i < ops.size(); ++i) {
      if (ops[i].kind == OpKind::kMeasure && !followed[i]) {
        int& until = idle_until[static_cast<std::size_t>(ops[i].qubits[0])];
        until = std::min(until, layer[i]);
      }
    }
    std::vector<Step> idle_steps;
    for (int q = 0; q < n; ++q) idle_steps.push_back(fixed_step(noise::channel_call(*idle, &q, idle_kernel), idle));
    std::size_t next = 0;
    for (int l = 0; l < num_layers; ++l) {
      std::vector<bool> busy(static_cast<std::size_t>(n), false);
      for (; next < order.size() && layer[order[next]] == l; ++next) {
        const Operation& op = ops[order[next]];
        if (op.kind != OpKind::kBarrier && op.kind != OpKind::kChannel) {
          for (int q : op.qubits) busy[static_cast<std::size_t>(q)] = true;
        }
        emit(op, recorded_[order[next]]);
      }
      for (int q = 0; q < n; ++q) {
        if (!busy[static_cast<std::size_t>(q)] && l < idle_until[static_cast<std::size_t>(q)]) {
          program_.steps.push_back(idle_steps[static_cast<std::size_t>(q)]);
        }
      }
    }
    for (; next < order.size(); ++next) emit(ops[order[next]], recorded_[order[next]]);  // after the last layer
  }

 private:
  int add_angle(const Angle& angle) {
    program_.angles.push_back(angle);
    return static_cast<int>(program_.angles.size()) - 1;
  }

  // The steps of one operation (`recorded`: a measurement that is a step), all under its condition.
  void emit(const Operation& op, bool recorded) {
    const std::size_t first = program_.steps.size();
    emit_steps(op, recorded);
    for (std::size_t i = first; i < program_.steps.size(); ++i) program_.steps[i].condition = op.condition;
  }

  void emit_steps(const Operation& op, bool recorded) {
    switch (op.kind) {
      case OpKind::kGate:
        if (op.has_angle) {
          program_.steps.push_back(rotation_step(op, add_angle(op.angle)));
        } else {
          const std::vector<Complex> u = row_major(gate_matrix(op.gate, op.params));
          program_.steps.push_back(fixed_step(noise::unitary_call(op.qubits.data(), static_cast<int>(op.qubits.size()), u.data())));
        }
        emit_noise(op);
        break;
      case OpKind::kUnitary: {
        const std::vector<Complex> u = row_major(op.matrix);
        program_.steps.push_back(fixed_step(noise::unitary_call(op.qubits.data(), static_cast<int>(op.qubits.size()), u.data())));
        emit_noise(op);
        break;
      }
      case OpKind::kMeasure:
        if (recorded) {
          program_.steps.push_back(fixed_step(real_block(op.qubits[0], {1, 0, 0, 1, 0, 0, 0, 0}), measurement_channel()));
          program_.steps.back().clbit = op.clbit;
        }
        break;
      case OpKind::kReset:
        program_.steps.push_back(fixed_step(real_block(op.qubits[0], {1, 1, 0, 0, 0, 0, 0, 0}), reset_channel()));
        break;
      case OpKind::kBarrier: break;
      case OpKind::kChannel:
        if (op.angle_channel) {
          Step s;
          s.kind = StepKind::kAngleChannel;
          s.call = qubits_only(op.qubits);
          s.call.kind = KernelKind::kSuperoperator;
          s.angle = add_angle(op.angle);
          s.angle_channel = op.angle_channel;
          program_.steps.push_back(std::move(s));
        } else {
          program_.steps.push_back(fixed_step(noise::channel_call(*op.channel, op.qubits.data(), noise::detect_kernel(*op.channel)), op.channel));
        }
        break;
    }
  }

  static KernelCall real_block(int qubit, std::vector<double> params) {
    KernelCall c;
    c.kind = KernelKind::kRealBlock1q;
    c.k = 1;
    c.qubits[0] = qubit;
    std::copy(params.begin(), params.end(), c.params);
    return c;
  }

  // The model's channels after a gate, built once per (name, qubits).
  void emit_noise(const Operation& op) {
    if (model_ == nullptr) return;
    auto key = std::make_pair(op.name(), op.qubits);
    auto it = noise_cache_.find(key);
    if (it == noise_cache_.end()) {
      std::vector<Step> steps;
      for (const noise::PlacedChannel& pc : model_->channels_after(key.first, op.qubits)) {
        steps.push_back(fixed_step(noise::channel_call(*pc.channel, pc.qubits.data(), pc.kernel), pc.channel));
      }
      it = noise_cache_.emplace(std::move(key), std::move(steps)).first;
    }
    program_.steps.insert(program_.steps.end(), it->second.begin(), it->second.end());
  }

  const Circuit& circuit_;
  const noise::NoiseModel* model_;
  Program& program_;
  std::vector<bool> recorded_;  // per operation: a measurement that is a step (recorded_measurements)
  std::map<std::pair<std::string, std::vector<int>>, std::vector<Step>> noise_cache_;
};

}  // namespace

bool CompileOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (fusion_max_qubits < 1 || fusion_max_qubits > 2) return fail("CompileOptions::fusion_max_qubits must be 1 or 2");
  if (!(pass_cost >= 0.0 && pass_cost < 1e6)) return fail("CompileOptions::pass_cost must be in [0, 1e6)");
  if (block_qubits != 0 && (block_qubits < 3 || block_qubits > noise::kMaxQubits)) {
    return fail("CompileOptions::block_qubits must be 0 (off) or in [3, 30]");
  }
  return true;
}

bool Program::has_conditions() const {
  return std::any_of(steps.begin(), steps.end(), [](const Step& s) { return s.condition.active(); });
}

void require_unconditional(const Program& program, const std::string& executor) {
  if (program.has_conditions()) {
    throw std::invalid_argument("classical control (if) needs the trajectory method: " + executor + " cannot run it");
  }
}

void Program::rotation_matrix(const Step& s, double a, Complex* u) {
  const int dim = 1 << s.call.k;
  const double c = std::cos(a / 2), sn = std::sin(a / 2);
  for (int r = 0; r < dim; ++r) {
    for (int col = 0; col < dim; ++col) {
      const std::size_t i = static_cast<std::size_t>(r * dim + col);
      u[i] = Complex(0.0, -sn) * s.generator[i];
      if (r == col) u[i] += c;
    }
  }
}

void Program::angle_values(const double* theta, const double* x, double* out) const {
  if (theta == nullptr && num_parameters > 0) throw std::invalid_argument("null parameter vector");
  if (x == nullptr && num_features > 0) {
    throw std::invalid_argument("the circuit uses " + std::to_string(num_features) +
                                " data features but no feature vector was given");
  }
  for (std::size_t i = 0; i < angles.size(); ++i) out[i] = angles[i].value(theta, x);
}

void Program::initial_state(const double* x, Complex* rho) const {
  const std::uint64_t d = std::uint64_t{1} << num_qubits;
  // Zeroed by columns in parallel for large states: one thread alone fills 256 MiB at about half the
  // bandwidth two reach (5 % of the 12-qubit layered run, bench/).
  const auto columns = static_cast<std::int64_t>(d);
#pragma omp parallel for schedule(static) if (num_qubits >= noise::kParallelMinQubits)
  for (std::int64_t c = 0; c < columns; ++c) std::fill(rho + c * columns, rho + (c + 1) * columns, Complex(0.0, 0.0));
  if (amplitude_features == 0) {
    rho[0] = 1.0;
    return;
  }
  const double inv = 1.0 / amplitude_norm2(x);
  const std::uint64_t f = static_cast<std::uint64_t>(amplitude_features);
  for (std::uint64_t c = 0; c < f; ++c)  // ρ = ψ ψ^T with ψ = x / |x| zero-padded (real)
    for (std::uint64_t r = 0; r < f; ++r) rho[r + c * d] = x[r] * x[c] * inv;
}

void Program::initial_state_vector(const double* x, Complex* psi) const {
  const std::uint64_t d = std::uint64_t{1} << num_qubits;
  const auto size = static_cast<std::int64_t>(d);
#pragma omp parallel for schedule(static) if (num_qubits >= noise::kVectorParallelMinQubits)
  for (std::int64_t i = 0; i < size; ++i) psi[i] = 0.0;
  if (amplitude_features == 0) {
    psi[0] = 1.0;
    return;
  }
  const double inv = 1.0 / std::sqrt(amplitude_norm2(x));
  for (int i = 0; i < amplitude_features; ++i) psi[i] = x[i] * inv;
}

double Program::amplitude_norm2(const double* x) const {
  if (x == nullptr) throw std::invalid_argument("amplitude encoding needs a feature vector");
  double norm2 = 0.0;
  for (int i = 0; i < amplitude_features; ++i) norm2 += x[i] * x[i];
  if (!(norm2 > 0.0) || !std::isfinite(norm2)) {
    throw std::invalid_argument("amplitude encoding of an all-zero (or non-finite) feature vector");
  }
  return norm2;
}

namespace {

// The forward schedule of p.steps: fused, with the adjoint maps and the cache-blocked sweeps.
void schedule(Program& p, const CompileOptions& options) {
  p.forward = detail::fuse(p.steps, options, &p.forward_source);
  p.forward_adjoint.reserve(p.forward.size());
  for (std::size_t j = 0; j < p.forward.size(); ++j) {
    p.forward_adjoint.push_back(p.forward_source[j] < 0 ? noise::adjoint_call(p.forward[j]) : KernelCall{});
  }
  if (options.block_qubits > 0 && p.num_qubits > options.block_qubits) {
    p.sweeps = noise::plan_sweeps(p.forward.data(), p.forward.size(), p.num_qubits, options.block_qubits);
  }
}

}  // namespace

Program compile(const Circuit& circuit, const noise::NoiseModel* model, const CompileOptions& options) {
  std::string why;
  if (!options.IsValid(&why)) throw std::invalid_argument(why);
  Program p;
  p.num_qubits = circuit.num_qubits();
  p.num_parameters = circuit.num_parameters();
  p.num_features = circuit.num_features();
  p.amplitude_features = circuit.amplitude_features();
  p.num_clbits = circuit.num_clbits();
  Compiler(circuit, model, p).run();
  schedule(p, options);
  return p;
}

int data_prefix(const Program& program) {
  const auto reads = [&](const Step& s, bool features) {
    if (s.kind == StepKind::kFixed) return false;
    const Angle& a = program.angles[static_cast<std::size_t>(s.angle)];
    return std::any_of(a.terms.begin(), a.terms.end(),
                       [&](const AngleTerm& t) { return features ? t.feature >= 0 : t.param >= 0; });
  };
  std::size_t end = 0;  // one past the last step that reads a feature
  for (std::size_t i = 0; i < program.steps.size(); ++i) {
    if (reads(program.steps[i], true)) end = i + 1;
  }
  if (program.amplitude_features > 0) return end == 0 ? 0 : -1;
  for (std::size_t i = 0; i < end; ++i) {
    const Step& s = program.steps[i];
    if (s.call.k != 1 || reads(s, false)) return -1;
  }
  return static_cast<int>(end);
}

Program program_rest(const Program& program, std::size_t first, const CompileOptions& options) {
  std::string why;
  if (!options.IsValid(&why)) throw std::invalid_argument(why);
  if (first > program.steps.size()) throw std::invalid_argument("program_rest: first step past the program's end");
  Program rest;
  rest.num_qubits = program.num_qubits;
  rest.num_parameters = program.num_parameters;
  rest.num_features = program.num_features;
  rest.num_clbits = program.num_clbits;
  rest.angles = program.angles;
  rest.steps.assign(program.steps.begin() + static_cast<std::ptrdiff_t>(first), program.steps.end());
  schedule(rest, options);
  return rest;
}

void Program::bind(const double* angle_values, std::vector<noise::KernelCall>& bound) const {
  if (bound.size() != forward.size()) bound = forward;
  for (std::size_t j = 0; j < bound.size(); ++j) {
    const int source = forward_source[j];
    if (source < 0) continue;
    const Step& s = steps[static_cast<std::size_t>(source)];
    const double a = angle_values[static_cast<std::size_t>(s.angle)];
    if (s.kind == StepKind::kRotation) {
      bound[j].matrix.resize(std::size_t{1} << (2 * s.call.k));
      rotation_matrix(s, a, bound[j].matrix.data());
    } else {
      const noise::Matrix sop = s.angle_channel->superoperator(a);
      bound[j].matrix.assign(sop.data(), sop.data() + static_cast<std::size_t>(sop.rows()) * sop.cols());
    }
  }
}

void Program::run_forward(const double* angle_values, std::vector<noise::KernelCall>& bound, Complex* rho) const {
  const std::vector<noise::KernelCall>* calls = &forward;
  if (!angles.empty()) {
    bind(angle_values, bound);
    calls = &bound;
  }
  if (sweeps.empty()) {
    for (const noise::KernelCall& c : *calls) noise::apply(c, rho, num_qubits);
  } else {
    noise::run_sweeps(sweeps, calls->data(), rho, num_qubits, /*hermitian=*/true);
  }
}

void run(const Program& program, const double* theta, const double* x, DensityMatrix& rho) {
  require_unconditional(program, "the density matrix");
  if (rho.num_qubits() != program.num_qubits) {
    throw std::invalid_argument("the state has " + std::to_string(rho.num_qubits()) + " qubits, the program " +
                                std::to_string(program.num_qubits));
  }
  std::vector<double> angles(program.angles.size());
  program.angle_values(theta, x, angles.data());
  program.initial_state(x, rho.data());
  std::vector<noise::KernelCall> bound;
  program.run_forward(angles.data(), bound, rho.data());
}

}  // namespace kraus::engine
