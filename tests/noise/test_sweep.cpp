// Cache-blocked sweeps (kraus/noise/sweep.hpp) against applying the same calls one by one with
// noise::apply on the whole state. The states are random non-Hermitian matrices, so that a tile
// gathered transposed or an off-diagonal tile treated as Hermitian changes the result.
#include <omp.h>  // the noise library's OpenMP runtime, linked through it

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "kraus/noise/kernels.hpp"
#include "kraus/noise/sweep.hpp"
#include "reference/test_support.hpp"

namespace {

namespace ref = kraus::test;
namespace noise = kraus::noise;
using noise::KernelCall;
using noise::KernelKind;
using ref::Complex;

constexpr double kTol = 1e-12;

std::vector<int> random_qubits(int n, int k, ref::Rng& rng) {
  std::vector<int> all(static_cast<std::size_t>(n));
  for (int q = 0; q < n; ++q) all[static_cast<std::size_t>(q)] = q;
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(static_cast<std::size_t>(k));
  return all;
}

double uniform(ref::Rng& rng, double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }

// Dense, diagonal (some entries exactly 1) or permutation-with-phases unitaries, so that every path
// of apply_unitary runs inside tiles.
arma::cx_mat random_unitary(arma::uword dim, int form, ref::Rng& rng) {
  if (form == 0) return ref::random_unitary(dim, rng);
  const auto phase = [&rng]() { return std::exp(Complex(0.0, uniform(rng, -3.0, 3.0))); };
  arma::cx_mat u(dim, dim, arma::fill::zeros);
  if (form == 1) {
    for (arma::uword a = 0; a < dim; ++a) u(a, a) = rng() % 3 == 0 ? Complex(1.0) : phase();
    return u;
  }
  std::vector<arma::uword> perm(dim);
  for (arma::uword a = 0; a < dim; ++a) perm[a] = a;
  std::shuffle(perm.begin(), perm.end(), rng);
  for (arma::uword a = 0; a < dim; ++a) u(perm[a], a) = form == 2 ? Complex(1.0) : phase();
  return u;
}

// A call of a random kind on random qubits: unitaries (4 forms), CPTP superoperators, depolarising
// and the real 1-qubit block form, on 1 to min(3, n) qubits.
KernelCall random_call(int n, ref::Rng& rng) {
  const int kind = static_cast<int>(rng() % 4);
  const int k = kind == 3 ? 1 : 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(std::min(3, n)));
  const std::vector<int> qubits = random_qubits(n, k, rng);
  const arma::uword dim = arma::uword{1} << k;
  KernelCall call;
  call.k = k;
  std::copy(qubits.begin(), qubits.end(), call.qubits);
  switch (kind) {
    case 0:
      call = noise::unitary_call(qubits.data(), k,
                                 ref::row_major(random_unitary(dim, static_cast<int>(rng() % 4), rng)).data());
      break;
    case 1: {
      call.kind = KernelKind::kSuperoperator;
      const auto ops = ref::random_kraus_operators(dim, 1 + static_cast<int>(rng() % 4), rng);
      call.matrix = ref::row_major(ref::superoperator_from_kraus(ops));
      break;
    }
    case 2:
      call.kind = KernelKind::kDepolarizing;
      call.params[0] = uniform(rng, 0.0, 1.0);
      break;
    default:
      call.kind = KernelKind::kRealBlock1q;
      for (double& p : call.params) p = uniform(rng, -1.0, 1.0);
      break;
  }
  return call;
}

arma::cx_mat one_by_one(arma::cx_mat rho, const std::vector<KernelCall>& calls, int n) {
  for (const KernelCall& call : calls) noise::apply(call, rho.memptr(), n);
  return rho;
}

arma::cx_mat swept(arma::cx_mat rho, const std::vector<noise::Sweep>& plan, const std::vector<KernelCall>& calls,
                   int n) {
  noise::run_sweeps(plan, calls.data(), rho.memptr(), n);
  return rho;
}

// The plan places every call exactly once, within the block size, on its sweep's qubits.
void check_plan(const std::vector<noise::Sweep>& plan, const std::vector<KernelCall>& calls, int block_qubits) {
  std::vector<int> seen(calls.size(), 0);
  for (const noise::Sweep& sweep : plan) {
    REQUIRE(static_cast<int>(sweep.qubits.size()) <= block_qubits);
    REQUIRE(std::is_sorted(sweep.qubits.begin(), sweep.qubits.end()));
    for (std::size_t i : sweep.calls) {
      REQUIRE(i < calls.size());
      ++seen[i];
      for (int j = 0; j < calls[i].k; ++j) {
        REQUIRE(std::binary_search(sweep.qubits.begin(), sweep.qubits.end(), calls[i].qubits[j]));
      }
    }
  }
  REQUIRE(std::all_of(seen.begin(), seen.end(), [](int s) { return s == 1; }));
}

}  // namespace

TEST_CASE("sweeps of random call lists equal the calls applied one by one", "[sweep]") {
  ref::Rng rng(9100);
  for (int n = 3; n <= 9; ++n) {
    for (int trial = 0; trial < 2; ++trial) {
      std::vector<KernelCall> calls;
      for (int i = 0; i < 12 + 3 * n; ++i) calls.push_back(random_call(n, rng));
      const arma::cx_mat rho = ref::complex_gaussian(arma::uword{1} << n, arma::uword{1} << n, rng);
      const arma::cx_mat expected = one_by_one(rho, calls, n);
      for (int b = 3; b <= n; ++b) {
        CAPTURE(n, trial, b);
        const std::vector<noise::Sweep> plan = noise::plan_sweeps(calls.data(), calls.size(), n, b);
        check_plan(plan, calls, b);
        if (b >= n) {
          REQUIRE(plan.size() == 1);
        } else {
          // The tiled path runs: some sweep has several calls on fewer than n qubits.
          REQUIRE(std::any_of(plan.begin(), plan.end(), [n](const noise::Sweep& s) {
            return s.calls.size() > 1 && static_cast<int>(s.qubits.size()) < n;
          }));
        }
        REQUIRE_MATRIX_CLOSE(swept(rho, plan, calls, n), expected, kTol);
      }
    }
  }
}

TEST_CASE("hermitian sweeps compute half the mirrored tiles and equal the calls one by one", "[sweep]") {
  ref::Rng rng(9150);
  for (int n = 4; n <= 9; ++n) {
    std::vector<KernelCall> calls;
    for (int i = 0; i < 12 + 3 * n; ++i) {
      KernelCall call = random_call(n, rng);
      if (call.kind == KernelKind::kRealBlock1q) {
        // Hermiticity-preserving: the coherences' block C symmetric with equal diagonal.
        call.params[7] = call.params[4];
        call.params[6] = call.params[5];
      }
      calls.push_back(std::move(call));
    }
    const arma::cx_mat g = ref::complex_gaussian(arma::uword{1} << n, arma::uword{1} << n, rng);
    const arma::cx_mat rho = g + g.t();
    const arma::cx_mat expected = one_by_one(rho, calls, n);
    bool mirrored = false;
    for (int b = 3; b < n; ++b) {
      CAPTURE(n, b);
      const std::vector<noise::Sweep> plan = noise::plan_sweeps(calls.data(), calls.size(), n, b);
      // A tiled sweep that holds qubits 0 and 1 mirrors its tiles.
      const bool mirrors = std::any_of(plan.begin(), plan.end(), [n](const noise::Sweep& s) {
        return s.calls.size() > 1 && static_cast<int>(s.qubits.size()) < n && s.qubits.size() >= 2 &&
               s.qubits[0] == 0 && s.qubits[1] == 1;
      });
      mirrored = mirrored || mirrors;
      arma::cx_mat out = rho;
      noise::run_sweeps(plan, calls.data(), out.memptr(), n, /*hermitian=*/true);
      REQUIRE_MATRIX_CLOSE(out, expected, kTol);
      if (mirrors) {
        // The promise matters: a non-Hermitian state comes out differently.
        arma::cx_mat skew = g;
        noise::run_sweeps(plan, calls.data(), skew.memptr(), n, /*hermitian=*/true);
        REQUIRE(ref::max_abs_diff(skew, one_by_one(g, calls, n)) > 1e-6);
      }
    }
    REQUIRE(mirrored);
  }
}

TEST_CASE("a plan is reused after the matrices change", "[sweep]") {
  ref::Rng rng(9200);
  const int n = 6;
  std::vector<KernelCall> calls;
  for (int i = 0; i < 30; ++i) calls.push_back(random_call(n, rng));
  const std::vector<noise::Sweep> plan = noise::plan_sweeps(calls.data(), calls.size(), n, 4);
  // New data on the same qubits and kinds.
  for (KernelCall& call : calls) {
    if (call.kind == KernelKind::kUnitary) {
      call.matrix = ref::row_major(ref::random_unitary(arma::uword{1} << call.k, rng));
    } else {
      call.params[0] = uniform(rng, 0.0, 1.0);
    }
  }
  const arma::cx_mat rho = ref::complex_gaussian(64, 64, rng);
  REQUIRE_MATRIX_CLOSE(swept(rho, plan, calls, n), one_by_one(rho, calls, n), kTol);
}

TEST_CASE("the greedy plan moves calls only past calls on other qubits", "[sweep]") {
  ref::Rng rng(9300);
  const int n = 5;
  const auto dense = [&rng](std::vector<int> qubits) {
    return noise::unitary_call(qubits.data(), static_cast<int>(qubits.size()),
                               ref::row_major(ref::random_unitary(arma::uword{1} << qubits.size(), rng)).data());
  };
  // With 3 qubits per sweep: call 1 does not fit beside call 0 and blocks qubits 1-3, so call 2 (on
  // qubit 1, not commuting with call 1) must wait, while calls 3 and 4 join the first sweep.
  const std::vector<KernelCall> calls = {dense({0, 1}), dense({1, 2, 3}), dense({1}), dense({4}), dense({0})};
  const std::vector<noise::Sweep> plan = noise::plan_sweeps(calls.data(), calls.size(), n, 3);
  REQUIRE(plan.size() == 2);
  CHECK(plan[0].qubits == std::vector<int>{0, 1, 4});
  CHECK(plan[0].calls == std::vector<std::size_t>{0, 3, 4});
  CHECK(plan[1].qubits == std::vector<int>{1, 2, 3});
  CHECK(plan[1].calls == std::vector<std::size_t>{1, 2});
  const arma::cx_mat rho = ref::complex_gaussian(32, 32, rng);
  const arma::cx_mat expected = one_by_one(rho, calls, n);
  REQUIRE_MATRIX_CLOSE(swept(rho, plan, calls, n), expected, kTol);
  // The order matters here: running call 2 before call 1 gives another state.
  const std::vector<noise::Sweep> reordered = {{{0, 1, 4}, {0, 3, 4, 2}}, {{1, 2, 3}, {1}}};
  REQUIRE(ref::max_abs_diff(swept(rho, reordered, calls, n), expected) > 1e-3);
}

TEST_CASE("sweeps give bitwise the same state with 1 and 2 threads", "[sweep][parallel]") {
  ref::Rng rng(9400);
  const int n = 9;
  REQUIRE(n >= noise::kParallelMinQubits);
  std::vector<KernelCall> calls;
  for (int i = 0; i < 40; ++i) calls.push_back(random_call(n, rng));
  const arma::cx_mat rho = ref::complex_gaussian(512, 512, rng);
  const int saved = omp_get_max_threads();
  for (int b : {3, 5, 7}) {
    CAPTURE(b);
    const std::vector<noise::Sweep> plan = noise::plan_sweeps(calls.data(), calls.size(), n, b);
    omp_set_num_threads(1);
    const arma::cx_mat one = swept(rho, plan, calls, n);
    omp_set_num_threads(2);
    const arma::cx_mat two = swept(rho, plan, calls, n);
    omp_set_num_threads(saved);
    REQUIRE(std::memcmp(one.memptr(), two.memptr(), one.n_elem * sizeof(Complex)) == 0);
    REQUIRE_MATRIX_CLOSE(one, one_by_one(rho, calls, n), kTol);
  }
}

TEST_CASE("plan_sweeps and run_sweeps reject bad arguments", "[sweep][validation]") {
  ref::Rng rng(9500);
  const int n = 4;
  std::vector<KernelCall> calls = {random_call(n, rng), random_call(n, rng)};
  CHECK_THROWS_AS(noise::plan_sweeps(calls.data(), calls.size(), n, 2), std::invalid_argument);
  CHECK_THROWS_AS(noise::plan_sweeps(calls.data(), calls.size(), 0, 3), std::invalid_argument);
  CHECK_THROWS_AS(noise::plan_sweeps(nullptr, 2, n, 3), std::invalid_argument);
  arma::cx_mat rho = ref::complex_gaussian(16, 16, rng);
  const arma::cx_mat before = rho;
  const std::vector<noise::Sweep> plan = noise::plan_sweeps(calls.data(), calls.size(), n, 3);
  CHECK_THROWS_AS(noise::run_sweeps(plan, calls.data(), nullptr, n), std::invalid_argument);
  // A call moved to a qubit out of range, or out of its sweep's qubits.
  KernelCall bad = calls[0];
  bad.qubits[0] = n;
  std::vector<KernelCall> bad_calls = {bad, calls[1]};
  CHECK_THROWS_AS(noise::plan_sweeps(bad_calls.data(), bad_calls.size(), n, 3), std::invalid_argument);
  CHECK_THROWS_AS(noise::run_sweeps(plan, bad_calls.data(), rho.memptr(), n), std::invalid_argument);
  const std::vector<noise::Sweep> outside = {{{0, 1}, {0, 1}}};
  std::vector<KernelCall> on_3 = {calls[0], calls[1]};
  on_3[0].k = 1;
  on_3[0].qubits[0] = 3;
  CHECK_THROWS_AS(noise::run_sweeps(outside, on_3.data(), rho.memptr(), n), std::invalid_argument);
  const std::vector<noise::Sweep> unsorted = {{{2, 1, 0, 3}, {0, 1}}};
  CHECK_THROWS_AS(noise::run_sweeps(unsorted, calls.data(), rho.memptr(), n), std::invalid_argument);
  // Nothing ran before the checks failed.
  REQUIRE(ref::max_abs_diff(rho, before) == 0.0);
}
