// Seeded shot sampling: statistics, reproducibility and input validation.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <vector>

#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/sampling.hpp"
#include "reference/test_support.hpp"

namespace {

namespace ref = kraus::test;
using kraus::engine::sample_counts;
using Counts = std::map<std::uint64_t, std::uint64_t>;

Counts sample(const std::vector<double>& p, std::uint64_t shots, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return sample_counts(p, shots, rng);
}

std::uint64_t total(const Counts& counts) {
  std::uint64_t sum = 0;
  for (const auto& entry : counts) sum += entry.second;
  return sum;
}

}  // namespace

TEST_CASE("sampled frequencies lie within 5 sigma of the probabilities", "[engine][sampling]") {
  ref::Rng rng(31);
  const auto dm = kraus::engine::DensityMatrix::from_matrix(ref::random_density_matrix(3, rng));
  const std::vector<double> p = dm.probabilities();
  const std::uint64_t shots = 100000;
  const Counts counts = sample(p, shots, 2024);
  REQUIRE(total(counts) == shots);
  for (std::size_t i = 0; i < p.size(); ++i) {
    const auto it = counts.find(i);
    const double observed = it == counts.end() ? 0.0 : static_cast<double>(it->second);
    const double expected = static_cast<double>(shots) * p[i];
    const double sigma = std::sqrt(static_cast<double>(shots) * p[i] * (1 - p[i]));
    CAPTURE(i, p[i], observed, expected, sigma);
    CHECK(std::abs(observed - expected) <= 5 * sigma + 1);
  }
  for (const auto& entry : counts) CHECK(entry.first < p.size());
}

TEST_CASE("the same seed gives the same counts and different seeds differ", "[engine][sampling]") {
  const std::vector<double> p = {0.1, 0.2, 0.3, 0.4};
  const Counts a = sample(p, 10000, 7);
  CHECK(sample(p, 10000, 7) == a);
  CHECK(sample(p, 10000, 8) != a);
  CHECK(sample(p, 10000, 123456789) != a);
}

TEST_CASE("outcomes of probability zero are never drawn", "[engine][sampling]") {
  const Counts counts = sample({0.0, 0.5, 0.0, 0.5, 0.0}, 20000, 3);
  for (const auto& entry : counts) CHECK((entry.first == 1 || entry.first == 3));
  CHECK(total(counts) == 20000);
  CHECK(sample({0.0, 0.0, 1.0, 0.0}, 1000, 4) == Counts{{2, 1000}});
  // A tiny negative value from rounding counts as zero.
  const Counts rounded = sample({-1e-15, 1.0 + 1e-15}, 1000, 5);
  CHECK(rounded == Counts{{1, 1000}});
  CHECK(sample({0.5, 0.5}, 0, 6).empty());
}

TEST_CASE("invalid distributions throw std::invalid_argument", "[engine][sampling][validation]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const std::vector<double>& bad : std::vector<std::vector<double>>{
           {}, {-0.1, 1.1}, {0.5, 0.4}, {0.6, 0.6}, {nan, 1.0}, {0.5, nan}}) {
    CAPTURE(bad);
    std::mt19937_64 rng(1);
    CHECK_THROWS_AS(sample_counts(bad, 10, rng), std::invalid_argument);
  }
}

namespace {

// Pearson's chi-square of the counts against shots * p over the outcomes of nonzero probability.
double chi_square(const Counts& counts, const std::vector<double>& p, std::uint64_t shots) {
  double chi2 = 0.0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const auto it = counts.find(i);
    const double observed = it == counts.end() ? 0.0 : static_cast<double>(it->second);
    const double expected = static_cast<double>(shots) * p[i];
    chi2 += (observed - expected) * (observed - expected) / expected;
  }
  return chi2;
}

}  // namespace

TEST_CASE("counts follow the multinomial distribution for any number of shots", "[engine][sampling]") {
  // 16 outcomes spanning three orders of magnitude; chi-square with 15 degrees of freedom exceeds 55
  // with probability 1e-6.
  std::vector<double> p(16);
  double sum = 0.0;
  for (std::size_t i = 0; i < p.size(); ++i) sum += p[i] = std::pow(0.6, static_cast<double>(i)) + 1e-3;
  for (double& x : p) x /= sum;
  for (const std::uint64_t shots : {std::uint64_t{1000}, std::uint64_t{1000000}, std::uint64_t{1} << 40}) {
    for (const std::uint64_t seed : {1, 2, 3, 4, 5}) {
      const Counts counts = sample(p, shots, seed);
      CAPTURE(shots, seed);
      CHECK(total(counts) == shots);
      CHECK(chi_square(counts, p, shots) < 55.0);
    }
  }
  // Over 200 seeds the mean chi-square is 15 (its degrees of freedom) within 5 sigma (sqrt(2*15/200)).
  double mean = 0.0;
  for (std::uint64_t seed = 100; seed < 300; ++seed) mean += chi_square(sample(p, 100000, seed), p, 100000) / 200;
  CHECK(std::abs(mean - 15.0) <= 5 * std::sqrt(2.0 * 15 / 200));
}

TEST_CASE("2^40 shots take no longer than a few", "[engine][sampling]") {
  // Shot by shot, 2^40 draws would take hours; the multinomial draw is one binomial per outcome.
  const std::vector<double> p(1024, 1.0 / 1024);
  const auto start = std::chrono::steady_clock::now();
  const Counts counts = sample(p, std::uint64_t{1} << 40, 9);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(total(counts) == std::uint64_t{1} << 40);
  CHECK(counts.size() == 1024);
  CHECK(seconds < 5.0);
}
