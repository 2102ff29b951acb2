// A quantum channel on k qubits as data: its Kraus operators, with conversions to and from the
// superoperator, the Choi matrix and the Pauli transfer matrix.
//
// Conventions (k qubits, d = 2^k; matrices row-major; first qubit = least significant bit):
//  * Superoperator (column stacking): vec(B)[a + b d] = B(a, b) and S = sum_i conj(K_i) (x) K_i, so
//    vec(E(B)) = S vec(B). This is the form the kernels apply to a density-matrix buffer.
//  * Choi matrix: Lambda = sum_{i,j} |i><j| (x) E(|i><j|), i.e. Lambda(a + i d, b + j d) =
//    <a| E(|i><j|) |b> = sum_k vec(K_k) vec(K_k)^dagger (Qiskit's Choi).
//  * Pauli transfer matrix: R(i, j) = 2^-k Tr[P_i E(P_j)] (normalised: R(0, 0) = 1 for a
//    trace-preserving map), Paulis indexed as in pauli_matrix (matrix.hpp).
//
// CPTP check: sum_i K_i^dagger K_i = I to `tolerance` (max-abs). Maps given as a superoperator, Choi
// matrix or PTM must also be completely positive: the Choi matrix's smallest eigenvalue must be
// >= -tolerance. Conversions to Kraus keep the eigenvectors of the Choi matrix with eigenvalue above
// the tolerance, so a map of Choi rank r gets r Kraus operators.
#pragma once

#include <vector>

#include "kraus/noise/matrix.hpp"

namespace kraus::noise {

inline constexpr double kDefaultCptpTolerance = 1e-10;

class Channel {
 public:
  // Every constructor validates the shape and the CPTP conditions and throws std::invalid_argument
  // naming the failed condition.
  static Channel from_kraus(std::vector<Matrix> operators, double tolerance = kDefaultCptpTolerance);
  static Channel from_unitary(const Matrix& u, double tolerance = kDefaultCptpTolerance);
  static Channel from_superoperator(const Matrix& superop, double tolerance = kDefaultCptpTolerance);
  static Channel from_choi(const Matrix& choi, double tolerance = kDefaultCptpTolerance);
  static Channel from_ptm(const Matrix& ptm, double tolerance = kDefaultCptpTolerance);

  int num_qubits() const { return num_qubits_; }
  const std::vector<Matrix>& kraus() const { return kraus_; }
  const Matrix& superoperator() const { return superop_; }
  Matrix choi() const;
  Matrix ptm() const;

  // `after` applied after this channel (same qubits).
  Channel then(const Channel& after) const;
  // This channel on the first k qubits and `other` on the next ones (other's qubits are the more
  // significant bits of the tensor product).
  Channel tensor(const Channel& other) const;

 private:
  Channel(int num_qubits, std::vector<Matrix> kraus);
  int num_qubits_ = 0;
  std::vector<Matrix> kraus_;
  Matrix superop_;
};

// max-abs of sum_i K_i^dagger K_i - I.
double trace_preservation_error(const std::vector<Matrix>& operators);

// ---- raw-buffer application (conventions of kernels.hpp) -----------------------------------------

// rho <- E(rho) on `qubits` (length channel.num_qubits()) of a column-major 2^n x 2^n density
// matrix. Single-Kraus channels go through the unitary kernels; 1-qubit channels whose
// superoperator is real and keeps populations apart from coherences (depolarising, Pauli, damping,
// thermal relaxation, reset) and depolarising channels on 2 qubits take fast paths; any other
// channel the generic superoperator pass. 1 to 3 qubits.
void apply_channel(Complex* rho, int num_qubits, const int* qubits, const Channel& channel);

// One quantum-trajectory step on a normalised state vector psi of 2^n amplitudes (qubit q = bit q of
// the index): chooses Kraus branch i with probability ||K_i psi||^2, using `uniform` in [0, 1) drawn
// by the caller's generator, replaces psi by K_i psi / ||K_i psi|| and returns i. 1 to 3 qubits.
// Averaging |psi><psi| over trajectories converges to the density-matrix result.
int apply_trajectory_step(Complex* psi, int num_qubits, const int* qubits, const Channel& channel,
                          double uniform);

}  // namespace kraus::noise
