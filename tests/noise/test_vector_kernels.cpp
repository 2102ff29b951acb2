// The state-vector kernels of kraus::noise (vector_kernels.hpp) against the dense reference: every
// matrix embedded into 2^n x 2^n by Kronecker products and applied as a matrix product, partial traces
// of |psi><psi|, and Pauli strings as explicit matrices. The states are unnormalised complex
// Gaussians (all amplitudes distinct and O(1)), so a swapped index or a missing conjugate shows.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "kraus/noise/vector_kernels.hpp"
#include "reference/test_support.hpp"

// The tests are not compiled with OpenMP, but when kraus_noise is (KRAUS_OPENMP) its runtime is linked
// in; weak declarations find it then and are null otherwise.
extern "C" {
void omp_set_num_threads(int) __attribute__((weak));
int omp_get_max_threads() __attribute__((weak));
}

namespace {

namespace ref = kraus::test;
namespace noise = kraus::noise;
using ref::Complex;
using Kind = noise::VectorCall::Kind;

constexpr double kTol = 1e-12;
const Complex kI{0.0, 1.0};
const double kPi = std::acos(-1.0);

double uniform(ref::Rng& rng, double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }
Complex random_phase(ref::Rng& rng) { return std::exp(kI * uniform(rng, -kPi, kPi)); }

// The matrices that steer apply down each of its paths.
enum class MatrixKind {
  kDense,          // complex Gaussian (not unitary: the kernels take any matrix)
  kReal,           // real Gaussian
  kDiagonal,       // random phases and Gaussians, some entries exactly 1
  kRealDiagonal,   // +-1 and real Gaussians, some entries exactly 1
  kDiagOneA,       // diag(1, ..., 1, a): only one member changes
  kMonomial,       // random permutation with random phases, some exactly 1
  kPermutation,    // random permutation (a copy, no multiplications)
  kRealMonomial,   // random permutation with +-1 and real factors
  kZeroRows,       // one nonzero in some rows, none in others (|0><1|-like Kraus operators)
};
const MatrixKind kAllKinds[] = {MatrixKind::kDense,        MatrixKind::kReal,     MatrixKind::kDiagonal,
                                MatrixKind::kRealDiagonal, MatrixKind::kDiagOneA, MatrixKind::kMonomial,
                                MatrixKind::kPermutation,  MatrixKind::kRealMonomial, MatrixKind::kZeroRows};

const char* kind_name(MatrixKind kind) {
  switch (kind) {
    case MatrixKind::kDense: return "dense";
    case MatrixKind::kReal: return "real";
    case MatrixKind::kDiagonal: return "diagonal";
    case MatrixKind::kRealDiagonal: return "real diagonal";
    case MatrixKind::kDiagOneA: return "diag(1, a)";
    case MatrixKind::kMonomial: return "monomial";
    case MatrixKind::kPermutation: return "permutation";
    case MatrixKind::kRealMonomial: return "real monomial";
    case MatrixKind::kZeroRows: return "zero rows";
  }
  return "?";
}

Kind expected_kind(MatrixKind kind) {
  switch (kind) {
    case MatrixKind::kDense:
    case MatrixKind::kReal: return Kind::kDense;
    case MatrixKind::kDiagonal:
    case MatrixKind::kRealDiagonal:
    case MatrixKind::kDiagOneA: return Kind::kDiagonal;
    default: return Kind::kMonomial;
  }
}

std::vector<arma::uword> random_permutation(arma::uword dim, ref::Rng& rng) {
  std::vector<arma::uword> perm(dim);
  for (arma::uword a = 0; a < dim; ++a) perm[a] = a;
  // Never the identity (that would be diagonal), so that something moves.
  do std::shuffle(perm.begin(), perm.end(), rng);
  while (dim > 1 && std::is_sorted(perm.begin(), perm.end()));
  return perm;
}

arma::cx_mat make_matrix(MatrixKind kind, arma::uword dim, ref::Rng& rng) {
  arma::cx_mat m(dim, dim, arma::fill::zeros);
  const auto real_gaussian = [&]() { return std::normal_distribution<double>(0.0, 1.0)(rng); };
  switch (kind) {
    case MatrixKind::kDense: return ref::complex_gaussian(dim, dim, rng);
    case MatrixKind::kReal:
      for (arma::uword r = 0; r < dim; ++r)
        for (arma::uword c = 0; c < dim; ++c) m(r, c) = real_gaussian();
      return m;
    case MatrixKind::kDiagonal:
      for (arma::uword a = 0; a < dim; ++a) {
        const unsigned pick = static_cast<unsigned>(rng() % 3);
        m(a, a) = pick == 0 ? Complex(1.0) : pick == 1 ? random_phase(rng) : ref::complex_gaussian(1, 1, rng)(0, 0);
      }
      if (dim > 1 && m(dim - 1, dim - 1) == Complex(1.0)) m(dim - 1, dim - 1) = Complex(0.5, -0.25);
      return m;
    case MatrixKind::kRealDiagonal:
      for (arma::uword a = 0; a < dim; ++a) {
        const unsigned pick = static_cast<unsigned>(rng() % 3);
        m(a, a) = pick == 0 ? 1.0 : pick == 1 ? -1.0 : real_gaussian();
      }
      m(0, 0) = -1.0;
      return m;
    case MatrixKind::kDiagOneA:
      m.eye();
      m(dim - 1, dim - 1) = random_phase(rng);
      return m;
    case MatrixKind::kMonomial:
    case MatrixKind::kPermutation:
    case MatrixKind::kRealMonomial:
    case MatrixKind::kZeroRows: {
      const std::vector<arma::uword> perm = random_permutation(dim, rng);
      for (arma::uword a = 0; a < dim; ++a) {
        Complex f = 1.0;
        const unsigned pick = static_cast<unsigned>(rng() % 3);
        if (kind == MatrixKind::kMonomial && pick != 0) f = random_phase(rng);
        if (kind == MatrixKind::kRealMonomial && pick != 0) f = pick == 1 ? -1.0 : real_gaussian();
        if (kind == MatrixKind::kZeroRows) f = pick == 0 ? Complex(0.0) : ref::complex_gaussian(1, 1, rng)(0, 0);
        m(perm[a], a) = f;
      }
      if (kind == MatrixKind::kZeroRows) {
        // A row with nothing and another that reads the same column as a third (not a permutation).
        const arma::uword r = rng() % dim;
        m.row(r).zeros();
        if (dim > 1) {
          const arma::uword s = (r + 1) % dim;
          m.row(s).zeros();
          m(s, (s + 1) % dim) = Complex(0.0, 2.0);  // off the diagonal, maybe a column another row reads
        }
      }
      return m;
    }
  }
  throw std::logic_error("unknown matrix kind");
}

arma::cx_vec random_vector(int n, ref::Rng& rng) { return ref::complex_gaussian(arma::uword{1} << n, 1, rng); }

double max_abs_diff(const arma::cx_vec& a, const arma::cx_vec& b) {
  if (a.n_elem != b.n_elem) return std::numeric_limits<double>::infinity();
  return arma::abs(a - b).max();
}

bool bitwise_equal(const arma::cx_vec& a, const arma::cx_vec& b) {
  return a.n_elem == b.n_elem && std::equal(a.begin(), a.end(), b.begin(), [](const Complex& x, const Complex& y) {
           return std::memcmp(&x, &y, sizeof x) == 0;
         });
}

// A second, independent reference for states too large for a dense 2^n x 2^n matrix: the
// definition psi'[i] = sum_c M(r(i), c) psi[i with the target bits set to c], index by index.
arma::cx_vec apply_by_definition(const arma::cx_mat& m, const std::vector<int>& qubits, const arma::cx_vec& psi) {
  const arma::uword k = qubits.size(), dim = arma::uword{1} << k;
  arma::uword mask = 0;
  for (int q : qubits) mask |= arma::uword{1} << q;
  arma::cx_vec out(psi.n_elem);
  for (arma::uword i = 0; i < psi.n_elem; ++i) {
    arma::uword r = 0;
    for (arma::uword j = 0; j < k; ++j) r |= ((i >> qubits[j]) & 1u) << j;
    Complex s = 0.0;
    for (arma::uword c = 0; c < dim; ++c) {
      arma::uword src = i & ~mask;
      for (arma::uword j = 0; j < k; ++j) src |= ((c >> j) & 1u) << qubits[j];
      s += m(r, c) * psi(src);
    }
    out(i) = s;
  }
  return out;
}

std::string tuple_text(const std::vector<int>& qubits) {
  std::string s;
  for (int q : qubits) s += (s.empty() ? "" : ",") + std::to_string(q);
  return "{" + s + "}";
}

// Target lists to check on n qubits: all ordered tuples up to 5 qubits, else a random sample plus
// lists that start, end or contain qubit 0 and the top qubit, unsorted.
std::vector<std::vector<int>> targets_for(int n, int k, ref::Rng& rng) {
  if (n <= 5) return ref::ordered_tuples(n, k);
  std::vector<std::vector<int>> out = ref::random_tuples(n, k, 10, rng);
  const std::vector<std::vector<int>> edges[4] = {
      {{0}, {1}, {2}, {n - 1}},
      {{0, n - 1}, {n - 1, 0}, {1, 0}, {0, 1}, {2, 1}, {n - 1, n - 2}, {3, 2}},
      {{0, 1, 2}, {2, 0, 1}, {n - 1, 1, 0}, {1, n - 1, 3}, {2, 4, 3}},
      {{0, 1, 2, 3}, {3, 1, 0, 2}, {n - 1, 0, 2, 1}, {1, 3, n - 1, 2}, {2, 3, 4, 5}, {5, 1, 3, 2}}};
  out.insert(out.end(), edges[k - 1].begin(), edges[k - 1].end());
  return out;
}

noise::VectorCall call_for(const arma::cx_mat& m, const std::vector<int>& qubits) {
  const std::vector<Complex> rm = ref::row_major(m);
  return noise::vector_call(qubits.data(), static_cast<int>(qubits.size()), rm.data());
}

// X^x Z^z on n qubits as an explicit matrix (Z first).
arma::cx_mat pauli_xz_matrix(int n, std::uint64_t x, std::uint64_t z) {
  std::string xs(static_cast<std::size_t>(n), 'I'), zs(static_cast<std::size_t>(n), 'I');
  for (int q = 0; q < n; ++q) {
    if ((x >> q) & 1u) xs[static_cast<std::size_t>(q)] = 'X';
    if ((z >> q) & 1u) zs[static_cast<std::size_t>(q)] = 'Z';
  }
  return ref::pauli_string_operator(xs) * ref::pauli_string_operator(zs);
}

}  // namespace

TEST_CASE("vector_call picks the kind and the real flag", "[noise][vector]") {
  ref::Rng rng(9100);
  for (int k = 1; k <= 4; ++k) {
    std::vector<int> qubits;
    for (int j = 0; j < k; ++j) qubits.push_back(k - 1 - j);
    for (MatrixKind kind : kAllKinds) {
      CAPTURE(k, kind_name(kind));
      const arma::cx_mat m = make_matrix(kind, arma::uword{1} << k, rng);
      const noise::VectorCall call = call_for(m, qubits);
      REQUIRE(call.k == k);
      for (int j = 0; j < k; ++j) REQUIRE(call.qubits[j] == qubits[static_cast<std::size_t>(j)]);
      REQUIRE(call.kind == expected_kind(kind));
      REQUIRE(call.real == arma::all(arma::vectorise(arma::imag(m)) == 0.0));
      const std::size_t dim = std::size_t{1} << k;
      REQUIRE(call.matrix.size() == (call.kind == Kind::kDense ? dim * dim : dim));
    }
  }
  // The textbook gates.
  const std::vector<int> q01 = {0, 1};
  arma::cx_mat cx(4, 4, arma::fill::zeros);
  cx(0, 0) = cx(1, 3) = cx(2, 2) = cx(3, 1) = 1.0;  // controlled on the first listed qubit
  const noise::VectorCall cnot = call_for(cx, q01);
  REQUIRE(cnot.kind == Kind::kMonomial);
  REQUIRE(cnot.real);
  REQUIRE(cnot.perm[1] == 3);
  REQUIRE(cnot.perm[3] == 1);
  arma::cx_mat h(2, 2);
  h.fill(1.0 / std::sqrt(2.0));
  h(1, 1) = -h(1, 1);
  const noise::VectorCall hc = call_for(h, {0});
  REQUIRE(hc.kind == Kind::kDense);
  REQUIRE(hc.real);
  arma::cx_mat s(2, 2, arma::fill::zeros);
  s(0, 0) = 1.0;
  s(1, 1) = kI;
  const noise::VectorCall sc = call_for(s, {0});
  REQUIRE(sc.kind == Kind::kDiagonal);
  REQUIRE_FALSE(sc.real);
}

TEST_CASE("apply matches the Kronecker-product reference on 1 to 7 qubits", "[noise][vector]") {
  const int n = GENERATE(range(1, 8));
  ref::Rng rng(9200 + static_cast<unsigned>(n));
  const arma::cx_vec psi = random_vector(n, rng);
  for (int k = 1; k <= std::min(n, 4); ++k) {
    for (const std::vector<int>& qubits : targets_for(n, k, rng)) {
      for (MatrixKind kind : kAllKinds) {
        const arma::cx_mat m = make_matrix(kind, arma::uword{1} << k, rng);
        const noise::VectorCall call = call_for(m, qubits);
        REQUIRE(call.kind == expected_kind(kind));
        arma::cx_vec out = psi;
        noise::apply(call, out.memptr(), n);
        const arma::cx_vec expected = ref::embed(m, qubits, n) * psi;
        INFO("n=" << n << " qubits=" << tuple_text(qubits) << " kind=" << kind_name(kind));
        REQUIRE(max_abs_diff(out, expected) < kTol);
      }
    }
  }
}

TEST_CASE("apply matches the definition on 14 and 15 qubits (parallel path)", "[noise][vector]") {
  const int n = GENERATE(14, 15);
  REQUIRE(n >= noise::kVectorParallelMinQubits);
  ref::Rng rng(9300 + static_cast<unsigned>(n));
  const arma::cx_vec psi = random_vector(n, rng);
  for (int k = 1; k <= 4; ++k) {
    std::vector<std::vector<int>> targets = ref::random_tuples(n, k, 3, rng);
    const std::vector<std::vector<int>> edges[4] = {
        {{0}, {1}, {n - 1}}, {{0, n - 1}, {n - 1, 1}}, {{2, 0, n - 1}, {1, 5, 3}}, {{n - 1, 0, 1, 7}, {4, 2, 3, 9}}};
    targets.insert(targets.end(), edges[k - 1].begin(), edges[k - 1].end());
    for (const std::vector<int>& qubits : targets) {
      for (MatrixKind kind : kAllKinds) {
        const arma::cx_mat m = make_matrix(kind, arma::uword{1} << k, rng);
        arma::cx_vec out = psi;
        noise::apply(call_for(m, qubits), out.memptr(), n);
        INFO("n=" << n << " qubits=" << tuple_text(qubits) << " kind=" << kind_name(kind));
        REQUIRE(max_abs_diff(out, apply_by_definition(m, qubits, psi)) < kTol);
      }
    }
  }
}

TEST_CASE("squared_norm, probabilities, scale and inner_product", "[noise][vector]") {
  const int n = GENERATE(1, 2, 3, 4, 5, 7, 12, 13, 14);
  ref::Rng rng(9400 + static_cast<unsigned>(n));
  arma::cx_vec psi = random_vector(n, rng);
  const double expected = std::pow(arma::norm(psi), 2);
  REQUIRE_CLOSE(noise::squared_norm(psi.memptr(), n), expected, 1e-12 * expected);
  std::vector<double> p(psi.n_elem, -1.0);
  noise::probabilities(psi.memptr(), n, p.data());
  for (arma::uword i = 0; i < psi.n_elem; ++i) REQUIRE_CLOSE(p[i], std::norm(psi(i)), 1e-15);
  const arma::cx_vec before = psi;
  noise::scale(psi.memptr(), n, -0.375);
  REQUIRE(max_abs_diff(psi, -0.375 * before) == 0.0);
  const arma::cx_vec other = random_vector(n, rng);
  const Complex inner = arma::cdot(before, other);  // conj(before) . other
  REQUIRE(std::abs(noise::inner_product(before.memptr(), other.memptr(), n) - inner) <= 1e-12 * std::abs(inner) + 1e-12);
}

TEST_CASE("reduced_density_matrix is the partial trace of |psi><psi|", "[noise][vector]") {
  const int n = GENERATE(range(1, 8));
  ref::Rng rng(9500 + static_cast<unsigned>(n));
  const arma::cx_vec psi = random_vector(n, rng);
  const arma::cx_mat rho = psi * psi.t();
  for (int k = 1; k <= std::min(n, 4); ++k) {
    for (const std::vector<int>& qubits : targets_for(n, k, rng)) {
      const arma::uword dim = arma::uword{1} << k;
      std::vector<Complex> out(dim * dim, Complex(-7.0, 7.0));
      noise::reduced_density_matrix(psi.memptr(), n, qubits.data(), k, out.data());
      arma::cx_mat got(dim, dim);
      for (arma::uword a = 0; a < dim; ++a)
        for (arma::uword b = 0; b < dim; ++b) got(a, b) = out[a * dim + b];  // row-major
      INFO("n=" << n << " qubits=" << tuple_text(qubits));
      REQUIRE_MATRIX_CLOSE(got, ref::partial_trace(rho, qubits, n), 1e-11);
      REQUIRE_CLOSE(std::real(arma::trace(got)), std::pow(arma::norm(psi), 2), 1e-11);
    }
  }
}

TEST_CASE("reduced_density_matrix on 14 qubits against the definition", "[noise][vector]") {
  const int n = 14;
  ref::Rng rng(9550);
  const arma::cx_vec psi = random_vector(n, rng);
  for (int k = 1; k <= 4; ++k) {
    std::vector<std::vector<int>> targets = ref::random_tuples(n, k, 3, rng);
    targets.push_back(k == 1 ? std::vector<int>{0} : k == 2 ? std::vector<int>{n - 1, 0} : k == 3 ? std::vector<int>{1, 0, 2} : std::vector<int>{3, n - 1, 0, 1});
    for (const std::vector<int>& qubits : targets) {
      const arma::uword dim = arma::uword{1} << k;
      std::vector<Complex> out(dim * dim);
      noise::reduced_density_matrix(psi.memptr(), n, qubits.data(), k, out.data());
      // expected(a, b) = sum over i with target bits a of psi(i) conj(psi(i with target bits b)).
      arma::uword mask = 0;
      for (int q : qubits) mask |= arma::uword{1} << q;
      const auto scatter = [&](arma::uword c) {
        arma::uword v = 0;
        for (int t = 0; t < k; ++t) v |= ((c >> t) & 1u) << qubits[static_cast<std::size_t>(t)];
        return v;
      };
      arma::cx_mat expected(dim, dim, arma::fill::zeros);
      for (arma::uword i = 0; i < psi.n_elem; ++i) {
        arma::uword a = 0;
        for (int t = 0; t < k; ++t) a |= ((i >> qubits[static_cast<std::size_t>(t)]) & 1u) << t;
        for (arma::uword b = 0; b < dim; ++b) expected(a, b) += psi(i) * std::conj(psi((i & ~mask) | scatter(b)));
      }
      arma::cx_mat got(dim, dim);
      for (arma::uword a = 0; a < dim; ++a)
        for (arma::uword b = 0; b < dim; ++b) got(a, b) = out[a * dim + b];
      INFO("qubits=" << tuple_text(qubits));
      REQUIRE_MATRIX_CLOSE(got, expected, 1e-9);
    }
  }
}

TEST_CASE("pauli_expectation is <psi| X^x Z^z |psi> for random masks", "[noise][vector]") {
  const int n = GENERATE(range(1, 8));
  ref::Rng rng(9600 + static_cast<unsigned>(n));
  const arma::cx_vec psi = random_vector(n, rng);
  const std::uint64_t size = std::uint64_t{1} << n;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> masks = {{0, 0}, {size - 1, 0}, {0, size - 1}, {size - 1, size - 1}, {1, 0}, {0, 1}, {1, 1}};
  for (int t = 0; t < 24; ++t) masks.emplace_back(rng() % size, rng() % size);
  for (const auto& [x, z] : masks) {
    CAPTURE(n, x, z);
    const Complex got = noise::pauli_expectation(psi.memptr(), n, x, z);
    const Complex expected = arma::cdot(psi, pauli_xz_matrix(n, x, z) * psi);
    REQUIRE(std::abs(got - expected) < 1e-11);
    // As documented, a Pauli string with Y where both bits are set is i^popcount(x & z) times this.
    std::string labels(static_cast<std::size_t>(n), 'I');
    for (int q = 0; q < n; ++q) {
      const bool xb = (x >> q) & 1u, zb = (z >> q) & 1u;
      labels[static_cast<std::size_t>(q)] = xb && zb ? 'Y' : xb ? 'X' : zb ? 'Z' : 'I';
    }
    const Complex string_value = arma::cdot(psi, ref::pauli_string_operator(labels) * psi);
    const Complex phase = std::pow(kI, __builtin_popcountll(x & z));
    REQUIRE(std::abs(phase * got - string_value) < 1e-11);
  }
}

TEST_CASE("pauli_inner_product(s) are <a| X^x Z^z |b>, one string or many in one pass", "[noise][vector]") {
  for (const int n : {1, 3, 6, 13, 14}) {
    ref::Rng rng(9700 + static_cast<unsigned>(n));
    const arma::cx_vec a = random_vector(n, rng), b = random_vector(n, rng);
    const std::uint64_t size = std::uint64_t{1} << n;
    std::vector<std::uint64_t> xs = {0, size - 1, 1, size >> 1}, zs = {size - 1, 0, 1, size >> 1};
    for (int t = 0; t < 12; ++t) xs.push_back(rng() % size), zs.push_back(rng() % size);
    std::vector<Complex> many(xs.size());
    noise::pauli_inner_products(a.memptr(), b.memptr(), n, xs.data(), zs.data(), static_cast<int>(xs.size()), many.data());
    for (std::size_t t = 0; t < xs.size(); ++t) {
      CAPTURE(n, xs[t], zs[t]);
      Complex expected = 0.0;
      for (std::uint64_t i = 0; i < size; ++i) {
        const double s = __builtin_parityll(i & zs[t]) ? -1.0 : 1.0;
        expected += std::conj(a(i ^ xs[t])) * s * b(i);
      }
      const Complex one = noise::pauli_inner_product(a.memptr(), b.memptr(), n, xs[t], zs[t]);
      REQUIRE(std::abs(one - expected) < 1e-9);
      CHECK(many[t] == one);  // the same chunks added in the same order
    }
  }
}

TEST_CASE("pauli_expectation on 14 qubits against the definition", "[noise][vector]") {
  const int n = 14;
  ref::Rng rng(9650);
  const arma::cx_vec psi = random_vector(n, rng);
  const std::uint64_t size = std::uint64_t{1} << n;
  for (int t = 0; t < 12; ++t) {
    const std::uint64_t x = t == 0 ? 3 : rng() % size, z = t == 1 ? size - 1 : rng() % size;
    CAPTURE(x, z);
    Complex expected = 0.0;
    for (std::uint64_t i = 0; i < size; ++i) {
      const double s = __builtin_parityll(i & z) ? -1.0 : 1.0;
      expected += std::conj(psi(i ^ x)) * s * psi(i);
    }
    REQUIRE(std::abs(noise::pauli_expectation(psi.memptr(), n, x, z) - expected) < 1e-9);
  }
}

TEST_CASE("vector kernels give bitwise the same results on 1 and 2 threads", "[noise][vector][parallel]") {
  if (omp_set_num_threads == nullptr || omp_get_max_threads == nullptr) {
    WARN("kraus_noise is built without OpenMP: nothing to compare");
    return;
  }
  const int saved = omp_get_max_threads();
  const int n = GENERATE(14, 16);
  REQUIRE(n >= noise::kVectorParallelMinQubits);
  ref::Rng rng(9700 + static_cast<unsigned>(n));
  const arma::cx_vec psi = random_vector(n, rng);
  const auto on_threads = [&](int threads, const std::function<void()>& fn) {
    omp_set_num_threads(threads);
    fn();
    omp_set_num_threads(saved);
  };
  for (int k = 1; k <= 4; ++k) {
    std::vector<std::vector<int>> targets = ref::random_tuples(n, k, 2, rng);
    targets.push_back(k == 1 ? std::vector<int>{0} : k == 2 ? std::vector<int>{1, 0} : k == 3 ? std::vector<int>{0, n - 1, 2} : std::vector<int>{n - 1, 2, 0, 1});
    for (const std::vector<int>& qubits : targets) {
      for (MatrixKind kind : kAllKinds) {
        const noise::VectorCall call = call_for(make_matrix(kind, arma::uword{1} << k, rng), qubits);
        arma::cx_vec one = psi, two = psi;
        on_threads(1, [&] { noise::apply(call, one.memptr(), n); });
        on_threads(2, [&] { noise::apply(call, two.memptr(), n); });
        INFO("apply qubits=" << tuple_text(qubits) << " kind=" << kind_name(kind));
        REQUIRE(bitwise_equal(one, two));
        REQUIRE_FALSE(bitwise_equal(one, psi));
      }
      const arma::uword dim = arma::uword{1} << k;
      std::vector<Complex> r1(dim * dim), r2(dim * dim);
      on_threads(1, [&] { noise::reduced_density_matrix(psi.memptr(), n, qubits.data(), k, r1.data()); });
      on_threads(2, [&] { noise::reduced_density_matrix(psi.memptr(), n, qubits.data(), k, r2.data()); });
      INFO("reduced_density_matrix qubits=" << tuple_text(qubits));
      REQUIRE(std::memcmp(r1.data(), r2.data(), r1.size() * sizeof(Complex)) == 0);
    }
  }
  double s1 = 0, s2 = 0;
  on_threads(1, [&] { s1 = noise::squared_norm(psi.memptr(), n); });
  on_threads(2, [&] { s2 = noise::squared_norm(psi.memptr(), n); });
  REQUIRE(std::memcmp(&s1, &s2, sizeof s1) == 0);
  const arma::cx_vec other = random_vector(n, rng);
  Complex i1, i2;
  on_threads(1, [&] { i1 = noise::inner_product(psi.memptr(), other.memptr(), n); });
  on_threads(2, [&] { i2 = noise::inner_product(psi.memptr(), other.memptr(), n); });
  REQUIRE(std::memcmp(&i1, &i2, sizeof i1) == 0);
  const std::uint64_t size = std::uint64_t{1} << n;
  for (int t = 0; t < 8; ++t) {
    const std::uint64_t x = rng() % size, z = rng() % size;
    Complex e1, e2;
    on_threads(1, [&] { e1 = noise::pauli_expectation(psi.memptr(), n, x, z); });
    on_threads(2, [&] { e2 = noise::pauli_expectation(psi.memptr(), n, x, z); });
    CAPTURE(x, z);
    REQUIRE(std::memcmp(&e1, &e2, sizeof e1) == 0);
  }
  std::vector<double> p1(size), p2(size);
  on_threads(1, [&] { noise::probabilities(psi.memptr(), n, p1.data()); });
  on_threads(2, [&] { noise::probabilities(psi.memptr(), n, p2.data()); });
  REQUIRE(p1 == p2);
}

TEST_CASE("vector kernels reject bad arguments", "[noise][vector]") {
  ref::Rng rng(9800);
  const int n = 3;
  arma::cx_vec psi = random_vector(n, rng);
  const arma::cx_vec before = psi;
  const std::vector<Complex> h = ref::row_major(make_matrix(MatrixKind::kDense, 2, rng));
  const std::vector<Complex> m4 = ref::row_major(make_matrix(MatrixKind::kDense, 4, rng));
  const int q0[1] = {0}, q3[1] = {3}, q11[2] = {1, 1}, qneg[1] = {-1};
  const noise::VectorCall call = noise::vector_call(q0, 1, h.data());

  // vector_call: k, repeated, negative, null.
  REQUIRE_THROWS_AS(noise::vector_call(q0, 0, h.data()), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::vector_call(q0, 5, h.data()), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::vector_call(q11, 2, m4.data()), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::vector_call(qneg, 1, h.data()), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::vector_call(nullptr, 1, h.data()), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::vector_call(q0, 1, nullptr), std::invalid_argument);

  // apply: null state, n out of range, qubit out of range, more targets than qubits, bad calls.
  REQUIRE_THROWS_AS(noise::apply(call, nullptr, n), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::apply(call, psi.memptr(), 0), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::apply(call, psi.memptr(), noise::kMaxVectorQubits + 1), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::apply(noise::vector_call(q3, 1, h.data()), psi.memptr(), n), std::invalid_argument);
  const int q4[4] = {0, 1, 2, 3};
  const std::vector<Complex> m16 = ref::row_major(make_matrix(MatrixKind::kDense, 16, rng));
  REQUIRE_THROWS_AS(noise::apply(noise::vector_call(q4, 4, m16.data()), psi.memptr(), n), std::invalid_argument);
  noise::VectorCall bad = call;
  bad.qubits[0] = 5;
  REQUIRE_THROWS_AS(noise::apply(bad, psi.memptr(), n), std::invalid_argument);
  bad = call;
  bad.k = 0;
  REQUIRE_THROWS_AS(noise::apply(bad, psi.memptr(), n), std::invalid_argument);
  bad = call;
  bad.k = 2;
  bad.qubits[1] = 0;  // repeated
  REQUIRE_THROWS_AS(noise::apply(bad, psi.memptr(), n), std::invalid_argument);
  bad = call;
  bad.matrix.pop_back();  // wrong size
  REQUIRE_THROWS_AS(noise::apply(bad, psi.memptr(), n), std::invalid_argument);
  bad = call;
  bad.kind = Kind::kMonomial;
  bad.matrix.resize(2);
  bad.perm[1] = 2;  // outside [0, 2)
  REQUIRE_THROWS_AS(noise::apply(bad, psi.memptr(), n), std::invalid_argument);
  REQUIRE(bitwise_equal(psi, before));  // nothing written

  // Read-outs.
  Complex out[4];
  double probs[8];
  REQUIRE_THROWS_AS(noise::squared_norm(nullptr, n), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::squared_norm(psi.memptr(), 0), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::reduced_density_matrix(psi.memptr(), n, q3, 1, out), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::reduced_density_matrix(psi.memptr(), n, q11, 2, out), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::reduced_density_matrix(psi.memptr(), n, q0, 0, out), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::reduced_density_matrix(nullptr, n, q0, 1, out), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::pauli_expectation(psi.memptr(), n, 8, 0), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::pauli_expectation(psi.memptr(), n, 0, 9), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::pauli_expectation(nullptr, n, 0, 0), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::probabilities(nullptr, n, probs), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::probabilities(psi.memptr(), n, nullptr), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::scale(nullptr, n, 2.0), std::invalid_argument);
  REQUIRE_THROWS_AS(noise::scale(psi.memptr(), 41, 2.0), std::invalid_argument);
}
