// Readout-error mitigation: undoing a ReadoutModel on measured probabilities (or counts as
// frequencies), and Z-string expectations of the result.
//
// A readout model maps the true distribution p to the measured one m = A p, where A is the tensor
// product of the groups' confusion matrices transposed (m(r) = sum_t C(t, r) p(t); identity on
// qubits without an error). Two methods (docs/observables.md):
//  * Tensored inverse, when every error is per-qubit: p = (C_1^T)^-1 (x) ... (x) (C_n^T)^-1 m, applied
//    qubit by qubit in O(n 2^n). Exact, but the result is a quasi-probability vector (sums to 1,
//    entries may be negative when m is noisy). A singular 2x2 matrix (p(1|0) + p(0|1) = 1) is
//    refused.
//  * Constrained least squares, when some error is correlated: p minimising ||A p - m||_2 over
//    probability vectors (p >= 0, sum 1). When every group's matrix is invertible and
//    A^-1 m is a distribution (entries >= -1e-12), that is the exact solution (projected onto the
//    simplex to remove rounding, 0 iterations). Otherwise accelerated projected gradient (FISTA with
//    restarts) on the simplex from there, step 1/L with L = prod_g max column sum of C_g (an upper
//    bound of ||A||_2^2), until the step ||p_k+1 - y_k||_inf <= 1e-12 or kMaxLeastSquaresIterations.
//    A and A^T are applied group by group: O(sum_g 2^m_g 2^n) time per iteration, no 2^n x 2^n
//    matrix.
#pragma once

#include <vector>

#include "kraus/engine/observables.hpp"
#include "kraus/noise/readout.hpp"

namespace kraus::mitigation {

inline constexpr int kMaxLeastSquaresIterations = 20000;
inline constexpr double kLeastSquaresTolerance = 1e-12;

enum class ReadoutMitigationMethod { kTensoredInverse, kConstrainedLeastSquares };

struct ReadoutMitigationResult {
  // 2^n entries (bit q of the index = qubit q). Tensored inverse: quasi-probabilities (may be < 0,
  // sum 1). Least squares: a probability vector.
  std::vector<double> probabilities;
  // Tensored inverse when every error is per-qubit (or there is none), else least squares.
  ReadoutMitigationMethod method = ReadoutMitigationMethod::kTensoredInverse;
  double residual = 0;  // least squares: ||A p - m||_2 at the solution; tensored inverse: 0
  int iterations = 0;   // projected-gradient iterations (0 for the exact cases)
  bool converged = true;  // false when the least squares stopped at kMaxLeastSquaresIterations
};

// Undoes `readout` (a model on qubits < num_qubits) on `measured` probabilities: 2^num_qubits
// non-negative entries summing to 1 within 1e-9 (counts divided by the shots qualify). Throws
// std::invalid_argument for a bad vector, a readout qubit out of range, or a singular per-qubit
// confusion matrix; std::runtime_error (engine::require_memory) when the working vectors (1, or 7
// for the least squares, of 2^n doubles) exceed the available memory.
ReadoutMitigationResult mitigate_readout(const std::vector<double>& measured, const noise::ReadoutModel& readout,
                                         int num_qubits);

// <Z-string> of a (quasi-)distribution: sum_x p(x) (-1)^{popcount(x & z_mask)}. The string must be
// a Z string (x_mask 0) on qubits below log2(probabilities.size()); std::invalid_argument otherwise.
double z_expectation(const std::vector<double>& probabilities, const engine::PauliString& pauli);

}  // namespace kraus::mitigation
