// Measurement shots sampled from a probability vector with a seeded generator.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kraus/engine/measurement.hpp"

namespace kraus::engine {

// Counts of `shots` basis-state indices drawn from `probabilities` (non-negative, summing to 1 within
// 1e-9; tiny negative values from rounding count as 0): a multinomial draw, made as one binomial per
// outcome conditioned on the outcomes before it (std::binomial_distribution on the mt19937_64
// stream), so the time is O(number of outcomes) for any shot count (2^40 shots take as long as 10).
// The same seed and build give the same counts. Returns outcome -> count, outcomes ascending,
// outcomes drawn 0 times left out.
std::map<std::uint64_t, std::uint64_t> sample_counts(const std::vector<double>& probabilities,
                                                     std::uint64_t shots, std::mt19937_64& rng);

// Counts keyed by classical bits (MeasurementMap::key, Qiskit Aer's format: "b0 a1a0") from counts
// of qubit outcomes (bit q = qubit q); outcomes with the same key are added up. Empty when the map
// is empty (no measurement, no counts).
std::map<std::string, std::uint64_t> clbit_counts(const std::map<std::uint64_t, std::uint64_t>& qubit_counts,
                                                  const MeasurementMap& map);

// The most shots sample_memory lists one by one.
inline constexpr std::uint64_t kMaxMemoryShots = 1000000;

// `shots` outcomes (basis-state indices) in sampling order, for Aer's per-shot `memory`: the counts
// of sample_counts drawn from `rng`, then put in a uniformly random order (std::shuffle on the same
// `rng`), which is a sequence of independent draws. So the tally of the memory equals
// sample_counts(probabilities, shots, rng) from the same generator state. Validates
// `probabilities` as sample_counts does; shots <= kMaxMemoryShots (std::invalid_argument).
std::vector<std::uint64_t> sample_memory(const std::vector<double>& probabilities, std::uint64_t shots,
                                         std::mt19937_64& rng);

}  // namespace kraus::engine
