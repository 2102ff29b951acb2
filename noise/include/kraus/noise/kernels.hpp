// Raw-buffer kernels: apply gates and channels in place to a density matrix owned by the caller.
//
// Conventions (stated once for the whole of kraus, see README.md):
//  * rho points at a column-major 2^n x 2^n matrix: element (r, c) is rho[r + c * 2^n].
//  * Qubit q is bit q of the row index r (and bit q + n of the flat index r + c * 2^n);
//    qubit 0 is the least significant bit of a basis index.
//  * A k-qubit operator is a row-major 2^k x 2^k array; bit j of its row/column index belongs to
//    qubits[j], so the first listed qubit is the least significant (Qiskit's order).
//  * A k-qubit superoperator S is a row-major 4^k x 4^k array acting on the column-stacked block
//    vec(B)[a + b * 2^k] = B(a, b), so for Kraus operators K_i, S = sum_i conj(K_i) (x) K_i.
//
// Every function works in place in O(4^n) time on the one buffer (no 2^n x 2^n operator is formed)
// and runs in parallel with OpenMP when the state is large enough (see kParallelMinQubits); the
// result does not depend on the number of threads. Arguments are validated here, at the boundary,
// and std::invalid_argument is thrown with a message naming the problem.
#pragma once

#include <complex>
#include <cstdint>

namespace kraus::noise {

using Complex = std::complex<double>;

// States with fewer qubits than this are processed by one thread: thread start-up would cost more
// than it saves.
inline constexpr int kParallelMinQubits = 8;

// Largest number of qubits a kernel accepts (4^n elements must be indexable).
inline constexpr int kMaxQubits = 30;

// rho <- U rho U^dagger for a k-qubit unitary (k = 1, 2 or 3) on distinct qubits.
// U is applied to the row bits and conj(U) to the column bits in a single pass over the buffer.
// Diagonal and monomial (permutation times phases) matrices take cheaper paths automatically.
// Unitarity is checked to `unitarity_tolerance` (max-abs of U U^dagger - I); pass a negative value
// to skip the check (callers that built U themselves).
void apply_unitary(Complex* rho, int num_qubits, const int* qubits, int k, const Complex* u,
                   double unitarity_tolerance = 1e-10);

// vec(B) <- S vec(B) on every 2^k x 2^k block of the k target qubits (k = 1, 2 or 3): the generic
// channel path. No CPTP check is made here (the channel types in kraus::noise check theirs).
void apply_superoperator(Complex* rho, int num_qubits, const int* qubits, int k, const Complex* s);

// rho <- sum_i K_i rho K_i^dagger for `num_operators` row-major 2^k x 2^k Kraus operators stored
// one after another (k = 1, 2 or 3). Built as the superoperator sum_i conj(K_i) (x) K_i, then applied
// in one pass. Completeness (sum_i K_i^dagger K_i = I) is checked to `cptp_tolerance` (negative:
// skip).
void apply_kraus(Complex* rho, int num_qubits, const int* qubits, int k, const Complex* operators,
                 int num_operators, double cptp_tolerance = 1e-10);

// ---- fast paths for the common 1-qubit channels; each equals apply_kraus with the Kraus operators
// ---- written beside it (the tests check this).

// Depolarising, p = total probability of a non-identity Pauli error, 0 <= p <= 1:
//   rho -> (1 - p) rho + p/3 (X rho X + Y rho Y + Z rho Z).
// Kraus: sqrt(1-p) I, sqrt(p/3) X, sqrt(p/3) Y, sqrt(p/3) Z. Bloch vector shrinks by 1 - 4p/3.
// Qiskit's lambda (rho -> (1 - lambda) rho + lambda I/2) is p = 3 lambda / 4.
void apply_depolarizing_1q(Complex* rho, int num_qubits, int qubit, double p);

// Pauli channel: rho -> (1 - px - py - pz) rho + px X rho X + py Y rho Y + pz Z rho Z,
// px, py, pz >= 0 and px + py + pz <= 1. Bit flip = (p,0,0), bit-phase flip = (0,p,0),
// phase flip = (0,0,p).
void apply_pauli_1q(Complex* rho, int num_qubits, int qubit, double px, double py, double pz);

// Amplitude damping, 0 <= gamma <= 1: K0 = diag(1, sqrt(1-gamma)), K1 = sqrt(gamma) |0><1|.
void apply_amplitude_damping_1q(Complex* rho, int num_qubits, int qubit, double gamma);

// Phase damping, 0 <= lambda <= 1: K0 = diag(1, sqrt(1-lambda)), K1 = diag(0, sqrt(lambda)).
void apply_phase_damping_1q(Complex* rho, int num_qubits, int qubit, double lambda);

// Non-selective measurement in the computational basis: off-diagonal entries between different
// values of the qubit are zeroed. Kraus: |0><0|, |1><1|.
void apply_measurement_1q(Complex* rho, int num_qubits, int qubit);

// Reset to |0>: Kraus |0><0|, |0><1|.
void apply_reset_1q(Complex* rho, int num_qubits, int qubit);

}  // namespace kraus::noise
