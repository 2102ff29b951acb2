// engine::compile and engine::run: the adjoint call of every compiled step (the adjoint gradient's
// backward pass) against the Hilbert-Schmidt identity <A, E(B)> = <E†(A), B>, parametrised circuits
// against the same circuit with the angles written in (checked against the dense reference by
// test_simulator.cpp), and the noise model as plain data (no channel kept between compilations).
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "cli/noisy_reference.hpp"
#include "kraus/engine/program.hpp"
#include "kraus/engine/simulator.hpp"
#include "kraus/noise/kernels.hpp"
#include "reference/test_support.hpp"

namespace {

namespace ref = kraus::test;
namespace noisy = kraus::test::noisy;
namespace engine = kraus::engine;
namespace noise = kraus::noise;
using engine::Angle;
using engine::Gate;

// <A, B> = Σ conj(A_i) B_i.
engine::Complex hs(const arma::cx_mat& a, const arma::cx_mat& b) { return arma::cdot(arma::vectorise(a), arma::vectorise(b)); }

}  // namespace

TEST_CASE("program: every call of the schedule has its adjoint map", "[program]") {
  // Every channel family of the dense reference's suites (each kernel kind), idle noise, mid-circuit
  // measurements and resets, explicit and angle-dependent channels, parametrised rotations; each step
  // on its own (no fusion) and the fused schedule. The adjoint of call j is forward_adjoint[j] for a
  // fixed call and noise::adjoint_call of the bound call otherwise (as the adjoint gradient takes them).
  const std::string family = GENERATE(from_range(noisy::channel_cases()));
  INFO("channel family " << family);
  ref::Rng rng(0x7au + std::hash<std::string>{}(family));
  const int n = noisy::case_arity(family) == 3 ? 4 : 3;
  noisy::CircuitOptions opt;
  opt.num_ops = 16;
  opt.three_qubit_share = noisy::case_arity(family) == 3 ? 0.3 : 0.0;
  engine::Circuit c = noisy::to_circuit(noisy::random_circuit(n, rng, opt));
  c.add_rotation(Gate::kRZX, {2, 0}, Angle::parameter(0, 0.7, 0.1));
  const std::vector<arma::cx_mat> kraus = ref::random_kraus_operators(4, 2, rng);
  c.add_channel({1, 2}, noise::Channel::from_kraus({noisy::to_noise(kraus[0]), noisy::to_noise(kraus[1])}));
  c.add_angle_dependent_channel({1}, engine::angle_dependent_amplitude_damping(0.4), Angle::parameter(1));
  const noise::NoiseModel model = noisy::random_model(family, n, true, rng);
  for (const bool fusion : {false, true}) {
    INFO("fusion " << fusion);
    engine::CompileOptions options;
    options.fusion = fusion;
    const engine::Program p = engine::compile(c, &model, options);
    if (!fusion) REQUIRE(p.forward.size() == p.steps.size());
    REQUIRE(p.forward.size() > (fusion ? 5u : 20u));
    const std::vector<double> theta = {0.4, -1.1};
    std::vector<double> angles(p.angles.size());
    p.angle_values(theta.data(), nullptr, angles.data());
    std::vector<noise::KernelCall> bound;
    p.bind(angles.data(), bound);
    const arma::cx_mat a0 = ref::debug_matrix(n), b0 = ref::complex_gaussian(1u << n, 1u << n, rng);
    int parametrised = 0;
    for (std::size_t j = 0; j < p.forward.size(); ++j) {
      INFO("call " << j);
      arma::cx_mat a = a0, b = b0;
      const bool fixed = p.forward_source[j] < 0;
      parametrised += !fixed;
      noise::apply(bound[j], b.memptr(), n);
      noise::apply(fixed ? p.forward_adjoint[j] : noise::adjoint_call(bound[j]), a.memptr(), n);
      CHECK(std::abs(hs(a0, b) - hs(a, b0)) <= 1e-12 * (1.0 + std::abs(hs(a0, b))));
    }
    REQUIRE(parametrised == 2);
  }
}

TEST_CASE("program: a parametrised circuit runs as the circuit with its angles written in", "[program]") {
  ref::Rng rng(0x91u);
  for (int trial = 0; trial < 6; ++trial) {
    const int n = 2 + trial % 3;
    engine::Circuit c(n);
    engine::Circuit fixed(n);
    std::vector<double> theta = {0.3, -0.8, 1.7};
    std::vector<double> x = {0.5, -0.25};
    std::uniform_real_distribution<double> u(-2.0, 2.0);
    const Gate rot1[] = {Gate::kRX, Gate::kRY, Gate::kRZ};
    const Gate rot2[] = {Gate::kRXX, Gate::kRYY, Gate::kRZZ, Gate::kRZX};
    for (int i = 0; i < 12; ++i) {
      const std::vector<int> qs = noisy::random_qubits(n, 2, rng);
      Angle a = Angle::parameter(static_cast<int>(rng() % 3), u(rng), u(rng));
      a.add(static_cast<int>(rng() % 3), static_cast<int>(rng() % 2), u(rng));
      const double value = a.value(theta.data(), x.data());
      if (i % 3 == 2) {
        const Gate g = rot2[rng() % 4];
        c.add_rotation(g, qs, a);
        fixed.add_gate(g, qs, {value});
      } else {
        const Gate g = rot1[rng() % 3];
        c.add_rotation(g, {qs[0]}, a);
        fixed.add_gate(g, {qs[0]}, {value});
        c.add_gate(Gate::kCX, qs);
        fixed.add_gate(Gate::kCX, qs);
      }
    }
    noise::NoiseModel model;
    model.gate_noise.push_back({{"*"}, {}, noisy::random_spec("amplitude_damping", rng)});
    model.idle_noise = noisy::random_spec("phase_damping", rng);
    engine::DensityMatrix got(n), want(n);
    engine::run(engine::compile(c, &model), theta.data(), x.data(), got);
    engine::simulate(fixed, &model, want);
    CHECK(ref::max_abs_diff(got.matrix(), want.matrix()) <= 1e-13);
    // Bound, the circuit is the fixed one; unbound, simulate refuses it.
    engine::simulate(c.bind(theta.data(), x.data()), &model, got);
    CHECK(ref::max_abs_diff(got.matrix(), want.matrix()) <= 1e-13);
    CHECK_THROWS_AS(engine::simulate(c, &model, got), std::invalid_argument);
  }
}

TEST_CASE("program: the noise model is plain data: an edited rule takes effect at once", "[program]") {
  // The model once kept built channels in a cache cleared only when the number of rules changed, so
  // editing a rule's channel after one simulation silently reused the old channel.
  engine::Circuit c(2);
  c.add_gate(Gate::kH, {0});
  c.add_gate(Gate::kCX, {0, 1});
  noise::NoiseModel model = noise::NoiseModel::from_json(R"({"gate_noise": [
      {"gates": ["h"], "channel": {"type": "depolarizing", "p": 0.1}},
      {"gates": ["cx"], "channel": {"type": "amplitude_damping", "gamma": 0.2}}],
      "idle_noise": {"type": "phase_damping", "lambda": 0.1}})");
  engine::DensityMatrix first(2), edited(2), fresh(2);
  engine::simulate(c, &model, first);
  model.gate_noise[1].channel.params["gamma"] = 0.6;
  model.idle_noise->params["lambda"] = 0.5;
  engine::simulate(c, &model, edited);
  const noise::NoiseModel rebuilt = noise::NoiseModel::from_json(model.to_json());
  engine::simulate(c, &rebuilt, fresh);
  CHECK(ref::max_abs_diff(edited.matrix(), fresh.matrix()) == 0.0);
  CHECK(ref::max_abs_diff(edited.matrix(), first.matrix()) > 0.05);
}

TEST_CASE("program: steps take the kernel the channel table names", "[program]") {
  engine::Circuit c(2);
  c.add_gate(Gate::kH, {0});
  c.add_gate(Gate::kCX, {0, 1});
  const noise::NoiseModel model = noise::NoiseModel::from_json(R"({"gate_noise": [
      {"gates": ["h"], "channel": {"type": "thermal_relaxation", "t1": 50, "t2": 30, "time": 1}},
      {"gates": ["cx"], "channel": {"type": "depolarizing", "p": 0.1}},
      {"gates": ["cx"], "channel": {"type": "pauli", "probabilities": {"XZ": 0.1}}}]})");
  const engine::Program p = engine::compile(c, &model);
  REQUIRE(p.steps.size() == 5);
  CHECK(p.steps[0].call.kind == noise::KernelKind::kUnitary);
  CHECK(p.steps[1].call.kind == noise::KernelKind::kRealBlock1q);
  CHECK(p.steps[2].call.kind == noise::KernelKind::kUnitary);
  CHECK(p.steps[3].call.kind == noise::KernelKind::kDepolarizing);
  // The table names the superoperator for a 2-qubit Pauli channel; being real, with its block
  // elements in groups of 4, it is compiled to the grouped form, which applies the same map.
  CHECK(p.steps[4].call.kind == noise::KernelKind::kRealGroups2q);
  const noise::Channel pauli = model.gate_noise[2].channel.build(2);
  arma::cx_mat a = ref::debug_matrix(2), b = ref::debug_matrix(2);
  noise::apply(p.steps[4].call, a.memptr(), 2);
  const int qubits[2] = {0, 1};
  noise::apply_superoperator(b.memptr(), 2, qubits, 2, pauli.superoperator().data());
  CHECK(ref::max_abs_diff(a, b) <= 1e-14);
}

TEST_CASE("program: fused and cache-blocked runs agree with the plain step-by-step run", "[program]") {
  // Fusion and blocking forced on at small n (block size 3 to n - 1), every channel family, idle
  // noise, mid-circuit measurements and resets, parametrised rotations (never fused) in between.
  const std::string family = GENERATE(from_range(noisy::channel_cases()));
  INFO("channel family " << family);
  ref::Rng rng(0x3cu + std::hash<std::string>{}(family));
  for (int trial = 0; trial < 3; ++trial) {
    const int n = 4 + trial * 2;  // 4, 6, 8
    noisy::CircuitOptions opt;
    opt.num_ops = 40;
    opt.three_qubit_share = noisy::case_arity(family) == 3 ? 0.2 : 0.0;
    engine::Circuit c = noisy::to_circuit(noisy::random_circuit(n, rng, opt));
    engine::Circuit body(n, n);
    for (const engine::Operation& op : c.operations()) {
      body.add(op);
      if (op.kind == engine::OpKind::kGate && rng() % 4 == 0) {
        body.add_rotation(Gate::kRY, {op.qubits[0]}, Angle::parameter(0, 0.5, 0.2));
      }
    }
    const noise::NoiseModel model = noisy::random_model(family, n, trial != 1, rng);
    const std::vector<double> theta = {0.7};
    engine::CompileOptions plain;
    plain.fusion = false;
    plain.block_qubits = 0;
    engine::DensityMatrix want(n), got(n);
    const engine::Program reference = engine::compile(body, &model, plain);
    REQUIRE(reference.forward.size() == reference.steps.size());
    engine::run(reference, theta.data(), nullptr, want);
    for (int fusion_qubits : {1, 2}) {
      for (int block : {0, 3, n - 1}) {
        INFO("n " << n << " fusion_max_qubits " << fusion_qubits << " block_qubits " << block);
        engine::CompileOptions o;
        o.fusion_max_qubits = fusion_qubits;
        o.block_qubits = block;
        const engine::Program p = engine::compile(body, &model, o);
        CHECK((block == 0) == p.sweeps.empty());
        engine::run(p, theta.data(), nullptr, got);
        CHECK(ref::max_abs_diff(got.matrix(), want.matrix()) <= 1e-12);
      }
    }
  }
}

TEST_CASE("program: fusion merges what the cost model says and leaves rotations alone", "[program]") {
  // A CZ ladder, RY and a depolarising channel on qubit 0, RY on qubits 1 and 2, a parametrised RZ
  // and its depolarising channel (default cost model, pass_cost 0): the ladder becomes one 3-qubit
  // diagonal (1 against 1 + 1), RY(0) and its channel one 1-qubit superoperator (4 against 4 + 1),
  // RY(1) and RY(2) stay apart (a 2-qubit unitary costs 8, as they do), the rotation stays a call of
  // its own, filled when the program runs. A group is emitted when a call it does not absorb needs
  // its qubits (RY(2) before the rotation), the others at the end in the order they were opened.
  engine::Circuit c(3);
  c.add_gate(Gate::kCZ, {0, 1});
  c.add_gate(Gate::kCZ, {1, 2});
  c.add_gate(Gate::kRY, {0}, {0.3});
  c.add_channel({0}, noise::depolarizing(1, 0.02));
  c.add_gate(Gate::kRY, {1}, {0.4});
  c.add_gate(Gate::kRY, {2}, {0.5});
  c.add_rotation(Gate::kRZ, {2}, Angle::parameter(0));
  const noise::NoiseModel model = noise::NoiseModel::from_json(
      R"({"gate_noise": [{"gates": ["rz"], "channel": {"type": "depolarizing", "p": 0.01}}]})");
  const engine::Program p = engine::compile(c, &model);
  REQUIRE(p.steps.size() == 8);
  REQUIRE(p.forward.size() == 6);
  CHECK(p.forward[0].k == 3);
  CHECK(p.forward[0].kind == noise::KernelKind::kUnitary);
  CHECK(p.forward[1].qubits[0] == 2);
  CHECK(p.forward[1].kind == noise::KernelKind::kUnitary);
  CHECK(p.forward_source == std::vector<int>{-1, -1, 6, -1, -1, -1});
  CHECK(p.forward[3].k == 1);
  CHECK(p.forward[3].qubits[0] == 0);
  CHECK(p.forward[3].kind == noise::KernelKind::kSuperoperator);
  CHECK(p.forward[4].qubits[0] == 1);
  CHECK(p.forward[5].kind == noise::KernelKind::kDepolarizing);
  engine::CompileOptions off;
  off.fusion = false;
  CHECK(engine::compile(c, &model, off).forward.size() == 8);
  // A call joins the group on its qubits past calls on other qubits: depolarising on qubit 0, RY on
  // qubit 1, RY on qubit 0 gives one superoperator on qubit 0 and RY(1).
  engine::Circuit d(2);
  d.add_channel({0}, noise::depolarizing(1, 0.02));
  d.add_gate(Gate::kRY, {1}, {0.4});
  d.add_gate(Gate::kRY, {0}, {0.3});
  const engine::Program q = engine::compile(d, nullptr);
  REQUIRE(q.forward.size() == 2);
  CHECK(q.forward[0].kind == noise::KernelKind::kSuperoperator);
  CHECK(q.forward[0].qubits[0] == 0);
  CHECK(q.forward[1].kind == noise::KernelKind::kUnitary);
  CHECK(q.forward[1].qubits[0] == 1);
  engine::CompileOptions bad;
  bad.block_qubits = 2;
  CHECK_THROWS_AS(engine::compile(c, &model, bad), std::invalid_argument);
}
