// Measurement shots sampled from a probability vector with a seeded generator.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <vector>

namespace kraus::engine {

// Counts of `shots` basis-state indices drawn from `probabilities` (non-negative, summing to 1 within
// 1e-9; tiny negative values from rounding count as 0): a multinomial draw, made as one binomial per
// outcome conditioned on the outcomes before it (std::binomial_distribution on the mt19937_64
// stream), so the time is O(number of outcomes) for any shot count (2^40 shots take as long as 10).
// The same seed and build give the same counts. Returns outcome -> count, outcomes ascending,
// outcomes drawn 0 times left out.
std::map<std::uint64_t, std::uint64_t> sample_counts(const std::vector<double>& probabilities,
                                                     std::uint64_t shots, std::mt19937_64& rng);

}  // namespace kraus::engine
