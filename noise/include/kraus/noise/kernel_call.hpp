// One raw-kernel call, decided once and applied many times: which kernel, on which qubits, with its
// data already in the kernel's layout (kernels.hpp). A compiled program (kraus/engine/program.hpp)
// is a list of these; the kernel of a channel is chosen when the program is compiled, from the
// channel table's entry for the channel's type (ChannelType::kernel), not re-derived from a matrix
// on every application.
//
// Conventions are those of kernels.hpp: column-major 2^n x 2^n buffer, qubit q = bit q of the row
// index, matrices row-major with the first listed qubit as the least significant bit.
#pragma once

#include <complex>
#include <vector>

namespace kraus::noise {

using Complex = std::complex<double>;
class Channel;

enum class KernelKind {
  // matrix: row-major 2^k x 2^k unitary U; rho <- U rho U^dagger (diagonal and monomial matrices
  // take their cheaper paths inside apply_unitary). k = 1, 2, 3.
  kUnitary,
  // matrix: row-major 4^k x 4^k superoperator S (column stacking); vec(B) <- S vec(B). k = 1, 2, 3.
  kSuperoperator,
  // params[0] = alpha: every 2^k x 2^k block B <- (1 - alpha) B + alpha Tr(B) I / 2^k (depolarising
  // with total error probability p = alpha (4^k - 1) / 4^k). k = 1, 2, 3.
  kDepolarizing,
  // k = 1, real superoperator that keeps populations apart from coherences (depolarising, Pauli,
  // damping, thermal relaxation, reset, measurement): (B00, B11) <- P (B00, B11) with P = params[0..3]
  // and (B01, B10) <- C (B01, B10) with C = params[4..7], both row-major 2x2.
  kRealBlock1q,
  // k = 2, a real superoperator that maps the 16 block elements (column-stacked index a + 4 b) within
  // closed groups of at most 4 (depolarising and relaxation after a CNOT): matrix holds, as real
  // parts, the number of groups, then for each group its size m, its m elements and its m x m matrix
  // row-major. Made by to_real_groups.
  kRealGroups2q,
};

struct KernelCall {
  KernelKind kind = KernelKind::kUnitary;
  int k = 0;                       // number of target qubits
  int qubits[3] = {-1, -1, -1};    // qubits[0] is the least significant bit of the matrices
  std::vector<Complex> matrix;     // kUnitary, kSuperoperator
  double params[8] = {};           // kDepolarizing, kRealBlock1q
};

// The call for unitary `u` (row-major 2^k x 2^k, not checked) on `qubits`.
KernelCall unitary_call(const int* qubits, int k, const Complex* u);

// The call for `channel` on `qubits` (channel.num_qubits() of them) by `kind`: kUnitary takes the
// channel's single Kraus operator, kDepolarizing and kRealBlock1q read their parameters off the
// superoperator, kSuperoperator copies it. Throws std::invalid_argument when the channel does not
// have the form `kind` needs (a table entry naming the wrong kernel is a bug the tests catch).
KernelCall channel_call(const Channel& channel, const int* qubits, KernelKind kind);

// Turns a 2-qubit kSuperoperator call whose superoperator is real and keeps the block elements in
// closed groups of at most 4 into the equivalent kRealGroups2q call; returns whether it did (other
// calls are left as they are).
bool to_real_groups(KernelCall* call);

// The call of the adjoint map E† (Tr(A E(B)) = Tr(E†(A) B)): U† for a unitary, S† for a
// superoperator, the transposed blocks and groups of the real forms, the same call for depolarising
// (self-adjoint).
KernelCall adjoint_call(const KernelCall& call);

// The cheapest kind for a channel given as data only (explicit channels built in code): a single
// Kraus operator -> kUnitary; depolarising form -> kDepolarizing; 1-qubit real block form ->
// kRealBlock1q; anything else kSuperoperator. Exact zeros up to 1e-15.
KernelKind detect_kernel(const Channel& channel);

// The cost model of the kernels' paths, in complex multiply-adds per density-matrix element (a real
// coefficient times a complex element counts one half): dense k-qubit unitary 2 * 2^k (U on the row
// bits, conj(U) on the column bits; 2^k when U is real), diagonal 1, permutation with phases 0.5,
// k-qubit superoperator 4^k (4^k / 2 when real), kRealGroups2q the sum of the groups' squared sizes
// / 32 (2 for a CNOT with depolarising and relaxation after it: groups of 4), depolarising and real
// block channels 1. Operator fusion (engine) merges calls when this says it is cheaper.
double kernel_cost(const KernelCall& call);

// rho <- call(rho) on an n-qubit buffer. Qubits are checked against n (std::invalid_argument);
// the data is trusted (it was built by the functions above).
void apply(const KernelCall& call, Complex* rho, int num_qubits);

}  // namespace kraus::noise
