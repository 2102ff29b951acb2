// The exact density matrix of n qubits.
//
// Conventions (the same throughout kraus):
//  * rho is a column-major 2^n x 2^n complex<double> matrix (an arma::cx_mat): element (r, c) is at
//    flat index r + c * 2^n of the one buffer.
//  * qubit 0 is the least significant bit of a basis index: qubit q is bit q of the row index r and
//    bit q + n of the flat index.
//  * R_P(theta) = exp(-i theta P / 2); a multi-qubit gate's matrix has its first listed qubit as
//    the least significant bit (see gates.hpp).
//  * Depolarising p is the total probability of a non-identity Pauli error (kraus/noise/kernels.hpp
//    gives the conversion to Qiskit's lambda).
//
// Every operation works in place in O(4^n) time on the one buffer through the raw kernels of
// kraus::noise; no 2^n x 2^n operator is formed and the state is never copied per gate.
#pragma once

#include <complex>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <armadillo>

#include "kraus/engine/gates.hpp"

namespace kraus::engine {

using Complex = std::complex<double>;

class DensityMatrix {
 public:
  // |0...0><0...0| on num_qubits qubits (1 <= n <= 30). Fails with std::runtime_error before
  // allocating when the machine lacks the memory (see require_memory), and with a
  // std::runtime_error naming the size when the allocation fails anyway.
  explicit DensityMatrix(int num_qubits);

  // |psi><psi| from a state vector of length 2^n with norm 1 (to `tolerance`).
  static DensityMatrix from_state_vector(const arma::cx_vec& psi, double tolerance = 1e-10);

  // A copy of a 2^n x 2^n matrix after checking that it is a density matrix: Hermitian, trace 1
  // and positive semidefinite (smallest eigenvalue >= -tolerance).
  static DensityMatrix from_matrix(const arma::cx_mat& rho, double tolerance = 1e-10);

  int num_qubits() const { return num_qubits_; }
  std::uint64_t dim() const { return rho_.n_rows; }
  const arma::cx_mat& matrix() const { return rho_; }
  Complex* data() { return rho_.memptr(); }
  const Complex* data() const { return rho_.memptr(); }

  // Back to |0...0><0...0| without reallocating.
  void reset_to_zero_state();

  // ---- gates ----
  void apply(Gate gate, const std::vector<int>& qubits, const std::vector<double>& params = {});
  // An arbitrary unitary on 1, 2 or 3 qubits (first listed qubit = least significant bit of u).
  void apply_unitary(const std::vector<int>& qubits, const arma::cx_mat& u);

  // ---- channels ----
  // A channel on 1 to 3 qubits as its 4^k x 4^k column-stacking superoperator.
  void apply_superoperator(const std::vector<int>& qubits, const arma::cx_mat& superop);
  void apply_kraus(const std::vector<int>& qubits, const std::vector<arma::cx_mat>& operators);
  void apply_depolarizing(int qubit, double p);
  void apply_amplitude_damping(int qubit, double gamma);
  void apply_phase_damping(int qubit, double lambda);
  // Non-selective measurement of a qubit in the computational basis, and reset to |0>.
  void measure(int qubit);
  void reset(int qubit);

  // ---- read-outs ----
  double trace() const;   // real part of Tr(rho)
  double purity() const;  // Tr(rho^2) = sum |rho_rc|^2 (rho Hermitian)
  // Diagonal of rho: probabilities[i] is the probability of basis state i (bit q = qubit q).
  std::vector<double> probabilities() const;
  // Probabilities of the chosen qubits: entry j has bit k = value of qubits[k].
  std::vector<double> marginal_probabilities(const std::vector<int>& qubits) const;
  // <psi| rho |psi> for a normalised state vector.
  double fidelity(const arma::cx_vec& psi) const;
  // Partial trace keeping `qubits`; qubits[k] becomes qubit k of the result.
  DensityMatrix reduced(const std::vector<int>& qubits) const;

 private:
  DensityMatrix(int num_qubits, arma::cx_mat rho);

  int num_qubits_;
  arma::cx_mat rho_;
};

// Bytes needed by a density matrix of n qubits: 16 * 4^n (UINT64_MAX when that overflows, n >= 30).
std::uint64_t density_matrix_bytes(int num_qubits);

// MemAvailable of /proc/meminfo in bytes (0 when unknown).
std::uint64_t available_memory_bytes();

// Throws std::runtime_error when `bytes` exceed the memory available on this machine
// (MemAvailable in /proc/meminfo), e.g. "15 qubits need 16.0 GiB for the density matrix; this
// machine has 23.1 GiB available", or what the address-space limit (RLIMIT_AS, `ulimit -v`) leaves
// this process. `what` names the need in the message.
void require_memory(int num_qubits, std::uint64_t bytes, const std::string& what = "the density matrix");

// Sets the number of OpenMP threads the kernels use, capped at the cores this process may run on
// (sched_getaffinity), with a note on stderr when capped; returns the number set. More threads
// than cores only add contention (1024 threads on 2 cores: 60 times slower).
int set_num_threads(int num_threads);
// Number of OpenMP threads the kernels use (1 when built without OpenMP).
int num_threads();

}  // namespace kraus::engine
