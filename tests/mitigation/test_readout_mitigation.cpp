// Readout mitigation: undoing ReadoutModel::apply exactly (tensored inverse for per-qubit errors,
// constrained least squares for correlated ones), staying in the simplex on noisy input (checked
// against the optimality conditions of the constrained problem, with A written out densely), and
// Z-string expectations of the result.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

#include <armadillo>

#include "kraus/engine/observables.hpp"
#include "kraus/engine/sampling.hpp"
#include "kraus/mitigation/readout_mitigation.hpp"
#include "kraus/noise/readout.hpp"
#include "reference/test_support.hpp"

namespace {

using kraus::engine::PauliString;
using kraus::mitigation::mitigate_readout;
using kraus::mitigation::ReadoutMitigationMethod;
using kraus::mitigation::z_expectation;
using kraus::noise::ReadoutError;
using kraus::noise::ReadoutModel;

// A random probability vector of 2^n entries, all of them positive.
std::vector<double> random_distribution(int n, std::mt19937_64& rng) {
  std::vector<double> p(std::size_t{1} << n);
  std::uniform_real_distribution<double> u(0.05, 1.0);
  for (double& x : p) x = u(rng);
  const double sum = std::accumulate(p.begin(), p.end(), 0.0);
  for (double& x : p) x /= sum;
  return p;
}

std::vector<double> applied(std::vector<double> p, const ReadoutModel& readout, int n) {
  readout.apply(p, n);
  return p;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double d = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

// The correlated group on qubits {2, 0} of a 3-qubit register (rows = true outcome) and a per-qubit
// error on qubit 1.
ReadoutModel correlated_model() {
  const std::vector<double> group = {0.90, 0.04, 0.05, 0.01,  //
                                     0.06, 0.85, 0.02, 0.07,  //
                                     0.03, 0.02, 0.88, 0.07,  //
                                     0.01, 0.08, 0.10, 0.81};
  return ReadoutModel({ReadoutError{{2, 0}, group}, ReadoutError::single(1, 0.03, 0.09)});
}

// The model's full 2^n x 2^n matrix A (m = A p), built column by column from ReadoutModel::apply on
// basis vectors.
arma::mat dense_operator(const ReadoutModel& readout, int n) {
  const std::size_t d = std::size_t{1} << n;
  arma::mat a(d, d);
  for (std::size_t t = 0; t < d; ++t) {
    std::vector<double> e(d, 0.0);
    e[t] = 1.0;
    readout.apply(e, n);
    for (std::size_t r = 0; r < d; ++r) a(r, t) = e[r];
  }
  return a;
}

}  // namespace

TEST_CASE("tensored inverse undoes per-qubit readout errors exactly", "[mitigation][readout]") {
  std::mt19937_64 rng(3);
  for (int n : {1, 2, 4, 6}) {
    std::vector<ReadoutError> errors;
    for (int q = 0; q < n; ++q) {
      if (q == 1) continue;  // a qubit without an error
      errors.push_back(ReadoutError::single(q, 0.01 + 0.02 * q, 0.05 + 0.01 * q));
    }
    const ReadoutModel readout(errors);
    const std::vector<double> p = random_distribution(n, rng);
    const auto result = mitigate_readout(applied(p, readout, n), readout, n);
    CAPTURE(n);
    CHECK(result.method == ReadoutMitigationMethod::kTensoredInverse);
    CHECK(result.iterations == 0);
    CHECK(max_abs_diff(result.probabilities, p) <= 1e-12);
  }
  // No readout error: the measured distribution itself.
  const std::vector<double> p = {0.25, 0.75};
  CHECK(mitigate_readout(p, ReadoutModel(), 1).probabilities == p);
}

TEST_CASE("tensored inverse of noisy data is a quasi-distribution summing to 1", "[mitigation][readout]") {
  // Qubit 0: p(1|0) = 0.1, p(0|1) = 0.2. Measured m = (0.95, 0.05) is below what any true
  // distribution can give (m(1) >= 0.1), so the inverse is negative: with A = [[0.9, 0.2], [0.1, 0.8]],
  // A^-1 m = (0.95 * 0.8 - 0.05 * 0.2, 0.9 * 0.05 - 0.1 * 0.95) / 0.7 = (0.75, -0.05) / 0.7.
  const ReadoutModel readout({ReadoutError::single(0, 0.1, 0.2)});
  const auto result = mitigate_readout({0.95, 0.05}, readout, 1);
  REQUIRE_CLOSE(result.probabilities[0], 0.75 / 0.7, 1e-14);
  REQUIRE_CLOSE(result.probabilities[1], -0.05 / 0.7, 1e-14);
  REQUIRE_CLOSE(z_expectation(result.probabilities, PauliString::parse("Z0")), 0.8 / 0.7, 1e-14);
}

TEST_CASE("least squares recovers a distribution under correlated readout", "[mitigation][readout]") {
  const ReadoutModel readout = correlated_model();
  std::mt19937_64 rng(4);
  for (int trial = 0; trial < 5; ++trial) {
    std::vector<double> p = random_distribution(3, rng);
    if (trial == 1) p = {0.5, 0, 0, 0, 0, 0, 0, 0.5};  // on the simplex's boundary
    const auto result = mitigate_readout(applied(p, readout, 3), readout, 3);
    CAPTURE(trial);
    CHECK(result.method == ReadoutMitigationMethod::kConstrainedLeastSquares);
    CHECK(result.converged);
    CHECK(max_abs_diff(result.probabilities, p) <= 1e-12);
    CHECK(result.residual <= 1e-12);
  }
}

TEST_CASE("least squares on noisy counts stays in the simplex at the constrained optimum",
          "[mitigation][readout]") {
  const ReadoutModel readout = correlated_model();
  const arma::mat a = dense_operator(readout, 3);
  // A state with little weight on some outcomes: 200 shots of its noisy readout often give
  // frequencies no distribution maps to, so the unconstrained inverse has negative entries.
  const std::vector<double> p = {0.6, 0.0, 0.01, 0.0, 0.0, 0.39, 0.0, 0.0};
  const std::vector<double> m = applied(p, readout, 3);
  int constrained_cases = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<double> frequencies(8, 0.0);
    for (const auto& [outcome, count] : kraus::engine::sample_counts(m, 200, rng)) {
      frequencies[outcome] = static_cast<double>(count) / 200.0;
    }
    const arma::vec unconstrained = arma::solve(a, arma::vec(frequencies));
    const auto result = mitigate_readout(frequencies, readout, 3);
    const std::vector<double>& x = result.probabilities;
    CAPTURE(seed);
    REQUIRE(result.converged);
    CHECK(*std::min_element(x.begin(), x.end()) >= 0.0);
    REQUIRE_CLOSE(std::accumulate(x.begin(), x.end(), 0.0), 1.0, 1e-12);
    // KKT conditions of min ||A x - m||^2 / 2 on the simplex: the gradient g = A^T (A x - m) equals
    // one value mu on the support of x and is >= mu elsewhere.
    const arma::vec residual = a * arma::vec(x) - arma::vec(frequencies);
    const arma::vec g = a.t() * residual;
    double mu = 0.0;
    std::size_t support = 0;
    for (std::size_t i = 0; i < 8; ++i) {
      if (x[i] > 1e-9) {
        mu += g(i);
        ++support;
      }
    }
    mu /= static_cast<double>(support);
    for (std::size_t i = 0; i < 8; ++i) {
      if (x[i] > 1e-9) {
        CHECK(std::abs(g(i) - mu) <= 1e-9);
      } else {
        CHECK(g(i) >= mu - 1e-9);
      }
    }
    REQUIRE_CLOSE(result.residual, arma::norm(residual), 1e-12);
    if (unconstrained.min() < 0) {
      ++constrained_cases;
      CHECK(result.iterations > 0);
    }
  }
  CHECK(constrained_cases >= 5);
}

TEST_CASE("z_expectation is the parity average of a (quasi-)distribution", "[mitigation][readout]") {
  const std::vector<double> p = {0.1, 0.2, 0.3, 0.4};  // index bit q = qubit q
  REQUIRE_CLOSE(z_expectation(p, PauliString::parse("Z0")), 0.1 - 0.2 + 0.3 - 0.4, 1e-15);
  REQUIRE_CLOSE(z_expectation(p, PauliString::parse("Z1")), 0.1 + 0.2 - 0.3 - 0.4, 1e-15);
  REQUIRE_CLOSE(z_expectation(p, PauliString::parse("Z0 Z1")), 0.1 - 0.2 - 0.3 + 0.4, 1e-15);
  REQUIRE_CLOSE(z_expectation(p, PauliString::parse("I")), 1.0, 1e-15);
  REQUIRE_CLOSE(z_expectation({0.5, 0.7, -0.1, -0.1}, PauliString::parse("Z1")), 1.4, 1e-15);
  // Mitigated Z expectations of per-qubit readout equal the exact ones.
  const ReadoutModel readout({ReadoutError::single(0, 0.04, 0.1), ReadoutError::single(1, 0.02, 0.07)});
  const auto mitigated = mitigate_readout(applied(p, readout, 2), readout, 2);
  REQUIRE_CLOSE(z_expectation(mitigated.probabilities, PauliString::parse("Z0 Z1")), 0.0, 1e-12);
  CHECK_THROWS_WITH(z_expectation(p, PauliString::parse("X0")),
                    "z_expectation needs a Z string; 'X0' has X or Y factors");
  CHECK_THROWS_WITH(z_expectation(p, PauliString::parse("Z2")),
                    "z_expectation: 'Z2' acts on qubit 2 of a distribution of 4 outcomes");
  CHECK_THROWS_WITH(z_expectation({0.5, 0.25, 0.25}, PauliString::parse("Z0")),
                    "z_expectation: 3 probabilities is not a power of 2");
}

TEST_CASE("readout mitigation refuses bad inputs", "[mitigation][readout][validation]") {
  const ReadoutModel readout({ReadoutError::single(0, 0.1, 0.2)});
  CHECK_THROWS_WITH(mitigate_readout({0.5, 0.5, 0.0}, readout, 1),
                    "readout mitigation: 3 probabilities for 1 qubits (needs 2^1)");
  CHECK_THROWS_WITH(mitigate_readout({0.5, 0.4}, readout, 1),
                    "readout mitigation: measured probabilities sum to 0.900000, not 1");
  CHECK_THROWS_WITH(mitigate_readout({1.5, -0.5}, readout, 1),
                    "readout mitigation: measured probability 1.500000 at index 0 is outside [0, 1]");
  CHECK_THROWS_WITH(mitigate_readout({1.0, 0.0}, ReadoutModel({ReadoutError::single(1, 0.1, 0.1)}), 1),
                    "readout error on qubit 1 of a 1-qubit register");
  CHECK_THROWS_WITH(mitigate_readout({1.0, 0.0}, ReadoutModel({ReadoutError::single(0, 0.4, 0.6)}), 1),
                    "the readout error of qubit 0 cannot be undone: p(1|0) + p(0|1) = 1 makes its confusion "
                    "matrix singular");
  // A singular correlated group still has a least-squares answer: the closest reachable point.
  const ReadoutModel singular({ReadoutError{{0, 1}, {0.5, 0.5, 0, 0, 0.5, 0.5, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}}});
  const auto result = mitigate_readout({0.5, 0.5, 0.0, 0.0}, singular, 2);
  CHECK(result.method == ReadoutMitigationMethod::kConstrainedLeastSquares);
  CHECK(result.residual <= 1e-12);
  REQUIRE_CLOSE(result.probabilities[0] + result.probabilities[1], 1.0, 1e-12);
}
