// The state-vector executor shared by the noiseless run (state_vector.hpp) and trajectories
// (trajectories.hpp): a program's steps at fixed angles as gates and sampled channels, and one walk
// of them over a state vector with gates fused in a queue (internal header).
#pragma once

#include <cstdint>
#include <vector>

#include "kraus/engine/observables.hpp"
#include "kraus/engine/program.hpp"
#include "kraus/noise/vector_kernels.hpp"

namespace kraus::engine::detail {

using noise::Complex;

// splitmix64: seeds per (seed, stream), and a small generator (its output stream).
std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t stream);
struct SplitMix64 {
  std::uint64_t state;
  std::uint64_t operator()();
  double uniform();  // [0, 1) from the top 53 bits
};

// One Kraus operator of a channel as trajectories sample it.
struct SampledOperator {
  enum class Kind { kIdentity, kUnitary, kGeneral };
  Kind kind = Kind::kGeneral;
  double bound = 0.0;               // <= ||K psi||^2 for every normalised psi (exact for kIdentity, kUnitary)
  std::vector<Complex> matrix;      // kUnitary: K / sqrt(bound); kGeneral: K (row-major 2^k x 2^k)
  std::vector<Complex> kdk;         // K^dagger K (row-major), for the exact probability
  // For the adjoint gradient of a trajectory (trajectory_gradient): `adjoint` carries the backward
  // state across the operator (kUnitary U^dagger, kGeneral K^dagger); `undo` takes the state after
  // the operator back to the state before it up to its norm (U^dagger, or K^-1 when K is well
  // conditioned), empty when it cannot (then a recording walk saves the state before it).
  std::vector<Complex> adjoint, undo;
};

struct SampledChannel {
  int k = 0;
  std::vector<SampledOperator> operators;
  double bound_total = 0.0;
};

// A step at fixed angles: a gate (matrix on qubits) or a channel (index into the schedule's
// channels).
struct VectorOp {
  int k = 0;
  int qubits[3] = {-1, -1, -1};
  int channel = -1;              // >= 0: a channel
  std::vector<Complex> matrix;   // a gate: row-major 2^k x 2^k
  int clbit = -1;                // a measurement: the classical bit the chosen operator's index goes to
  Condition condition;           // classical control (Step::condition)
};

struct VectorSchedule {
  int num_qubits = 0;
  std::vector<VectorOp> ops;
  std::vector<SampledChannel> channels;
};

// The program's steps at the given angle values (Program::angle_values).
VectorSchedule vector_schedule(const Program& program, const double* angle_values);

// What one walk did.
struct WalkStats {
  std::uint64_t state_reads = 0, decisions = 0;
};

// What a walk records for the backward pass of its trajectory's adjoint gradient: the operator that
// each channel picked, and the state before each picked operator without an `undo`. Kept between
// walks (the saved states are reused).
struct WalkRecord {
  std::vector<int> chosen;             // per channel op, in schedule order
  std::vector<std::size_t> saved_at;   // the ops whose state before is saved, in order
  std::vector<double> saved_norm2;     // the saved states' squared norms
  std::vector<std::vector<Complex>> saved;  // the first saved_at.size() are this walk's
};

// out = O psi for a Pauli sum, with `scratch` (all of 2^n amplitudes).
void apply_observable(const PauliSum& observable, const Complex* psi, Complex* out, Complex* scratch, int n);

// The row-major conjugate transpose of a 2^k x 2^k matrix.
std::vector<Complex> adjoint_of(const std::vector<Complex>& u, int k);

// Matrices on qubits below this run chunk by chunk over 2^kChunkQubits amplitudes (128 KiB) in one
// sweep (Walker::flush).
inline constexpr int kChunkQubits = 13;

// Walks a schedule over psi (already in the initial state; left normalised), fusing gates on at most
// fusion_max_qubits qubits. `rng` draws one uniform per channel that acts; null only for a schedule
// without channels. `clbits` (one byte per classical bit, zeroed by the caller) receives the
// measurements' outcomes, which conditions read; a conditional op whose condition fails is skipped
// and draws no random number. Null only for a schedule without measurements or conditions.
// Workspace kept between walks (no allocation per walk once warm).
class Walker {
 public:
  Walker(const VectorSchedule& schedule, int fusion_max_qubits);
  // With `clbits`, measurements write their outcomes there and conditions read them (needed when the
  // schedule has either). With `record`, also fills it (a walk that records may flush its queue
  // earlier: the same choices, the same state up to rounding).
  WalkStats walk(Complex* psi, SplitMix64* rng, std::vector<std::uint8_t>* clbits = nullptr,
                 WalkRecord* record = nullptr);

 private:
  // A queued matrix: its qubits, and its row-major 2^k x 2^k entries at matrices_[index * stride_].
  struct Block {
    int k = 0;
    int qubits[4] = {-1, -1, -1, -1};
  };
  Complex* matrix(std::size_t b) { return matrices_.data() + b * stride_; }
  void push(int k, const int* qubits, const Complex* matrix, double scale);
  void flush(Complex* psi);

  const VectorSchedule& schedule_;
  int fusion_max_qubits_;
  std::vector<Block> blocks_;
  std::vector<Complex> matrices_;
  std::size_t stride_ = 0;  // entries per block: 4^max(fusion_max_qubits, 3)
  std::size_t used_ = 0;
  std::vector<double> probability_;  // the exact probabilities of one decision
  // flush's workspace: the blocks' calls and qubit masks, which are applied, one sweep's blocks.
  std::vector<noise::VectorCall> calls_;
  std::vector<std::uint64_t> masks_;
  std::vector<char> done_;
  std::vector<std::size_t> sweep_;
};

// What the adjoint gradient's backward pass needs of a schedule, made once: per gate op the adjoint
// matrix; per channel op and operator without an undo the call of K^dagger (an empty call for the
// others).
struct BackwardCalls {
  std::vector<std::vector<Complex>> gate_undo;
  std::vector<std::vector<noise::VectorCall>> adjoint;
  explicit BackwardCalls(const VectorSchedule& schedule);
};

// The backward pass's buffers, kept between passes: the queued matrices for psi and for the lambdas
// (gate-only schedules) and their walkers, a scaled call, the derivatives read in one pass. Not
// copyable (the walkers refer to the segments).
struct BackwardWorkspace {
  BackwardWorkspace(int num_qubits, int fusion_max_qubits);
  BackwardWorkspace(const BackwardWorkspace&) = delete;
  BackwardWorkspace& operator=(const BackwardWorkspace&) = delete;
  VectorSchedule psi_segment, lambda_segment;
  Walker psi_walker, lambda_walker;
  noise::VectorCall scaled;
  std::vector<std::size_t> run;
  std::vector<std::uint64_t> x, z;
  std::vector<Complex> reads;
};

// The backward pass of the adjoint gradient of one walk of `schedule` (of `program`): psi (the walk's
// normalised final state) and lambdas (O_o psi per observable) are carried back through the recorded
// branch (U^dagger; K^-1 or the saved state for the state; K^dagger for the lambdas, up to a scale that
// cancels: vector_executor.cpp), and
// every rotation's d<O_o>/dangle, Im <lambda_o|P|psi> at the state after it, is added into jacobian
// (observables x parameters) by the chain rule. Undo matrices between reads of the state are fused
// and run chunk by chunk (Walker); the derivatives of a run of rotations with commuting generators
// (a layer of 1-qubit rotations) are read in one pass. psi and lambdas are left changed.
void adjoint_backward(const Program& program, const VectorSchedule& schedule, const BackwardCalls& calls,
                      const double* x, const WalkRecord& record, Complex* psi, const std::vector<Complex*>& lambdas,
                      double* jacobian, BackwardWorkspace& workspace);

}  // namespace kraus::engine::detail
