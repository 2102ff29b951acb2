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

std::vector<double> StateVector::marginal_probabilities(const std::vector<int>& qubits) const {
  if (qubits.size() > 30) throw std::invalid_argument("marginal_probabilities: at most 30 qubits");
  std::uint64_t seen = 0;
  for (const int q : qubits) {
    if (q < 0 || q >= num_qubits_ || ((seen >> q) & 1)) {
      throw std::invalid_argument("marginal_probabilities: qubit " + std::to_string(q) + " is out of range or repeated");
    }
    seen |= std::uint64_t{1} << q;
  }
  std::vector<double> out(std::size_t{1} << qubits.size(), 0.0);
  for (std::uint64_t i = 0; i < dim(); ++i) {
    std::size_t j = 0;
    for (std::size_t k = 0; k < qubits.size(); ++k) j |= static_cast<std::size_t>((i >> qubits[k]) & 1) << k;
    out[j] += std::norm(amplitudes_[i]);
  }
  return out;
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
  program.initial_state_vector(x, psi.data());
  const detail::VectorSchedule schedule = detail::vector_schedule(program, angles.data());
  detail::Walker(schedule, 2).walk(psi.data(), nullptr);
  detail::apply_observable(observable, psi.data(), lambda.data(), scratch.data(), n);
  const double value = noise::inner_product(psi.data(), lambda.data(), n).real();
  std::fill(gradient, gradient + program.num_parameters, 0.0);
  detail::BackwardWorkspace workspace(n, 2);
  detail::adjoint_backward(program, schedule, detail::BackwardCalls(schedule), x, detail::WalkRecord{}, psi.data(),
                           {lambda.data()}, gradient, workspace);
  return value;
}

}  // namespace kraus::engine
