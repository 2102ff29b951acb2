// The state vector of n qubits, and a noiseless compiled program run on it.
//
// Conventions (the same throughout kraus): psi[i] is the amplitude of basis state i, qubit q is bit
// q of i (qubit 0 the least significant bit); R_P(theta) = exp(-i theta P / 2). 16 * 2^n bytes: 20
// qubits 16 MiB, 24 qubits 256 MiB, 28 qubits 4 GiB. The kernels are kraus/noise/vector_kernels.hpp.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "kraus/engine/observables.hpp"
#include "kraus/engine/program.hpp"

namespace kraus::engine {

// Allocates on cache-line (64-byte) boundaries, so that the kernels' 512-bit loads and stores never
// straddle two lines (malloc aligns to 16 bytes only; a 16-qubit trajectory ran about 20 % slower
// on such a state).
template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};
  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
  void deallocate(T* p, std::size_t) { ::operator delete(p, kAlignment); }
  template <typename U>
  bool operator==(const CacheLineAllocator<U>&) const { return true; }
  template <typename U>
  bool operator!=(const CacheLineAllocator<U>&) const { return false; }
};

class StateVector {
 public:
  // |0...0> on num_qubits qubits (1 <= n <= 40). Fails with std::runtime_error before allocating
  // when the machine lacks the memory (require_memory).
  explicit StateVector(int num_qubits);

  int num_qubits() const { return num_qubits_; }
  std::uint64_t dim() const { return std::uint64_t{1} << num_qubits_; }
  Complex* data() { return amplitudes_.data(); }
  const Complex* data() const { return amplitudes_.data(); }

  // Back to |0...0> without reallocating.
  void reset_to_zero_state();
  double squared_norm() const;
  // |psi_i|^2 (the state is normalised by the executors).
  std::vector<double> probabilities() const;
  // Probabilities of the chosen qubits (distinct, in range; std::invalid_argument otherwise): entry j
  // has bit k = value of qubits[k], as DensityMatrix::marginal_probabilities. One pass.
  std::vector<double> marginal_probabilities(const std::vector<int>& qubits) const;

 private:
  int num_qubits_;
  std::vector<Complex, CacheLineAllocator<Complex>> amplitudes_;
};

// Bytes of a state vector of n qubits: 16 * 2^n.
std::uint64_t state_vector_bytes(int num_qubits);

// <psi|P|psi> and <psi|O|psi> for a normalised state, in O(2^n) without forming P.
double expectation(const StateVector& psi, const PauliString& pauli);
double expectation(const StateVector& psi, const PauliSum& observable);

// Runs a noiseless program on psi (which must have program.num_qubits qubits): psi is set to the
// program's initial state, then its gates run with consecutive gates fused into dense, diagonal or
// monomial matrices on at most `fusion_max_qubits` qubits (1 to 4; 1 fuses only gates on the same
// qubit). A program with any channel, mid-circuit measurement, reset or condition (classical
// control) is refused (std::invalid_argument): run it as trajectories (trajectories.hpp) or, without
// conditions, on a density matrix.
void run(const Program& program, const double* theta, const double* x, StateVector& psi, int fusion_max_qubits = 2);

// The value <psi|O|psi> of a noiseless program at (theta, x) and its gradient d/dtheta_p (`gradient`
// gets program.num_parameters entries) by the adjoint method (Jones & Gacon, arXiv:2009.02823): the
// forward run, then one backward pass over the steps that un-applies each gate from psi and from
// lambda = O psi and adds Im <lambda|P|psi> for each Pauli rotation exp(-i a P / 2), times da/dtheta_p
// (Angle::term_derivative). The backward pass is trajectory_gradient's (trajectories.hpp): the
// un-applies between reads of the state run fused and chunked, and the derivatives of a run of
// commuting rotations (a layer of 1-qubit rotations) are read in one pass. Memory: three state vectors
// (require_memory). A program with channels or conditions is refused (std::invalid_argument), as is
// an observable on qubits the program lacks.
double adjoint_gradient(const Program& program, const double* theta, const double* x, const PauliSum& observable,
                        double* gradient);

// Whether the program has no channel step (noise, mid-circuit measurement, reset): what the state
// vector can run exactly.
bool is_noiseless(const Program& program);

}  // namespace kraus::engine
