// Pauli-string expectations against Tr(P_full rho) with P_full a dense Kronecker product.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/observables.hpp"
#include "reference/test_support.hpp"

namespace {

namespace ref = kraus::test;
using kraus::engine::DensityMatrix;
using kraus::engine::expectation;
using kraus::engine::PauliString;
using kraus::engine::PauliSum;
using ref::Complex;

constexpr double kTol = 1e-12;

// A random Pauli string as per-qubit labels (labels[q] acts on qubit q).
std::string random_labels(int n, ref::Rng& rng) {
  std::string labels;
  for (int q = 0; q < n; ++q) labels += "IXYZ"[rng() % 4];
  return labels;
}

// The text form of `labels`, factors in random order, identity factors sometimes written out.
std::string to_text(const std::string& labels, ref::Rng& rng) {
  std::vector<std::string> factors;
  for (std::size_t q = 0; q < labels.size(); ++q) {
    if (labels[q] != 'I' || rng() % 3 == 0) factors.push_back(labels[q] + std::to_string(q));
  }
  std::shuffle(factors.begin(), factors.end(), rng);
  std::string text;
  for (const std::string& f : factors) text += (text.empty() ? "" : (rng() % 2 ? " " : "  \t")) + f;
  return text.empty() ? "I" : text;
}

// The canonical to_string(): non-identity factors in ascending qubit order, or "I".
std::string canonical(const std::string& labels) {
  std::string text;
  for (std::size_t q = 0; q < labels.size(); ++q) {
    if (labels[q] == 'I') continue;
    text += (text.empty() ? "" : " ") + std::string(1, labels[q]) + std::to_string(q);
  }
  return text.empty() ? "I" : text;
}

}  // namespace

TEST_CASE("expectation of random Pauli strings equals Tr(P rho)", "[engine][observables][reference]") {
  const int n = GENERATE(1, 2, 3, 5);
  ref::Rng rng(500 + n);
  const arma::cx_mat rho = ref::random_density_matrix(n, rng);
  const DensityMatrix dm = DensityMatrix::from_matrix(rho);
  for (int trial = 0; trial < 40; ++trial) {
    const std::string labels = random_labels(n, rng);
    const std::string text = to_text(labels, rng);
    CAPTURE(labels, text);
    const PauliString pauli = PauliString::parse(text);
    for (int q = 0; q < n; ++q) {
      const char l = labels[static_cast<std::size_t>(q)];
      CHECK(((pauli.x_mask >> q) & 1u) == (l == 'X' || l == 'Y' ? 1u : 0u));
      CHECK(((pauli.z_mask >> q) & 1u) == (l == 'Z' || l == 'Y' ? 1u : 0u));
    }
    CHECK(pauli.to_string() == canonical(labels));
    const std::size_t last = labels.find_last_not_of('I');
    CHECK(pauli.min_qubits() == (last == std::string::npos ? 0 : static_cast<int>(last) + 1));
    REQUIRE_CLOSE(expectation(dm, pauli), std::real(arma::trace(ref::pauli_string_operator(labels) * rho)), kTol);
  }
}

TEST_CASE("Pauli expectations of known states", "[engine][observables]") {
  const double r = 1.0 / std::sqrt(2.0);
  auto state = [](Complex a, Complex b) {
    arma::cx_vec v(2);
    v(0) = a;
    v(1) = b;
    return DensityMatrix::from_state_vector(v);
  };
  auto ev = [](const DensityMatrix& dm, const char* text) { return expectation(dm, PauliString::parse(text)); };
  const DensityMatrix zero = state(1, 0), one = state(0, 1), plus = state(r, r), plus_i = state(r, Complex(0, r));
  REQUIRE_CLOSE(ev(zero, "Z0"), 1.0, kTol);
  REQUIRE_CLOSE(ev(one, "Z0"), -1.0, kTol);
  REQUIRE_CLOSE(ev(plus, "X0"), 1.0, kTol);
  REQUIRE_CLOSE(ev(plus, "Z0"), 0.0, kTol);
  // (|0> + i|1>)/sqrt2 is the +1 eigenstate of Y = [[0, -i], [i, 0]].
  REQUIRE_CLOSE(ev(plus_i, "Y0"), 1.0, kTol);
  REQUIRE_CLOSE(ev(plus_i, "X0"), 0.0, kTol);
  REQUIRE_CLOSE(ev(plus_i, "I"), 1.0, kTol);
  // |q1 q0> = |1 0>: Z0 = +1, Z1 = -1, Z0 Z1 = -1.
  DensityMatrix two(2);
  two.apply(kraus::engine::Gate::kX, {1});
  REQUIRE_CLOSE(ev(two, "Z0"), 1.0, kTol);
  REQUIRE_CLOSE(ev(two, "Z1"), -1.0, kTol);
  REQUIRE_CLOSE(ev(two, "Z0 Z1"), -1.0, kTol);
}

TEST_CASE("PauliSum expectation is the weighted sum of its terms", "[engine][observables][reference]") {
  const int n = 4;
  ref::Rng rng(21);
  const arma::cx_mat rho = ref::random_density_matrix(n, rng);
  const DensityMatrix dm = DensityMatrix::from_matrix(rho);
  PauliSum sum;
  arma::cx_mat dense(16, 16, arma::fill::zeros);
  for (int term = 0; term < 8; ++term) {
    const std::string labels = random_labels(n, rng);
    const double coef = std::uniform_real_distribution<double>(-2, 2)(rng);
    sum.terms.push_back({coef, PauliString::parse(canonical(labels))});
    dense += coef * ref::pauli_string_operator(labels);
  }
  REQUIRE_CLOSE(expectation(dm, sum), std::real(arma::trace(dense * rho)), kTol);
  REQUIRE_CLOSE(expectation(dm, PauliSum{}), 0.0, 0.0);
}

TEST_CASE("PauliString::parse rejects malformed strings", "[engine][observables][validation]") {
  for (const char* bad : {"Q0", "X", "X0 X0", "X0 Z0", "", "   ", "Xa", "x0", "XY0", "X-1", "X1.5", "Z99"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(PauliString::parse(bad), std::invalid_argument);
  }
  CHECK_NOTHROW(PauliString::parse("  X0\tZ2  "));
  const PauliString identity = PauliString::parse("I");
  CHECK(identity.x_mask == 0);
  CHECK(identity.z_mask == 0);
  CHECK(identity.min_qubits() == 0);
  CHECK(identity.to_string() == "I");
}

TEST_CASE("expectation rejects a Pauli string on a missing qubit", "[engine][observables][validation]") {
  const DensityMatrix dm(2);
  CHECK_THROWS_AS(expectation(dm, PauliString::parse("Z2")), std::invalid_argument);
  CHECK_THROWS_AS(expectation(dm, PauliSum{{{1.0, PauliString::parse("X0 Y5")}}}), std::invalid_argument);
  CHECK_NOTHROW(expectation(dm, PauliString::parse("Z1")));
}
