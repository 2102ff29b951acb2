// Pauli-string expectations against Tr(P_full rho) with P_full a dense Kronecker product; weighted
// sums as text and Hamiltonian files; expectations through a readout model against a measured
// distribution built by hand; shot estimates against their binomial statistics.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/observables.hpp"
#include "kraus/noise/readout.hpp"
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

// ---- weighted sums as text ------------------------------------------------------------------------

namespace {

// The terms of `sum` as (coefficient, to_string()) pairs.
std::vector<std::pair<double, std::string>> terms_of(const PauliSum& sum) {
  std::vector<std::pair<double, std::string>> out;
  for (const auto& [c, p] : sum.terms) out.emplace_back(c, p.to_string());
  return out;
}

using Terms = std::vector<std::pair<double, std::string>>;

}  // namespace

TEST_CASE("PauliSum::parse reads weighted sums", "[engine][observables][pauli-sum]") {
  CHECK(terms_of(PauliSum::parse("0.5*Z0 Z1 - 0.2*X0")) == Terms{{0.5, "Z0 Z1"}, {-0.2, "X0"}});
  CHECK(terms_of(PauliSum::parse("Z0 + Z1")) == Terms{{1.0, "Z0"}, {1.0, "Z1"}});
  CHECK(terms_of(PauliSum::parse("-X0")) == Terms{{-1.0, "X0"}});
  CHECK(terms_of(PauliSum::parse("1e-3 * Y2")) == Terms{{1e-3, "Y2"}});
  CHECK(terms_of(PauliSum::parse("2*I")) == Terms{{2.0, "I"}});
  CHECK(terms_of(PauliSum::parse(" +Z1 Z0-X1\t+ .5 *Y0  ")) == Terms{{1.0, "Z0 Z1"}, {-1.0, "X1"}, {0.5, "Y0"}});
  CHECK(terms_of(PauliSum::parse("-2.5e+1*X3 - 1E-2*Z0 + Z0")) == Terms{{-25.0, "X3"}, {-0.01, "Z0"}, {1.0, "Z0"}});
  CHECK(PauliSum::parse("0.5*Z0 Z1 - 0.2*X4").min_qubits() == 5);
  CHECK(PauliSum::parse("3*I").min_qubits() == 0);
  CHECK(PauliSum{}.min_qubits() == 0);
}

TEST_CASE("PauliSum::to_string reads back exactly", "[engine][observables][pauli-sum]") {
  CHECK(PauliSum::parse("0.5*Z0 Z1 - 0.2*X0").to_string() == "0.5*Z0 Z1 - 0.2*X0");
  CHECK(PauliSum::parse("-X0 + 1*Z1 - 1*I").to_string() == "-X0 + Z1 - I");
  CHECK(PauliSum{}.to_string() == "0");
  ref::Rng rng(77);
  for (int trial = 0; trial < 50; ++trial) {
    PauliSum sum;
    for (int t = 0; t < 4; ++t) {
      const double scale = std::pow(10.0, static_cast<double>(rng() % 9) - 4.0);
      const double coef = std::uniform_real_distribution<double>(-3, 3)(rng) * scale;
      sum.terms.emplace_back(coef, PauliString::parse(canonical(random_labels(4, rng))));
    }
    const PauliSum back = PauliSum::parse(sum.to_string());
    CAPTURE(sum.to_string());
    REQUIRE(back.terms.size() == sum.terms.size());
    for (std::size_t i = 0; i < sum.terms.size(); ++i) {
      CHECK(back.terms[i].first == sum.terms[i].first);
      CHECK(back.terms[i].second.x_mask == sum.terms[i].second.x_mask);
      CHECK(back.terms[i].second.z_mask == sum.terms[i].second.z_mask);
    }
  }
}

TEST_CASE("PauliSum::parse names the bad term", "[engine][observables][pauli-sum][validation]") {
  CHECK_THROWS_WITH(PauliSum::parse("  "), "empty observable (write e.g. \"Z0\" or \"0.5*Z0 Z1 - X0\")");
  CHECK_THROWS_WITH(PauliSum::parse("Z0 +"), "observable 'Z0 +': term 2 ('+'): missing the Pauli string");
  CHECK_THROWS_WITH(PauliSum::parse("Z0 - - X1"), "observable 'Z0 - - X1': term 2 ('-'): missing the Pauli string");
  CHECK_THROWS_WITH(PauliSum::parse("0.5*"), "observable '0.5*': term 1 ('0.5*'): missing the Pauli string");
  CHECK_THROWS_WITH(PauliSum::parse("Z0 + 0.5"),
                    "observable 'Z0 + 0.5': term 2 ('+ 0.5'): a coefficient needs '*' and a Pauli string (write "
                    "'+ 0.5*I' for a constant)");
  CHECK_THROWS_WITH(PauliSum::parse("2 Z0"), "observable '2 Z0': term 1 ('2 Z0'): expected '*' after the coefficient");
  CHECK_THROWS_WITH(PauliSum::parse("1e400*Z0"),
                    "observable '1e400*Z0': term 1 ('1e400*Z0'): coefficient '1e400' is out of range");
  CHECK_THROWS_WITH(PauliSum::parse("0.5*Z0 - 0.2*Q1"),
                    "observable '0.5*Z0 - 0.2*Q1': term 2 ('- 0.2*Q1'): Pauli factor 'Q1' must start with I, X, Y "
                    "or Z");
  CHECK_THROWS_WITH(PauliSum::parse("Z0 Z0"),
                    "observable 'Z0 Z0': term 1 ('Z0 Z0'): qubit 0 appears twice in Pauli string 'Z0 Z0'");
  CHECK_THROWS_WITH(PauliSum::parse("0.5*Z0 * X1"),
                    "observable '0.5*Z0 * X1': term 1 ('0.5*Z0 * X1'): Pauli factor '*' must start with I, X, Y or Z");
  for (const char* bad : {"inf*Z0", "nan*X0", "0x1p3*Z0", "1.5.2*Z0", "*Z0", "Z0 Z1 0.5", "Z-1", "X0 +\x01"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(PauliSum::parse(bad), std::invalid_argument);
  }
}

// ---- Hamiltonian files ----------------------------------------------------------------------------

namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "kraus_hamiltonian_XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    const fs::path p = path / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
};

}  // namespace

TEST_CASE("read_hamiltonian_file reads the documented format", "[engine][observables][hamiltonian]") {
  const TempDir dir;
  const std::string path = dir.write(
      "h.json", "{\"terms\": [{\"coefficient\": 0.5, \"pauli\": \"Z0 Z1\"},\n"
                "           {\"pauli\": \"X0\", \"coefficient\": -0.2}, {\"coefficient\": 3, \"pauli\": \"I\"}]}\n");
  const PauliSum sum = kraus::engine::read_hamiltonian_file(path);
  CHECK(terms_of(sum) == Terms{{0.5, "Z0 Z1"}, {-0.2, "X0"}, {3.0, "I"}});
  // The expectation on |00>: 0.5 * 1 - 0.2 * 0 + 3.
  REQUIRE_CLOSE(expectation(DensityMatrix(2), sum), 3.5, kTol);
}

TEST_CASE("read_hamiltonian_file names the file and the JSON path of a problem",
          "[engine][observables][hamiltonian][validation]") {
  const TempDir dir;
  auto error_of = [&](const std::string& text) {
    const std::string path = dir.write("h.json", text);
    try {
      kraus::engine::read_hamiltonian_file(path);
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      REQUIRE(what.compare(0, path.size(), path) == 0);
      return what.substr(path.size());
    }
    FAIL("no error for " << text);
    return std::string();
  };
  const std::string term = "{\"coefficient\": 1, \"pauli\": \"Z0\"}";
  CHECK(error_of("{\"terms\": [" + term + ", {\"coefficient\": 1, \"pauli\": \"Q0\"}]}") ==
        ": terms[1].pauli: Pauli factor 'Q0' must start with I, X, Y or Z");
  CHECK(error_of("{\"terms\": [{\"coefficient\": \"1\", \"pauli\": \"Z0\"}]}") ==
        ": terms[0].coefficient: expected a finite number");
  CHECK(error_of("{\"terms\": [{\"pauli\": \"Z0\"}]}") == ": terms[0]: missing \"coefficient\" (a number)");
  CHECK(error_of("{\"terms\": [{\"coefficient\": 1}]}") ==
        ": terms[0]: missing \"pauli\" (a Pauli string such as \"Z0 Z1\")");
  CHECK(error_of("{\"terms\": [{\"coefficient\": 1, \"pauli\": 3}]}") ==
        ": terms[0].pauli: expected a Pauli string such as \"Z0 Z1\"");
  CHECK(error_of("{\"terms\": [" + term + ", {\"coefficient\": 1, \"pauli\": \"Z0\", \"weight\": 2}]}") ==
        ": terms[1]: unknown key 'weight' (expected coefficient, pauli)");
  CHECK(error_of("{\"terms\": []}") ==
        ": terms: expected a non-empty list of {\"coefficient\": c, \"pauli\": \"Z0 Z1\"}");
  CHECK(error_of("{\"terms\": [3]}") == ": terms[0]: expected an object {\"coefficient\": c, \"pauli\": ...}");
  CHECK(error_of("{\"hamiltonian\": []}") == ": unknown key 'hamiltonian' (expected terms)");
  CHECK(error_of("{}") == ": missing \"terms\" (a list of {coefficient, pauli})");
  CHECK(error_of("[]") == ": expected an object {\"terms\": [...]}");
  CHECK(error_of("{\"terms\": [" + term + ", {\"coefficient\": 1, \"pauli\": \"Z0\", \"pauli\": \"X0\"}]}") ==
        ": terms[1].pauli: duplicate key");
  CHECK(error_of("{\"terms\": [\n  " + term + ",\n  ]}") ==
        ":3:3: invalid JSON (syntax error while parsing value - unexpected ']'; expected '[', '{', or a literal)");
  CHECK(error_of("{\"terms\": [{\"coefficient\": 1e400, \"pauli\": \"Z0\"}]}") ==
        ": invalid JSON (number overflow parsing '1e400')");
  CHECK(error_of(std::string(100, '[') + std::string(100, ']')) ==
        ": " + [] {
          std::string p;
          for (int i = 0; i < 64; ++i) p += "[0]";
          return p;
        }() + ": JSON nested deeper than 64 levels");
  CHECK_THROWS_WITH(kraus::engine::read_hamiltonian_file(dir.path.string() + "/missing.json"),
                    dir.path.string() + "/missing.json: cannot open the Hamiltonian file");
}

// ---- readout in expectations ----------------------------------------------------------------------

namespace {

// The 2x2 matrix rotating qubit measurements into the factor's eigenbasis: H for X, H S^dagger for
// Y, I for Z and I.
arma::cx_mat basis_change(char factor) {
  const double r = 1.0 / std::sqrt(2.0);
  arma::cx_mat h(2, 2), sdg(2, 2, arma::fill::zeros);
  h(0, 0) = h(0, 1) = h(1, 0) = r;
  h(1, 1) = -r;
  sdg(0, 0) = 1;
  sdg(1, 1) = Complex(0, -1);
  if (factor == 'X') return h;
  if (factor == 'Y') return h * sdg;
  return arma::eye<arma::cx_mat>(2, 2);
}

// The noisy expectation written out densely: rho rotated by the Kronecker product of basis changes,
// its diagonal p, the measured m(r) = sum_t p(t) C(t, r) with the full confusion matrix C, and the
// parity of the string's qubits.
double dense_noisy_expectation(const arma::cx_mat& rho, const std::string& labels, const arma::mat& confusion) {
  arma::cx_mat u(1, 1, arma::fill::ones);
  for (std::size_t q = labels.size(); q-- > 0;) u = arma::kron(u, basis_change(labels[q]));
  const arma::cx_mat rotated = u * rho * u.t();
  const arma::uword d = rotated.n_rows;
  double sum = 0.0;
  for (arma::uword r = 0; r < d; ++r) {
    double m = 0.0;
    for (arma::uword t = 0; t < d; ++t) m += std::real(rotated(t, t)) * confusion(t, r);
    int parity = 0;
    for (std::size_t q = 0; q < labels.size(); ++q) parity ^= labels[q] != 'I' ? static_cast<int>((r >> q) & 1u) : 0;
    sum += parity ? -m : m;
  }
  return sum;
}

arma::mat confusion_1q(double p1_given_0, double p0_given_1) {
  arma::mat c(2, 2);
  c(0, 0) = 1 - p1_given_0;
  c(0, 1) = p1_given_0;
  c(1, 0) = p0_given_1;
  c(1, 1) = 1 - p0_given_1;
  return c;
}

}  // namespace

TEST_CASE("expectation_with_readout equals the parity of a hand-built measured distribution",
          "[engine][observables][readout][reference]") {
  using kraus::engine::expectation_with_readout;
  using kraus::noise::ReadoutError;
  using kraus::noise::ReadoutModel;
  ref::Rng rng(88);
  const arma::cx_mat rho = ref::random_density_matrix(2, rng);
  const DensityMatrix dm = DensityMatrix::from_matrix(rho);
  // Asymmetric errors: qubit 0 p(1|0) = 0.02, p(0|1) = 0.08; qubit 1 p(1|0) = 0.05, p(0|1) = 0.12.
  const ReadoutModel readout({ReadoutError::single(0, 0.02, 0.08), ReadoutError::single(1, 0.05, 0.12)});
  // C(t, r) = C1(t1, r1) C0(t0, r0): qubit 1 is the high bit, the left Kronecker factor.
  const arma::mat full = arma::kron(confusion_1q(0.05, 0.12), confusion_1q(0.02, 0.08));
  PauliSum sum;
  double weighted = 0.0;
  for (const std::string labels : {"ZI", "IZ", "ZZ", "XI", "IY", "XY", "YX", "YY", "XZ", "ZY", "II"}) {
    CAPTURE(labels);
    const PauliString pauli = PauliString::parse(to_text(labels, rng));
    const double expected = dense_noisy_expectation(rho, labels, full);
    REQUIRE_CLOSE(expectation_with_readout(dm, pauli, readout), expected, kTol);
    // Without readout errors the same construction gives Tr(P rho).
    REQUIRE_CLOSE(expectation_with_readout(dm, pauli, ReadoutModel()),
                  std::real(arma::trace(ref::pauli_string_operator(labels) * rho)), kTol);
    const double coef = 0.25 + static_cast<double>(sum.terms.size());
    sum.terms.emplace_back(coef, pauli);
    weighted += coef * expected;
  }
  REQUIRE_CLOSE(expectation_with_readout(dm, sum, readout), weighted, kTol);
  // Readout errors move noisy values towards 0 here: the noisy <Z0 Z1> differs from the exact one.
  CHECK(std::abs(expectation_with_readout(dm, PauliString::parse("Z0 Z1"), readout) -
                 expectation(dm, PauliString::parse("Z0 Z1"))) > 1e-3);
}

TEST_CASE("expectation_with_readout keeps a correlated group's other qubits",
          "[engine][observables][readout][reference]") {
  using kraus::engine::expectation_with_readout;
  ref::Rng rng(89);
  const arma::cx_mat rho = ref::random_density_matrix(3, rng);
  const DensityMatrix dm = DensityMatrix::from_matrix(rho);
  // A correlated group listed as {2, 0} (bit 0 of its index = qubit 2, bit 1 = qubit 0), qubit 1
  // perfect. Rows are the true outcome.
  const std::vector<double> group = {0.90, 0.04, 0.05, 0.01,  //
                                     0.06, 0.85, 0.02, 0.07,  //
                                     0.03, 0.02, 0.88, 0.07,  //
                                     0.01, 0.08, 0.10, 0.81};
  const kraus::noise::ReadoutModel readout({kraus::noise::ReadoutError{{2, 0}, group}});
  arma::mat full(8, 8, arma::fill::zeros);
  auto group_index = [](arma::uword x) { return ((x >> 2) & 1u) | (((x >> 0) & 1u) << 1); };
  for (arma::uword t = 0; t < 8; ++t) {
    for (arma::uword r = 0; r < 8; ++r) {
      if (((t >> 1) & 1u) != ((r >> 1) & 1u)) continue;  // qubit 1 read perfectly
      full(t, r) = group[group_index(t) * 4 + group_index(r)];
    }
  }
  for (const std::string labels : {"XII", "IYI", "YIZ", "ZXI", "IZZ", "XYX"}) {
    CAPTURE(labels);
    const PauliString pauli = PauliString::parse(to_text(labels, rng));
    REQUIRE_CLOSE(expectation_with_readout(dm, pauli, readout), dense_noisy_expectation(rho, labels, full), kTol);
  }
  CHECK_THROWS_AS(expectation_with_readout(DensityMatrix(2), PauliString::parse("Z0"), readout),
                  std::invalid_argument);
  CHECK_THROWS_AS(expectation_with_readout(dm, PauliString::parse("Z3"), kraus::noise::ReadoutModel()),
                  std::invalid_argument);
}

// ---- shot estimates -------------------------------------------------------------------------------

TEST_CASE("shot estimates lie within 5 sigma and their standard error is the binomial one",
          "[engine][observables][shots]") {
  using kraus::engine::estimate_with_shots;
  // One term: sigma = sqrt((1 - e^2) / shots).
  {
    const PauliSum sum = PauliSum::parse("Z0");
    const double e = 0.6;
    const std::uint64_t shots = 10000;
    std::mt19937_64 rng(5);
    const auto estimate = estimate_with_shots({e}, sum, shots, rng);
    const double sigma = std::sqrt((1 - e * e) / static_cast<double>(shots));
    CHECK(estimate.shots == shots);
    CHECK(std::abs(estimate.value - e) <= 5 * sigma);
    CHECK(std::abs(estimate.standard_error / sigma - 1.0) <= 0.1);
  }
  // A sum with an identity term: value = sum c_i m_i + 2 exactly, sigma^2 = sum c_i^2 (1 - e_i^2) / shots.
  const PauliSum sum = PauliSum::parse("0.5*Z0 Z1 - 0.2*X0 + 2*I");
  const std::vector<double> e = {0.3, -0.8, 1.0};
  const double exact = 0.5 * 0.3 + 0.2 * 0.8 + 2.0;
  const std::uint64_t shots = 4000;
  const double sigma = std::sqrt((0.25 * (1 - 0.09) + 0.04 * (1 - 0.64)) / static_cast<double>(shots));
  std::mt19937_64 rng(6);
  const auto first = estimate_with_shots(e, sum, shots, rng);
  CHECK(std::abs(first.value - exact) <= 5 * sigma);
  CHECK(std::abs(first.standard_error / sigma - 1.0) <= 0.1);
  // Over 400 seeded runs the spread of the values is sigma (to 15%: the sample standard deviation of
  // 400 draws has a relative error of about 1 / sqrt(800) = 3.5%).
  double mean = 0.0, square = 0.0;
  const int runs = 400;
  for (int run = 0; run < runs; ++run) {
    const double v = estimate_with_shots(e, sum, shots, rng).value;
    mean += v / runs;
    square += v * v / runs;
  }
  CHECK(std::abs(mean - exact) <= 5 * sigma / std::sqrt(runs));
  CHECK(std::abs(std::sqrt(square - mean * mean) / sigma - 1.0) <= 0.15);
  // The same seed gives the same estimate; e = +-1 gives exact values with zero error.
  std::mt19937_64 a(9), b(9);
  CHECK(estimate_with_shots(e, sum, shots, a).value == estimate_with_shots(e, sum, shots, b).value);
  std::mt19937_64 c(10);
  const auto sure = estimate_with_shots({1.0, -1.0, 1.0}, sum, shots, c);
  CHECK(sure.value == 0.5 + 0.2 + 2.0);
  CHECK(sure.standard_error == 0.0);
}

TEST_CASE("shot estimates refuse bad inputs", "[engine][observables][shots][validation]") {
  using kraus::engine::estimate_with_shots;
  const PauliSum sum = PauliSum::parse("Z0 + X1");
  std::mt19937_64 rng(1);
  CHECK_THROWS_WITH(estimate_with_shots({0.5}, sum, 100, rng), "shot estimate: 1 expectation(s) for 2 term(s)");
  CHECK_THROWS_WITH(estimate_with_shots({0.5, 0.5}, sum, 1, rng),
                    "a shot estimate needs at least 2 shots (for the sample variance), got 1");
  CHECK_THROWS_WITH(estimate_with_shots({0.5, 1.5}, sum, 100, rng),
                    "shot estimate: the expectation 1.500000 of term 'X1' is outside [-1, 1]");
  CHECK_NOTHROW(estimate_with_shots({0.5, 1.0 + 1e-12}, sum, 100, rng));
}
