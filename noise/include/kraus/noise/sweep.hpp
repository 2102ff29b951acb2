// Cache-blocked execution of a list of kernel calls: many calls per trip through memory.
//
// At n = 12 the state is 256 MiB and every kernel call is a full pass through memory, so a noisy
// layer of ~3n calls costs ~3n passes. For a qubit set S (|S| = b), fixing the row bits outside S
// and the column bits outside S leaves a 2^b x 2^b "tile"; every call whose qubits lie in S maps
// each tile to itself and acts on it as on a b-qubit density matrix whose qubit j is S[j]. So a run
// of calls inside S is applied tile by tile: gather the tile into a small contiguous buffer that stays
// in cache, apply the calls there, scatter it back — one sweep over memory for the whole run.
//
//   std::vector<Sweep> plan = plan_sweeps(calls.data(), calls.size(), n, kDefaultBlockQubits);
//   run_sweeps(plan, calls.data(), rho, n);   // equals noise::apply of each call in order
//
// The plan depends only on the calls' qubits: plan once, then run again after changing matrices or
// parameters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kraus/noise/kernel_call.hpp"

namespace kraus::noise {

// Block size by measurement (2 threads, the 4-layer RY / CNOT ladder / depolarising circuit as a
// compiled program, 2026-12-05, docs/PERFORMANCE.md): b = 7 (256 KiB tiles, L2 is 1 MiB a core)
// was the fastest of 6, 7, 8 at n = 12 (0.97, 0.74, 1.07 s) and n = 13 (4.6, 3.9, 4.6 s); the
// same circuit call by call took 1.5 s at n = 12.
inline constexpr int kDefaultBlockQubits = 7;

// One sweep: the qubit set S (ascending) and the indices of the calls it applies, in the order they
// are applied.
struct Sweep {
  std::vector<int> qubits;
  std::vector<std::size_t> calls;
};

// Groups calls[0..count) into sweeps of at most `block_qubits` qubits each, greedily along the
// dependency order: a sweep scans the calls not yet placed and takes a call when none of its qubits
// is blocked and S stays within block_qubits; a call left out blocks its qubits for the rest of the
// scan. So a call only moves earlier past calls that share no qubit with it (they commute), and
// running the sweeps in order equals applying the calls in order. block_qubits >= num_qubits gives
// one sweep over all qubits. Deterministic. Throws std::invalid_argument for block_qubits < 3, a
// bad qubit count or a call whose qubits are out of range, repeated or more than 3.
std::vector<Sweep> plan_sweeps(const KernelCall* calls, std::size_t count, int num_qubits, int block_qubits);

// Applies a plan of plan_sweeps to rho (n qubits): the same call list, whose matrices and parameters
// may have changed since planning. A sweep of several calls on fewer than n qubits runs tile by tile
// (in parallel over tiles for n >= kParallelMinQubits; the result does not depend on the number of
// threads); a single call, or a sweep over the whole register, runs directly with the normal kernels.
// `hermitian`: the caller promises that rho is Hermitian and that every call maps Hermitian matrices
// to Hermitian matrices (channels and unitary conjugations do, so any density matrix under a compiled
// program); then a sweep whose qubits include 0 and 1 computes only one tile of each pair of mirrored
// tiles (half its arithmetic and reads) and writes the other as its conjugate transpose.
// `checkpoints`: null, or one pointer per sweep; a non-null checkpoints[i] (a 4^n buffer) receives the
// state before sweep i (the adjoint method's stored states). `points`: null, or one vector per sweep
// of derivative points (derivative_points; empty: none), whose tiles go to `kept` (one buffer of
// point_elems per point, the points of all sweeps in order); a sweep with points runs tile by tile
// even when it holds one call. Throws std::invalid_argument for a bad buffer, or a sweep whose calls
// leave its qubit set.
void run_sweeps(const std::vector<Sweep>& plan, const KernelCall* calls, Complex* rho, int num_qubits,
                bool hermitian = false, Complex* const* checkpoints = nullptr,
                const std::vector<std::size_t>* points = nullptr, Complex* const* kept = nullptr);

// The derivative of a call with respect to its angle θ, for sweep_gradient.
struct CallDerivative {
  enum class Kind {
    kNone,           // not differentiated
    kPauliRotation,  // the call conjugates by U = exp(-iθP/2), P = i^{|x&z|} X^x Z^z with the masks on
                     // the register: d/dθ call(ρ) = -i/2 [P, call(ρ)] (a rotation by -P: the caller
                     // negates the result)
    kSuperoperator,  // d/dθ call(ρ) = derivative(ρ), `derivative` a call on qubits of the sweep
  };
  Kind kind = Kind::kNone;
  std::uint64_t x_mask = 0, z_mask = 0;
  KernelCall derivative;
};

// Whether the call maps the derivation of a Pauli rotation through: call([P, ρ]) = [P, call(ρ)] for
// every ρ, P = X^x Z^z (up to its phase) on the masks' qubits. Then the derivative of a rotation by
// P can be read after the call: Tr(σ' · -i/2 [P, ρ]) = Tr(σ · -i/2 [P, call(ρ)]) with σ' =
// call†(σ). True when the qubits are disjoint; otherwise tested on a Hermitian basis of the qubits
// of P and the call (false beyond 4 of them). Unitaries that commute with P do this, and channels
// covariant under the rotation: depolarising for every P, dephasing and amplitude damping for Z.
bool commutes_with_derivation(const KernelCall& call, std::uint64_t x_mask, std::uint64_t z_mask);

// The derivative points of a sweep for the adjoint method: positions p (ascending) in sweep.calls,
// each standing for the state after the call at p. Every differentiated Pauli rotation of the sweep
// is read at the first point at or after it, which its derivative moves to (every call in between
// commutes with its derivation). To need few points, the sweep's calls are reordered, a call moving
// only past calls on other qubits: each round takes, in order, every call whose earlier calls on its
// qubits are taken and which the pending derivatives move through; a round that takes nothing
// places a point. A call with a Pauli-rotation derivative lets a derivative through when the two
// Pauli strings commute; another varying call (varies[i] != 0: its matrix changes between runs and
// is not read here) never; a fixed call by commutes_with_derivation. Throws std::invalid_argument for
// a null pointer or a kSuperoperator derivative (that needs the state before its call: recompute
// such a sweep).
std::vector<std::size_t> derivative_points(Sweep& sweep, const KernelCall* calls, const CallDerivative* derivatives,
                                           const char* varies);

// The elements of one kept point of a sweep on n qubits: the tiles that run_sweeps computes (one of
// each mirrored pair of a Hermitian run), in the order it computes them.
std::size_t point_elems(const Sweep& sweep, int num_qubits);

// The states sweep_gradient reads: the state before the sweep (its states inside are then
// recomputed tile by tile), or the tiles run_sweeps kept at the sweep's derivative points.
struct GradientStates {
  const Complex* before = nullptr;
  const std::vector<std::size_t>* points = nullptr;
  const Complex* const* kept = nullptr;  // one buffer of point_elems per point
};

// One sweep of the adjoint method (reverse-mode differentiation of run_sweeps), tile by tile. With
// ρ_j = call_j(ρ_{j-1}) along the sweep's calls (ρ_0 before the sweep) and σ = `sigma` the
// observable carried back to the sweep's end (Heisenberg picture), it
//  * adds Tr(σ_j · d/dθ call_j(ρ_{j-1})) to gradient[i] for every call i = sweep.calls[j] whose
//    derivative is not kNone, σ_j being the observable after call j: adjoint_{j+1}†...(σ);
//  * replaces sigma by σ_0, the observable carried back to the sweep's start (adjoints[i]: the call
//    of the adjoint map, noise::adjoint_call).
// The states are `states.before` = ρ_0, or the kept points (derivative_points; Pauli rotations
// only). calls, adjoints, derivatives and gradient are indexed by call index. Both states must be
// Hermitian and every call, adjoint and derivative Hermiticity-preserving (as for run_sweeps with
// hermitian = true: mirrored tiles are computed once). From ρ_0 every tile recomputes its ρ_j and
// keeps the ones it differentiates (one tile each), so a sweep of many differentiated calls on large
// tiles needs much cache. The sums are added in fixed chunks of tiles, so the gradient does not depend on the number
// of threads. `scratch` is the caller's buffer, grown as needed (keep it: fresh memory is slow on
// first touch). Throws std::invalid_argument for bad buffers, a sweep without qubits, calls,
// adjoints, derivatives or rotations outside the sweep's qubits, or a kSuperoperator derivative
// with kept points.
void sweep_gradient(const Sweep& sweep, const KernelCall* calls, const KernelCall* adjoints,
                    const CallDerivative* derivatives, const GradientStates& states, Complex* sigma, int num_qubits,
                    double* gradient, std::vector<Complex>& scratch);

}  // namespace kraus::noise
