// Unitary folding and identity insertion: Mitiq's formulas, the noiseless state kept, refusals.
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <random>
#include <vector>

#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/simulator.hpp"
#include "kraus/mitigation/noise_scaling.hpp"
#include "reference/test_support.hpp"

using namespace kraus::engine;
using namespace kraus::mitigation;

namespace {

Circuit chain_of_x(int n) {
  Circuit c(1);
  for (int i = 0; i < n; ++i) c.add_gate(Gate::kX, {0});
  return c;
}

// A 3-qubit circuit with every kind of gate and a barrier.
Circuit mixed_circuit() {
  Circuit c(3, 3);
  c.add_gate(Gate::kH, {0});
  c.add_gate(Gate::kCX, {0, 1});
  c.add_gate(Gate::kRY, {2}, {0.7});
  c.add_gate(Gate::kS, {1});
  c.add_barrier({0, 1, 2});
  c.add_gate(Gate::kISwap, {1, 2});
  c.add_gate(Gate::kU2, {0}, {0.3, -0.9});
  c.add_unitary({2}, gate_matrix(Gate::kU3, {1.1, 0.2, -0.5}));
  c.add_gate(Gate::kCU, {2, 0}, {0.5, 0.6, 0.7, 0.8});
  c.add_gate(Gate::kRZZ, {0, 1}, {0.9});
  c.add_gate(Gate::kCCX, {0, 1, 2});
  c.add_gate(Gate::kTdg, {2});
  return c;
}

arma::cx_mat noiseless_state(const Circuit& c) {
  DensityMatrix rho(c.num_qubits());
  simulate(c, nullptr, rho);
  return rho.matrix();
}

// Mitiq's fold_global factor for N gates, computed independently.
double global_factor(double s, int n) {
  const double g = std::floor((s - 1) / 2);
  const double f = (s - 1) - 2 * g;
  const double x = f * n / 2;
  double k = std::round(x);
  if (std::fabs(x - std::floor(x) - 0.5) < 1e-12) k = 2 * std::round(x / 2);  // ties to even
  return 1 + 2 * g + 2 * k / n;
}

}  // namespace

TEST_CASE("round_half_to_even is Python's round", "[mitigation][folding]") {
  REQUIRE(round_half_to_even(0.5) == 0.0);
  REQUIRE(round_half_to_even(1.5) == 2.0);
  REQUIRE(round_half_to_even(2.5) == 2.0);
  REQUIRE(round_half_to_even(3.5) == 4.0);
  REQUIRE(round_half_to_even(-0.5) == 0.0);
  REQUIRE(round_half_to_even(-1.5) == -2.0);
  REQUIRE(round_half_to_even(2.4) == 2.0);
  REQUIRE(round_half_to_even(2.6) == 3.0);
  REQUIRE(round_half_to_even(7.0) == 7.0);
}

TEST_CASE("fold_global realises 1 + 2g + 2k/N with k rounded half to even", "[mitigation][folding]") {
  for (int n : {1, 2, 3, 4, 5, 7, 10, 11, 50}) {
    const Circuit c = chain_of_x(n);
    for (double s : {1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 3.7, 4.0, 5.0, 6.0, 9.3}) {
      INFO("N = " << n << ", s = " << s);
      const ScaledCircuit sc = fold_global(c, s);
      REQUIRE(sc.requested_scale_factor == s);
      REQUIRE_CLOSE(sc.realized_scale_factor, global_factor(s, n), 1e-12);
      REQUIRE_CLOSE(static_cast<double>(num_gates(sc.circuit)), sc.realized_scale_factor * n, 1e-9);
    }
  }
  // Worked values: N = 10, s = 2 -> k = 5, exactly 2; N = 5 -> k = round(2.5) = 2, 1.8;
  // N = 3 -> k = round(1.5) = 2, 7/3; N = 7 -> k = round(3.5) = 4, 15/7; N = 1 -> k = round(0.5) = 0.
  REQUIRE(fold_global(chain_of_x(10), 2).realized_scale_factor == 2.0);
  REQUIRE_CLOSE(fold_global(chain_of_x(5), 2).realized_scale_factor, 1.8, 1e-15);
  REQUIRE_CLOSE(fold_global(chain_of_x(3), 2).realized_scale_factor, 7.0 / 3.0, 1e-15);
  REQUIRE_CLOSE(fold_global(chain_of_x(7), 2).realized_scale_factor, 15.0 / 7.0, 1e-15);
  REQUIRE(fold_global(chain_of_x(1), 2).realized_scale_factor == 1.0);
  // Mitiq paper: 50 gates at 1, 2, 3, 5, 7, 9 -> 50, 100, 150, 250, 350, 450 gates.
  const int expected[] = {50, 100, 150, 250, 350, 450};
  const double factors[] = {1, 2, 3, 5, 7, 9};
  for (int i = 0; i < 6; ++i) REQUIRE(num_gates(fold_global(chain_of_x(50), factors[i]).circuit) == expected[i]);
}

TEST_CASE("fold_global builds C (C^-1 C)^g and folds the last gates by layer", "[mitigation][folding]") {
  Circuit c(3);
  c.add_gate(Gate::kH, {0});       // layer 0
  c.add_gate(Gate::kCX, {0, 1});   // layer 1
  c.add_gate(Gate::kS, {2});       // layer 0
  const ScaledCircuit f3 = fold_global(c, 3);
  const auto& ops3 = f3.circuit.operations();
  REQUIRE(ops3.size() == 9);
  const Gate g3[] = {Gate::kH, Gate::kCX, Gate::kS, Gate::kSdg, Gate::kCX, Gate::kH, Gate::kH, Gate::kCX, Gate::kS};
  for (int i = 0; i < 9; ++i) REQUIRE(ops3[i].gate == g3[i]);
  // s = 1.7: f = 0.7, k = round(1.05) = 1: the last gate is cx (layer 1), though s comes later in the list.
  const ScaledCircuit f17 = fold_global(c, 1.7);
  const auto& ops = f17.circuit.operations();
  REQUIRE(ops.size() == 5);
  REQUIRE(ops[3].gate == Gate::kCX);
  REQUIRE(ops[4].gate == Gate::kCX);
  // s = 2.4: k = round(2.1) = 2: cx, then s (layer 0, later in the list than h); inverses last-first.
  const ScaledCircuit f24 = fold_global(c, 2.4);
  const auto& ops2 = f24.circuit.operations();
  REQUIRE(ops2.size() == 7);
  REQUIRE(ops2[3].gate == Gate::kCX);
  REQUIRE(ops2[4].gate == Gate::kSdg);
  REQUIRE(ops2[5].gate == Gate::kS);
  REQUIRE(ops2[6].gate == Gate::kCX);
}

TEST_CASE("fold_all: k = round((s-1)/2) half to even, with Mitiq's pitfalls", "[mitigation][folding]") {
  const Circuit c = mixed_circuit();
  const int n = num_gates(c);
  REQUIRE(n == 11);  // the barrier is not a gate
  const std::pair<double, double> cases[] = {{1, 1}, {2, 1}, {3, 3}, {4, 5}, {5, 5}, {6, 5}, {7, 7}, {8, 9}};
  for (const auto& [s, realised] : cases) {
    INFO("s = " << s);
    const ScaledCircuit sc = fold_all(c, s);
    REQUIRE(sc.realized_scale_factor == realised);
    REQUIRE(num_gates(sc.circuit) == static_cast<int>(realised) * n);
  }
}

TEST_CASE("fold_gates_at_random: uniform folds, greedy extras, seeded", "[mitigation][folding]") {
  const Circuit x50 = chain_of_x(50);
  REQUIRE(num_gates(fold_gates_at_random(x50, 2, 3).circuit) == 100);
  REQUIRE(num_gates(fold_gates_at_random(x50, 3, 3).circuit) == 150);
  REQUIRE(num_gates(fold_gates_at_random(x50, 9, 3).circuit) == 450);
  // N = 10, s = 2.5: target 25 gates; 24 (error 1) and 26 (error 1, not strictly better) -> 24.
  const Circuit x10 = chain_of_x(10);
  REQUIRE(fold_gates_at_random(x10, 2.5, 1).realized_scale_factor == 2.4);
  // N = 10, s = 1.3: 13 -> 12 (error 1) then 14 (error 1): 1.2.
  REQUIRE(fold_gates_at_random(x10, 1.3, 1).realized_scale_factor == 1.2);
  // Same seed, same circuit; the choice depends on the seed.
  const Circuit c = mixed_circuit();
  auto signature = [](const Circuit& circuit) {
    std::vector<std::pair<int, int>> sig;
    for (const Operation& op : circuit.operations()) sig.push_back({static_cast<int>(op.kind), static_cast<int>(op.gate)});
    return sig;
  };
  REQUIRE(signature(fold_gates_at_random(c, 2, 11).circuit) == signature(fold_gates_at_random(c, 2, 11).circuit));
  bool differs = false;
  for (std::uint64_t seed = 1; seed < 20 && !differs; ++seed) {
    differs = signature(fold_gates_at_random(c, 2, seed).circuit) != signature(fold_gates_at_random(c, 2, 11).circuit);
  }
  REQUIRE(differs);
  // Weight-0 gates are never folded; the realised factor is weighted.
  const Circuit x4 = chain_of_x(4);
  const ScaledCircuit w = fold_gates_at_random(x4, 5, 2, {1.0, 0.0, 1.0, 0.0});
  REQUIRE(num_gates(w.circuit) == 12);  // 5 + 1 + 5 + 1
  REQUIRE(w.realized_scale_factor == 5.0);
  REQUIRE_THROWS_AS(fold_gates_at_random(x4, 2, 1, {1.0, 1.0}), std::invalid_argument);
  REQUIRE_THROWS_AS(fold_gates_at_random(x4, 2, 1, {0.0, 0.0, 0.0, 0.0}), UnfoldableCircuitError);
}

TEST_CASE("identity insertion and layer folding", "[mitigation][folding]") {
  const Circuit c = mixed_circuit();
  int depth = 0;
  (void)asap_layers(c, &depth);
  // Odd and integer factors: (s - 1) identity layers after every layer.
  for (int s = 1; s <= 4; ++s) {
    const ScaledCircuit sc = insert_identity_layers(c, s, 1);
    REQUIRE(sc.realized_scale_factor == s);
    int ids = 0;
    for (const Operation& op : sc.circuit.operations()) ids += (op.kind == OpKind::kGate && op.gate == Gate::kI) ? 1 : 0;
    REQUIRE(ids == (s - 1) * depth * c.num_qubits());
    int scaled_depth = 0;
    (void)asap_layers(sc.circuit, &scaled_depth);
    REQUIRE(scaled_depth == s * depth);
  }
  // Fractional: floor(d (s - 1 - u)) extra layers.
  const ScaledCircuit half = insert_identity_layers(c, 2.5, 4);
  REQUIRE_CLOSE(half.realized_scale_factor, (2.0 * depth + std::floor(depth * 0.5)) / depth, 1e-15);
  // Layer folding: layer 1 folded (s - 1) // 2 times.
  std::vector<int> folds(static_cast<std::size_t>(depth), 0);
  folds[0] = 1;
  folds[2] = 2;
  const ScaledCircuit lf = fold_layers(c, folds);
  const std::vector<int> layer = asap_layers(c, nullptr);
  int in0 = 0, in2 = 0;
  for (std::size_t i = 0; i < layer.size(); ++i) {
    if (c.operations()[i].kind == OpKind::kBarrier) continue;
    in0 += layer[i] == 0;
    in2 += layer[i] == 2;
  }
  REQUIRE(num_gates(lf.circuit) == num_gates(c) + 2 * in0 + 4 * in2);
  REQUIRE_CLOSE(fold_layer(c, 2, 5.9).realized_scale_factor, lf.realized_scale_factor - 2.0 * in0 / num_gates(c), 1e-14);
  REQUIRE_THROWS_AS(fold_layer(c, depth, 3), std::invalid_argument);
  REQUIRE_THROWS_AS(fold_layers(c, {1}), std::invalid_argument);
}

TEST_CASE("every scaling keeps the noiseless state", "[mitigation][folding]") {
  const Circuit c = mixed_circuit();
  const arma::cx_mat ideal = noiseless_state(c);
  int depth = 0;
  (void)asap_layers(c, &depth);
  for (double s : {1.0, 1.4, 2.0, 2.7, 3.0, 4.2, 5.0}) {
    INFO("s = " << s);
    REQUIRE_MATRIX_CLOSE(noiseless_state(fold_global(c, s).circuit), ideal, 1e-11);
    REQUIRE_MATRIX_CLOSE(noiseless_state(fold_gates_at_random(c, s, 5).circuit), ideal, 1e-11);
    REQUIRE_MATRIX_CLOSE(noiseless_state(fold_all(c, s).circuit), ideal, 1e-11);
    REQUIRE_MATRIX_CLOSE(noiseless_state(insert_identity_layers(c, s, 5).circuit), ideal, 1e-11);
    REQUIRE_MATRIX_CLOSE(noiseless_state(fold_layer(c, static_cast<int>(s) % depth, s).circuit), ideal, 1e-11);
  }
}

TEST_CASE("measurements stay at the end; unfoldable circuits are refused", "[mitigation][folding]") {
  Circuit c(2, 2);
  c.add_reset(0);  // acts on |0>: kept at the front
  c.add_gate(Gate::kH, {0});
  c.add_measure(0, 0);  // terminal for qubit 0 although qubit 1 continues
  c.add_gate(Gate::kX, {1});
  c.add_measure(1, 1);
  const ScaledCircuit sc = fold_global(c, 3);
  const auto& ops = sc.circuit.operations();
  REQUIRE(ops.front().kind == OpKind::kReset);
  REQUIRE(ops.size() == 1 + 6 + 2);
  REQUIRE(ops[ops.size() - 2].kind == OpKind::kMeasure);
  REQUIRE(ops[ops.size() - 2].clbit == 0);
  REQUIRE(ops.back().kind == OpKind::kMeasure);
  REQUIRE(ops.back().clbit == 1);
  REQUIRE(sc.realized_scale_factor == 3.0);

  Circuit mid(1, 1);
  mid.add_gate(Gate::kH, {0});
  mid.add_measure(0, 0);
  mid.add_gate(Gate::kH, {0});
  REQUIRE_THROWS_AS(fold_global(mid, 3), UnfoldableCircuitError);
  REQUIRE_THROWS_WITH(fold_all(mid, 3), Catch::Matchers::Contains("mid-circuit measurement"));
  REQUIRE_THROWS_AS(check_foldable(mid), UnfoldableCircuitError);

  Circuit reset_after(1);
  reset_after.add_gate(Gate::kX, {0});
  reset_after.add_reset(0);
  REQUIRE_THROWS_WITH(fold_gates_at_random(reset_after, 3, 1), Catch::Matchers::Contains("reset"));

  Circuit empty(2);
  empty.add_barrier({0, 1});
  REQUIRE_THROWS_AS(fold_global(empty, 3), UnfoldableCircuitError);
  REQUIRE_THROWS_AS(fold_global(chain_of_x(3), 0.5), std::invalid_argument);
  REQUIRE_THROWS_AS(fold_all(chain_of_x(3), std::nan("")), std::invalid_argument);
}

TEST_CASE("barriers are kept and not counted", "[mitigation][folding]") {
  Circuit c(2);
  c.add_gate(Gate::kH, {0});
  c.add_barrier({0, 1});
  c.add_gate(Gate::kCX, {0, 1});
  const ScaledCircuit sc = fold_global(c, 3);
  int barriers = 0;
  for (const Operation& op : sc.circuit.operations()) barriers += op.kind == OpKind::kBarrier;
  REQUIRE(barriers == 3);
  REQUIRE(num_gates(sc.circuit) == 6);
  REQUIRE(sc.realized_scale_factor == 3.0);
}

// Issue 11: s = 1e9 on a Bell circuit used to build 4e9 operations (bad_alloc); a scaled circuit is
// bounded by kMaxScaledOperations, checked before anything is built.
TEST_CASE("scale factors whose circuit would exceed the operation limit are refused before building",
          "[mitigation][folding][hardening]") {
  Circuit bell(2);
  bell.add_gate(Gate::kH, {0});
  bell.add_gate(Gate::kCX, {0, 1});
  const std::vector<std::function<ScaledCircuit(double)>> methods = {
      [&](double s) { return fold_global(bell, s); },
      [&](double s) { return fold_gates_at_random(bell, s, 1); },
      [&](double s) { return fold_all(bell, s); },
      [&](double s) { return fold_layer(bell, 0, s); },
      [&](double s) { return insert_identity_layers(bell, s, 1); }};
  for (std::size_t m = 0; m < methods.size(); ++m) {
    CAPTURE(m);
    for (const double s : {1e9, 1e12, 1e300}) {
      CAPTURE(s);
      try {
        (void)methods[m](s);
        FAIL("accepted");
      } catch (const std::invalid_argument& e) {
        const std::string message = e.what();
        CAPTURE(message);
        CHECK(message.find("noise scale factor") != std::string::npos);
        CHECK(message.find("the limit is 1000000") != std::string::npos);
      }
    }
  }
  // Exact sizes at the edge: fold_global of one gate gives 2 floor((s-1)/2) + 1 operations.
  const Circuit one = chain_of_x(1);
  std::string refusal;
  try {
    (void)fold_global(one, 1000003);
  } catch (const std::invalid_argument& e) {
    refusal = e.what();
  }
  CHECK(refusal.find("at least 1000003 operations (fold-global on 1 gates)") != std::string::npos);
  CHECK(fold_global(one, 1001).circuit.operations().size() == 1001);
  // fold_layers takes counts, not a factor: the same bound.
  CHECK_THROWS_AS(fold_layers(bell, {std::numeric_limits<int>::max(), 0}), std::invalid_argument);
}
