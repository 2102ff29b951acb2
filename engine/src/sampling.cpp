#include "kraus/engine/sampling.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace kraus::engine {

std::map<std::uint64_t, std::uint64_t> sample_counts(const std::vector<double>& probabilities,
                                                     std::uint64_t shots, std::mt19937_64& rng) {
  if (probabilities.empty()) throw std::invalid_argument("cannot sample from an empty distribution");
  double total = 0.0;
  for (std::size_t i = 0; i < probabilities.size(); ++i) {
    const double p = probabilities[i];
    if (!(p >= -1e-12)) {
      throw std::invalid_argument("probability " + std::to_string(p) + " at index " + std::to_string(i) +
                                  " is negative");
    }
    total += std::max(p, 0.0);
  }
  if (!(std::abs(total - 1.0) <= 1e-9)) {
    throw std::invalid_argument("probabilities sum to " + std::to_string(total) + ", not 1");
  }
  // Multinomial by conditional binomials: outcome i takes Binomial(shots left, p_i / mass left), where
  // the mass left is summed from the end (no cancellation), so the last outcome of nonzero
  // probability takes every shot left.
  std::vector<double> mass_left(probabilities.size() + 1, 0.0);
  for (std::size_t i = probabilities.size(); i-- > 0;) mass_left[i] = mass_left[i + 1] + std::max(probabilities[i], 0.0);
  std::map<std::uint64_t, std::uint64_t> counts;
  std::uint64_t left = shots;
  for (std::size_t i = 0; i < probabilities.size() && left > 0; ++i) {
    const double p = std::max(probabilities[i], 0.0);
    if (p == 0.0) continue;
    const double q = std::min(1.0, p / mass_left[i]);
    const std::uint64_t k = q >= 1.0 ? left : std::binomial_distribution<std::uint64_t>(left, q)(rng);
    if (k > 0) counts[static_cast<std::uint64_t>(i)] = k;
    left -= k;
  }
  return counts;
}

std::map<std::string, std::uint64_t> clbit_counts(const std::map<std::uint64_t, std::uint64_t>& qubit_counts,
                                                  const MeasurementMap& map) {
  std::map<std::string, std::uint64_t> out;
  if (map.empty()) return out;
  for (const auto& [outcome, count] : qubit_counts) out[map.key(outcome)] += count;
  return out;
}

std::vector<std::uint64_t> sample_memory(const std::vector<double>& probabilities, std::uint64_t shots,
                                         std::mt19937_64& rng) {
  if (shots > kMaxMemoryShots) {
    throw std::invalid_argument("memory lists at most " + std::to_string(kMaxMemoryShots) + " shots, got " +
                                std::to_string(shots));
  }
  std::vector<std::uint64_t> memory;
  memory.reserve(static_cast<std::size_t>(shots));
  for (const auto& [outcome, count] : sample_counts(probabilities, shots, rng)) {
    memory.insert(memory.end(), count, outcome);
  }
  std::shuffle(memory.begin(), memory.end(), rng);
  return memory;
}

}  // namespace kraus::engine
