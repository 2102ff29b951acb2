// DensityMatrix against the dense Kronecker-product reference: every gate on every target tuple,
// arbitrary unitaries and channels, the built-in channels against their Kraus lists, invariants of
// long noisy circuits, an independent state-vector simulation, read-outs, validation, memory
// limits and thread independence.
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/gates.hpp"
#include "kraus/noise/kernels.hpp"
#include "reference/test_support.hpp"

namespace {

namespace ref = kraus::test;
using kraus::engine::DensityMatrix;
using kraus::engine::Gate;
using kraus::engine::gate_matrix;
using kraus::engine::gate_table;
using kraus::engine::GateInfo;
using ref::Complex;
using Params = std::vector<double>;

constexpr double kTol = 1e-12;
const double kPi = std::acos(-1.0);

double uniform(ref::Rng& rng, double lo, double hi) {
  return std::uniform_real_distribution<double>(lo, hi)(rng);
}

Params random_angles(int count, ref::Rng& rng) {
  Params out;
  for (int i = 0; i < count; ++i) out.push_back(uniform(rng, -2 * kPi, 2 * kPi));
  return out;
}

// k distinct qubits of n in random order.
std::vector<int> random_targets(int n, int k, ref::Rng& rng) {
  std::vector<int> all(static_cast<std::size_t>(n));
  for (int q = 0; q < n; ++q) all[static_cast<std::size_t>(q)] = q;
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(static_cast<std::size_t>(k));
  return all;
}

const GateInfo& random_gate(int n, ref::Rng& rng) {
  while (true) {
    const GateInfo& info = gate_table()[rng() % gate_table().size()];
    if (info.num_qubits <= n) return info;
  }
}

// One operation of a random circuit: applied to a DensityMatrix, and to a dense matrix by the
// reference.
struct Step {
  std::string label;
  std::function<void(DensityMatrix&)> apply;
  std::function<arma::cx_mat(const arma::cx_mat&)> reference;
};

std::string describe(std::string name, const std::vector<int>& qubits) {
  name += " on";
  for (int q : qubits) name += " " + std::to_string(q);
  return name;
}

Step gate_step(const GateInfo& info, const std::vector<int>& qubits, const Params& params, int n) {
  const Gate gate = info.gate;
  const arma::cx_mat u = gate_matrix(gate, params);
  return {describe(std::string(info.name), qubits), [=](DensityMatrix& dm) { dm.apply(gate, qubits, params); },
          [=](const arma::cx_mat& rho) { return ref::apply_unitary(rho, u, qubits, n); }};
}

Step random_gate_step(int n, ref::Rng& rng) {
  const GateInfo& info = random_gate(n, rng);
  return gate_step(info, random_targets(n, info.num_qubits, rng), random_angles(info.num_params, rng), n);
}

Step kraus_step(std::string label, std::function<void(DensityMatrix&)> apply, std::vector<arma::cx_mat> ops,
                std::vector<int> qubits, int n) {
  return {describe(std::move(label), qubits), std::move(apply),
          [=](const arma::cx_mat& rho) { return ref::apply_kraus(rho, ops, qubits, n); }};
}

Step random_noise_step(int n, ref::Rng& rng) {
  const int q = static_cast<int>(rng() % static_cast<std::uint64_t>(n));
  const double x = uniform(rng, 0, 1);
  const auto kind = rng() % 8;
  switch (kind) {
    case 0:
      return kraus_step("depolarizing", [=](DensityMatrix& dm) { dm.apply_depolarizing(q, x); },
                        ref::depolarizing_kraus(x), {q}, n);
    case 1:
      return kraus_step("amplitude damping", [=](DensityMatrix& dm) { dm.apply_amplitude_damping(q, x); },
                        ref::amplitude_damping_kraus(x), {q}, n);
    case 2:
      return kraus_step("phase damping", [=](DensityMatrix& dm) { dm.apply_phase_damping(q, x); },
                        ref::phase_damping_kraus(x), {q}, n);
    case 3:
      return kraus_step("measure", [=](DensityMatrix& dm) { dm.measure(q); }, ref::measurement_kraus(), {q}, n);
    case 4:
      return kraus_step("reset", [=](DensityMatrix& dm) { dm.reset(q); }, ref::reset_kraus(), {q}, n);
    case 5:
    case 6: {
      const std::vector<int> qubits = random_targets(n, std::min(n, 1 + static_cast<int>(rng() % 2)), rng);
      const auto ops =
          ref::random_kraus_operators(arma::uword{1} << qubits.size(), 1 + static_cast<int>(rng() % 4), rng);
      if (kind == 5) {
        return kraus_step("kraus", [=](DensityMatrix& dm) { dm.apply_kraus(qubits, ops); }, ops, qubits, n);
      }
      const arma::cx_mat s = ref::superoperator_from_kraus(ops);
      return kraus_step("superoperator", [=](DensityMatrix& dm) { dm.apply_superoperator(qubits, s); }, ops,
                        qubits, n);
    }
    default: {
      const std::vector<int> qubits = random_targets(n, std::min(n, 1 + static_cast<int>(rng() % 3)), rng);
      const arma::cx_mat u = ref::random_unitary(arma::uword{1} << qubits.size(), rng);
      return kraus_step("unitary", [=](DensityMatrix& dm) { dm.apply_unitary(qubits, u); }, {u}, qubits, n);
    }
  }
}

// `length` random steps, gates and channels mixed at random.
std::vector<Step> random_noisy_circuit(int n, int length, ref::Rng& rng) {
  std::vector<Step> steps;
  for (int i = 0; i < length; ++i) {
    steps.push_back(rng() % 2 ? random_gate_step(n, rng) : random_noise_step(n, rng));
  }
  return steps;
}

DensityMatrix random_state(int n, ref::Rng& rng) {
  return DensityMatrix::from_matrix(ref::random_density_matrix(n, rng));
}

// Hermitian, trace 1, eigenvalues >= -tol, purity <= 1 + tol.
void require_density_matrix(const arma::cx_mat& rho, double tol) {
  REQUIRE_MATRIX_CLOSE(rho, arma::cx_mat(rho.t()), tol);
  REQUIRE_CLOSE(std::real(arma::trace(rho)), 1.0, tol);
  const arma::vec eig = arma::eig_sym(arma::cx_mat(0.5 * (rho + rho.t())));
  REQUIRE(eig.min() >= -tol);
  REQUIRE(std::real(arma::trace(rho * rho)) <= 1.0 + tol);
}

// Restores the OpenMP thread count on scope exit.
struct ThreadCountGuard {
  int saved = kraus::engine::num_threads();
  ~ThreadCountGuard() { kraus::engine::set_num_threads(saved); }
};

}  // namespace

// ---- gates and unitaries -------------------------------------------------------------------------

TEST_CASE("every gate on every target tuple matches the dense reference", "[engine][reference]") {
  const int n = GENERATE(1, 2, 3, 4, 5);
  ref::Rng rng(100 + n);
  const arma::cx_mat rho = ref::random_density_matrix(n, rng);
  const DensityMatrix initial = DensityMatrix::from_matrix(rho);
  for (const GateInfo& info : gate_table()) {
    if (info.num_qubits > n) continue;
    for (const std::vector<int>& qubits : ref::ordered_tuples(n, info.num_qubits)) {
      const Params params = random_angles(info.num_params, rng);
      CAPTURE(n, info.name, qubits, params);
      DensityMatrix dm = initial;
      dm.apply(info.gate, qubits, params);
      REQUIRE_MATRIX_CLOSE(dm.matrix(), ref::apply_unitary(rho, gate_matrix(info.gate, params), qubits, n), kTol);
    }
  }
}

TEST_CASE("apply_unitary with random unitaries on every target tuple", "[engine][reference]") {
  const int n = GENERATE(1, 2, 3, 4, 5);
  ref::Rng rng(200 + n);
  const arma::cx_mat rho = ref::random_density_matrix(n, rng);
  const DensityMatrix initial = DensityMatrix::from_matrix(rho);
  for (int k = 1; k <= std::min(3, n); ++k) {
    for (const std::vector<int>& qubits : ref::ordered_tuples(n, k)) {
      CAPTURE(n, qubits);
      const arma::cx_mat u = ref::random_unitary(arma::uword{1} << k, rng);
      DensityMatrix dm = initial;
      dm.apply_unitary(qubits, u);
      REQUIRE_MATRIX_CLOSE(dm.matrix(), ref::apply_unitary(rho, u, qubits, n), kTol);
    }
  }
}

TEST_CASE("gates, unitaries and channels on an 8-qubit state (parallel kernels) match the reference",
          "[engine][reference][parallel]") {
  const int n = 8;
  REQUIRE(n >= kraus::noise::kParallelMinQubits);
  ThreadCountGuard guard;
  kraus::engine::set_num_threads(2);
  ref::Rng rng(250);
  const arma::cx_mat rho = ref::random_density_matrix(n, rng, 6);
  const DensityMatrix initial = DensityMatrix::from_matrix(rho);
  std::vector<Step> steps;
  for (const GateInfo& info : gate_table()) {
    for (const std::vector<int>& qubits : ref::random_tuples(n, info.num_qubits, 2, rng)) {
      steps.push_back(gate_step(info, qubits, random_angles(info.num_params, rng), n));
    }
  }
  for (int i = 0; i < 40; ++i) steps.push_back(random_noise_step(n, rng));
  for (const Step& step : steps) {
    CAPTURE(step.label);
    DensityMatrix dm = initial;
    step.apply(dm);
    REQUIRE_MATRIX_CLOSE(dm.matrix(), step.reference(rho), kTol);
  }
}

// ---- channels ------------------------------------------------------------------------------------

TEST_CASE("apply_kraus and apply_superoperator with random CPTP maps on every target tuple",
          "[engine][reference]") {
  const int n = GENERATE(1, 2, 3, 4, 5);
  ref::Rng rng(300 + n);
  const arma::cx_mat rho = ref::random_density_matrix(n, rng);
  const DensityMatrix initial = DensityMatrix::from_matrix(rho);
  for (int k = 1; k <= std::min(2, n); ++k) {
    for (const std::vector<int>& qubits : ref::ordered_tuples(n, k)) {
      const int count = 1 + static_cast<int>(rng() % 4);
      CAPTURE(n, qubits, count);
      const auto ops = ref::random_kraus_operators(arma::uword{1} << k, count, rng);
      const arma::cx_mat expected = ref::apply_kraus(rho, ops, qubits, n);
      DensityMatrix by_kraus = initial;
      by_kraus.apply_kraus(qubits, ops);
      REQUIRE_MATRIX_CLOSE(by_kraus.matrix(), expected, kTol);
      DensityMatrix by_superop = initial;
      by_superop.apply_superoperator(qubits, ref::superoperator_from_kraus(ops));
      REQUIRE_MATRIX_CLOSE(by_superop.matrix(), expected, kTol);
    }
  }
}

TEST_CASE("built-in channels equal their Kraus operators", "[engine][reference]") {
  const int n = GENERATE(1, 3, 5);
  ref::Rng rng(400 + n);
  const arma::cx_mat rho = ref::random_density_matrix(n, rng);
  const DensityMatrix initial = DensityMatrix::from_matrix(rho);
  for (int q = 0; q < n; ++q) {
    for (double x : {0.0, uniform(rng, 0, 1), 0.75, 1.0}) {
      CAPTURE(n, q, x);
      const std::vector<std::pair<std::function<void(DensityMatrix&)>, std::vector<arma::cx_mat>>> cases = {
          {[&](DensityMatrix& dm) { dm.apply_depolarizing(q, x); }, ref::depolarizing_kraus(x)},
          {[&](DensityMatrix& dm) { dm.apply_amplitude_damping(q, x); }, ref::amplitude_damping_kraus(x)},
          {[&](DensityMatrix& dm) { dm.apply_phase_damping(q, x); }, ref::phase_damping_kraus(x)},
          {[&](DensityMatrix& dm) { dm.measure(q); }, ref::measurement_kraus()},
          {[&](DensityMatrix& dm) { dm.reset(q); }, ref::reset_kraus()},
      };
      for (std::size_t c = 0; c < cases.size(); ++c) {
        CAPTURE(c);  // 0 depolarizing, 1 amplitude damping, 2 phase damping, 3 measure, 4 reset
        DensityMatrix dm = initial;
        cases[c].first(dm);
        REQUIRE_MATRIX_CLOSE(dm.matrix(), ref::apply_kraus(rho, cases[c].second, {q}, n), kTol);
      }
    }
  }
}

TEST_CASE("depolarising p = 3/4 leaves the qubit maximally mixed and p = 0 is the identity",
          "[engine][reference]") {
  const int n = 3;
  ref::Rng rng(5);
  const arma::cx_mat rho = ref::random_density_matrix(n, rng);
  for (int q = 0; q < n; ++q) {
    CAPTURE(q);
    std::vector<int> others;
    for (int o = 0; o < n; ++o)
      if (o != q) others.push_back(o);
    DensityMatrix dm = DensityMatrix::from_matrix(rho);
    dm.apply_depolarizing(q, 0.75);
    REQUIRE_MATRIX_CLOSE(ref::partial_trace(dm.matrix(), {q}, n), arma::cx_mat(0.5 * ref::pauli('I')), kTol);
    REQUIRE_MATRIX_CLOSE(ref::partial_trace(dm.matrix(), others, n), ref::partial_trace(rho, others, n), kTol);
    // The whole state is I/2 on q times the rest: depolarising again changes nothing.
    const arma::cx_mat once = dm.matrix();
    dm.apply_depolarizing(q, 0.75);
    REQUIRE_MATRIX_CLOSE(dm.matrix(), once, kTol);

    DensityMatrix untouched = DensityMatrix::from_matrix(rho);
    untouched.apply_depolarizing(q, 0.0);
    REQUIRE_MATRIX_CLOSE(untouched.matrix(), rho, kTol);
  }
}

// ---- whole circuits ------------------------------------------------------------------------------

TEST_CASE("long random noisy circuits keep a valid density matrix and match the reference",
          "[engine][reference][invariants]") {
  const int n = 5;
  ref::Rng rng(6);
  const std::vector<Step> steps = random_noisy_circuit(n, 200, rng);
  DensityMatrix dm = random_state(n, rng);
  arma::cx_mat expected = dm.matrix();
  for (std::size_t i = 0; i < steps.size(); ++i) {
    CAPTURE(i, steps[i].label);
    steps[i].apply(dm);
    expected = steps[i].reference(expected);
    if (i % 20 == 19 || i + 1 == steps.size()) {
      require_density_matrix(dm.matrix(), kTol);
      REQUIRE_CLOSE(dm.trace(), 1.0, kTol);
      REQUIRE(dm.purity() <= 1.0 + kTol);
      REQUIRE_MATRIX_CLOSE(dm.matrix(), expected, 1e-10);
    }
  }
}

TEST_CASE("a noiseless run equals |psi><psi| of an independent state-vector simulation",
          "[engine][reference]") {
  const int n = 4;
  const arma::uword d = arma::uword{1} << n;
  ref::Rng rng(7);
  // Every gate of the table at least once, in random order, then random extra gates.
  std::vector<const GateInfo*> order;
  for (const GateInfo& info : gate_table()) order.push_back(&info);
  std::shuffle(order.begin(), order.end(), rng);
  for (int extra = 0; extra < 40; ++extra) order.push_back(&random_gate(n, rng));

  const bool from_zero = GENERATE(true, false);
  arma::cx_vec psi = from_zero ? ref::basis_state(0, d) : ref::random_state_vector(n, rng);
  DensityMatrix dm = from_zero ? DensityMatrix(n) : DensityMatrix::from_state_vector(psi);
  for (const GateInfo* info : order) {
    const std::vector<int> qubits = random_targets(n, info->num_qubits, rng);
    const Params params = random_angles(info->num_params, rng);
    CAPTURE(info->name, qubits, params);
    dm.apply(info->gate, qubits, params);
    psi = ref::embed(gate_matrix(info->gate, params), qubits, n) * psi;
  }
  REQUIRE_MATRIX_CLOSE(dm.matrix(), arma::cx_mat(psi * psi.t()), 1e-11);
  REQUIRE_CLOSE(dm.fidelity(psi), 1.0, 1e-11);
  REQUIRE_CLOSE(dm.purity(), 1.0, 1e-11);
}

TEST_CASE("reset_to_zero_state and the initial state are |0...0><0...0|", "[engine]") {
  ref::Rng rng(8);
  const int n = 3;
  const arma::cx_mat zero = ref::ket_bra(0, 0, 8);
  DensityMatrix dm(n);
  REQUIRE(dm.num_qubits() == n);
  REQUIRE(dm.dim() == 8);
  REQUIRE_MATRIX_CLOSE(dm.matrix(), zero, 0.0);
  for (const Step& step : random_noisy_circuit(n, 10, rng)) step.apply(dm);
  dm.reset_to_zero_state();
  REQUIRE_MATRIX_CLOSE(dm.matrix(), zero, 0.0);
  // Resetting every qubit reaches the same state.
  DensityMatrix noisy = random_state(n, rng);
  for (int q = 0; q < n; ++q) noisy.reset(q);
  REQUIRE_MATRIX_CLOSE(noisy.matrix(), zero, kTol);
}

// ---- read-outs -----------------------------------------------------------------------------------

TEST_CASE("read-outs match their dense definitions", "[engine][reference][readout]") {
  const int n = GENERATE(1, 2, 4);
  ref::Rng rng(900 + n);
  const arma::cx_mat rho = ref::random_density_matrix(n, rng);
  const DensityMatrix dm = DensityMatrix::from_matrix(rho);
  const arma::uword d = arma::uword{1} << n;

  REQUIRE_CLOSE(dm.trace(), std::real(arma::trace(rho)), kTol);
  REQUIRE_CLOSE(dm.purity(), std::real(arma::trace(rho * rho)), kTol);

  const std::vector<double> p = dm.probabilities();
  REQUIRE(p.size() == d);
  for (arma::uword i = 0; i < d; ++i) REQUIRE_CLOSE(p[i], std::real(rho(i, i)), kTol);

  for (int trial = 0; trial < 5; ++trial) {
    const arma::cx_vec psi = ref::random_state_vector(n, rng);
    REQUIRE_CLOSE(dm.fidelity(psi), std::real(arma::cdot(psi, rho * psi)), kTol);
  }

  for (int k = 1; k <= n; ++k) {
    for (const std::vector<int>& qubits : ref::ordered_tuples(n, k)) {
      CAPTURE(qubits);
      const arma::uword dk = arma::uword{1} << k;
      // Marginal j = Tr(rho |j><j|_qubits), bit m of j being qubits[m].
      const std::vector<double> marginal = dm.marginal_probabilities(qubits);
      REQUIRE(marginal.size() == dk);
      for (arma::uword j = 0; j < dk; ++j) {
        REQUIRE_CLOSE(marginal[j], std::real(arma::trace(rho * ref::embed(ref::ket_bra(j, j, dk), qubits, n))),
                      kTol);
      }
      const DensityMatrix reduced = dm.reduced(qubits);
      REQUIRE(reduced.num_qubits() == k);
      REQUIRE_MATRIX_CLOSE(reduced.matrix(), ref::partial_trace(rho, qubits, n), kTol);
    }
  }
}

TEST_CASE("reduced of a product state returns its factors in the requested order", "[engine][readout]") {
  ref::Rng rng(10);
  const arma::cx_mat a = ref::random_density_matrix(1, rng);  // qubit 0
  const arma::cx_mat b = ref::random_density_matrix(1, rng);  // qubit 1
  const arma::cx_mat c = ref::random_density_matrix(1, rng);  // qubit 2
  const DensityMatrix dm = DensityMatrix::from_matrix(arma::kron(c, arma::kron(b, a)));
  REQUIRE_MATRIX_CLOSE(dm.reduced({0}).matrix(), a, kTol);
  REQUIRE_MATRIX_CLOSE(dm.reduced({1}).matrix(), b, kTol);
  REQUIRE_MATRIX_CLOSE(dm.reduced({2}).matrix(), c, kTol);
  // reduced({2, 0}): qubit 2 becomes qubit 0 of the result, qubit 0 becomes qubit 1.
  REQUIRE_MATRIX_CLOSE(dm.reduced({2, 0}).matrix(), arma::cx_mat(arma::kron(a, c)), kTol);
  REQUIRE_MATRIX_CLOSE(dm.reduced({0, 1, 2}).matrix(), dm.matrix(), kTol);
  REQUIRE_MATRIX_CLOSE(dm.reduced({1, 2, 0}).matrix(), arma::cx_mat(arma::kron(a, arma::kron(c, b))), kTol);
}

// ---- validation ----------------------------------------------------------------------------------

TEST_CASE("invalid arguments throw std::invalid_argument and leave the state unchanged",
          "[engine][validation]") {
  ref::Rng rng(11);
  const int n = 3;
  DensityMatrix dm = random_state(n, rng);
  const arma::cx_mat before = dm.matrix();
  const arma::cx_mat u1 = ref::random_unitary(2, rng), u2 = ref::random_unitary(4, rng);
  const auto kraus1 = ref::random_kraus_operators(2, 2, rng);
  const arma::cx_mat superop1 = ref::superoperator_from_kraus(kraus1);

  SECTION("qubits out of range or repeated") {
    for (int bad : {-1, n, 100}) {
      CAPTURE(bad);
      CHECK_THROWS_AS(dm.apply(Gate::kH, {bad}), std::invalid_argument);
      CHECK_THROWS_AS(dm.apply(Gate::kCX, {0, bad}), std::invalid_argument);
      CHECK_THROWS_AS(dm.apply_unitary({bad}, u1), std::invalid_argument);
      CHECK_THROWS_AS(dm.apply_kraus({bad}, kraus1), std::invalid_argument);
      CHECK_THROWS_AS(dm.apply_superoperator({bad}, superop1), std::invalid_argument);
      CHECK_THROWS_AS(dm.apply_depolarizing(bad, 0.1), std::invalid_argument);
      CHECK_THROWS_AS(dm.apply_amplitude_damping(bad, 0.1), std::invalid_argument);
      CHECK_THROWS_AS(dm.apply_phase_damping(bad, 0.1), std::invalid_argument);
      CHECK_THROWS_AS(dm.measure(bad), std::invalid_argument);
      CHECK_THROWS_AS(dm.reset(bad), std::invalid_argument);
      CHECK_THROWS_AS(dm.marginal_probabilities({bad}), std::invalid_argument);
      CHECK_THROWS_AS(dm.reduced({0, bad}), std::invalid_argument);
    }
    CHECK_THROWS_AS(dm.apply(Gate::kCX, {1, 1}), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply(Gate::kCCX, {0, 2, 0}), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply_unitary({2, 2}, u2), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply_kraus({0, 0}, ref::random_kraus_operators(4, 2, rng)), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply_superoperator({1, 1}, arma::cx_mat(16, 16, arma::fill::eye)), std::invalid_argument);
    CHECK_THROWS_AS(dm.marginal_probabilities({1, 1}), std::invalid_argument);
    CHECK_THROWS_AS(dm.reduced({2, 2}), std::invalid_argument);
    CHECK_THROWS_AS(dm.reduced({}), std::invalid_argument);
  }

  SECTION("wrong qubit or parameter counts") {
    CHECK_THROWS_AS(dm.apply(Gate::kCX, {0}), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply(Gate::kH, {0, 1}), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply(Gate::kCCX, {0, 1}), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply(Gate::kRX, {0}), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply(Gate::kRX, {0}, {0.1, 0.2}), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply(Gate::kH, {0}, {0.1}), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply(Gate::kCU, {0, 1}, {0.1, 0.2, 0.3}), std::invalid_argument);
  }

  SECTION("wrong matrix sizes, non-unitary matrices and non-trace-preserving channels") {
    CHECK_THROWS_AS(dm.apply_unitary({0}, u2), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply_unitary({0, 1}, u1), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply_unitary({0}, arma::cx_mat(2, 3, arma::fill::eye)), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply_unitary({}, arma::cx_mat(1, 1, arma::fill::eye)), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply_unitary({0}, arma::cx_mat(2.0 * u1)), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply_unitary({0}, ref::complex_gaussian(2, 2, rng)), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply_superoperator({0}, arma::cx_mat(16, 16, arma::fill::eye)), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply_superoperator({0, 1}, superop1), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply_superoperator({0, 1, 2, 3}, arma::cx_mat(256, 256, arma::fill::eye)),
                    std::invalid_argument);
    CHECK_THROWS_AS(dm.apply_kraus({0}, {}), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply_kraus({0}, {arma::cx_mat(4, 4, arma::fill::eye)}), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply_kraus({0}, {arma::cx_mat(0.5 * u1)}), std::invalid_argument);
    CHECK_THROWS_AS(dm.apply_kraus({0, 1, 2, 3}, {arma::cx_mat(16, 16, arma::fill::eye)}), std::invalid_argument);
    CHECK_THROWS_AS(dm.fidelity(arma::cx_vec(4, arma::fill::ones) / 2.0), std::invalid_argument);
  }

  SECTION("channel parameters outside [0, 1]") {
    for (double bad : {-0.01, 1.01, std::numeric_limits<double>::quiet_NaN()}) {
      CAPTURE(bad);
      CHECK_THROWS_AS(dm.apply_depolarizing(0, bad), std::invalid_argument);
      CHECK_THROWS_AS(dm.apply_amplitude_damping(0, bad), std::invalid_argument);
      CHECK_THROWS_AS(dm.apply_phase_damping(0, bad), std::invalid_argument);
    }
  }

  REQUIRE_MATRIX_CLOSE(dm.matrix(), before, 0.0);
}

TEST_CASE("from_matrix and from_state_vector validate their input", "[engine][validation]") {
  ref::Rng rng(12);
  const arma::cx_mat good = ref::random_density_matrix(2, rng);
  CHECK_NOTHROW(DensityMatrix::from_matrix(good));

  arma::cx_mat non_hermitian = good;
  non_hermitian(0, 1) += Complex(0.0, 1e-3);
  CHECK_THROWS_AS(DensityMatrix::from_matrix(non_hermitian), std::invalid_argument);
  CHECK_THROWS_AS(DensityMatrix::from_matrix(arma::cx_mat(1.01 * good)), std::invalid_argument);
  arma::cx_mat negative(2, 2, arma::fill::zeros);
  negative(0, 0) = 1.5;
  negative(1, 1) = -0.5;
  CHECK_THROWS_AS(DensityMatrix::from_matrix(negative), std::invalid_argument);
  CHECK_THROWS_AS(DensityMatrix::from_matrix(arma::cx_mat(3, 3, arma::fill::eye) / 3.0), std::invalid_argument);
  CHECK_THROWS_AS(DensityMatrix::from_matrix(arma::cx_mat(2, 4, arma::fill::zeros)), std::invalid_argument);
  CHECK_THROWS_AS(DensityMatrix::from_matrix(arma::cx_mat(1, 1, arma::fill::ones)), std::invalid_argument);

  const arma::cx_vec psi = ref::random_state_vector(3, rng);
  const DensityMatrix pure = DensityMatrix::from_state_vector(psi);
  REQUIRE(pure.num_qubits() == 3);
  REQUIRE_MATRIX_CLOSE(pure.matrix(), arma::cx_mat(psi * psi.t()), kTol);
  CHECK_THROWS_AS(DensityMatrix::from_state_vector(arma::cx_vec(1.01 * psi)), std::invalid_argument);
  CHECK_THROWS_AS(DensityMatrix::from_state_vector(arma::cx_vec(8, arma::fill::zeros)), std::invalid_argument);
  arma::cx_vec three(3, arma::fill::zeros);
  three(0) = 1.0;
  CHECK_THROWS_AS(DensityMatrix::from_state_vector(three), std::invalid_argument);
  CHECK_THROWS_AS(DensityMatrix::from_state_vector(arma::cx_vec(1, arma::fill::ones)), std::invalid_argument);

  for (int bad : {-1, 0, kraus::noise::kMaxQubits + 1}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(DensityMatrix(bad), std::invalid_argument);
  }
  CHECK_THROWS_AS(kraus::engine::set_num_threads(0), std::invalid_argument);
}

// ---- memory --------------------------------------------------------------------------------------

TEST_CASE("density_matrix_bytes is 16 * 4^n", "[engine][memory]") {
  CHECK(kraus::engine::density_matrix_bytes(1) == 64);
  CHECK(kraus::engine::density_matrix_bytes(10) == 16777216);
  CHECK(kraus::engine::density_matrix_bytes(15) == 17179869184ULL);  // 16 GiB
}

// 16 * 4^30 = 2^64 does not fit in 64 bits: the count must saturate rather than wrap to 0 (which
// would let DensityMatrix(30) past the memory check).
TEST_CASE("density_matrix_bytes never under-reports for any accepted qubit count", "[engine][memory]") {
  for (int n = 1; n <= kraus::noise::kMaxQubits; ++n) {
    CAPTURE(n);
    const long double exact = 16.0L * std::pow(4.0L, n);
    const long double representable =
        std::min(exact, static_cast<long double>(std::numeric_limits<std::uint64_t>::max()));
    CHECK(static_cast<long double>(kraus::engine::density_matrix_bytes(n)) >= representable);
  }
}

TEST_CASE("require_memory refuses what the machine cannot hold", "[engine][memory]") {
  CHECK_NOTHROW(kraus::engine::require_memory(1, kraus::engine::density_matrix_bytes(1)));
  bool threw = false;
  try {
    kraus::engine::require_memory(40, std::uint64_t{1} << 62);  // 4 EiB
  } catch (const std::runtime_error& e) {
    threw = true;
    const std::string message = e.what();
    CAPTURE(message);
    CHECK(message.find("40 qubits need") != std::string::npos);
    CHECK(message.find("GiB") != std::string::npos);
  }
  CHECK(threw);
}

TEST_CASE("DensityMatrix throws std::runtime_error before allocating an impossible state",
          "[engine][memory]") {
  // 16 * 4^20 bytes = 16 TiB and more: no test machine has that much.
  for (int n : {20, 25, 29, 30}) {
    CAPTURE(n);
    CHECK_THROWS_AS(DensityMatrix(n), std::runtime_error);
  }
}

// ---- threads -------------------------------------------------------------------------------------

TEST_CASE("results do not depend on the number of threads", "[engine][threads]") {
  const int n = 9;
  REQUIRE(n >= kraus::noise::kParallelMinQubits);
  ref::Rng rng(13);
  const std::vector<Step> steps = random_noisy_circuit(n, 60, rng);
  const arma::cx_vec psi = ref::random_state_vector(n, rng);
  ThreadCountGuard guard;

  struct Result {
    arma::cx_mat matrix;
    double trace, purity, fidelity;
  };
  auto run = [&](int threads) {
    kraus::engine::set_num_threads(threads);
    DensityMatrix dm(n);
    for (const Step& step : steps) step.apply(dm);
    return Result{dm.matrix(), dm.trace(), dm.purity(), dm.fidelity(psi)};
  };
  const Result one = run(1);
  const Result two = run(2);
  REQUIRE_MATRIX_CLOSE(one.matrix, two.matrix, kTol);
  REQUIRE_CLOSE(one.trace, two.trace, kTol);
  REQUIRE_CLOSE(one.purity, two.purity, kTol);
  REQUIRE_CLOSE(one.fidelity, two.fidelity, kTol);
  require_density_matrix(two.matrix, 1e-10);
}

// Issue 11: --threads 1024 on 2 cores ran 60 times slower; the count is capped at the CPUs this
// process may run on.
TEST_CASE("set_num_threads caps the count at the available cores", "[engine][threads][hardening]") {
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(sched_getaffinity(0, sizeof set, &set) == 0);
  const int cores = CPU_COUNT(&set);
  ThreadCountGuard guard;
  CHECK(kraus::engine::set_num_threads(1024) == cores);
  CHECK(kraus::engine::num_threads() == cores);
  CHECK(kraus::engine::set_num_threads(1) == 1);
  CHECK(kraus::engine::num_threads() == 1);
}

// AddressSanitizer reserves terabytes of address space: no address-space limit under it.
#if !defined(__SANITIZE_ADDRESS__)
TEST_CASE("require_memory respects the address-space limit", "[engine][memory][hardening]") {
  // In a child process: a limit of what is mapped now plus 512 MiB refuses 1 GiB (13 qubits)
  // whatever the machine has available, and DensityMatrix(13) fails with the check's message
  // instead of std::bad_alloc. Exit status 0 when both hold.
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t pages = 0;
    statm >> pages;
    const rlim_t limit = pages * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) + (rlim_t{512} << 20);
    const rlimit r{limit, limit};
    if (setrlimit(RLIMIT_AS, &r) != 0) _exit(3);
    int failures = 0;
    try {
      kraus::engine::require_memory(13, kraus::engine::density_matrix_bytes(13));
      ++failures;
    } catch (const std::runtime_error& e) {
      failures += std::string(e.what()).find("ulimit -v") == std::string::npos;
    }
    try {
      DensityMatrix rho(13);
      ++failures;
    } catch (const std::bad_alloc&) {
      ++failures;
    } catch (const std::runtime_error& e) {
      failures += std::string(e.what()).find("13 qubits need 1.0 GiB") == std::string::npos;
    }
    _exit(failures == 0 ? 0 : 1);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
#endif
