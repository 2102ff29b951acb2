// Readout errors against a dense 2^n x 2^n confusion matrix built here, element by element and as a
// Kronecker product, and sampled counts against the exact distribution.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <stdexcept>
#include <vector>

#include "kraus/noise/readout.hpp"
#include "reference/test_support.hpp"

namespace {

namespace ref = kraus::test;
namespace noise = kraus::noise;

constexpr double kTol = 1e-12;

// A random row-stochastic d x d matrix (row-major), rows drawn uniformly from the simplex.
std::vector<double> random_confusion(std::size_t d, ref::Rng& rng) {
  std::uniform_real_distribution<double> u(1e-9, 1.0);
  std::vector<double> m(d * d);
  for (std::size_t t = 0; t < d; ++t) {
    double total = 0;
    for (std::size_t r = 0; r < d; ++r) total += (m[t * d + r] = -std::log(u(rng)));
    for (std::size_t r = 0; r < d; ++r) m[t * d + r] /= total;
  }
  return m;
}

std::vector<double> random_probabilities(std::size_t d, ref::Rng& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> p(d);
  double total = 0;
  for (double& x : p) total += (x = u(rng));
  for (double& x : p) x /= total;
  return p;
}

// The full 2^n x 2^n confusion matrix C(t, r) = prod_groups C_g(t_g, r_g) * [t and r agree off the groups],
// where bit j of t_g is bit qubits[j] of t.
arma::mat dense_confusion(const std::vector<noise::ReadoutError>& errors, int n) {
  const arma::uword d = arma::uword{1} << n;
  arma::mat c(d, d);
  for (arma::uword t = 0; t < d; ++t)
    for (arma::uword r = 0; r < d; ++r) {
      double v = 1;
      arma::uword covered = 0;
      for (const noise::ReadoutError& e : errors) {
        arma::uword tg = 0, rg = 0;
        for (std::size_t j = 0; j < e.qubits.size(); ++j) {
          tg |= ((t >> e.qubits[j]) & 1u) << j;
          rg |= ((r >> e.qubits[j]) & 1u) << j;
          covered |= arma::uword{1} << e.qubits[j];
        }
        v *= e.confusion[tg * (arma::uword{1} << e.qubits.size()) + rg];
      }
      if ((t & ~covered) != (r & ~covered)) v = 0;
      c(t, r) = v;
    }
  return c;
}

arma::mat to_mat(const std::vector<double>& row_major, arma::uword d) {
  arma::mat m(d, d);
  for (arma::uword t = 0; t < d; ++t)
    for (arma::uword r = 0; r < d; ++r) m(t, r) = row_major[t * d + r];
  return m;
}

std::vector<double> apply_dense(const arma::mat& c, const std::vector<double>& p) {
  const arma::vec out = c.t() * arma::vec(p);  // P(read r) = sum_t P(true t) C(t, r)
  return std::vector<double>(out.begin(), out.end());
}

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST_CASE("per-qubit readout errors: orientation and the Kronecker product over qubits", "[noise][readout]") {
  // P(read 1 | true 0) = 0.2 on a qubit that is surely 0; P(read 0 | true 1) = 0.1 on one surely 1.
  const noise::ReadoutModel one({noise::ReadoutError::single(0, 0.2, 0.1)});
  std::vector<double> p0 = {1, 0};
  one.apply(p0, 1);
  CHECK(std::abs(p0[0] - 0.8) <= kTol);
  CHECK(std::abs(p0[1] - 0.2) <= kTol);
  std::vector<double> p1 = {0, 1};
  one.apply(p1, 1);
  CHECK(std::abs(p1[0] - 0.1) <= kTol);
  CHECK(std::abs(p1[1] - 0.9) <= kTol);
  const noise::ReadoutError single = noise::ReadoutError::single(3, 0.02, 0.05);
  CHECK(single.qubits == std::vector<int>{3});
  CHECK(single.confusion == std::vector<double>{0.98, 0.02, 0.05, 0.95});

  ref::Rng rng(51);
  for (int n : {3, 4}) {
    CAPTURE(n);
    std::vector<noise::ReadoutError> errors;
    arma::mat kron(1, 1, arma::fill::ones);
    for (int q = 0; q < n; ++q) {
      std::uniform_real_distribution<double> u(0.0, 0.3);
      errors.push_back(noise::ReadoutError::single(q, u(rng), u(rng)));
    }
    // Qubit q is bit q: the full matrix is C_{n-1} (x) ... (x) C_0.
    for (int q = n - 1; q >= 0; --q) kron = arma::kron(kron, to_mat(errors[static_cast<std::size_t>(q)].confusion, 2));
    const arma::mat dense = dense_confusion(errors, n);
    CHECK(arma::abs(kron - dense).max() <= kTol);
    // In a shuffled order the model gives the same result.
    std::vector<noise::ReadoutError> shuffled = errors;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    for (int trial = 0; trial < 3; ++trial) {
      const std::vector<double> p = random_probabilities(std::size_t{1} << n, rng);
      std::vector<double> out = p;
      noise::ReadoutModel(errors).apply(out, n);
      CHECK(max_diff(out, apply_dense(kron, p)) <= kTol);
      std::vector<double> out2 = p;
      noise::ReadoutModel(shuffled).apply(out2, n);
      CHECK(max_diff(out2, out) <= kTol);
    }
    // Errors on some qubits only.
    const std::vector<noise::ReadoutError> some = {errors[1], errors[static_cast<std::size_t>(n - 1)]};
    const std::vector<double> p = random_probabilities(std::size_t{1} << n, rng);
    std::vector<double> out = p;
    noise::ReadoutModel(some).apply(out, n);
    CHECK(max_diff(out, apply_dense(dense_confusion(some, n), p)) <= kTol);
  }
}

TEST_CASE("correlated readout errors on qubit groups equal the dense confusion matrix", "[noise][readout]") {
  // Pinned orientation: on group {2, 0}, bit 0 of the group index is qubit 2. True group outcome 1
  // (qubit 2 = 1, qubit 0 = 0, basis index 4) read surely as group outcome 2 (qubit 0 = 1: index 1).
  std::vector<double> perm(16, 0.0);
  perm[0 * 4 + 0] = perm[1 * 4 + 2] = perm[2 * 4 + 1] = perm[3 * 4 + 3] = 1.0;
  const noise::ReadoutModel pinned({noise::ReadoutError{{2, 0}, perm}});
  std::vector<double> p(8, 0.0);
  p[4] = 1.0;
  pinned.apply(p, 3);
  CHECK(p[1] == 1.0);
  CHECK(p[4] == 0.0);

  ref::Rng rng(52);
  for (int n : {3, 4}) {
    CAPTURE(n);
    std::vector<std::vector<noise::ReadoutError>> models;
    models.push_back({noise::ReadoutError{{2, 0}, random_confusion(4, rng)}});
    models.push_back({noise::ReadoutError{{1, 2, 0}, random_confusion(8, rng)}});
    if (n == 4) {
      models.push_back({noise::ReadoutError{{3, 0}, random_confusion(4, rng)}, noise::ReadoutError::single(1, 0.1, 0.2),
                        noise::ReadoutError{{2}, random_confusion(2, rng)}});
      models.push_back({noise::ReadoutError{{0, 3, 1, 2}, random_confusion(16, rng)}});
    } else {
      models.push_back({noise::ReadoutError{{1, 0}, random_confusion(4, rng)}, noise::ReadoutError::single(2, 0.3, 0.05)});
    }
    for (std::size_t m = 0; m < models.size(); ++m) {
      CAPTURE(m);
      const arma::mat dense = dense_confusion(models[m], n);
      // Each row of the full matrix is a distribution.
      CHECK(arma::abs(arma::sum(dense, 1) - 1.0).max() <= kTol);
      for (int trial = 0; trial < 3; ++trial) {
        const std::vector<double> probs = random_probabilities(std::size_t{1} << n, rng);
        std::vector<double> out = probs;
        noise::ReadoutModel(models[m]).apply(out, n);
        CHECK(max_diff(out, apply_dense(dense, probs)) <= kTol);
      }
    }
  }
}

TEST_CASE("readout on sampled counts follows the confusion matrices within 5 sigma", "[noise][readout][statistical]") {
  ref::Rng rng(53);
  for (int n : {3, 4}) {
    CAPTURE(n);
    const std::vector<noise::ReadoutError> errors =
        n == 3 ? std::vector<noise::ReadoutError>{noise::ReadoutError{{2, 0}, random_confusion(4, rng)},
                                                  noise::ReadoutError::single(1, 0.15, 0.3)}
               : std::vector<noise::ReadoutError>{noise::ReadoutError::single(0, 0.05, 0.1),
                                                  noise::ReadoutError{{3, 1}, random_confusion(4, rng)},
                                                  noise::ReadoutError::single(2, 0.2, 0.02)};
    const noise::ReadoutModel model(errors);
    // 200000 shots spread over a few true outcomes.
    const std::uint64_t shots = 200000;
    std::map<std::uint64_t, std::uint64_t> counts;
    const std::vector<double> truth = random_probabilities(std::size_t{1} << n, rng);
    std::uint64_t assigned = 0;
    for (std::size_t i = 0; i + 1 < truth.size(); ++i) {
      counts[i] = static_cast<std::uint64_t>(truth[i] * shots);
      assigned += counts[i];
    }
    counts[truth.size() - 1] = shots - assigned;
    std::vector<double> exact(truth.size());
    for (const auto& [k, v] : counts) exact[k] = static_cast<double>(v) / shots;
    const std::vector<double> expected = apply_dense(dense_confusion(errors, n), exact);

    std::mt19937_64 gen(2024);
    const std::map<std::uint64_t, std::uint64_t> noisy = model.apply_to_counts(counts, n, gen);
    std::uint64_t total = 0;
    for (const auto& [outcome, c] : noisy) {
      REQUIRE(outcome < (std::uint64_t{1} << n));
      total += c;
    }
    CHECK(total == shots);
    for (std::size_t r = 0; r < expected.size(); ++r) {
      const auto it = noisy.find(r);
      const double got = it == noisy.end() ? 0.0 : static_cast<double>(it->second);
      const double mean = shots * expected[r];
      const double sigma = std::sqrt(shots * expected[r] * (1 - expected[r]));
      CAPTURE(r, got, mean, sigma);
      CHECK(std::abs(got - mean) <= 5 * sigma + 1e-9);
    }
    // The same seed gives the same counts.
    std::mt19937_64 again(2024);
    CHECK(model.apply_to_counts(counts, n, again) == noisy);
  }
  // A model without errors returns the counts unchanged.
  std::mt19937_64 gen(1);
  const std::map<std::uint64_t, std::uint64_t> counts = {{0, 5}, {3, 7}};
  CHECK(noise::ReadoutModel().apply_to_counts(counts, 2, gen) == counts);
}

TEST_CASE("invalid readout errors are rejected", "[noise][readout][validation]") {
  CHECK_THROWS_AS(noise::ReadoutError::single(0, 1.2, 0.1), std::invalid_argument);
  CHECK_THROWS_AS(noise::ReadoutError::single(0, -0.1, 0.1), std::invalid_argument);
  CHECK_THROWS_AS(noise::ReadoutError::single(0, 0.1, std::nan("")), std::invalid_argument);
  CHECK_THROWS_AS((noise::ReadoutError{{0}, {0.9, 0.1, 0.1}}.validate()), std::invalid_argument);         // size
  CHECK_THROWS_AS((noise::ReadoutError{{0, 1}, {0.9, 0.1, 0.1, 0.9}}.validate()), std::invalid_argument);  // size
  CHECK_THROWS_AS((noise::ReadoutError{{0}, {0.9, 0.2, 0.1, 0.9}}.validate()), std::invalid_argument);     // row sum
  CHECK_THROWS_AS((noise::ReadoutError{{0}, {1.1, -0.1, 0.1, 0.9}}.validate()), std::invalid_argument);    // entry < 0
  CHECK_THROWS_AS((noise::ReadoutError{{}, {1.0}}.validate()), std::invalid_argument);                      // no qubit
  // Columns summing to 1 but rows not (a column-stochastic matrix given the wrong way round).
  CHECK_THROWS_AS((noise::ReadoutError{{0}, {0.9, 0.2, 0.1, 0.8}}.validate()), std::invalid_argument);
  CHECK_NOTHROW((noise::ReadoutError{{0}, {0.9, 0.1, 0.2, 0.8}}.validate()));
  // Overlapping groups, negative qubits.
  CHECK_THROWS_AS(noise::ReadoutModel({noise::ReadoutError::single(1, 0.1, 0.1),
                                       noise::ReadoutError{{0, 1}, {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}}}),
                  std::invalid_argument);
  CHECK_THROWS_AS(noise::ReadoutModel({noise::ReadoutError::single(2, 0.1, 0.1), noise::ReadoutError::single(2, 0.2, 0.1)}),
                  std::invalid_argument);
  CHECK_THROWS_AS(noise::ReadoutModel({noise::ReadoutError{{-1}, {1, 0, 0, 1}}}), std::invalid_argument);
  CHECK_THROWS_AS(noise::ReadoutModel({noise::ReadoutError{{0}, {0.5, 0.6, 0, 1}}}), std::invalid_argument);
  // Application to the wrong register.
  const noise::ReadoutModel model({noise::ReadoutError::single(3, 0.1, 0.1)});
  std::vector<double> p(8, 0.125);
  CHECK_THROWS_AS(model.apply(p, 3), std::invalid_argument);  // qubit 3 of 3
  std::vector<double> wrong(5, 0.2);
  CHECK_THROWS_AS(model.apply(wrong, 4), std::invalid_argument);
  std::mt19937_64 gen(1);
  CHECK_THROWS_AS(model.apply_to_counts({{16, 1}}, 4, gen), std::invalid_argument);  // outcome beyond 4 qubits
}

TEST_CASE("apply_to_counts refuses readout errors on qubits beyond the register, like apply",
          "[noise][readout][validation]") {
  // apply() throws for an error on qubit 3 of a 3-qubit register; sampled counts must not silently
  // produce outcomes with bit 3 set (outcome >= 2^n).
  const noise::ReadoutModel model({noise::ReadoutError::single(3, 0.5, 0.5)});
  std::mt19937_64 gen(1);
  CHECK_THROWS_AS(model.apply_to_counts({{0, 100}}, 3, gen), std::invalid_argument);
}
