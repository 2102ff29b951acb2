// State vectors and quantum trajectories (state_vector.hpp, trajectories.hpp):
//  * noiseless programs on a state vector against the dense reference (every gate, every target
//    order) and the density-matrix engine, for every fusion size;
//  * trajectory means against the exact density matrix for every channel family of the noisy
//    reference suites, with idle noise, mid-circuit measurements, resets and readout errors: within
//    5 standard errors, with enough trajectories that a 10 % error in the largest probability fails;
//  * the standard error against the exact variance, from enumerating every Kraus branch of a small
//    circuit with a dense reference;
//  * counts with one shot per trajectory against the exact noisy distribution;
//  * the same results, bit for bit, with 1 and 2 threads, in both parallel modes, and for any split
//    of the blocks (as over MPI ranks), folded by Chan's formula.
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cli/noisy_reference.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/observables.hpp"
#include "kraus/engine/program.hpp"
#include "kraus/engine/simulator.hpp"
#include "kraus/engine/state_vector.hpp"
#include "kraus/engine/trajectories.hpp"
#include "kraus/noise/channel_table.hpp"
#include "reference/test_support.hpp"

namespace {

namespace ref = kraus::test;
namespace noisy = kraus::test::noisy;
namespace engine = kraus::engine;
namespace noise = kraus::noise;
using engine::Angle;
using engine::Gate;

constexpr double kTol = 1e-12;

arma::cx_vec as_arma(const engine::StateVector& psi) {
  return arma::cx_vec(const_cast<engine::Complex*>(psi.data()), psi.dim());
}

// The dense reference's state after the gates of a noiseless circuit, from |0...0>.
arma::cx_vec reference_state(const noisy::RefCircuit& c) {
  arma::cx_vec psi = ref::basis_state(0, arma::uword{1} << c.num_qubits);
  for (const noisy::RefOp& op : c.ops) {
    if (noisy::is_gate(op)) psi = ref::embed(op.u, op.qubits, c.num_qubits) * psi;
  }
  return psi;
}

// A random Pauli string on n qubits (not the identity).
engine::PauliString random_pauli(int n, ref::Rng& rng) {
  engine::PauliString p;
  while (p.is_identity()) {
    p.x_mask = rng() & ((std::uint64_t{1} << n) - 1);
    p.z_mask = rng() & ((std::uint64_t{1} << n) - 1);
  }
  return p;
}

std::string labels(const engine::PauliString& p, int n) {
  std::string s;
  for (int q = 0; q < n; ++q) {
    const bool x = (p.x_mask >> q) & 1, z = (p.z_mask >> q) & 1;
    s += x && z ? 'Y' : x ? 'X' : z ? 'Z' : 'I';
  }
  return s;
}

// |mean - exact| <= 5 SE (an observable that is the same in every trajectory has SE 0).
void check_within(const engine::Estimate& e, double exact, const std::string& what) {
  INFO(what << ": mean " << e.mean << " +- " << e.standard_error << " over " << e.samples << ", exact " << exact);
  CHECK(std::abs(e.mean - exact) <= 5.0 * e.standard_error + 1e-12);
}

}  // namespace

// ---- state vectors -------------------------------------------------------------------------------

TEST_CASE("state vector: every gate on every target order against the dense reference", "[statevector]") {
  ref::Rng rng(0x5e7);
  for (int n = 1; n <= 5; ++n) {
    for (const engine::GateInfo& g : engine::gate_table()) {
      if (g.num_qubits > n) continue;
      const auto tuples = n <= 3 ? ref::ordered_tuples(n, g.num_qubits) : ref::random_tuples(n, g.num_qubits, 6, rng);
      for (const std::vector<int>& qs : tuples) {
        INFO("n " << n << ", gate " << g.name);
        // A random entangled state first, then the gate.
        noisy::RefCircuit c;
        c.num_qubits = n;
        for (int q = 0; q + 1 < n; ++q) c.ops.push_back({noisy::RefKind::kUnitary, Gate::kI, "unitary", {q, q + 1}, {}, ref::random_unitary(4, rng)});
        if (n == 1) c.ops.push_back({noisy::RefKind::kUnitary, Gate::kI, "unitary", {0}, {}, ref::random_unitary(2, rng)});
        std::vector<double> params;
        for (int p = 0; p < g.num_params; ++p) params.push_back(std::uniform_real_distribution<double>(-3.0, 3.0)(rng));
        c.ops.push_back({noisy::RefKind::kGate, g.gate, std::string(g.name), qs, params, engine::gate_matrix(g.gate, params)});
        const arma::cx_vec expected = reference_state(c);
        const engine::Program p = engine::compile(noisy::to_circuit(c), nullptr);
        for (int f = 1; f <= 4; ++f) {
          engine::StateVector psi(n);
          engine::run(p, nullptr, nullptr, psi, f);
          CHECK(arma::abs(as_arma(psi) - expected).max() <= kTol);
        }
      }
    }
  }
}

TEST_CASE("state vector: random circuits agree with the density-matrix engine for every fusion size", "[statevector]") {
  ref::Rng rng(0x5e8);
  for (int n = 2; n <= 6; ++n) {
    noisy::CircuitOptions opt;
    opt.num_ops = 40;
    opt.mid_circuit = false;
    opt.final_measure = false;
    opt.three_qubit_share = n >= 3 ? 0.1 : 0.0;
    const noisy::RefCircuit rc = noisy::random_circuit(n, rng, opt);
    engine::Circuit c = noisy::to_circuit(rc);
    c.add_rotation(Gate::kRYY, {n - 1, 0}, Angle::parameter(0, 0.5, 0.2));
    const engine::Program p = engine::compile(c, nullptr);
    const std::vector<double> theta = {0.9};
    engine::DensityMatrix rho(n);
    engine::run(p, theta.data(), nullptr, rho);
    for (int f = 1; f <= 4; ++f) {
      INFO("n " << n << ", fusion " << f);
      engine::StateVector psi(n);
      engine::run(p, theta.data(), nullptr, psi, f);
      const arma::cx_vec v = as_arma(psi);
      CHECK(ref::max_abs_diff(v * v.t(), rho.matrix()) <= kTol);
      CHECK(std::abs(psi.squared_norm() - 1.0) <= kTol);
      const std::vector<int> some = n >= 3 ? std::vector<int>{n - 1, 0, 1} : std::vector<int>{1};
      const std::vector<double> marginal = psi.marginal_probabilities(some), exact = rho.marginal_probabilities(some);
      REQUIRE(marginal.size() == exact.size());
      for (std::size_t j = 0; j < exact.size(); ++j) CHECK(std::abs(marginal[j] - exact[j]) <= kTol);
      CHECK_THROWS_AS(psi.marginal_probabilities({0, 0}), std::invalid_argument);
      CHECK_THROWS_AS(psi.marginal_probabilities({n}), std::invalid_argument);
      for (int t = 0; t < 8; ++t) {
        const engine::PauliString ps = random_pauli(n, rng);
        const double dense = arma::cdot(v, ref::pauli_string_operator(labels(ps, n)) * v).real();
        CHECK(std::abs(engine::expectation(psi, ps) - dense) <= kTol);
        CHECK(std::abs(engine::expectation(psi, ps) - engine::expectation(rho, ps)) <= kTol);
      }
    }
  }
}

TEST_CASE("state vector: noisy programs and bad arguments are refused", "[statevector][validation]") {
  engine::Circuit c(2);
  c.add_gate(Gate::kH, {0});
  c.add_reset(1);
  c.add_gate(Gate::kCX, {0, 1});
  const engine::Program p = engine::compile(c, nullptr);
  CHECK_FALSE(engine::is_noiseless(p));
  engine::StateVector psi(2);
  CHECK_THROWS_AS(engine::run(p, nullptr, nullptr, psi), std::invalid_argument);
  engine::StateVector wrong(3);
  engine::Circuit clean(2);
  clean.add_gate(Gate::kH, {0});
  const engine::Program q = engine::compile(clean, nullptr);
  CHECK(engine::is_noiseless(q));
  CHECK_THROWS_AS(engine::run(q, nullptr, nullptr, wrong), std::invalid_argument);
  CHECK_THROWS_AS(engine::run(q, nullptr, nullptr, psi, 0), std::invalid_argument);
  CHECK_THROWS_AS(engine::run(q, nullptr, nullptr, psi, 5), std::invalid_argument);
  CHECK_THROWS_AS(engine::StateVector(0), std::invalid_argument);
  CHECK_THROWS_AS(engine::expectation(psi, engine::PauliString::parse("Z2")), std::invalid_argument);
}

TEST_CASE("state vector: the adjoint gradient against finite differences and the density matrix", "[statevector]") {
  ref::Rng rng(0xad7);
  const std::vector<Gate> rotations = {Gate::kRX, Gate::kRY, Gate::kRZ, Gate::kRXX, Gate::kRYY, Gate::kRZZ, Gate::kRZX};
  for (int n = 1; n <= 5; ++n) {
    INFO("n " << n);
    noisy::CircuitOptions opt;
    opt.num_ops = 6;
    opt.mid_circuit = false;
    opt.final_measure = false;
    opt.three_qubit_share = 0.0;
    engine::Circuit c(n);
    const int num_params = 4;
    std::uniform_real_distribution<double> u(-1.5, 1.5);
    for (int block = 0; block < 3; ++block) {
      for (const noisy::RefOp& op : noisy::random_circuit(n, rng, opt).ops) {
        if (op.kind == noisy::RefKind::kGate) c.add_gate(op.gate, op.qubits, op.params);
        if (op.kind == noisy::RefKind::kUnitary) c.add_unitary(op.qubits, op.u);
      }
      for (const Gate g : rotations) {
        const int k = engine::gate_info(g).num_qubits;
        if (k > n) continue;
        // Shared parameters with scales and offsets, and a data-dependent term.
        Angle a = Angle::parameter(static_cast<int>(rng() % num_params), u(rng), u(rng));
        if (rng() % 2) a.add(static_cast<int>(rng() % num_params), 1, u(rng));
        c.add_rotation(g, noisy::random_qubits(n, k, rng), a);
      }
    }
    const engine::Program p = engine::compile(c, nullptr);
    REQUIRE(p.num_parameters == num_params);
    const std::vector<double> feature = {0.3, -0.8};
    std::vector<double> theta(num_params);
    for (double& t : theta) t = u(rng);
    const engine::PauliSum obs = engine::PauliSum::parse(n >= 2 ? "0.7*Z0 X1 - 0.4*Y" + std::to_string(n - 1) + " + 0.2*I"
                                                                  : "0.7*Z0 - 0.4*Y0");
    std::vector<double> gradient(num_params);
    const double value = engine::adjoint_gradient(p, theta.data(), feature.data(), obs, gradient.data());
    engine::DensityMatrix rho(n);
    engine::run(p, theta.data(), feature.data(), rho);
    CHECK(std::abs(value - engine::expectation(rho, obs)) <= kTol);
    auto f = [&](const std::vector<double>& t) {
      engine::StateVector psi(n);
      engine::run(p, t.data(), feature.data(), psi);
      return engine::expectation(psi, obs);
    };
    for (int i = 0; i < num_params; ++i) {
      std::vector<double> plus = theta, minus = theta;
      plus[i] += 1e-5;
      minus[i] -= 1e-5;
      const double fd = (f(plus) - f(minus)) / 2e-5;
      INFO("parameter " << i << ": adjoint " << gradient[i] << ", finite differences " << fd);
      CHECK(std::abs(gradient[i] - fd) <= 1e-8);
    }
  }
  // Noisy programs are refused.
  engine::Circuit noisy_circuit(1);
  noisy_circuit.add_rotation(Gate::kRY, {0}, Angle::parameter(0));
  noisy_circuit.add_channel({0}, noise::amplitude_damping(0.1));
  double g = 0.0;
  CHECK_THROWS_AS(engine::adjoint_gradient(engine::compile(noisy_circuit, nullptr), &g, nullptr,
                                           engine::PauliSum::parse("Z0"), &g),
                  std::invalid_argument);
}

// ---- trajectories --------------------------------------------------------------------------------

TEST_CASE("trajectories: means within 5 standard errors of the density matrix for every channel family",
          "[trajectories][statistical]") {
  const std::string family = GENERATE(from_range(noisy::channel_cases()));
  INFO("channel family " << family);
  ref::Rng rng(0x7ac + std::hash<std::string>{}(family));
  const int n = 4;
  noisy::CircuitOptions opt;
  opt.num_ops = 14;
  opt.three_qubit_share = noisy::case_arity(family) == 3 ? 0.3 : 0.0;
  const engine::Circuit c = noisy::to_circuit(noisy::random_circuit(n, rng, opt));
  noise::NoiseModel model = noisy::random_model(family, n, true, rng);
  model.readout.push_back({false, {1}, 0.07, 0.12, {}});
  const engine::Program p = engine::compile(c, &model);
  engine::DensityMatrix rho(n);
  engine::run(p, nullptr, nullptr, rho);
  const std::vector<double> exact_p = engine::probabilities_with_readout(rho, &model);

  std::vector<engine::PauliSum> observables;
  for (int t = 0; t < 6; ++t) observables.push_back(engine::PauliSum{{{1.0, random_pauli(n, rng)}}});
  observables.push_back(engine::PauliSum::parse("0.5*Z0 Z1 - 0.3*X2 + 0.2*Y3 Z0 + 0.1*I"));
  engine::TrajectoryOptions options;
  options.trajectories = 8000;
  options.seed = 17;
  options.probabilities = true;
  options.readout = model.readout_model(n);
  const engine::TrajectoryResult r = engine::run_trajectories(p, nullptr, nullptr, observables, options);
  REQUIRE(r.expectations.size() == observables.size());
  for (std::size_t o = 0; o < observables.size(); ++o) {
    check_within(r.expectations[o], engine::expectation(rho, observables[o]), observables[o].to_string());
    CHECK(r.expectations[o].samples == 8000u);
  }
  REQUIRE(r.probabilities.size() == exact_p.size());
  std::size_t largest = 0;
  for (std::size_t i = 0; i < exact_p.size(); ++i) {
    if (exact_p[i] > exact_p[largest]) largest = i;
    check_within({r.probabilities[i], r.probability_errors[i], 8000}, exact_p[i], "p(" + std::to_string(i) + ")");
  }
  // A 10 % error in the largest probability would lie beyond 5 standard errors.
  CHECK(5.0 * r.probability_errors[largest] < 0.1 * exact_p[largest]);
  CHECK(r.channel_decisions > 8000u);
}

namespace {

// An independent reference for trajectory statistics: every branch of a small circuit (gates and
// Kraus channels as dense matrices), with its probability and its normalised final state's value.
struct DenseOp {
  std::vector<arma::cx_mat> operators;  // one: a gate; several: a channel's Kraus operators
  std::vector<int> qubits;
};

void enumerate(const std::vector<DenseOp>& ops, std::size_t at, const arma::cx_vec& psi, double weight, int n,
               const arma::cx_mat& observable, double* mean, double* second) {
  if (at == ops.size()) {
    const double v = arma::cdot(psi, observable * psi).real();
    *mean += weight * v;
    *second += weight * v * v;
    return;
  }
  for (const arma::cx_mat& k : ops[at].operators) {
    const arma::cx_vec next = ref::embed(k, ops[at].qubits, n) * psi;
    const double p = arma::cdot(next, next).real();
    if (p > 1e-300) enumerate(ops, at + 1, next / std::sqrt(p), weight * p, n, observable, mean, second);
  }
}

arma::cx_mat to_arma(const noise::Matrix& m) {
  arma::cx_mat out(m.rows(), m.cols());
  for (int r = 0; r < m.rows(); ++r)
    for (int c = 0; c < m.cols(); ++c) out(r, c) = m(r, c);
  return out;
}

}  // namespace

TEST_CASE("trajectories: the standard error matches the exact variance over every Kraus branch",
          "[trajectories][statistical]") {
  // 3 qubits, 7 channel sites: damping (state-dependent), depolarising (a unitary mixture), a
  // 2-qubit Pauli channel, thermal relaxation, a mid-circuit measurement and a reset.
  const int n = 3;
  engine::Circuit c(n, n);
  std::vector<DenseOp> ops;
  auto gate = [&](Gate g, std::vector<int> qs, std::vector<double> params = {}) {
    c.add_gate(g, qs, params);
    ops.push_back({{engine::gate_matrix(g, params)}, qs});
  };
  auto channel = [&](const noise::Channel& ch, std::vector<int> qs) {
    c.add_channel(qs, ch);
    std::vector<arma::cx_mat> ks;
    for (const noise::Matrix& k : ch.kraus()) ks.push_back(to_arma(k));
    ops.push_back({ks, qs});
  };
  gate(Gate::kH, {0});
  gate(Gate::kRY, {1}, {1.1});
  gate(Gate::kCX, {0, 2});
  channel(noise::amplitude_damping(0.35), {0});
  channel(noise::depolarizing(1, 0.25), {2});
  gate(Gate::kRX, {2}, {0.6});
  channel(noise::pauli_channel({{"XZ", 0.1}, {"YY", 0.15}}), {1, 2});
  gate(Gate::kCZ, {1, 0});
  channel(noise::thermal_relaxation(30.0, 20.0, 9.0, 0.1), {1});
  channel(noise::Channel::from_kraus({noise::Matrix::rows_of({{1.0, 0.0}, {0.0, 0.0}}),
                                      noise::Matrix::rows_of({{0.0, 0.0}, {0.0, 1.0}})}), {0});
  gate(Gate::kRY, {0}, {0.8});
  channel(noise::reset_channel(0.3, 0.1), {2});
  gate(Gate::kCX, {2, 1});
  const engine::PauliSum observable = engine::PauliSum::parse("0.7*Z0 Z1 + 0.4*X2 - 0.5*Y1 Z2");
  arma::cx_mat dense(8, 8, arma::fill::zeros);
  for (const auto& [coeff, ps] : observable.terms) dense += coeff * ref::pauli_string_operator(labels(ps, n));
  double mean = 0.0, second = 0.0;
  enumerate(ops, 0, ref::basis_state(0, 8), 1.0, n, dense, &mean, &second);
  const double variance = second - mean * mean;
  REQUIRE(variance > 0.05);

  const engine::Program p = engine::compile(c, nullptr);
  engine::TrajectoryOptions options;
  options.trajectories = 40000;
  const engine::TrajectoryResult r = engine::run_trajectories(p, nullptr, nullptr, {observable}, options);
  check_within(r.expectations[0], mean, "observable");
  // N SE^2 is the sample variance, whose relative error here is about sqrt(2 / N) = 0.7 %.
  const double sample_variance = r.expectations[0].standard_error * r.expectations[0].standard_error * 40000.0;
  INFO("sample variance " << sample_variance << ", exact " << variance);
  CHECK(std::abs(sample_variance / variance - 1.0) < 0.05);
  // The unitary mixtures are decided without reading the state; damping, relaxation, measurement
  // and reset only when the draw falls beyond their bounds.
  CHECK(r.channel_decisions == 6u * 40000u);
  CHECK(r.state_reads < r.channel_decisions / 2);
}

TEST_CASE("trajectories: one shot per trajectory samples the noisy distribution with readout errors",
          "[trajectories][statistical]") {
  ref::Rng rng(0x5407);
  const int n = 3;
  noisy::CircuitOptions opt;
  opt.num_ops = 12;
  const engine::Circuit c = noisy::to_circuit(noisy::random_circuit(n, rng, opt));
  noise::NoiseModel model = noisy::random_model("amplitude_damping", n, true, rng);
  model.readout.push_back({true, {}, 0.05, 0.1, {}});
  const engine::Program p = engine::compile(c, &model);
  engine::DensityMatrix rho(n);
  engine::run(p, nullptr, nullptr, rho);
  const std::vector<double> exact = engine::probabilities_with_readout(rho, &model);
  engine::TrajectoryOptions options;
  options.trajectories = 20000;
  options.shots = 20000;
  options.readout = model.readout_model(n);
  const engine::TrajectoryResult r = engine::run_trajectories(p, nullptr, nullptr, {}, options);
  std::uint64_t total = 0;
  for (const auto& [x, count] : r.counts) total += count;
  CHECK(total == 20000u);
  for (std::uint64_t x = 0; x < exact.size(); ++x) {
    const double f = r.counts.count(x) ? static_cast<double>(r.counts.at(x)) / 20000.0 : 0.0;
    const double se = std::sqrt(std::max(exact[x] * (1.0 - exact[x]), 1e-6) / 20000.0);
    INFO("outcome " << x << ": frequency " << f << ", exact " << exact[x]);
    CHECK(std::abs(f - exact[x]) <= 5.0 * se);
  }
  // Several shots per trajectory: the total is kept.
  options.shots = 50001;
  std::uint64_t many = 0;
  for (const auto& [x, count] : engine::run_trajectories(p, nullptr, nullptr, {}, options).counts) many += count;
  CHECK(many == 50001u);
}

TEST_CASE("trajectories: the same results with 1 and 2 threads", "[trajectories]") {
  ref::Rng rng(0x7e4);
  for (const int n : {5, engine::kTrajectoryParallelQubits}) {
    INFO("n " << n);
    engine::Circuit c(n, n);
    for (int layer = 0; layer < 2; ++layer) {
      for (int q = 0; q < n; ++q) c.add_gate(Gate::kRY, {q}, {0.3 + 0.1 * q});
      for (int q = 0; q + 1 < n; ++q) c.add_gate(Gate::kCX, {q, q + 1});
    }
    for (int q = 0; q < n; ++q) c.add_measure(q, q);
    const noise::NoiseModel model = noise::NoiseModel::from_json(R"({"gate_noise": [
        {"gates": ["*"], "channel": {"type": "depolarizing", "p": 0.05}},
        {"gates": ["ry"], "channel": {"type": "amplitude_damping", "gamma": 0.2}}],
        "readout": [{"qubits": [0], "p1_given_0": 0.1, "p0_given_1": 0.2}]})");
    const engine::Program p = engine::compile(c, &model);
    engine::TrajectoryOptions options;
    options.trajectories = n < engine::kTrajectoryParallelQubits ? 100 : 6;
    options.probabilities = n < engine::kTrajectoryParallelQubits;
    options.shots = 37;
    options.readout = model.readout_model(n);
    const std::vector<engine::PauliSum> obs = {engine::PauliSum::parse("Z0 Z1 + 0.5*X2")};
    const int before = engine::num_threads();
    engine::set_num_threads(1);
    const engine::TrajectoryResult one = engine::run_trajectories(p, nullptr, nullptr, obs, options);
    engine::set_num_threads(2);
    const engine::TrajectoryResult two = engine::run_trajectories(p, nullptr, nullptr, obs, options);
    engine::set_num_threads(before);
    CHECK(one.expectations[0].mean == two.expectations[0].mean);
    CHECK(one.expectations[0].standard_error == two.expectations[0].standard_error);
    CHECK(one.probabilities == two.probabilities);
    CHECK(one.probability_errors == two.probability_errors);
    CHECK(one.counts == two.counts);
    CHECK(one.state_reads == two.state_reads);
    CHECK(one.state_reads > 0u);
    // Another seed, other trajectories.
    options.seed = 2;
    CHECK(engine::run_trajectories(p, nullptr, nullptr, obs, options).expectations[0].mean != one.expectations[0].mean);
  }
}

TEST_CASE("trajectories: blocks run in any split and folded in block order give the same result bit for bit",
          "[trajectories]") {
  // What kraus simulate does over MPI ranks (docs/distributed.md): contiguous ranges of blocks run
  // apart, then folded in block order by one TrajectoryCombiner.
  const int n = 4;
  engine::Circuit c(n, n);
  for (int q = 0; q < n; ++q) c.add_gate(Gate::kRY, {q}, {0.4 + 0.2 * q});
  for (int q = 0; q + 1 < n; ++q) c.add_gate(Gate::kCX, {q, q + 1});
  for (int q = 0; q < n; ++q) c.add_measure(q, q);
  const noise::NoiseModel model = noise::NoiseModel::from_json(R"({"gate_noise": [
      {"gates": ["*"], "channel": {"type": "amplitude_damping", "gamma": 0.1}}],
      "readout": [{"qubits": [1], "p1_given_0": 0.1, "p0_given_1": 0.2}]})");
  const engine::Program p = engine::compile(c, &model);
  engine::TrajectoryOptions options;
  options.trajectories = 3 * engine::kTrajectoryBlock + 17;  // 4 blocks, the last one short
  options.probabilities = true;
  options.shots = 301;
  options.readout = model.readout_model(n);
  const std::vector<engine::PauliSum> obs = {engine::PauliSum::parse("Z0 Z3"), engine::PauliSum::parse("X1")};
  const engine::TrajectoryResult whole = engine::run_trajectories(p, nullptr, nullptr, obs, options);
  const std::uint64_t blocks = engine::trajectory_blocks(options.trajectories);
  REQUIRE(blocks == 4u);
  for (const std::vector<std::uint64_t>& cuts :
       std::vector<std::vector<std::uint64_t>>{{0, 4}, {0, 1, 4}, {0, 2, 4}, {0, 1, 2, 3, 4}, {0, 0, 3, 4}}) {
    engine::TrajectoryCombiner combiner(n, obs.size(), options);
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
      std::vector<engine::TrajectoryBlock> part;  // as another process would hand them over
      engine::run_trajectory_blocks(p, nullptr, nullptr, obs, options, cuts[i], cuts[i + 1] - cuts[i],
                                    [&](engine::TrajectoryBlock&& b) { part.push_back(std::move(b)); });
      CHECK(part.size() == cuts[i + 1] - cuts[i]);
      for (const engine::TrajectoryBlock& b : part) combiner.add(b);
    }
    const engine::TrajectoryResult split = combiner.result();
    INFO("cuts " << cuts.size());
    for (std::size_t o = 0; o < obs.size(); ++o) {
      CHECK(split.expectations[o].mean == whole.expectations[o].mean);
      CHECK(split.expectations[o].standard_error == whole.expectations[o].standard_error);
    }
    CHECK(split.probabilities == whole.probabilities);
    CHECK(split.probability_errors == whole.probability_errors);
    CHECK(split.counts == whole.counts);
    CHECK(split.state_reads == whole.state_reads);
    CHECK(split.channel_decisions == whole.channel_decisions);
  }
  // Chan's formula against the two-pass decomposition over the blocks: mean = sum n_b mean_b / N,
  // M2 = sum (M2_b + n_b (mean_b - mean)^2).
  std::vector<engine::TrajectoryBlock> all;
  engine::run_trajectory_blocks(p, nullptr, nullptr, obs, options, 0, blocks,
                                [&](engine::TrajectoryBlock&& b) { all.push_back(std::move(b)); });
  for (std::size_t o = 0; o < obs.size(); ++o) {
    double mean = 0.0, m2 = 0.0;
    for (const engine::TrajectoryBlock& b : all) mean += static_cast<double>(b.trajectories) * b.mean[o];
    mean /= static_cast<double>(options.trajectories);
    for (const engine::TrajectoryBlock& b : all) {
      m2 += b.m2[o] + static_cast<double>(b.trajectories) * (b.mean[o] - mean) * (b.mean[o] - mean);
    }
    const double nn = static_cast<double>(options.trajectories);
    CHECK(std::abs(whole.expectations[o].mean - mean) <= kTol);
    CHECK(std::abs(whole.expectations[o].standard_error - std::sqrt(m2 / (nn - 1.0) / nn)) <= kTol);
    CHECK(whole.expectations[o].standard_error > 0.0);
  }
  // A block past the last, and a combiner short of trajectories, are refused.
  CHECK_THROWS_AS(engine::run_trajectory_blocks(p, nullptr, nullptr, obs, options, 3, 2, [](engine::TrajectoryBlock&&) {}),
                  std::invalid_argument);
  engine::TrajectoryCombiner short_of(n, obs.size(), options);
  CHECK_THROWS_AS(short_of.result(), std::logic_error);
}

TEST_CASE("trajectories: bad options and observables are refused", "[trajectories][validation]") {
  engine::Circuit c(2);
  c.add_gate(Gate::kH, {0});
  const engine::Program p = engine::compile(c, nullptr);
  engine::TrajectoryOptions options;
  std::string why;
  CHECK(options.IsValid(&why));
  options.trajectories = 1;
  CHECK_FALSE(options.IsValid(&why));
  CHECK(why.find("trajectories") != std::string::npos);
  CHECK_THROWS_AS(engine::run_trajectories(p, nullptr, nullptr, {}, options), std::invalid_argument);
  options.trajectories = 10;
  options.fusion_max_qubits = 5;
  CHECK_FALSE(options.IsValid(&why));
  options.fusion_max_qubits = 2;
  CHECK_THROWS_AS(engine::run_trajectories(p, nullptr, nullptr, {engine::PauliSum::parse("Z3")}, options),
                  std::invalid_argument);
  options.readout = noise::ReadoutModel({noise::ReadoutError::single(4, 0.1, 0.1)});
  CHECK_THROWS_AS(engine::run_trajectories(p, nullptr, nullptr, {}, options), std::invalid_argument);
}
