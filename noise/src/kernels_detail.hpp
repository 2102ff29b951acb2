// Kernels shared between kernels.cpp and channel.cpp (internal header).
#pragma once

#include <vector>

#include "kraus/noise/kernel_call.hpp"
#include "kraus/noise/kernels.hpp"

namespace kraus::noise::detail {

// 1-qubit channel (B00, B11) <- P (B00, B11), (B01, B10) <- C (B01, B10), P and C real 2x2 row-major.
void real_block_channel_1q(Complex* rho, int num_qubits, int qubit, const double* p, const double* c);

// Depolarising on k = 1, 2 or 3 qubits in the form B <- (1 - alpha) B + alpha Tr(B) I / 2^k on every
// 2^k x 2^k block (alpha = p 4^k / (4^k - 1) for the total error probability p).
void depolarizing_block(Complex* rho, int num_qubits, const int* qubits, int k, double alpha);

// A real 2-qubit superoperator as closed groups of the 16 block elements: S only maps elements of a
// group to elements of the same group, so each group is one small dense real matrix (the data of a
// kRealGroups2q call, decoded).
struct RealGroups {
  int count = 0;
  int size[16] = {};
  int element[16][4] = {};    // block elements (column-stacked index) of each group
  double matrix[16][16] = {};  // row-major size x size, S restricted to the group
};

// Whether the row-major 16 x 16 superoperator s is real with every group at most 4 elements; fills
// `groups` when it is.
bool real_groups(const Complex* s, RealGroups* groups);
// The matrix of a kRealGroups2q call (kernel_call.hpp) from groups, and back.
std::vector<Complex> encode_groups(const RealGroups& groups);
RealGroups decode_groups(const Complex* data);
// rho <- S rho for S given by its groups, on qubits[0..1].
void real_groups_2q(Complex* rho, int num_qubits, const int* qubits, const RealGroups& groups);

// apply_unitary (without the unitarity check) and apply_superoperator without their argument checks,
// and noise::apply without its qubit checks: for callers that validated once for many applications
// (sweep.cpp applies each call to thousands of tiles).
void unitary_unchecked(Complex* rho, int num_qubits, const int* qubits, int k, const Complex* u);
void superoperator_unchecked(Complex* rho, int num_qubits, const int* qubits, int k, const Complex* s);
void apply_unchecked(const KernelCall& call, Complex* rho, int num_qubits);

// Throw std::invalid_argument for a bad buffer, qubit list or probability (kernels.cpp).
void validate_state(const Complex* rho, int num_qubits);
void validate_targets(int num_qubits, const int* qubits, int k, int max_k);

}  // namespace kraus::noise::detail
