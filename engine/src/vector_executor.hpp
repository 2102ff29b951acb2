// The state-vector executor shared by the noiseless run (state_vector.hpp) and trajectories
// (trajectories.hpp): a program's steps at fixed angles as gates and sampled channels, and one walk
// of them over a state vector with gates fused in a queue (internal header).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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
  WalkStats walk(Complex* psi, SplitMix64* rng, std::vector<std::uint8_t>* clbits = nullptr);

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

}  // namespace kraus::engine::detail
