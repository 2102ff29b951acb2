// Seeded shot sampling: statistics, reproducibility and input validation.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/measurement.hpp"
#include "kraus/engine/qasm2.hpp"
#include "kraus/engine/sampling.hpp"
#include "reference/test_support.hpp"

namespace {

namespace ref = kraus::test;
using kraus::engine::sample_counts;
using kraus::engine::sample_memory;
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

namespace {

std::vector<std::uint64_t> memory(const std::vector<double>& p, std::uint64_t shots, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  return sample_memory(p, shots, rng);
}

Counts tally(const std::vector<std::uint64_t>& shots) {
  Counts counts;
  for (std::uint64_t outcome : shots) ++counts[outcome];
  return counts;
}

}  // namespace

TEST_CASE("memory is reproducible and its tally is the counts of the same generator",
          "[engine][sampling][aer-memory]") {
  const std::vector<double> p = {0.1, 0.0, 0.25, 0.65};
  const std::vector<std::uint64_t> a = memory(p, 5000, 11);
  REQUIRE(a.size() == 5000);
  CHECK(memory(p, 5000, 11) == a);
  CHECK(memory(p, 5000, 12) != a);
  CHECK(tally(a) == sample(p, 5000, 11));
  for (std::uint64_t outcome : a) CHECK(outcome != 1);  // probability 0
  CHECK(memory(p, 0, 1).empty());
  // Keyed by classical bits (measure q[1] -> c[0] on two qubits), the memory tallies to clbit_counts.
  const auto circuit = kraus::engine::parse_qasm2(
      "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\ncreg c[1];\nmeasure q[1] -> c[0];\n");
  const kraus::engine::MeasurementMap map = kraus::engine::measurement_map(circuit);
  std::map<std::string, std::uint64_t> keyed;
  for (std::uint64_t outcome : a) ++keyed[map.key(outcome)];
  CHECK(keyed == kraus::engine::clbit_counts(tally(a), map));
  CHECK(keyed.at("1") == tally(a).at(2) + tally(a).at(3));
}

TEST_CASE("memory lists independent draws in random order", "[engine][sampling][aer-memory]") {
  // For independent fair draws the number of adjacent equal pairs is Binomial(N - 1, 1/2); counts
  // listed in sorted order would give N - 2.
  const std::uint64_t n = 100000;
  const std::vector<std::uint64_t> m = memory({0.5, 0.5}, n, 21);
  double equal = 0.0;
  for (std::size_t i = 1; i < m.size(); ++i) equal += m[i] == m[i - 1] ? 1.0 : 0.0;
  const double expected = 0.5 * static_cast<double>(n - 1);
  CHECK(std::abs(equal - expected) <= 5 * std::sqrt(0.25 * static_cast<double>(n - 1)));
  // Each half of the list holds about half of the ones.
  double ones_first_half = 0.0;
  for (std::size_t i = 0; i < n / 2; ++i) ones_first_half += static_cast<double>(m[i]);
  CHECK(std::abs(ones_first_half - 0.25 * static_cast<double>(n)) <= 5 * std::sqrt(0.125 * static_cast<double>(n)));
}

TEST_CASE("memory is bounded and validates its distribution", "[engine][sampling][aer-memory][validation]") {
  std::mt19937_64 rng(1);
  CHECK_THROWS_WITH(sample_memory({0.5, 0.5}, kraus::engine::kMaxMemoryShots + 1, rng),
                    "memory lists at most 1000000 shots, got 1000001");
  CHECK(sample_memory({0.5, 0.5}, kraus::engine::kMaxMemoryShots, rng).size() == 1000000);
  CHECK_THROWS_AS(sample_memory({0.5, 0.4}, 10, rng), std::invalid_argument);
  CHECK_THROWS_AS(sample_memory({}, 10, rng), std::invalid_argument);
}
