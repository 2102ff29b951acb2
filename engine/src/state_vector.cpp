#include "kraus/engine/state_vector.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "kraus/noise/vector_kernels.hpp"
#include "vector_executor.hpp"

namespace kraus::engine {

std::uint64_t state_vector_bytes(int num_qubits) {
  if (num_qubits < 0 || num_qubits > 59) return std::numeric_limits<std::uint64_t>::max();
  return std::uint64_t{16} << num_qubits;
}

StateVector::StateVector(int num_qubits) : num_qubits_(num_qubits) {
  if (num_qubits < 1 || num_qubits > noise::kMaxVectorQubits) {
    throw std::invalid_argument("a state vector needs 1 to " + std::to_string(noise::kMaxVectorQubits) +
                                " qubits, got " + std::to_string(num_qubits));
  }
  require_memory(num_qubits, state_vector_bytes(num_qubits), "the state vector");
  amplitudes_.assign(std::size_t{1} << num_qubits, Complex(0.0, 0.0));
  amplitudes_[0] = 1.0;
}

void StateVector::reset_to_zero_state() {
  std::fill(amplitudes_.begin(), amplitudes_.end(), Complex(0.0, 0.0));
  amplitudes_[0] = 1.0;
}

double StateVector::squared_norm() const { return noise::squared_norm(data(), num_qubits_); }

std::vector<double> StateVector::probabilities() const {
  std::vector<double> p(amplitudes_.size());
  noise::probabilities(data(), num_qubits_, p.data());
  return p;
}

double expectation(const StateVector& psi, const PauliString& pauli) {
  if (pauli.min_qubits() > psi.num_qubits()) {
    throw std::invalid_argument("Pauli string " + pauli.to_string() + " acts on qubits the " +
                                std::to_string(psi.num_qubits()) + "-qubit state lacks");
  }
  // P = i^|x & z| X^x Z^z (Y = i X Z on each qubit).
  const Complex v = noise::pauli_expectation(psi.data(), psi.num_qubits(), pauli.x_mask, pauli.z_mask);
  switch (__builtin_popcountll(pauli.x_mask & pauli.z_mask) & 3) {
    case 0: return v.real();
    case 1: return -v.imag();
    case 2: return -v.real();
    default: return v.imag();
  }
}

double expectation(const StateVector& psi, const PauliSum& observable) {
  double value = 0.0;
  for (const auto& [c, p] : observable.terms) value += c * expectation(psi, p);
  return value;
}

bool is_noiseless(const Program& program) {
  for (const Step& s : program.steps) {
    if (s.kind == StepKind::kAngleChannel || s.channel) return false;
  }
  return true;
}

void run(const Program& program, const double* theta, const double* x, StateVector& psi, int fusion_max_qubits) {
  if (psi.num_qubits() != program.num_qubits) {
    throw std::invalid_argument("the state has " + std::to_string(psi.num_qubits()) + " qubits, the program " +
                                std::to_string(program.num_qubits));
  }
  require_unconditional(program, "the state vector");
  if (!is_noiseless(program)) {
    throw std::invalid_argument("the program has channels (noise, mid-circuit measurements or resets): run it as "
                                "trajectories or on a density matrix");
  }
  std::vector<double> angles(program.angles.size());
  program.angle_values(theta, x, angles.data());
  program.initial_state_vector(x, psi.data());
  const detail::VectorSchedule schedule = detail::vector_schedule(program, angles.data());
  detail::Walker(schedule, fusion_max_qubits).walk(psi.data(), nullptr);
}

namespace {

// psi <- P psi for a Pauli string (i^|x & z| X^x Z^z), one 1-qubit pass per factor.
void apply_pauli(const PauliString& p, Complex* psi, int n) {
  static const Complex x[4] = {0.0, 1.0, 1.0, 0.0};
  static const Complex y[4] = {0.0, Complex(0.0, -1.0), Complex(0.0, 1.0), 0.0};
  static const Complex z[4] = {1.0, 0.0, 0.0, -1.0};
  for (int q = 0; q < n; ++q) {
    const bool has_x = (p.x_mask >> q) & 1, has_z = (p.z_mask >> q) & 1;
    if (!has_x && !has_z) continue;
    noise::apply(noise::vector_call(&q, 1, has_x && has_z ? y : has_x ? x : z), psi, n);
  }
}

// The row-major conjugate transpose of a 2^k x 2^k matrix.
std::vector<Complex> adjoint_of(const std::vector<Complex>& u, int k) {
  const int d = 1 << k;
  std::vector<Complex> out(u.size());
  for (int r = 0; r < d; ++r)
    for (int c = 0; c < d; ++c) out[static_cast<std::size_t>(c * d + r)] = std::conj(u[static_cast<std::size_t>(r * d + c)]);
  return out;
}

}  // namespace

double adjoint_gradient(const Program& program, const double* theta, const double* x, const PauliSum& observable,
                        double* gradient) {
  const int n = program.num_qubits;
  require_unconditional(program, "the adjoint gradient");
  if (!is_noiseless(program)) {
    throw std::invalid_argument("the adjoint gradient on a state vector needs a noiseless program (no channels, "
                                "mid-circuit measurements or resets)");
  }
  if (observable.min_qubits() > n) {
    throw std::invalid_argument("observable " + observable.to_string() + " acts on qubits the " + std::to_string(n) +
                                "-qubit program lacks");
  }
  if (gradient == nullptr && program.num_parameters > 0) throw std::invalid_argument("null gradient");
  require_memory(n, 3 * state_vector_bytes(n), "the adjoint gradient's three state vectors");
  std::vector<double> angles(program.angles.size());
  program.angle_values(theta, x, angles.data());
  StateVector psi(n), lambda(n), scratch(n);
  run(program, theta, x, psi);
  // lambda = O psi.
  std::fill(lambda.data(), lambda.data() + lambda.dim(), Complex(0.0, 0.0));
  for (const auto& [c, p] : observable.terms) {
    std::copy(psi.data(), psi.data() + psi.dim(), scratch.data());
    apply_pauli(p, scratch.data(), n);
    for (std::uint64_t i = 0; i < psi.dim(); ++i) lambda.data()[i] += c * scratch.data()[i];
  }
  const double value = noise::inner_product(psi.data(), lambda.data(), n).real();
  std::fill(gradient, gradient + program.num_parameters, 0.0);
  std::vector<Complex> u;
  for (std::size_t j = program.steps.size(); j-- > 0;) {
    const Step& s = program.steps[j];
    const int k = s.call.k;
    if (s.kind == StepKind::kRotation) {
      // d<O>/da = Im <lambda|P|psi> at the state after the rotation.
      std::copy(psi.data(), psi.data() + psi.dim(), scratch.data());
      noise::apply(noise::vector_call(s.call.qubits, k, s.generator.data()), scratch.data(), n);
      const double d = noise::inner_product(lambda.data(), scratch.data(), n).imag();
      for (const AngleTerm& t : program.angles[static_cast<std::size_t>(s.angle)].terms) {
        if (t.param >= 0) gradient[t.param] += d * Angle::term_derivative(t, x);
      }
      u.resize(std::size_t{1} << (2 * k));
      Program::rotation_matrix(s, angles[static_cast<std::size_t>(s.angle)], u.data());
    } else {
      u = s.call.matrix;
    }
    const noise::VectorCall undo = noise::vector_call(s.call.qubits, k, adjoint_of(u, k).data());
    noise::apply(undo, psi.data(), n);
    noise::apply(undo, lambda.data(), n);
  }
  return value;
}

}  // namespace kraus::engine
