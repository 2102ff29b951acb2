// Readout (measurement) errors: per-qubit confusion and correlated confusion on qubit groups.
//
// A confusion matrix C on m qubits is 2^m x 2^m, row-stochastic, C(t, r) = P(read r | true t)
// (Qiskit Aer's orientation); bit j of t and r is the j-th listed qubit. Per-qubit errors are
// C = [[1 - p(1|0), p(1|0)], [p(0|1), 1 - p(0|1)]].
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <vector>

namespace kraus::noise {

// The most qubits one correlated confusion matrix may act on (a 1024 x 1024 matrix).
inline constexpr int kMaxReadoutGroupQubits = 10;

struct ReadoutError {
  std::vector<int> qubits;
  std::vector<double> confusion;  // row-major 2^m x 2^m

  static ReadoutError single(int qubit, double p1_given_0, double p0_given_1);
  // Validates size, entries in [0, 1] and rows summing to 1 (1e-9); throws std::invalid_argument.
  void validate() const;
};

class ReadoutModel {
 public:
  ReadoutModel() = default;
  // Groups must not share a qubit.
  explicit ReadoutModel(std::vector<ReadoutError> errors);

  const std::vector<ReadoutError>& errors() const { return errors_; }
  bool empty() const { return errors_.empty(); }

  // probabilities (2^n, bit q of the index = qubit q) <- what a noisy readout reports, in
  // O(sum_g 2^m_g 2^n) time and in place (one small matrix per block of the group's qubits; no
  // 2^n x 2^n matrix).
  void apply(std::vector<double>& probabilities, int num_qubits) const;

  // Passes each shot of `counts` through the confusion matrices, drawing from `rng`.
  std::map<std::uint64_t, std::uint64_t> apply_to_counts(const std::map<std::uint64_t, std::uint64_t>& counts,
                                                         int num_qubits, std::mt19937_64& rng) const;

 private:
  std::vector<ReadoutError> errors_;
};

}  // namespace kraus::noise
