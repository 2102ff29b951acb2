// Seeded random numbers for optim (internal): the same seed gives the same numbers on every
// platform (53-bit uniforms from std::mt19937_64, whose output sequence is specified).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace kraus::optim::detail {

// splitmix64: derives independent seeds from (seed, stream).
inline std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// A cheap generator for small draws (seeding std::mt19937_64 costs more than a few draws):
// splitmix64's output stream.
struct SplitMix64 {
  std::uint64_t state;
  explicit SplitMix64(std::uint64_t seed) : state(seed) {}
  std::uint64_t operator()() {
    state += 0x9E3779B97F4A7C15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
};

// Uniform in [0, 1) from the top 53 bits of a 64-bit generator.
template <class Rng>
double uniform01(Rng& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

// Uniform integer in [0, n).
template <class Rng>
std::uint64_t uniform_index(Rng& rng, std::uint64_t n) {
  return static_cast<std::uint64_t>(uniform01(rng) * static_cast<double>(n)) % n;
}

// Fisher-Yates shuffle with uniform_index.
template <class T>
void shuffle(std::vector<T>& v, std::mt19937_64& rng) {
  for (std::size_t i = v.size(); i > 1; --i) {
    const std::size_t j = static_cast<std::size_t>(uniform_index(rng, i));
    std::swap(v[i - 1], v[j]);
  }
}

// Standard normal (Box-Muller on uniform01).
inline double normal(std::mt19937_64& rng) {
  double u1 = uniform01(rng);
  while (u1 <= 0.0) u1 = uniform01(rng);
  const double u2 = uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

}  // namespace kraus::optim::detail
