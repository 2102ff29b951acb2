// The raw-buffer kernels of kraus::noise against the dense Kronecker-product reference. The state
// is the non-Hermitian debug matrix (all entries distinct), so that a swapped row/column index, a
// missing conjugate or a transposed operator changes the result.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "kraus/noise/kernel_call.hpp"
#include "kraus/noise/kernels.hpp"
#include "reference/test_support.hpp"

namespace {

namespace ref = kraus::test;
namespace noise = kraus::noise;
using ref::Complex;

constexpr double kTol = 1e-12;
const Complex kI{0.0, 1.0};
const double kPi = std::acos(-1.0);

double uniform(ref::Rng& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

Complex random_phase(ref::Rng& rng) { return std::exp(kI * uniform(rng, -kPi, kPi)); }

// The unitaries that steer apply_unitary down each of its paths (dense, diagonal, monomial).
// kReal: a real orthogonal matrix (RY, H; the kernels' real path).
enum class UnitaryKind { kDense, kReal, kDiagonal, kMonomial, kPermutation };

arma::cx_mat make_unitary(UnitaryKind kind, arma::uword dim, ref::Rng& rng) {
  switch (kind) {
    case UnitaryKind::kDense: return ref::random_unitary(dim, rng);
    case UnitaryKind::kReal: {
      arma::mat q, r;
      arma::qr(q, r, arma::mat(arma::real(ref::complex_gaussian(dim, dim, rng))));
      return arma::cx_mat(q, arma::zeros<arma::mat>(dim, dim));
    }
    case UnitaryKind::kDiagonal: {
      // Some entries exactly 1, so that some block elements keep their value.
      arma::cx_mat u(dim, dim, arma::fill::zeros);
      for (arma::uword a = 0; a < dim; ++a) u(a, a) = (rng() % 3 == 0) ? Complex(1.0) : random_phase(rng);
      return u;
    }
    case UnitaryKind::kMonomial:
    case UnitaryKind::kPermutation: {
      std::vector<arma::uword> perm(dim);
      for (arma::uword a = 0; a < dim; ++a) perm[a] = a;
      std::shuffle(perm.begin(), perm.end(), rng);
      arma::cx_mat u(dim, dim, arma::fill::zeros);
      for (arma::uword a = 0; a < dim; ++a) {
        u(perm[a], a) = kind == UnitaryKind::kPermutation ? Complex(1.0) : random_phase(rng);
      }
      return u;
    }
  }
  throw std::logic_error("unknown unitary kind");
}

const char* kind_name(UnitaryKind kind) {
  switch (kind) {
    case UnitaryKind::kDense: return "dense";
    case UnitaryKind::kReal: return "real";
    case UnitaryKind::kDiagonal: return "diagonal";
    case UnitaryKind::kMonomial: return "monomial";
    case UnitaryKind::kPermutation: return "permutation";
  }
  return "?";
}

// A 1-qubit channel's fast-path kernel beside the Kraus operators its documentation gives.
struct Channel1q {
  std::string name;
  std::function<void(Complex*, int, int)> kernel;  // (rho, num_qubits, qubit)
  std::vector<arma::cx_mat> kraus;
};

std::vector<Channel1q> one_qubit_channels(ref::Rng& rng) {
  std::vector<Channel1q> out;
  for (double p : {0.0, uniform(rng, 0, 1), 0.75, 1.0}) {
    out.push_back({"depolarizing p=" + std::to_string(p),
                   [p](Complex* r, int n, int q) { noise::apply_depolarizing_1q(r, n, q, p); },
                   ref::depolarizing_kraus(p)});
  }
  for (int trial = 0; trial < 3; ++trial) {
    // (px, py, pz, 1 - px - py - pz) uniform on the simplex.
    double w[4];
    double total = 0;
    for (double& x : w) total += (x = -std::log(uniform(rng, 1e-12, 1)));
    const double px = w[0] / total, py = w[1] / total, pz = w[2] / total;
    out.push_back({"pauli " + std::to_string(px) + " " + std::to_string(py) + " " + std::to_string(pz),
                   [=](Complex* r, int n, int q) { noise::apply_pauli_1q(r, n, q, px, py, pz); },
                   ref::pauli_kraus(px, py, pz)});
  }
  // Bit flip, bit-phase flip and phase flip.
  out.push_back({"bit flip", [](Complex* r, int n, int q) { noise::apply_pauli_1q(r, n, q, 0.3, 0, 0); },
                 ref::pauli_kraus(0.3, 0, 0)});
  out.push_back({"bit-phase flip", [](Complex* r, int n, int q) { noise::apply_pauli_1q(r, n, q, 0, 0.3, 0); },
                 ref::pauli_kraus(0, 0.3, 0)});
  out.push_back({"phase flip", [](Complex* r, int n, int q) { noise::apply_pauli_1q(r, n, q, 0, 0, 0.3); },
                 ref::pauli_kraus(0, 0, 0.3)});
  for (double g : {0.0, uniform(rng, 0, 1), 1.0}) {
    out.push_back({"amplitude damping gamma=" + std::to_string(g),
                   [g](Complex* r, int n, int q) { noise::apply_amplitude_damping_1q(r, n, q, g); },
                   ref::amplitude_damping_kraus(g)});
  }
  for (double l : {0.0, uniform(rng, 0, 1), 1.0}) {
    out.push_back({"phase damping lambda=" + std::to_string(l),
                   [l](Complex* r, int n, int q) { noise::apply_phase_damping_1q(r, n, q, l); },
                   ref::phase_damping_kraus(l)});
  }
  out.push_back({"measurement", [](Complex* r, int n, int q) { noise::apply_measurement_1q(r, n, q); },
                 ref::measurement_kraus()});
  out.push_back({"reset", [](Complex* r, int n, int q) { noise::apply_reset_1q(r, n, q); }, ref::reset_kraus()});
  return out;
}

}  // namespace

TEST_CASE("apply_unitary matches U rho U^dagger on every target tuple", "[noise][reference]") {
  const int n = GENERATE(1, 2, 3, 4, 5);
  ref::Rng rng(1000 + n);
  const arma::cx_mat rho = ref::debug_matrix(n);
  for (int k = 1; k <= std::min(3, n); ++k) {
    for (const std::vector<int>& qubits : ref::ordered_tuples(n, k)) {
      for (UnitaryKind kind : {UnitaryKind::kDense, UnitaryKind::kReal, UnitaryKind::kDiagonal,
                               UnitaryKind::kMonomial, UnitaryKind::kPermutation}) {
        CAPTURE(n, qubits, kind_name(kind));
        const arma::cx_mat u = make_unitary(kind, arma::uword{1} << k, rng);
        arma::cx_mat out = rho;
        noise::apply_unitary(out.memptr(), n, qubits.data(), k, ref::row_major(u).data());
        REQUIRE_MATRIX_CLOSE(out, ref::apply_unitary(rho, u, qubits, n), kTol);
      }
    }
  }
}

TEST_CASE("apply_unitary with a negative tolerance applies a non-unitary matrix as U rho U^dagger",
          "[noise][reference]") {
  const int n = 3;
  ref::Rng rng(7);
  const arma::cx_mat rho = ref::debug_matrix(n);
  for (int k = 1; k <= 3; ++k) {
    for (const std::vector<int>& qubits : ref::ordered_tuples(n, k)) {
      CAPTURE(qubits);
      const arma::cx_mat a = ref::complex_gaussian(arma::uword{1} << k, arma::uword{1} << k, rng);
      arma::cx_mat out = rho;
      noise::apply_unitary(out.memptr(), n, qubits.data(), k, ref::row_major(a).data(), -1.0);
      REQUIRE_MATRIX_CLOSE(out, ref::apply_unitary(rho, a, qubits, n), kTol);
    }
  }
}

TEST_CASE("apply_superoperator matches the dense reference for general superoperators",
          "[noise][reference]") {
  const int n = GENERATE(1, 2, 3, 4, 5);
  ref::Rng rng(2000 + n);
  const arma::cx_mat rho = ref::debug_matrix(n);
  for (int k = 1; k <= std::min(2, n); ++k) {
    for (const std::vector<int>& qubits : ref::ordered_tuples(n, k)) {
      const arma::uword dk2 = arma::uword{1} << (2 * k);
      // A general complex superoperator, not a channel: every entry matters. A real one takes the
      // kernels' real path.
      for (bool real : {false, true}) {
        CAPTURE(n, qubits, real);
        arma::cx_mat s = ref::complex_gaussian(dk2, dk2, rng);
        if (real) s = arma::cx_mat(arma::mat(arma::real(s)), arma::zeros<arma::mat>(dk2, dk2));
        arma::cx_mat out = rho;
        noise::apply_superoperator(out.memptr(), n, qubits.data(), k, ref::row_major(s).data());
        REQUIRE_MATRIX_CLOSE(out, ref::apply_superoperator(rho, s, qubits, n), 1e-11);
      }
    }
  }
}

TEST_CASE("grouped real 2-qubit superoperators: conversion, application, adjoint and cost", "[noise][kernels]") {
  // A real 16 x 16 superoperator that maps the block elements within random groups of 1 to 4
  // elements; to_real_groups turns its call into the kRealGroups2q form, which must apply the same
  // map, have the transposed map as adjoint, and cost the sum of the squared group sizes / 32.
  const int n = 4;
  ref::Rng rng(2500);
  const arma::cx_mat rho = ref::complex_gaussian(16, 16, rng);
  for (const std::vector<int>& qubits : ref::ordered_tuples(n, 2)) {
    CAPTURE(qubits);
    std::vector<arma::uword> order(16);
    for (arma::uword e = 0; e < 16; ++e) order[e] = e;
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<int> group(16);
    double squares = 0.0;
    for (arma::uword e = 0, g = 0; e < 16; ++g) {
      const arma::uword size = std::min<arma::uword>(1 + rng() % 4, 16 - e);
      squares += static_cast<double>(size * size);
      for (arma::uword j = 0; j < size; ++j) group[order[e++]] = static_cast<int>(g);
    }
    arma::mat s = arma::real(ref::complex_gaussian(16, 16, rng));
    for (arma::uword r = 0; r < 16; ++r)
      for (arma::uword c = 0; c < 16; ++c)
        if (group[r] != group[c]) s(r, c) = 0.0;
    const arma::cx_mat sc(s, arma::zeros<arma::mat>(16, 16));
    noise::KernelCall call;
    call.kind = noise::KernelKind::kSuperoperator;
    call.k = 2;
    std::copy(qubits.begin(), qubits.end(), call.qubits);
    call.matrix = ref::row_major(sc);
    REQUIRE(noise::to_real_groups(&call));
    REQUIRE(call.kind == noise::KernelKind::kRealGroups2q);
    CHECK(noise::kernel_cost(call) == squares / 32.0);
    arma::cx_mat out = rho;
    noise::apply(call, out.memptr(), n);
    REQUIRE_MATRIX_CLOSE(out, ref::apply_superoperator(rho, sc, qubits, n), 1e-12);
    out = rho;
    noise::apply(noise::adjoint_call(call), out.memptr(), n);
    REQUIRE_MATRIX_CLOSE(out, ref::apply_superoperator(rho, arma::cx_mat(sc.t()), qubits, n), 1e-12);
  }
  // Not grouped: a complex entry, or a group of 5.
  noise::KernelCall complex_call;
  complex_call.kind = noise::KernelKind::kSuperoperator;
  complex_call.k = 2;
  complex_call.qubits[0] = 0, complex_call.qubits[1] = 1;
  complex_call.matrix.assign(256, 0.0);
  for (int e = 0; e < 16; ++e) complex_call.matrix[static_cast<std::size_t>(17 * e)] = 1.0;
  noise::KernelCall chain = complex_call;
  complex_call.matrix[0] = Complex(0.0, 1.0);
  for (int e = 0; e < 4; ++e) chain.matrix[static_cast<std::size_t>(16 * e + e + 1)] = 0.5;  // 0-1-2-3-4
  for (noise::KernelCall c : {complex_call, chain}) {
    const std::vector<Complex> before = c.matrix;
    CHECK_FALSE(noise::to_real_groups(&c));
    CHECK(c.kind == noise::KernelKind::kSuperoperator);
    CHECK(c.matrix == before);
  }
}

TEST_CASE("the superoperator of a Kraus list acts as sum K rho K^dagger", "[noise][reference]") {
  // Checks the reference's own two channel paths against each other.
  ref::Rng rng(3);
  const int n = 3;
  const arma::cx_mat rho = ref::debug_matrix(n);
  for (int k = 1; k <= 2; ++k) {
    const std::vector<arma::cx_mat> ops = ref::random_kraus_operators(arma::uword{1} << k, 3, rng);
    const std::vector<int> qubits = k == 1 ? std::vector<int>{1} : std::vector<int>{2, 0};
    REQUIRE_MATRIX_CLOSE(ref::apply_superoperator(rho, ref::superoperator_from_kraus(ops), qubits, n),
                         ref::apply_kraus(rho, ops, qubits, n), kTol);
  }
}

TEST_CASE("apply_kraus matches sum K rho K^dagger for random CPTP maps", "[noise][reference]") {
  const int n = GENERATE(1, 2, 3, 4, 5);
  ref::Rng rng(3000 + n);
  const arma::cx_mat rho = ref::debug_matrix(n);
  for (int k = 1; k <= std::min(2, n); ++k) {
    for (const std::vector<int>& qubits : ref::ordered_tuples(n, k)) {
      const int count = 1 + static_cast<int>(rng() % 4);
      CAPTURE(n, qubits, count);
      const std::vector<arma::cx_mat> ops = ref::random_kraus_operators(arma::uword{1} << k, count, rng);
      arma::cx_mat out = rho;
      noise::apply_kraus(out.memptr(), n, qubits.data(), k, ref::row_major(ops).data(), count);
      REQUIRE_MATRIX_CLOSE(out, ref::apply_kraus(rho, ops, qubits, n), kTol);
    }
  }
}

TEST_CASE("1-qubit channel fast paths equal their documented Kraus operators", "[noise][reference]") {
  const int n = GENERATE(1, 2, 3, 4);
  ref::Rng rng(4000 + n);
  const arma::cx_mat rho = ref::debug_matrix(n);
  for (const Channel1q& channel : one_qubit_channels(rng)) {
    for (int q = 0; q < n; ++q) {
      CAPTURE(n, q, channel.name);
      const arma::cx_mat expected = ref::apply_kraus(rho, channel.kraus, {q}, n);
      arma::cx_mat fast = rho;
      channel.kernel(fast.memptr(), n, q);
      REQUIRE_MATRIX_CLOSE(fast, expected, kTol);
      // The generic Kraus kernel agrees too (and accepts the list as trace preserving).
      arma::cx_mat generic = rho;
      noise::apply_kraus(generic.memptr(), n, &q, 1, ref::row_major(channel.kraus).data(),
                         static_cast<int>(channel.kraus.size()));
      REQUIRE_MATRIX_CLOSE(generic, expected, kTol);
    }
  }
}

TEST_CASE("kernels on an 8-qubit buffer (parallel path) match the dense reference", "[noise][reference][parallel]") {
  const int n = 8;
  REQUIRE(n >= noise::kParallelMinQubits);
  ref::Rng rng(5000);
  const arma::cx_mat rho = ref::debug_matrix(n);
  for (int k = 1; k <= 3; ++k) {
    for (const std::vector<int>& qubits : ref::random_tuples(n, k, 5, rng)) {
      for (UnitaryKind kind : {UnitaryKind::kDense, UnitaryKind::kReal, UnitaryKind::kDiagonal,
                               UnitaryKind::kMonomial, UnitaryKind::kPermutation}) {
        CAPTURE(qubits, kind_name(kind));
        const arma::cx_mat u = make_unitary(kind, arma::uword{1} << k, rng);
        arma::cx_mat out = rho;
        noise::apply_unitary(out.memptr(), n, qubits.data(), k, ref::row_major(u).data());
        REQUIRE_MATRIX_CLOSE(out, ref::apply_unitary(rho, u, qubits, n), kTol);
      }
      if (k == 3) continue;
      // apply_kraus goes through the superoperator kernel.
      const int count = 1 + static_cast<int>(rng() % 4);
      CAPTURE(qubits, count);
      const std::vector<arma::cx_mat> ops = ref::random_kraus_operators(arma::uword{1} << k, count, rng);
      arma::cx_mat out = rho;
      noise::apply_kraus(out.memptr(), n, qubits.data(), k, ref::row_major(ops).data(), count);
      REQUIRE_MATRIX_CLOSE(out, ref::apply_kraus(rho, ops, qubits, n), kTol);
    }
  }
  for (const Channel1q& channel : one_qubit_channels(rng)) {
    for (int q : {0, 1, 3, 6}) {
      CAPTURE(q, channel.name);
      arma::cx_mat fast = rho;
      channel.kernel(fast.memptr(), n, q);
      REQUIRE_MATRIX_CLOSE(fast, ref::apply_kraus(rho, channel.kraus, {q}, n), kTol);
    }
  }
}

TEST_CASE("kernels reject invalid arguments and leave the state untouched", "[noise][validation]") {
  const int n = 3;
  const arma::cx_mat rho = ref::debug_matrix(n);
  arma::cx_mat work = rho;
  Complex* x = work.memptr();
  const std::vector<Complex> id1 = ref::row_major(ref::pauli('I'));
  const std::vector<Complex> id2 = ref::row_major(arma::cx_mat(4, 4, arma::fill::eye));
  const std::vector<Complex> id3 = ref::row_major(arma::cx_mat(8, 8, arma::fill::eye));
  const std::vector<Complex> id4 = ref::row_major(arma::cx_mat(16, 16, arma::fill::eye));
  const std::vector<Complex> sup1 = ref::row_major(arma::cx_mat(4, 4, arma::fill::eye));
  const std::vector<Complex> sup3 = ref::row_major(arma::cx_mat(64, 64, arma::fill::eye));
  const int q0 = 0, q_out = 3, q_neg = -1;
  const int pair_repeated[] = {1, 1}, triple_repeated[] = {0, 2, 0}, quad[] = {0, 1, 2, 3};

  SECTION("state and target checks") {
    CHECK_THROWS_AS(noise::apply_unitary(nullptr, n, &q0, 1, id1.data()), std::invalid_argument);
    CHECK_THROWS_AS(noise::apply_unitary(x, 0, &q0, 1, id1.data()), std::invalid_argument);
    CHECK_THROWS_AS(noise::apply_unitary(x, noise::kMaxQubits + 1, &q0, 1, id1.data()),
                    std::invalid_argument);
    CHECK_THROWS_AS(noise::apply_unitary(x, n, &q_out, 1, id1.data()), std::invalid_argument);
    CHECK_THROWS_AS(noise::apply_unitary(x, n, &q_neg, 1, id1.data()), std::invalid_argument);
    CHECK_THROWS_AS(noise::apply_unitary(x, n, pair_repeated, 2, id2.data()), std::invalid_argument);
    CHECK_THROWS_AS(noise::apply_unitary(x, n, triple_repeated, 3, id3.data()), std::invalid_argument);
    CHECK_THROWS_AS(noise::apply_unitary(x, 4, quad, 4, id4.data()), std::invalid_argument);
    CHECK_THROWS_AS(noise::apply_unitary(x, n, &q0, 0, id1.data()), std::invalid_argument);
    CHECK_THROWS_AS(noise::apply_unitary(x, 1, pair_repeated, 2, id2.data()), std::invalid_argument);
    CHECK_THROWS_AS(noise::apply_unitary(x, n, &q0, 1, nullptr), std::invalid_argument);
    CHECK_THROWS_AS(noise::apply_superoperator(x, 4, quad, 4, sup3.data()), std::invalid_argument);
    CHECK_THROWS_AS(noise::apply_superoperator(x, n, &q_out, 1, sup1.data()), std::invalid_argument);
    CHECK_THROWS_AS(noise::apply_superoperator(x, n, &q0, 1, nullptr), std::invalid_argument);
    CHECK_THROWS_AS(noise::apply_kraus(x, 4, quad, 4, id4.data(), 1), std::invalid_argument);
    CHECK_THROWS_AS(noise::apply_kraus(x, n, pair_repeated, 2, id2.data(), 1), std::invalid_argument);
    CHECK_THROWS_AS(noise::apply_kraus(x, n, &q0, 1, id1.data(), 0), std::invalid_argument);
    CHECK_THROWS_AS(noise::apply_kraus(x, n, &q0, 1, nullptr, 1), std::invalid_argument);
  }

  SECTION("non-unitary and non-trace-preserving operators") {
    arma::cx_mat almost = arma::cx_mat(2, 2, arma::fill::eye);
    almost(0, 1) = 1e-8;
    CHECK_THROWS_AS(noise::apply_unitary(x, n, &q0, 1, ref::row_major(almost).data()),
                    std::invalid_argument);
    CHECK_THROWS_AS(noise::apply_unitary(x, n, &q0, 1, ref::row_major(2.0 * ref::pauli('X')).data()),
                    std::invalid_argument);
    const std::vector<arma::cx_mat> lossy = {0.5 * ref::pauli('I'), 0.5 * ref::pauli('X')};
    CHECK_THROWS_AS(noise::apply_kraus(x, n, &q0, 1, ref::row_major(lossy).data(), 2),
                    std::invalid_argument);
    // A looser tolerance accepts the nearly unitary matrix (on a copy).
    arma::cx_mat other = rho;
    CHECK_NOTHROW(noise::apply_unitary(other.memptr(), n, &q0, 1, ref::row_major(almost).data(), 1e-6));
  }

  SECTION("channel parameters outside [0, 1]") {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (double bad : {-0.1, 1.1, nan}) {
      CAPTURE(bad);
      CHECK_THROWS_AS(noise::apply_depolarizing_1q(x, n, 0, bad), std::invalid_argument);
      CHECK_THROWS_AS(noise::apply_amplitude_damping_1q(x, n, 0, bad), std::invalid_argument);
      CHECK_THROWS_AS(noise::apply_phase_damping_1q(x, n, 0, bad), std::invalid_argument);
      CHECK_THROWS_AS(noise::apply_pauli_1q(x, n, 0, bad, 0, 0), std::invalid_argument);
      CHECK_THROWS_AS(noise::apply_pauli_1q(x, n, 0, 0, bad, 0), std::invalid_argument);
      CHECK_THROWS_AS(noise::apply_pauli_1q(x, n, 0, 0, 0, bad), std::invalid_argument);
    }
    CHECK_THROWS_AS(noise::apply_pauli_1q(x, n, 0, 0.5, 0.3, 0.3), std::invalid_argument);
    for (int bad_qubit : {-1, n}) {
      CAPTURE(bad_qubit);
      CHECK_THROWS_AS(noise::apply_depolarizing_1q(x, n, bad_qubit, 0.1), std::invalid_argument);
      CHECK_THROWS_AS(noise::apply_pauli_1q(x, n, bad_qubit, 0.1, 0, 0), std::invalid_argument);
      CHECK_THROWS_AS(noise::apply_amplitude_damping_1q(x, n, bad_qubit, 0.1), std::invalid_argument);
      CHECK_THROWS_AS(noise::apply_phase_damping_1q(x, n, bad_qubit, 0.1), std::invalid_argument);
      CHECK_THROWS_AS(noise::apply_measurement_1q(x, n, bad_qubit), std::invalid_argument);
      CHECK_THROWS_AS(noise::apply_reset_1q(x, n, bad_qubit), std::invalid_argument);
    }
    CHECK_THROWS_AS(noise::apply_depolarizing_1q(nullptr, n, 0, 0.1), std::invalid_argument);
  }

  // Validation happens before anything is written.
  REQUIRE_MATRIX_CLOSE(work, rho, 0.0);
}

// ---- the vectorised superoperator runs (targets above qubit 0) ------------------------------------

// The tests are not compiled with OpenMP, but when kraus_noise is (KRAUS_OPENMP) its runtime is linked
// in; weak declarations find it then and are null otherwise.
extern "C" {
void omp_set_num_threads(int) __attribute__((weak));
int omp_get_max_threads() __attribute__((weak));
}

namespace {

// sum K rho K^dagger with each K embedded by the dense reference, multiplied as a sparse matrix so
// that 9-qubit states stay cheap.
arma::cx_mat kraus_reference(const arma::cx_mat& rho, const std::vector<arma::cx_mat>& ops,
                             const std::vector<int>& qubits, int n) {
  arma::cx_mat out(arma::size(rho), arma::fill::zeros);
  for (const arma::cx_mat& k : ops) {
    const arma::sp_cx_mat full(ref::embed(k, qubits, n));
    out += full * rho * full.t();
  }
  return out;
}

// out = rho with qubits a and b exchanged (P rho P^T for the permutation P that swaps bits a and b),
// into a buffer of rho's size (fresh 9-qubit matrices on every pair would dominate the test's time).
void swap_qubits(const arma::cx_mat& rho, int a, int b, arma::cx_mat& out) {
  const auto swap_bits = [a, b](arma::uword i) {
    const arma::uword x = ((i >> a) ^ (i >> b)) & 1u;
    return i ^ ((x << a) | (x << b));
  };
  for (arma::uword c = 0; c < rho.n_cols; ++c)
    for (arma::uword r = 0; r < rho.n_rows; ++r) out.at(swap_bits(r), swap_bits(c)) = rho.at(r, c);
}

// A random O(1) non-Hermitian matrix: the kernels are linear, and unlike a density matrix (entries
// of order 2^-n) it keeps the tolerance meaningful at 9 qubits.
arma::cx_mat random_state(int n, ref::Rng& rng) {
  return ref::complex_gaussian(arma::uword{1} << n, arma::uword{1} << n, rng);
}

// Every target tuple up to 7 qubits. Above, the dense embedding costs about 0.1 s per operator, so
// the targets are qubits 0, 1, 2 and the top two in the cases that pick the kernel's path (lowest
// target 0, 1 or >= 2), plus random pairs; the next test covers every pair against the scalar path.
std::vector<std::vector<int>> reference_targets(int n, int k, ref::Rng& rng) {
  if (n <= 7) return ref::ordered_tuples(n, k);
  if (k == 1) return {{0}, {1}, {2}, {n - 1}};
  std::vector<std::vector<int>> out = ref::random_tuples(n, k, 2, rng);
  out.insert(out.end(), {{0, 1}, {1, 0}, {n - 1, 0}, {1, n - 1}, {n - 1, n - 2}, {2, n - 1}});
  return out;
}

}  // namespace

TEST_CASE("apply_superoperator of random CPTP maps matches sum K rho K^dagger", "[noise][kernels]") {
  const int n = GENERATE(range(3, 10));
  ref::Rng rng(6000 + n);
  const arma::cx_mat rho = random_state(n, rng);
  for (int k = 1; k <= 2; ++k) {
    for (const std::vector<int>& qubits : reference_targets(n, k, rng)) {
      const int count = 1 + static_cast<int>(rng() % 3);
      CAPTURE(n, qubits, count);
      const std::vector<arma::cx_mat> ops = ref::random_kraus_operators(arma::uword{1} << k, count, rng);
      arma::cx_mat out = rho;
      noise::apply_superoperator(out.memptr(), n, qubits.data(), k,
                                 ref::row_major(ref::superoperator_from_kraus(ops)).data());
      REQUIRE_MATRIX_CLOSE(out, kraus_reference(rho, ops, qubits, n), kTol);
    }
  }
}

TEST_CASE("apply_superoperator above qubit 0 agrees with the path on qubit 0 to rounding",
          "[noise][kernels]") {
  // With the lowest target swapped onto qubit 0 the one-complex-a-vector path runs; swapping back
  // must give the wide vectorised result up to the order of the sums.
  const int n = GENERATE(range(3, 10));
  ref::Rng rng(7000 + n);
  const arma::cx_mat rho = random_state(n, rng);
  arma::cx_mat vectorised(arma::size(rho)), scalar(arma::size(rho)), scalar_back(arma::size(rho));
  for (int k = 1; k <= 2; ++k) {
    for (const std::vector<int>& qubits : ref::ordered_tuples(n, k)) {
      const int qmin = *std::min_element(qubits.begin(), qubits.end());
      if (qmin == 0) continue;
      CAPTURE(n, qubits);
      const std::vector<Complex> s =
          ref::row_major(ref::superoperator_from_kraus(ref::random_kraus_operators(arma::uword{1} << k, 2, rng)));
      vectorised = rho;
      noise::apply_superoperator(vectorised.memptr(), n, qubits.data(), k, s.data());
      std::vector<int> moved = qubits;
      std::replace(moved.begin(), moved.end(), qmin, 0);
      swap_qubits(rho, 0, qmin, scalar);
      noise::apply_superoperator(scalar.memptr(), n, moved.data(), k, s.data());
      swap_qubits(scalar, 0, qmin, scalar_back);
      REQUIRE_MATRIX_CLOSE(vectorised, scalar_back, 1e-14);
    }
  }
}

TEST_CASE("apply_superoperator gives bitwise the same state on 1 and 2 threads", "[noise][kernels][parallel]") {
  if (omp_set_num_threads == nullptr || omp_get_max_threads == nullptr) {
    WARN("kraus_noise is built without OpenMP: nothing to compare");
    return;
  }
  const int saved = omp_get_max_threads();
  const int n = GENERATE(8, 9);
  REQUIRE(n >= noise::kParallelMinQubits);
  ref::Rng rng(8000 + n);
  const arma::cx_mat rho = random_state(n, rng);
  for (int k = 1; k <= 2; ++k) {
    std::vector<std::vector<int>> targets = ref::random_tuples(n, k, 6, rng);
    targets.push_back(k == 1 ? std::vector<int>{0} : std::vector<int>{1, 0});
    targets.push_back(k == 1 ? std::vector<int>{n - 1} : std::vector<int>{n - 1, 1});
    for (const std::vector<int>& qubits : targets) {
      CAPTURE(n, qubits);
      const std::vector<Complex> s =
          ref::row_major(ref::superoperator_from_kraus(ref::random_kraus_operators(arma::uword{1} << k, 3, rng)));
      arma::cx_mat one = rho, two = rho;
      omp_set_num_threads(1);
      noise::apply_superoperator(one.memptr(), n, qubits.data(), k, s.data());
      omp_set_num_threads(2);
      noise::apply_superoperator(two.memptr(), n, qubits.data(), k, s.data());
      omp_set_num_threads(saved);
      REQUIRE_MATRIX_CLOSE(one, two, 0.0);
    }
  }
}

TEST_CASE("apply_unitary and the 1-qubit channels give bitwise the same state on 1 and 2 threads",
          "[noise][kernels][parallel]") {
  if (omp_set_num_threads == nullptr || omp_get_max_threads == nullptr) {
    WARN("kraus_noise is built without OpenMP: nothing to compare");
    return;
  }
  const int saved = omp_get_max_threads();
  const int n = 8;
  REQUIRE(n >= noise::kParallelMinQubits);
  ref::Rng rng(8100);
  const arma::cx_mat rho = random_state(n, rng);
  const auto same_on_1_and_2_threads = [&](const std::function<void(Complex*)>& kernel) {
    arma::cx_mat one = rho, two = rho;
    omp_set_num_threads(1);
    kernel(one.memptr());
    omp_set_num_threads(2);
    kernel(two.memptr());
    omp_set_num_threads(saved);
    REQUIRE_MATRIX_CLOSE(one, two, 0.0);
  };
  for (int k = 1; k <= 3; ++k) {
    std::vector<std::vector<int>> targets = ref::random_tuples(n, k, 4, rng);
    targets.push_back(k == 1 ? std::vector<int>{0} : k == 2 ? std::vector<int>{1, 0} : std::vector<int>{0, 2, 1});
    for (const std::vector<int>& qubits : targets) {
      for (UnitaryKind kind : {UnitaryKind::kDense, UnitaryKind::kReal, UnitaryKind::kDiagonal,
                               UnitaryKind::kMonomial, UnitaryKind::kPermutation}) {
        CAPTURE(qubits, kind_name(kind));
        const std::vector<Complex> u = ref::row_major(make_unitary(kind, arma::uword{1} << k, rng));
        same_on_1_and_2_threads([&](Complex* r) { noise::apply_unitary(r, n, qubits.data(), k, u.data()); });
      }
    }
  }
  for (const Channel1q& channel : one_qubit_channels(rng)) {
    for (int q : {0, 1, 5}) {
      CAPTURE(q, channel.name);
      same_on_1_and_2_threads([&](Complex* r) { channel.kernel(r, n, q); });
    }
  }
}
