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

// random_call made Hermiticity-preserving.
KernelCall hermitian_call(int n, ref::Rng& rng) {
  KernelCall call = random_call(n, rng);
  if (call.kind == KernelKind::kRealBlock1q) {
    // The coherences' block C symmetric with equal diagonal.
    call.params[7] = call.params[4];
    call.params[6] = call.params[5];
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
    for (int i = 0; i < 12 + 3 * n; ++i) calls.push_back(hermitian_call(n, rng));
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

namespace {

// The dense Pauli string i^{|x&z|} X^x Z^z on `bits` qubits: P(b^x, b) = i^{|x&z|} (-1)^{|b&z|}.
arma::cx_mat dense_pauli(int bits, std::uint64_t xm, std::uint64_t zm) {
  const arma::uword dim = arma::uword{1} << bits;
  static const Complex i_powers[4] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
  arma::cx_mat p(dim, dim, arma::fill::zeros);
  for (arma::uword b = 0; b < dim; ++b) {
    const double sign = (__builtin_popcountll(b & zm) & 1) ? -1.0 : 1.0;
    p(b ^ xm, b) = sign * i_powers[__builtin_popcountll(xm & zm) & 3];
  }
  return p;
}

// A list of Hermiticity-preserving calls, some differentiated: Pauli rotations exp(-iθP/2) on 1 to 3
// random qubits, and superoperators with an arbitrary CP map as their "derivative" (sweep_gradient
// only evaluates Tr(σ_j D(ρ_{j-1})); whether D is the true derivative is not its business).
struct DifferentiatedCalls {
  std::vector<KernelCall> calls, adjoints;
  std::vector<noise::CallDerivative> derivatives;
};

DifferentiatedCalls differentiated_calls(int n, int count, ref::Rng& rng) {
  DifferentiatedCalls out;
  for (int i = 0; i < count; ++i) {
    noise::CallDerivative d;
    KernelCall call;
    const int kind = static_cast<int>(rng() % 3);
    if (kind == 0) {
      const int k = 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(std::min(3, n)));
      const std::vector<int> qubits = random_qubits(n, k, rng);
      std::uint64_t lx = 0, lz = 0;
      while ((lx | lz) == 0) {
        lx = rng() % (std::uint64_t{1} << k);
        lz = rng() % (std::uint64_t{1} << k);
      }
      const double theta = uniform(rng, -3.0, 3.0);
      const arma::cx_mat u = std::cos(theta / 2) * arma::eye<arma::cx_mat>(arma::uword{1} << k, arma::uword{1} << k) -
                             Complex(0.0, std::sin(theta / 2)) * dense_pauli(k, lx, lz);
      call = noise::unitary_call(qubits.data(), k, ref::row_major(u).data());
      d.kind = noise::CallDerivative::Kind::kPauliRotation;
      for (int j = 0; j < k; ++j) {
        d.x_mask |= ((lx >> j) & 1) << qubits[static_cast<std::size_t>(j)];
        d.z_mask |= ((lz >> j) & 1) << qubits[static_cast<std::size_t>(j)];
      }
    } else if (kind == 1) {
      const int k = 1 + static_cast<int>(rng() % static_cast<std::uint64_t>(std::min(2, n)));
      const std::vector<int> qubits = random_qubits(n, k, rng);
      const arma::uword dim = arma::uword{1} << k;
      call.kind = KernelKind::kSuperoperator;
      call.k = k;
      std::copy(qubits.begin(), qubits.end(), call.qubits);
      call.matrix = ref::row_major(ref::superoperator_from_kraus(ref::random_kraus_operators(dim, 2, rng)));
      d.kind = noise::CallDerivative::Kind::kSuperoperator;
      d.derivative = call;
      d.derivative.matrix = ref::row_major(ref::superoperator_from_kraus(ref::random_kraus_operators(dim, 3, rng)));
    } else {
      call = hermitian_call(n, rng);
    }
    out.adjoints.push_back(noise::adjoint_call(call));
    out.calls.push_back(std::move(call));
    out.derivatives.push_back(std::move(d));
  }
  return out;
}

// The adjoint method on the dense state, call by call: the gradient entries and σ_0.
std::vector<double> dense_gradient(const DifferentiatedCalls& c, const arma::cx_mat& rho, arma::cx_mat& sigma, int n) {
  std::vector<arma::cx_mat> before{rho};
  for (const KernelCall& call : c.calls) before.push_back(one_by_one(before.back(), {call}, n));
  std::vector<double> gradient(c.calls.size(), 0.0);
  for (std::size_t j = c.calls.size(); j-- > 0;) {
    const noise::CallDerivative& d = c.derivatives[j];
    if (d.kind == noise::CallDerivative::Kind::kPauliRotation) {
      const arma::cx_mat p = dense_pauli(n, d.x_mask, d.z_mask);
      const arma::cx_mat& after = before[j + 1];
      gradient[j] = std::real(arma::trace(sigma * (Complex(0.0, -0.5) * (p * after - after * p))));
    } else if (d.kind == noise::CallDerivative::Kind::kSuperoperator) {
      gradient[j] = std::real(arma::trace(sigma * one_by_one(before[j], {d.derivative}, n)));
    }
    sigma = one_by_one(sigma, {c.adjoints[j]}, n);
  }
  return gradient;
}

arma::cx_mat random_hermitian(int n, ref::Rng& rng) {
  const arma::cx_mat g = ref::complex_gaussian(arma::uword{1} << n, arma::uword{1} << n, rng);
  return g + g.t();
}

// The plan backwards from what run_sweeps kept: the state before each sweep, or with `at_points`
// the tiles at the derivative points of each sweep without a kSuperoperator derivative.
std::vector<double> swept_gradient(const DifferentiatedCalls& c, std::vector<noise::Sweep> plan,
                                   const arma::cx_mat& rho, arma::cx_mat& sigma, int n, bool at_points = false) {
  const std::vector<char> varies(c.calls.size(), 0);
  std::vector<arma::cx_mat> stored(plan.size(), arma::cx_mat(rho.n_rows, rho.n_cols));
  std::vector<Complex*> pointers;
  std::vector<std::vector<std::size_t>> points(plan.size());
  std::vector<std::vector<Complex>> buffers;
  for (std::size_t p = 0; p < plan.size(); ++p) {
    bool recompute = !at_points;
    for (std::size_t i : plan[p].calls) {
      recompute = recompute || c.derivatives[i].kind == noise::CallDerivative::Kind::kSuperoperator;
    }
    pointers.push_back(recompute ? stored[p].memptr() : nullptr);
    if (recompute) continue;
    points[p] = noise::derivative_points(plan[p], c.calls.data(), c.derivatives.data(), varies.data());
    for (std::size_t k = 0; k < points[p].size(); ++k) buffers.emplace_back(noise::point_elems(plan[p], n));
  }
  std::vector<Complex*> kept;
  for (std::vector<Complex>& b : buffers) kept.push_back(b.data());
  arma::cx_mat state = rho;
  noise::run_sweeps(plan, c.calls.data(), state.memptr(), n, /*hermitian=*/true, pointers.data(), points.data(),
                    kept.data());
  std::vector<double> gradient(c.calls.size(), 0.0);
  std::vector<Complex> scratch;
  std::size_t first = kept.size();
  for (std::size_t p = plan.size(); p-- > 0;) {
    first -= points[p].size();
    noise::GradientStates states;
    if (pointers[p] != nullptr) {
      states.before = pointers[p];
    } else {
      states.points = &points[p];
      states.kept = kept.data() + first;
    }
    noise::sweep_gradient(plan[p], c.calls.data(), c.adjoints.data(), c.derivatives.data(), states, sigma.memptr(),
                          n, gradient.data(), scratch);
  }
  return gradient;
}

// A swept gradient and σ_0 against the dense adjoint method's (dense_gradient), to 1e-11 of the
// largest derivative; calls without a derivative get exactly 0.
void require_dense(const DifferentiatedCalls& c, const std::vector<double>& gradient, const arma::cx_mat& sigma,
                   const std::vector<double>& expected, const arma::cx_mat& sigma0, double scale) {
  for (std::size_t j = 0; j < gradient.size(); ++j) {
    CAPTURE(j);
    REQUIRE(std::abs(gradient[j] - expected[j]) <= 1e-11 * scale);
    if (c.derivatives[j].kind == noise::CallDerivative::Kind::kNone) REQUIRE(gradient[j] == 0.0);
  }
  REQUIRE_MATRIX_CLOSE(sigma, sigma0, 1e-11 * scale);
}

// exp(-iθP/2) as a call, with its derivative's masks, for P = X^lx Z^lz on `qubits`.
void add_rotation(DifferentiatedCalls& c, const std::vector<int>& qubits, std::uint64_t lx, std::uint64_t lz,
                  double theta) {
  const int k = static_cast<int>(qubits.size());
  const arma::cx_mat u = std::cos(theta / 2) * arma::eye<arma::cx_mat>(arma::uword{1} << k, arma::uword{1} << k) -
                         Complex(0.0, std::sin(theta / 2)) * dense_pauli(k, lx, lz);
  c.calls.push_back(noise::unitary_call(qubits.data(), k, ref::row_major(u).data()));
  noise::CallDerivative d;
  d.kind = noise::CallDerivative::Kind::kPauliRotation;
  for (int j = 0; j < k; ++j) {
    d.x_mask |= ((lx >> j) & 1) << qubits[static_cast<std::size_t>(j)];
    d.z_mask |= ((lz >> j) & 1) << qubits[static_cast<std::size_t>(j)];
  }
  c.adjoints.push_back(noise::adjoint_call(c.calls.back()));
  c.derivatives.push_back(d);
}

void add_fixed(DifferentiatedCalls& c, KernelCall call) {
  c.adjoints.push_back(noise::adjoint_call(call));
  c.calls.push_back(std::move(call));
  c.derivatives.emplace_back();
}

KernelCall depolarizing_call(std::vector<int> qubits, double alpha) {
  KernelCall call;
  call.kind = KernelKind::kDepolarizing;
  call.k = static_cast<int>(qubits.size());
  std::copy(qubits.begin(), qubits.end(), call.qubits);
  call.params[0] = alpha;
  return call;
}

// Amplitude damping γ in the real block form.
KernelCall damping_call(int qubit, double gamma) {
  KernelCall call;
  call.kind = KernelKind::kRealBlock1q;
  call.k = 1;
  call.qubits[0] = qubit;
  const double s = std::sqrt(1.0 - gamma);
  const double params[8] = {1.0, gamma, 0.0, 1.0 - gamma, s, 0.0, 0.0, s};
  std::copy(params, params + 8, call.params);
  return call;
}

KernelCall cz_call(int a, int b) {
  const int qubits[2] = {a, b};
  const arma::cx_mat u = arma::diagmat(arma::cx_vec{Complex(1.0), Complex(1.0), Complex(1.0), Complex(-1.0)});
  return noise::unitary_call(qubits, 2, ref::row_major(u).data());
}

// Layers of RY with depolarising, RZ with amplitude damping, a CZ ladder with 2-qubit depolarising,
// a ZZ rotation; now and then a random call (commuting with little) or a channel differentiated as a
// superoperator.
DifferentiatedCalls layered_calls(int n, int layers, ref::Rng& rng) {
  DifferentiatedCalls c;
  for (int l = 0; l < layers; ++l) {
    for (int q = 0; q < n; ++q) {
      add_rotation(c, {q}, 1, 1, uniform(rng, -3.0, 3.0));  // Y = i X Z
      add_fixed(c, depolarizing_call({q}, 0.02));
      add_rotation(c, {q}, 0, 1, uniform(rng, -3.0, 3.0));
      add_fixed(c, damping_call(q, 0.05));
    }
    for (int q = 0; q + 1 < n; ++q) {
      add_fixed(c, cz_call(q, q + 1));
      add_fixed(c, depolarizing_call({q, q + 1}, 0.01));
    }
    if (n >= 2) add_rotation(c, {0, 1}, 0, 3, uniform(rng, -3.0, 3.0));
    if (rng() % 2 == 0) add_fixed(c, hermitian_call(n, rng));
    if (rng() % 2 == 0) {
      DifferentiatedCalls one = differentiated_calls(n, 1, rng);
      while (one.derivatives[0].kind != noise::CallDerivative::Kind::kSuperoperator) one = differentiated_calls(n, 1, rng);
      c.calls.push_back(one.calls[0]);
      c.adjoints.push_back(one.adjoints[0]);
      c.derivatives.push_back(one.derivatives[0]);
    }
  }
  return c;
}

}  // namespace

TEST_CASE("run_sweeps stores the state before each sweep", "[sweep]") {
  ref::Rng rng(9600);
  const int n = 6;
  std::vector<KernelCall> calls;
  for (int i = 0; i < 40; ++i) calls.push_back(hermitian_call(n, rng));
  const std::vector<noise::Sweep> plan = noise::plan_sweeps(calls.data(), calls.size(), n, 3);
  REQUIRE(plan.size() >= 3);
  const arma::cx_mat rho = random_hermitian(n, rng);
  std::vector<arma::cx_mat> stored(plan.size(), arma::cx_mat(64, 64, arma::fill::zeros));
  std::vector<Complex*> pointers;
  for (arma::cx_mat& m : stored) pointers.push_back(m.memptr());
  pointers[1] = nullptr;  // not stored
  arma::cx_mat state = rho, expected = rho;
  noise::run_sweeps(plan, calls.data(), state.memptr(), n, /*hermitian=*/true, pointers.data());
  for (std::size_t p = 0; p < plan.size(); ++p) {
    CAPTURE(p);
    if (p == 1) {
      REQUIRE(ref::max_abs_diff(stored[p], arma::cx_mat(64, 64, arma::fill::zeros)) == 0.0);
    } else {
      REQUIRE_MATRIX_CLOSE(stored[p], expected, kTol);
    }
    for (std::size_t i : plan[p].calls) expected = one_by_one(expected, {calls[i]}, n);
  }
  REQUIRE_MATRIX_CLOSE(state, expected, kTol);
}

TEST_CASE("sweep_gradient equals the adjoint method on the dense state", "[sweep][gradient]") {
  ref::Rng rng(9700);
  for (int n = 2; n <= 7; ++n) {
    const DifferentiatedCalls c = differentiated_calls(n, 10 + 4 * n, rng);
    const arma::cx_mat rho = random_hermitian(n, rng), observable = random_hermitian(n, rng);
    arma::cx_mat sigma0 = observable;
    const std::vector<double> expected = dense_gradient(c, rho, sigma0, n);
    double scale = 0.0;
    for (double g : expected) scale = std::max(scale, std::abs(g));
    for (int b = 3; b <= std::max(3, n); ++b) {
      CAPTURE(n, b);
      const std::vector<noise::Sweep> plan = noise::plan_sweeps(c.calls.data(), c.calls.size(), n, b);
      arma::cx_mat sigma = observable;
      const std::vector<double> gradient = swept_gradient(c, plan, rho, sigma, n);
      require_dense(c, gradient, sigma, expected, sigma0, scale);
    }
  }
}

TEST_CASE("commutes_with_derivation: which calls a rotation's derivative moves through", "[sweep][gradient]") {
  const std::uint64_t x0 = 1, z0 = 1;  // X, Z on qubit 0 (Y: both)
  for (const KernelCall& d : {depolarizing_call({0}, 0.1), depolarizing_call({1, 0}, 0.1)}) {
    CHECK(noise::commutes_with_derivation(d, x0, 0));
    CHECK(noise::commutes_with_derivation(d, x0, z0));
    CHECK(noise::commutes_with_derivation(d, 0, z0));
  }
  CHECK(noise::commutes_with_derivation(depolarizing_call({0, 1}, 0.1), 0, 3));  // ZZ
  const KernelCall damping = damping_call(0, 0.2);
  CHECK(noise::commutes_with_derivation(damping, 0, z0));
  CHECK_FALSE(noise::commutes_with_derivation(damping, x0, 0));
  CHECK_FALSE(noise::commutes_with_derivation(damping, x0, z0));
  CHECK(noise::commutes_with_derivation(damping, 2, 0));  // disjoint
  const KernelCall cz = cz_call(0, 1);
  CHECK(noise::commutes_with_derivation(cz, 0, z0));
  CHECK(noise::commutes_with_derivation(cz, 0, 3));
  CHECK_FALSE(noise::commutes_with_derivation(cz, x0, 0));
  DifferentiatedCalls rx;
  add_rotation(rx, {0}, 1, 0, 0.7);
  CHECK(noise::commutes_with_derivation(rx.calls[0], x0, 0));
  CHECK_FALSE(noise::commutes_with_derivation(rx.calls[0], 0, z0));
  ref::Rng rng(9750);
  KernelCall cptp;
  cptp.kind = KernelKind::kSuperoperator;
  cptp.k = 1;
  cptp.qubits[0] = 0;
  cptp.matrix = ref::row_major(ref::superoperator_from_kraus(ref::random_kraus_operators(2, 2, rng)));
  CHECK_FALSE(noise::commutes_with_derivation(cptp, 0, z0));
  // Beyond 4 qubits in all the test is not made: depolarising on 3 qubits against X on 2 of them
  // and on 2 more.
  CHECK(noise::commutes_with_derivation(depolarizing_call({0, 1, 2}, 0.1), 0b110, 0));
  CHECK_FALSE(noise::commutes_with_derivation(depolarizing_call({0, 1, 2}, 0.1), 0b11100, 0));
}

TEST_CASE("sweep_gradient at derivative points equals the adjoint method on the dense state", "[sweep][gradient]") {
  ref::Rng rng(9760);
  for (int n = 2; n <= 7; ++n) {
    const DifferentiatedCalls c = layered_calls(n, 3, rng);
    const arma::cx_mat rho = random_hermitian(n, rng), observable = random_hermitian(n, rng);
    arma::cx_mat sigma0 = observable;
    const std::vector<double> expected = dense_gradient(c, rho, sigma0, n);
    double scale = 0.0;
    for (double g : expected) scale = std::max(scale, std::abs(g));
    std::size_t rotations = 0;
    for (const noise::CallDerivative& d : c.derivatives) {
      rotations += d.kind == noise::CallDerivative::Kind::kPauliRotation ? 1 : 0;
    }
    const std::vector<char> varies(c.calls.size(), 0);
    for (int b = 3; b <= std::max(3, n); ++b) {
      CAPTURE(n, b);
      std::vector<noise::Sweep> plan = noise::plan_sweeps(c.calls.data(), c.calls.size(), n, b);
      // The derivatives move through the channels and the CZs: far fewer points than rotations.
      std::size_t points = 0;
      for (noise::Sweep sweep : plan) {
        bool superoperator = false;
        for (std::size_t i : sweep.calls) {
          superoperator = superoperator || c.derivatives[i].kind == noise::CallDerivative::Kind::kSuperoperator;
        }
        if (!superoperator) points += noise::derivative_points(sweep, c.calls.data(), c.derivatives.data(), varies.data()).size();
      }
      if (n >= 4 && b >= 4) REQUIRE(2 * points < rotations);
      arma::cx_mat sigma = observable;
      const std::vector<double> gradient = swept_gradient(c, plan, rho, sigma, n, /*at_points=*/true);
      require_dense(c, gradient, sigma, expected, sigma0, scale);
    }
  }
}

TEST_CASE("derivative_points: where the derivatives are read", "[sweep][gradient]") {
  DifferentiatedCalls c;
  add_rotation(c, {0}, 0, 1, 0.3);  // 0: RZ on 0
  add_fixed(c, damping_call(0, 0.1));
  add_rotation(c, {1}, 0, 1, 0.4);  // 2: RZ on 1
  add_fixed(c, damping_call(1, 0.1));
  add_rotation(c, {0}, 1, 1, 0.5);  // 4: RY on 0
  add_fixed(c, depolarizing_call({0}, 0.1));
  add_fixed(c, damping_call(0, 0.1));  // 6
  add_fixed(c, damping_call(1, 0.1));
  noise::Sweep sweep{{0, 1}, {0, 1, 2, 3, 4, 5, 6, 7}};
  std::vector<char> varies(c.calls.size(), 0);
  const auto points = [&]() {
    sweep.calls = {0, 1, 2, 3, 4, 5, 6, 7};
    return noise::derivative_points(sweep, c.calls.data(), c.derivatives.data(), varies.data());
  };
  // RZ0 and RZ1 move past the damping on their qubits, up to RY0 (it does not commute with Z), which
  // the damping of qubit 1 passes; RY0 moves past the depolarising, not the damping.
  CHECK(points() == std::vector<std::size_t>{4, 6});
  CHECK(sweep.calls == std::vector<std::size_t>{0, 1, 2, 3, 7, 4, 5, 6});
  varies[1] = 1;  // a varying call that is no differentiated rotation stops RZ0
  CHECK(points() == std::vector<std::size_t>{3, 6});
  CHECK(sweep.calls == std::vector<std::size_t>{0, 2, 3, 7, 1, 4, 5, 6});
  varies[1] = 0;
  sweep.calls = {0, 1, 2, 3, 4, 5, 6, 7};
  c.derivatives[3].kind = noise::CallDerivative::Kind::kSuperoperator;
  c.derivatives[3].derivative = c.calls[3];
  CHECK_THROWS_AS(points(), std::invalid_argument);
  arma::cx_mat rho(4, 4, arma::fill::eye), sigma(4, 4, arma::fill::eye);
  std::vector<double> gradient(c.calls.size(), 0.0);
  std::vector<Complex> scratch;
  std::vector<Complex> buffer(16);
  Complex* kept[2] = {buffer.data(), buffer.data()};
  const std::vector<std::size_t> at = {3, 5};
  noise::GradientStates states;
  states.points = &at;
  states.kept = kept;
  // sweep_gradient refuses a superoperator's derivative at a point.
  CHECK_THROWS_AS(noise::sweep_gradient(sweep, c.calls.data(), c.adjoints.data(), c.derivatives.data(), states,
                                        sigma.memptr(), 2, gradient.data(), scratch),
                  std::invalid_argument);
  c.derivatives[3].kind = noise::CallDerivative::Kind::kNone;
  // Nor a rotation after the last point, or points out of order.
  const std::vector<std::size_t> early = {3}, unordered = {5, 3};
  states.points = &early;
  CHECK_THROWS_AS(noise::sweep_gradient(sweep, c.calls.data(), c.adjoints.data(), c.derivatives.data(), states,
                                        sigma.memptr(), 2, gradient.data(), scratch),
                  std::invalid_argument);
  states.points = &unordered;
  CHECK_THROWS_AS(noise::sweep_gradient(sweep, c.calls.data(), c.adjoints.data(), c.derivatives.data(), states,
                                        sigma.memptr(), 2, gradient.data(), scratch),
                  std::invalid_argument);
  REQUIRE(std::all_of(gradient.begin(), gradient.end(), [](double g) { return g == 0.0; }));
  CHECK_THROWS_AS(noise::derivative_points(sweep, c.calls.data(), nullptr, varies.data()), std::invalid_argument);
}

TEST_CASE("sweep_gradient gives bitwise the same gradient with 1 and 2 threads", "[sweep][gradient][parallel]") {
  ref::Rng rng(9800);
  const int n = 8;
  REQUIRE(n >= noise::kParallelMinQubits);
  for (const bool at_points : {false, true}) {
    CAPTURE(at_points);
    const DifferentiatedCalls c = at_points ? layered_calls(n, 2, rng) : differentiated_calls(n, 30, rng);
    const arma::cx_mat rho = random_hermitian(n, rng), observable = random_hermitian(n, rng);
    const std::vector<noise::Sweep> plan = noise::plan_sweeps(c.calls.data(), c.calls.size(), n, 5);
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    arma::cx_mat sigma_one = observable;
    const std::vector<double> one = swept_gradient(c, plan, rho, sigma_one, n, at_points);
    omp_set_num_threads(2);
    arma::cx_mat sigma_two = observable;
    const std::vector<double> two = swept_gradient(c, plan, rho, sigma_two, n, at_points);
    omp_set_num_threads(saved);
    REQUIRE(one == two);
    REQUIRE(std::memcmp(sigma_one.memptr(), sigma_two.memptr(), sigma_one.n_elem * sizeof(Complex)) == 0);
    arma::cx_mat sigma0 = observable;
    const std::vector<double> expected = dense_gradient(c, rho, sigma0, n);
    for (std::size_t j = 0; j < one.size(); ++j) REQUIRE(std::abs(one[j] - expected[j]) <= 1e-9);
  }
}

TEST_CASE("sweep_gradient rejects bad arguments", "[sweep][gradient][validation]") {
  ref::Rng rng(9900);
  const int n = 4;
  DifferentiatedCalls c = differentiated_calls(n, 8, rng);
  arma::cx_mat rho = random_hermitian(n, rng), sigma = random_hermitian(n, rng);
  const arma::cx_mat sigma_before = sigma;
  std::vector<double> gradient(c.calls.size(), 0.0);
  std::vector<Complex> scratch;
  const noise::Sweep all{{0, 1, 2, 3}, {0, 1, 2, 3, 4, 5, 6, 7}};
  const auto run = [&](const noise::Sweep& sweep) {
    noise::sweep_gradient(sweep, c.calls.data(), c.adjoints.data(), c.derivatives.data(),
                          noise::GradientStates{rho.memptr()}, sigma.memptr(), n, gradient.data(), scratch);
  };
  CHECK_THROWS_AS(run(noise::Sweep{{}, {}}), std::invalid_argument);
  CHECK_THROWS_AS(run(noise::Sweep{{0, 0, 1}, {}}), std::invalid_argument);
  CHECK_THROWS_AS(noise::sweep_gradient(all, c.calls.data(), c.adjoints.data(), c.derivatives.data(),
                                        noise::GradientStates{}, sigma.memptr(), n, gradient.data(), scratch),
                  std::invalid_argument);
  // A rotation whose Pauli string leaves the sweep's qubits.
  c.derivatives[0].kind = noise::CallDerivative::Kind::kPauliRotation;
  c.derivatives[0].x_mask = std::uint64_t{1} << 3;
  c.calls[0].k = 1;
  c.calls[0].qubits[0] = 0;
  c.calls[0].matrix.resize(4);
  c.adjoints[0] = noise::adjoint_call(c.calls[0]);
  CHECK_THROWS_AS(run(noise::Sweep{{0, 1, 2}, {0}}), std::invalid_argument);
  REQUIRE(ref::max_abs_diff(sigma, sigma_before) == 0.0);
  REQUIRE(std::all_of(gradient.begin(), gradient.end(), [](double g) { return g == 0.0; }));
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
