// Raw-buffer kernels for state vectors: gates, Kraus operators and read-outs in place on 2^n
// amplitudes owned by the caller (the state-vector and trajectory executors of kraus::engine run
// these).
//
// Conventions (those of kernels.hpp): psi[i] is the amplitude of basis state i, qubit q is bit q of
// i (qubit 0 the least significant bit); a k-qubit matrix is row-major 2^k x 2^k with bit j of its
// row/column index belonging to qubits[j] (the first listed qubit is the least significant).
//
// Every kernel runs in O(2^n) time without forming a 2^n x 2^n operator, and in parallel with
// OpenMP from kVectorParallelMinQubits qubits when it is not already inside a parallel region (the
// trajectory executor runs one trajectory per thread on small states). Results do not depend on
// the number of threads: reductions add fixed chunks of kReductionChunk amplitudes in index order.
#pragma once

#include <complex>
#include <cstdint>
#include <vector>

namespace kraus::noise {

using Complex = std::complex<double>;

// States with fewer qubits run on one thread (a pass over 2^13 amplitudes takes a few microseconds).
inline constexpr int kVectorParallelMinQubits = 14;
// Reductions (norms, reduced density matrices, Pauli expectations) sum chunks of this many
// amplitudes (fewer for smaller states) and add the chunks' sums in index order.
inline constexpr std::uint64_t kReductionChunk = 4096;
// Largest state vector the kernels accept (2^n amplitudes must be indexable; memory is the
// caller's check).
inline constexpr int kMaxVectorQubits = 40;

// One matrix on k qubits, decided once and applied many times (as KernelCall for density matrices).
struct VectorCall {
  enum class Kind {
    kDense,     // matrix: row-major 2^k x 2^k
    kDiagonal,  // matrix: the 2^k diagonal entries
    kMonomial,  // at most one nonzero per row: out[r] = matrix[r] * in[perm[r]] (permutations with
                // phases; a zero row has perm[r] = r and matrix[r] = 0)
  };
  Kind kind = Kind::kDense;
  int k = 0;                        // 1 to 4 target qubits
  int qubits[4] = {-1, -1, -1, -1};
  bool real = false;                // every entry has zero imaginary part (cheaper arithmetic)
  std::vector<Complex> matrix;
  int perm[16] = {};                // kMonomial
};

// The call for a 2^k x 2^k row-major matrix m on `qubits` (k = 1 to 4, distinct, any matrix: gates,
// fused gates and Kraus operators alike). Diagonal and monomial matrices (exact zeros) take the
// cheaper kinds; `real` is set when every entry is real. Throws std::invalid_argument for bad k, null
// pointers, or repeated, negative or too large (>= kMaxVectorQubits) qubits.
VectorCall vector_call(const int* qubits, int k, const Complex* m);

// psi <- M psi on the call's qubits. Qubits are checked against n (std::invalid_argument).
void apply(const VectorCall& call, Complex* psi, int num_qubits);

// sum_i |psi_i|^2.
double squared_norm(const Complex* psi, int num_qubits);

// <a|b> = sum_i conj(a_i) b_i. One read pass over both.
Complex inner_product(const Complex* a, const Complex* b, int num_qubits);

// The reduced density matrix of qubits[0..k) (k = 1 to 4, unnormalised): out is row-major
// 2^k x 2^k with out[a * 2^k + b] = sum_m psi[m with bits a] conj(psi[m with bits b]), where bit j
// of a and b sets qubits[j]. Its trace is squared_norm(psi). One read pass.
void reduced_density_matrix(const Complex* psi, int num_qubits, const int* qubits, int k, Complex* out);

// <psi| X^x_mask Z^z_mask |psi> = sum_i conj(psi[i ^ x_mask]) (-1)^popcount(i & z_mask) psi[i]
// (Z acts first; a Y factor on qubit q, x and z bits both set, is i X Z, so a Pauli string's
// expectation is this times i^popcount(x_mask & z_mask)). One read pass.
Complex pauli_expectation(const Complex* psi, int num_qubits, std::uint64_t x_mask, std::uint64_t z_mask);

// <a| X^x_mask Z^z_mask |b> = sum_i conj(a[i ^ x_mask]) (-1)^popcount(i & z_mask) b[i] (so that
// pauli_expectation(psi) is this with a = b = psi). One read pass over both.
Complex pauli_inner_product(const Complex* a, const Complex* b, int num_qubits, std::uint64_t x_mask,
                            std::uint64_t z_mask);

// out[t] = pauli_inner_product(a, b, n, x_masks[t], z_masks[t]) for t < count, in one pass over b
// (a's amplitudes i ^ x_masks[t] are read chunk by chunk: from cache for low qubits).
void pauli_inner_products(const Complex* a, const Complex* b, int num_qubits, const std::uint64_t* x_masks,
                          const std::uint64_t* z_masks, int count, Complex* out);

// |psi_i|^2 into out (2^n entries).
void probabilities(const Complex* psi, int num_qubits, double* out);

// psi <- s psi.
void scale(Complex* psi, int num_qubits, double s);

}  // namespace kraus::noise
