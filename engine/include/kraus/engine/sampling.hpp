// Measurement shots sampled from a probability vector with a seeded generator.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <vector>

namespace kraus::engine {

// Draws `shots` basis-state indices from `probabilities` (non-negative, summing to 1 within 1e-9;
// tiny negative values from rounding count as 0). Uses 53-bit uniforms from the mt19937_64 stream, so
// the same seed gives the same shots on every platform. Returns outcome -> count, outcomes
// ascending.
std::map<std::uint64_t, std::uint64_t> sample_counts(const std::vector<double>& probabilities,
                                                     std::uint64_t shots, std::mt19937_64& rng);

}  // namespace kraus::engine
