// engine::simulate under noise models against the independent dense simulation of
// tests/cli/noisy_reference.hpp (rules, ASAP idle noise, measure and reset re-implemented there),
// hand-computed cases for each semantic rule, readout against the dense confusion product, and the
// combinations validate_noise must refuse.
#include <cmath>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/noisy_reference.hpp"
#include "kraus/engine/circuit.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/simulator.hpp"
#include "kraus/noise/noise_model.hpp"
#include "reference/test_support.hpp"

namespace {

namespace ref = kraus::test;
namespace noisy = kraus::test::noisy;
using kraus::engine::Circuit;
using kraus::engine::DensityMatrix;
using kraus::engine::Gate;
using kraus::noise::ChannelSpec;
using kraus::noise::GateNoiseRule;
using kraus::noise::NoiseModel;
using kraus::noise::NoiseModelError;
using kraus::noise::ReadoutSpec;

constexpr double kTol = 1e-10;

arma::cx_mat engine_result(const Circuit& c, const NoiseModel* model) {
  DensityMatrix rho(c.num_qubits());
  kraus::engine::simulate(c, model, rho);
  return rho.matrix();
}

arma::cx_mat engine_result(const noisy::RefCircuit& c, const NoiseModel* model) {
  return engine_result(noisy::to_circuit(c), model);
}

ChannelSpec spec(const std::string& type, std::map<std::string, double> params, int num_qubits = 0) {
  return {type, std::move(params), {}, {}, "", num_qubits};
}

std::string describe(const noisy::RefCircuit& c) {
  std::string s;
  for (const noisy::RefOp& op : c.ops) {
    switch (op.kind) {
      case noisy::RefKind::kGate:
      case noisy::RefKind::kUnitary: s += op.name; break;
      case noisy::RefKind::kMeasure: s += "measure"; break;
      case noisy::RefKind::kReset: s += "reset"; break;
      case noisy::RefKind::kBarrier: s += "barrier"; break;
    }
    for (int q : op.qubits) s += " " + std::to_string(q);
    s += "; ";
  }
  return s;
}

}  // namespace

// ---- random circuits against the dense reference, one channel family at a time -----------------------

TEST_CASE("simulator: random circuits under each channel type match the dense reference", "[simulator]") {
  const std::string family = GENERATE(from_range(noisy::channel_cases()));
  const bool idle = GENERATE(false, true);
  INFO("channel family " << family << (idle ? " with idle noise" : " without idle noise"));
  ref::Rng rng(0x51u + std::hash<std::string>{}(family) + (idle ? 1000 : 0));
  for (int trial = 0; trial < 6; ++trial) {
    const bool three = noisy::case_arity(family) == 3;
    const int n = three ? 3 + trial % 2 : 2 + trial % 3;
    noisy::CircuitOptions opt;
    opt.num_ops = 16;
    opt.max_unitary_qubits = 3;
    opt.three_qubit_share = three || noisy::case_arity(family) == 0 ? 0.2 : 0.0;
    opt.final_measure = trial % 2 == 0;
    const noisy::RefCircuit c = noisy::random_circuit(n, rng, opt);
    const NoiseModel model = noisy::random_model(family, n, idle, rng);
    INFO("trial " << trial << ", n = " << n << ", circuit: " << describe(c) << "\nmodel: " << model.to_json());
    const arma::cx_mat expected = noisy::reference_simulate(c, &model);
    CHECK_NOTHROW(kraus::engine::validate_noise(noisy::to_circuit(c), model));
    CHECK(ref::max_abs_diff(engine_result(c, &model), expected) <= kTol);
    CHECK(std::abs(arma::trace(expected) - 1.0) < 1e-12);  // the reference itself stays a state
  }
}

TEST_CASE("simulator: noiseless random circuits match the dense reference", "[simulator]") {
  ref::Rng rng(7);
  for (int trial = 0; trial < 8; ++trial) {
    const int n = 1 + trial % 4;
    noisy::CircuitOptions opt;
    opt.num_ops = 20;
    const noisy::RefCircuit c = noisy::random_circuit(n, rng, opt);
    INFO("circuit: " << describe(c));
    CHECK(ref::max_abs_diff(engine_result(c, nullptr), noisy::reference_simulate(c, nullptr)) <= kTol);
    // An empty model is the noiseless run.
    const NoiseModel empty;
    CHECK(ref::max_abs_diff(engine_result(c, &empty), noisy::reference_simulate(c, nullptr)) <= kTol);
  }
}

TEST_CASE("simulator: several channel families in one model with rules in file order", "[simulator]") {
  ref::Rng rng(2024);
  for (int trial = 0; trial < 6; ++trial) {
    const int n = 2 + trial % 3;
    noisy::CircuitOptions opt;
    opt.num_ops = 18;
    const noisy::RefCircuit c = noisy::random_circuit(n, rng, opt);
    NoiseModel model;
    // Non-commuting channels on the same gates: the order of the rules matters.
    model.gate_noise.push_back({{"*"}, {}, noisy::random_spec("amplitude_damping", rng)});
    model.gate_noise.push_back({{"*"}, {}, noisy::random_spec("coherent_overrotation", rng)});
    model.gate_noise.push_back({noisy::two_qubit_gate_names(), {}, noisy::random_spec("kraus_2q", rng)});
    model.gate_noise.push_back({{"cx", "cz"}, {0, 1}, noisy::random_spec("pauli_2q", rng)});
    model.gate_noise.push_back({{"*"}, noisy::random_qubits(n, 2, rng), noisy::random_spec("generalized_amplitude_damping", rng)});
    model.gate_noise.push_back({{"unitary", "ccx"}, {}, noisy::random_spec("thermal_relaxation", rng)});
    model.gate_noise.push_back({{"*"}, {}, noisy::random_spec("kraus_1q", rng)});
    model.gate_noise[1].channel.axis = "x";  // about x: does not commute with amplitude damping
    model.gate_noise[1].channel.params["angle"] = 0.3;
    if (trial % 2) model.idle_noise = noisy::random_spec("thermal_relaxation", rng);
    INFO("trial " << trial << ", circuit: " << describe(c) << "\nmodel: " << model.to_json());
    const arma::cx_mat expected = noisy::reference_simulate(c, &model);
    CHECK(ref::max_abs_diff(engine_result(c, &model), expected) <= kTol);
    // Swapping two non-commuting rules changes the result (so the comparison above sees the order).
    NoiseModel swapped = model;
    std::swap(swapped.gate_noise[0], swapped.gate_noise[1]);
    const arma::cx_mat expected_swapped = noisy::reference_simulate(c, &swapped);
    CHECK(ref::max_abs_diff(expected_swapped, expected) > 1e-6);
    CHECK(ref::max_abs_diff(engine_result(c, &swapped), expected_swapped) <= kTol);
  }
}

// ---- hand-computed cases -------------------------------------------------------------------------

TEST_CASE("simulator: asap_layers: a hand-layered circuit", "[simulator]") {
  Circuit c(4, 4);
  c.add_gate(Gate::kH, {0});             // 0: layer 0
  c.add_gate(Gate::kCX, {0, 1});         // 1: layer 1
  c.add_gate(Gate::kH, {2});             // 2: layer 0
  c.add_gate(Gate::kX, {2});             // 3: layer 1
  c.add_barrier({1, 2, 3});              // 4: aligns 1, 2, 3 at layer 2 (occupies none)
  c.add_gate(Gate::kZ, {3});             // 5: layer 2 (qubit 3 was never used, but the barrier holds it)
  c.add_gate(Gate::kH, {0});             // 6: layer 2 (qubit 0 is not in the barrier)
  c.add_measure(1, 1);                   // 7: layer 2
  c.add_gate(Gate::kCCX, {0, 2, 3});     // 8: layer 3
  c.add_barrier({0});                    // 9: layer 4, no layer of its own
  int layers = -1;
  const std::vector<int> got = kraus::engine::asap_layers(c, &layers);
  CHECK(got == std::vector<int>{0, 1, 0, 1, 2, 2, 2, 2, 3, 4});
  CHECK(layers == 4);
}

TEST_CASE("simulator: idle noise acts on a waiting qubit once per layer", "[simulator]") {
  // x 1 (layer 0) with h 0; h 0; h 0 (layers 0, 1, 2): qubit 1 waits in layers 1 and 2.
  const double gamma = 0.3;
  Circuit c(2);
  c.add_gate(Gate::kX, {1});
  for (int i = 0; i < 3; ++i) c.add_gate(Gate::kH, {0});
  NoiseModel model;
  model.idle_noise = spec("amplitude_damping", {{"gamma", gamma}});
  DensityMatrix rho(2);
  kraus::engine::simulate(c, &model, rho);
  const DensityMatrix q1 = rho.reduced({1});
  CHECK_THAT(q1.matrix()(1, 1).real(), Catch::Matchers::WithinAbs((1 - gamma) * (1 - gamma), 1e-12));
  // Qubit 0 is never idle: it ends in |+> exactly.
  const DensityMatrix q0 = rho.reduced({0});
  CHECK_THAT(q0.matrix()(0, 1).real(), Catch::Matchers::WithinAbs(0.5, 1e-12));

  // A barrier makes qubit 1 wait for qubit 0: x 1; h 0; h 0; barrier 0,1; x 1 -> the second x is in
  // layer 2, qubit 1 idles in layer 1 only.
  Circuit b(2);
  b.add_gate(Gate::kX, {1});
  b.add_gate(Gate::kH, {0});
  b.add_gate(Gate::kH, {0});
  b.add_barrier({0, 1});
  b.add_gate(Gate::kX, {1});
  kraus::engine::simulate(b, &model, rho);
  // After x: |1>; idle layer 1: P(1) = 1 - gamma; x swaps: P(1) = gamma; qubit 0 idles in layer 2.
  CHECK_THAT(rho.reduced({1}).matrix()(1, 1).real(), Catch::Matchers::WithinAbs(gamma, 1e-12));
  CHECK_THAT(rho.reduced({0}).matrix()(1, 1).real(), Catch::Matchers::WithinAbs(0.0, 1e-12));
}

TEST_CASE("simulator: idle noise stops at a qubit's first measurement that no gate follows", "[simulator]") {
  // x 0; measure 0 (layer 1) while qubit 1 runs h in layers 0-3; barrier; measure 0 again (layer 4).
  // Qubit 0 is read out at its first measurement: it does not idle in layers 2 and 3 (under
  // amplitude damping it would decay to P(1) = (1 - gamma)^2 if it did).
  const double gamma = 0.3;
  Circuit c(2, 1);
  c.add_gate(Gate::kX, {0});
  c.add_measure(0, 0);
  for (int i = 0; i < 4; ++i) c.add_gate(Gate::kH, {1});
  c.add_barrier({0, 1});
  c.add_measure(0, 0);
  int layers = 0;
  CHECK(kraus::engine::asap_layers(c, &layers)[7] == 4);
  CHECK(layers == 5);
  NoiseModel model;
  model.idle_noise = spec("amplitude_damping", {{"gamma", gamma}});
  DensityMatrix rho(2);
  kraus::engine::simulate(c, &model, rho);
  CHECK_THAT(rho.reduced({0}).matrix()(1, 1).real(), Catch::Matchers::WithinAbs(1.0, 1e-12));
  // Without the first measurement, qubit 0 waits in layers 1-3 before its only measurement.
  Circuit late(2, 1);
  late.add_gate(Gate::kX, {0});
  for (int i = 0; i < 4; ++i) late.add_gate(Gate::kH, {1});
  late.add_barrier({0, 1});
  late.add_measure(0, 0);
  kraus::engine::simulate(late, &model, rho);
  CHECK_THAT(rho.reduced({0}).matrix()(1, 1).real(), Catch::Matchers::WithinAbs(std::pow(1 - gamma, 3), 1e-12));
}

TEST_CASE("simulator: mid-circuit measurement dephases and a final one leaves the state alone", "[simulator]") {
  SECTION("final measure: |+> stays pure") {
    Circuit c(1, 1);
    c.add_gate(Gate::kH, {0});
    c.add_measure(0, 0);
    c.add_measure(0, 0);  // measure after measure is still final
    c.add_barrier({0});   // so is a measure followed only by a barrier
    CHECK_THAT(engine_result(c, nullptr)(0, 1).real(), Catch::Matchers::WithinAbs(0.5, 1e-12));
  }
  SECTION("mid-circuit measure: h; measure; h gives the maximally mixed state") {
    Circuit c(1, 1);
    c.add_gate(Gate::kH, {0});
    c.add_measure(0, 0);
    c.add_gate(Gate::kH, {0});
    const arma::cx_mat rho = engine_result(c, nullptr);
    CHECK(ref::max_abs_diff(rho, arma::cx_mat(arma::eye(2, 2) / 2, arma::zeros(2, 2))) <= 1e-12);
  }
  SECTION("measuring one half of a Bell pair before acting on it") {
    Circuit c(2, 2);
    c.add_gate(Gate::kH, {0});
    c.add_gate(Gate::kCX, {0, 1});
    c.add_measure(0, 0);
    c.add_gate(Gate::kH, {1});  // does not touch qubit 0: its measurement is final
    const arma::cx_mat unmeasured = engine_result(c, nullptr);
    CHECK(std::abs(arma::accu(arma::square(arma::abs(unmeasured))) - 1.0) < 1e-12);  // pure
    c.add_gate(Gate::kX, {0});  // now it is mid-circuit
    const arma::cx_mat measured = engine_result(c, nullptr);
    CHECK(std::abs(arma::accu(arma::square(arma::abs(measured))) - 0.5) < 1e-12);
  }
}

TEST_CASE("simulator: reset is the reset channel and no rule follows measure or reset or barrier", "[simulator]") {
  Circuit c(2, 2);
  c.add_gate(Gate::kH, {0});
  c.add_gate(Gate::kCX, {0, 1});
  c.add_reset(0);
  // After the reset: |0><0| (x) I/2.
  arma::cx_mat expected(4, 4, arma::fill::zeros);
  expected(0, 0) = expected(2, 2) = 0.5;
  CHECK(ref::max_abs_diff(engine_result(c, nullptr), expected) <= 1e-12);

  Circuit only(2, 2);
  only.add_measure(0, 0);
  only.add_reset(1);
  only.add_barrier({0, 1});
  only.add_measure(1, 1);
  only.add_reset(0);
  NoiseModel model;
  model.gate_noise.push_back({{"*"}, {}, spec("bit_flip", {{"p", 1.0}})});
  model.gate_noise.push_back({{"measure", "reset", "barrier"}, {}, spec("bit_flip", {{"p", 1.0}})});
  arma::cx_mat zero(4, 4, arma::fill::zeros);
  zero(0, 0) = 1.0;
  CHECK(ref::max_abs_diff(engine_result(only, &model), zero) <= 1e-12);
}

TEST_CASE("simulator: rule qubit lists and arities by hand", "[simulator]") {
  // bit_flip p = 1 after cx only where both of its qubits are in {0, 1}: cx 0,1 flips both, cx 1,2
  // flips nothing.
  Circuit c(3);
  c.add_gate(Gate::kCX, {0, 1});
  c.add_gate(Gate::kCX, {1, 2});
  NoiseModel model;
  model.gate_noise.push_back({{"cx"}, {0, 1}, spec("bit_flip", {{"p", 1.0}})});
  // |000> -cx01-> |000> -flip 0,1-> |011> (qubits 0 and 1 set) -cx12-> qubit 2 set: |111>.
  const arma::cx_mat rho = engine_result(c, &model);
  CHECK_THAT(rho(7, 7).real(), Catch::Matchers::WithinAbs(1.0, 1e-12));

  // A 2-qubit Pauli channel "XI" (X on the gate's first qubit) after cx 2,0: only qubit 2 flips.
  Circuit d(3);
  d.add_gate(Gate::kCX, {2, 0});
  NoiseModel pauli;
  pauli.gate_noise.push_back({{"cx"}, {}, {"pauli", {}, {{"XI", 1.0}}, {}, "", 0}});
  CHECK_THAT(engine_result(d, &pauli)(4, 4).real(), Catch::Matchers::WithinAbs(1.0, 1e-12));
}

TEST_CASE("simulator: simulate starts from the zero state and checks the state size", "[simulator]") {
  Circuit c(2);
  c.add_gate(Gate::kX, {1});
  DensityMatrix rho(2);
  rho.apply(Gate::kH, {0});
  kraus::engine::simulate(c, nullptr, rho);
  CHECK_THAT(rho.matrix()(2, 2).real(), Catch::Matchers::WithinAbs(1.0, 1e-12));
  DensityMatrix wrong(3);
  CHECK_THROWS_AS(kraus::engine::simulate(c, nullptr, wrong), std::invalid_argument);
}

// A 3-qubit gate under "*" depolarizing with the arity left to the gate: the model fits the
// documented rules (a channel whose arity equals the gate's acts jointly), so either validate_noise
// refuses it up front, or simulate applies the 3-qubit depolarizing channel.
TEST_CASE("simulator: open-arity depolarizing after ccx or cswap is refused by validate_noise or applied", "[simulator]") {
  for (const Gate g : {Gate::kCCX, Gate::kCSwap}) {
    Circuit c(3);
    c.add_gate(Gate::kH, {0});
    c.add_gate(Gate::kH, {1});
    c.add_gate(g, {0, 1, 2});
    NoiseModel model;
    model.gate_noise.push_back({{"*"}, {}, spec("depolarizing", {{"p", 0.2}})});
    bool refused = false;
    try {
      kraus::engine::validate_noise(c, model);
    } catch (const NoiseModelError&) {
      refused = true;
    }
    if (refused) continue;
    noisy::RefCircuit rc;
    rc.num_qubits = 3;
    for (const kraus::engine::Operation& op : c.operations()) {
      noisy::RefOp r;
      r.gate = op.gate;
      r.name = op.name();
      r.qubits = op.qubits;
      r.u = kraus::engine::gate_matrix(op.gate, {});
      rc.ops.push_back(r);
    }
    arma::cx_mat got;
    REQUIRE_NOTHROW(got = engine_result(c, &model));  // validate_noise accepted the model
    CHECK(ref::max_abs_diff(got, noisy::reference_simulate(rc, &model)) <= kTol);
  }
}

// ---- readout ---------------------------------------------------------------------------------------

TEST_CASE("simulator: probabilities_with_readout equals the dense confusion product", "[simulator]") {
  ref::Rng rng(99);
  std::uniform_real_distribution<double> u(0.0, 0.2);
  for (int trial = 0; trial < 6; ++trial) {
    const int n = 2 + trial % 3;
    noisy::CircuitOptions opt;
    opt.num_ops = 12;
    const noisy::RefCircuit c = noisy::random_circuit(n, rng, opt);
    DensityMatrix rho(n);
    kraus::engine::simulate(noisy::to_circuit(c), nullptr, rho);

    NoiseModel model;
    if (trial % 3 == 0) {
      model.readout.push_back({true, {}, u(rng), u(rng), {}});  // every qubit
    } else {
      // Per-qubit errors on some qubits and a correlated group (listed in a non-sorted order) on others.
      model.readout.push_back({false, {n - 1}, u(rng), u(rng), {}});
      arma::mat stochastic(4, 4);
      stochastic.imbue([&] { return 0.1 + u(rng); });
      stochastic.each_col() /= arma::sum(stochastic, 1);
      std::vector<double> rows;
      for (arma::uword t = 0; t < 4; ++t)
        for (arma::uword r = 0; r < 4; ++r) rows.push_back(stochastic(t, r));
      model.readout.push_back({false, {1, 0}, 0, 0, rows});
    }
    INFO("trial " << trial << ", model: " << model.to_json());
    const std::vector<double> expected = noisy::reference_readout(rho.probabilities(), model.readout, n);
    const std::vector<double> got = kraus::engine::probabilities_with_readout(rho, &model);
    REQUIRE(got.size() == expected.size());
    double sum = 0.0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      CHECK_THAT(got[i], Catch::Matchers::WithinAbs(expected[i], 1e-12));
      sum += got[i];
    }
    CHECK_THAT(sum, Catch::Matchers::WithinAbs(1.0, 1e-12));
    // Without a model (or a model without readout): the plain probabilities.
    const NoiseModel none;
    const std::vector<double> plain = rho.probabilities();
    CHECK(kraus::engine::probabilities_with_readout(rho, nullptr) == plain);
    CHECK(kraus::engine::probabilities_with_readout(rho, &none) == plain);
  }
}

TEST_CASE("simulator: probabilities_with_readout: a hand-computed flip", "[simulator]") {
  // |01> (qubit 0 set) with P(read 0 | 1) = 0.25 on qubit 0 and P(read 1 | 0) = 0.1 on qubit 1.
  Circuit c(2);
  c.add_gate(Gate::kX, {0});
  DensityMatrix rho(2);
  kraus::engine::simulate(c, nullptr, rho);
  NoiseModel model;
  model.readout.push_back({false, {0}, 0.0, 0.25, {}});
  model.readout.push_back({false, {1}, 0.1, 0.0, {}});
  const std::vector<double> p = kraus::engine::probabilities_with_readout(rho, &model);
  REQUIRE(p.size() == 4);
  CHECK_THAT(p[0], Catch::Matchers::WithinAbs(0.25 * 0.9, 1e-12));
  CHECK_THAT(p[1], Catch::Matchers::WithinAbs(0.75 * 0.9, 1e-12));
  CHECK_THAT(p[2], Catch::Matchers::WithinAbs(0.25 * 0.1, 1e-12));
  CHECK_THAT(p[3], Catch::Matchers::WithinAbs(0.75 * 0.1, 1e-12));
  // Readout never touches the state.
  CHECK_THAT(rho.matrix()(1, 1).real(), Catch::Matchers::WithinAbs(1.0, 1e-12));
}

// ---- validate_noise ----------------------------------------------------------------------------------

TEST_CASE("simulator: validate_noise refuses channels that do not fit the circuit", "[simulator]") {
  Circuit c(3, 3);
  c.add_gate(Gate::kH, {0});
  c.add_gate(Gate::kCX, {0, 1});
  c.add_measure(2, 2);

  auto model_with = [](std::vector<std::string> gates, ChannelSpec s) {
    NoiseModel m;
    m.gate_noise.push_back({std::move(gates), {}, std::move(s)});
    return m;
  };
  ref::Rng rng(5);
  const ChannelSpec pauli2{"pauli", {}, {{"XZ", 0.1}}, {}, "", 0};
  const ChannelSpec dep2 = spec("depolarizing", {{"p", 0.1}}, 2);
  const ChannelSpec kraus2 = noisy::random_spec("kraus_2q", rng);

  SECTION("a 2-qubit channel after a 1-qubit gate") {
    for (const ChannelSpec& s : {pauli2, dep2, kraus2}) {
      INFO(s.type);
      CHECK_THROWS_AS(kraus::engine::validate_noise(c, model_with({"h"}, s)), NoiseModelError);
      CHECK_THROWS_AS(kraus::engine::validate_noise(c, model_with({"*"}, s)), NoiseModelError);
      // ... but not after the 2-qubit gate, nor on gates the circuit does not have.
      CHECK_NOTHROW(kraus::engine::validate_noise(c, model_with({"cx"}, s)));
      CHECK_NOTHROW(kraus::engine::validate_noise(c, model_with({"x", "rz"}, s)));
    }
    // A qubit list that excludes the 1-qubit gate's qubit makes the rule not match it.
    NoiseModel m = model_with({"*"}, pauli2);
    m.gate_noise[0].qubits = {1, 2};
    CHECK_NOTHROW(kraus::engine::validate_noise(c, m));
    m.gate_noise[0].qubits = {0, 1};
    CHECK_THROWS_AS(kraus::engine::validate_noise(c, m), NoiseModelError);
  }
  SECTION("a 1-qubit channel fits every gate") {
    CHECK_NOTHROW(kraus::engine::validate_noise(c, model_with({"*"}, spec("amplitude_damping", {{"gamma", 0.1}}))));
  }
  SECTION("readout on a qubit beyond the register") {
    NoiseModel m;
    m.readout.push_back({false, {3}, 0.1, 0.1, {}});
    CHECK_THROWS_AS(kraus::engine::validate_noise(c, m), NoiseModelError);
    NoiseModel group;
    group.readout.push_back({false, {0, 5}, 0, 0, {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}});
    CHECK_THROWS_AS(kraus::engine::validate_noise(c, group), NoiseModelError);
    NoiseModel fine;
    fine.readout.push_back({false, {2}, 0.1, 0.1, {}});
    fine.readout.push_back({false, {0, 1}, 0, 0, {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}});
    CHECK_NOTHROW(kraus::engine::validate_noise(c, fine));
  }
}

// validate_noise is documented to throw noise::NoiseModelError; an idle channel that is not a
// 1-qubit channel (the JSON reader refuses one, a model built in code can hold one) must be refused
// that way too, naming idle_noise.
TEST_CASE("simulator: validate_noise refuses a 2-qubit idle channel with a NoiseModelError", "[simulator]") {
  Circuit c(2);
  c.add_gate(Gate::kH, {0});
  NoiseModel m;
  m.idle_noise = ChannelSpec{"pauli", {}, {{"XZ", 0.1}}, {}, "", 0};
  try {
    kraus::engine::validate_noise(c, m);
    FAIL("validate_noise accepted a 2-qubit idle channel");
  } catch (const NoiseModelError& e) {
    CHECK(std::string(e.what()).find("idle_noise") != std::string::npos);
  } catch (const std::exception& e) {
    FAIL("validate_noise threw something other than NoiseModelError: " << e.what());
  }
}
