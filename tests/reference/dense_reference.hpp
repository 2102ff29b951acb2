// A deliberately slow, dense reference for the tests: every operator is embedded into the full
// 2^n x 2^n space with Armadillo Kronecker products and applied by plain matrix products. Nothing
// here shares code or index arithmetic with kraus itself.
//
// Conventions (those of kraus): qubit q is bit q of a basis index, so the full operator is a
// Kronecker product over qubits n-1 (leftmost factor) down to 0 (rightmost factor). A k-qubit
// operator's row/column index has bit j belonging to qubits[j] (the first listed qubit is the
// least significant).
#pragma once

#include <complex>
#include <random>
#include <string>
#include <vector>

#include <armadillo>

namespace kraus::test {

using Complex = std::complex<double>;
using Rng = std::mt19937_64;

// ---- building blocks -----------------------------------------------------------------------------

// The 2x2 Pauli 'I', 'X', 'Y' or 'Z'.
arma::cx_mat pauli(char p);

// |a><b| in dimension `dim`.
arma::cx_mat ket_bra(arma::uword a, arma::uword b, arma::uword dim);

// The computational basis state |index> of dimension `dim`.
arma::cx_vec basis_state(arma::uword index, arma::uword dim);

// sum_{a,b} A(a,b) kron_{m=n-1..0} M_m with M_m = |a_j><b_j| when m == qubits[j], else I2.
arma::cx_mat embed(const arma::cx_mat& op, const std::vector<int>& qubits, int num_qubits);

// kron_{q=n-1..0} pauli(labels[q]): labels[q] is the factor on qubit q.
arma::cx_mat pauli_string_operator(const std::string& labels);

// ---- the standard 1-qubit channels as Kraus operators (as documented in kraus/noise/kernels.hpp) ---

// Depolarising p: sqrt(1-p) I, sqrt(p/3) X, sqrt(p/3) Y, sqrt(p/3) Z.
std::vector<arma::cx_mat> depolarizing_kraus(double p);
// Pauli channel: sqrt(1-px-py-pz) I, sqrt(px) X, sqrt(py) Y, sqrt(pz) Z.
std::vector<arma::cx_mat> pauli_kraus(double px, double py, double pz);
// Amplitude damping: diag(1, sqrt(1-gamma)), sqrt(gamma) |0><1|.
std::vector<arma::cx_mat> amplitude_damping_kraus(double gamma);
// Phase damping: diag(1, sqrt(1-lambda)), diag(0, sqrt(lambda)).
std::vector<arma::cx_mat> phase_damping_kraus(double lambda);
// Measurement in the computational basis: |0><0|, |1><1|.
std::vector<arma::cx_mat> measurement_kraus();
// Reset to |0>: |0><0|, |0><1|.
std::vector<arma::cx_mat> reset_kraus();

// ---- reference evolution and read-outs -----------------------------------------------------------

// U_full rho U_full^dagger.
arma::cx_mat apply_unitary(const arma::cx_mat& rho, const arma::cx_mat& u, const std::vector<int>& qubits,
                           int num_qubits);

// sum_i K_full rho K_full^dagger.
arma::cx_mat apply_kraus(const arma::cx_mat& rho, const std::vector<arma::cx_mat>& operators,
                         const std::vector<int>& qubits, int num_qubits);

// A general (not necessarily CPTP) 4^k x 4^k superoperator acting on the column-stacked k-qubit
// block, vec(B)[a + b 2^k] = B(a, b), written as
//   rho -> sum_{a,b,a',b'} S(a + b 2^k, a' + b' 2^k) |a><a'|_full rho |b'><b|_full.
arma::cx_mat apply_superoperator(const arma::cx_mat& rho, const arma::cx_mat& superop,
                                 const std::vector<int>& qubits, int num_qubits);

// sum_i conj(K_i) (x) K_i.
arma::cx_mat superoperator_from_kraus(const std::vector<arma::cx_mat>& operators);

// Partial trace keeping `keep` (keep[k] becomes qubit k): element (a, b) is
// Tr(rho embed(|b><a|, keep)).
arma::cx_mat partial_trace(const arma::cx_mat& rho, const std::vector<int>& keep, int num_qubits);

// ---- random objects (all driven by the caller's seeded generator) -------------------------------

// Entries i.i.d. (N(0,1) + i N(0,1)) / sqrt 2.
arma::cx_mat complex_gaussian(arma::uword rows, arma::uword cols, Rng& rng);

// G G^dagger / Tr with G a d x rank complex Gaussian; rank 0 picks a random rank in [2, d].
arma::cx_mat random_density_matrix(int num_qubits, Rng& rng, arma::uword rank = 0);

// A Haar-random normalised state vector of n qubits.
arma::cx_vec random_state_vector(int num_qubits, Rng& rng);

// A Haar-random unitary: QR of a complex Gaussian with the phases of R's diagonal removed.
arma::cx_mat random_unitary(arma::uword dim, Rng& rng);

// A random CPTP map as `count` Kraus operators of size dim x dim (Stinespring): the first `dim`
// columns of a random (dim count) x (dim count) unitary, cut into `count` blocks of rows.
std::vector<arma::cx_mat> random_kraus_operators(arma::uword dim, int count, Rng& rng);

// A non-Hermitian 2^n x 2^n "debug" matrix whose entries are all distinct and O(1), so that a
// misplaced index or a wrong transpose cannot hide behind Hermitian symmetry.
arma::cx_mat debug_matrix(int num_qubits);

// ---- comparisons and conversions -----------------------------------------------------------------

// max |a - b| over the entries; +infinity when the shapes differ.
double max_abs_diff(const arma::cx_mat& a, const arma::cx_mat& b);

// Row-major copy for the raw kernels of kraus::noise.
std::vector<Complex> row_major(const arma::cx_mat& m);
// Row-major copies of several matrices, one after another.
std::vector<Complex> row_major(const std::vector<arma::cx_mat>& ms);

// Every ordered tuple of `k` distinct qubits out of `num_qubits` (n! / (n-k)! of them).
std::vector<std::vector<int>> ordered_tuples(int num_qubits, int k);

// `count` of those tuples picked at random (all of them when there are fewer), for states too large
// to visit every tuple against the dense reference.
std::vector<std::vector<int>> random_tuples(int num_qubits, int k, std::size_t count, Rng& rng);

}  // namespace kraus::test
