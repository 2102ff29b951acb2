#include "kraus/engine/sampling.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace kraus::engine {

std::map<std::uint64_t, std::uint64_t> sample_counts(const std::vector<double>& probabilities,
                                                     std::uint64_t shots, std::mt19937_64& rng) {
  if (probabilities.empty()) throw std::invalid_argument("cannot sample from an empty distribution");
  std::vector<double> cumulative(probabilities.size());
  double total = 0.0;
  for (std::size_t i = 0; i < probabilities.size(); ++i) {
    const double p = probabilities[i];
    if (!(p >= -1e-12)) {
      throw std::invalid_argument("probability " + std::to_string(p) + " at index " + std::to_string(i) +
                                  " is negative");
    }
    total += std::max(p, 0.0);
    cumulative[i] = total;
  }
  if (!(std::abs(total - 1.0) <= 1e-9)) {
    throw std::invalid_argument("probabilities sum to " + std::to_string(total) + ", not 1");
  }
  std::map<std::uint64_t, std::uint64_t> counts;
  for (std::uint64_t s = 0; s < shots; ++s) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53 * total;
    auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u);
    if (it == cumulative.end()) --it;
    // Skip zero-probability entries that share the cumulative value (upper_bound already does).
    ++counts[static_cast<std::uint64_t>(it - cumulative.begin())];
  }
  return counts;
}

}  // namespace kraus::engine
