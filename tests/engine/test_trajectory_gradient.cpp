// Trajectory gradients (trajectories.hpp, trajectory_gradient):
//  * one qubit under amplitude damping, where the branch probabilities depend on the angle: the mean
//    against the analytic derivative and the standard error against the exact variance over the two
//    branches (an estimate without the score term has another mean and fails);
//  * random noisy circuits with every channel family, idle noise, mid-circuit measurements and
//    resets: every derivative within 5 standard errors of central differences of the exact density
//    matrix;
//  * noiseless programs: every trajectory gives the state-vector adjoint gradient (standard error 0);
//  * the same bits with 1 and 2 threads in both parallel modes; bad arguments refused.
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "cli/noisy_reference.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/program.hpp"
#include "kraus/engine/qasm2.hpp"
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

void check_within(const engine::Estimate& e, double exact, const std::string& what) {
  INFO(what << ": mean " << e.mean << " +- " << e.standard_error << " over " << e.samples << ", exact " << exact);
  CHECK(std::abs(e.mean - exact) <= 5.0 * e.standard_error + 1e-10);
}

// A random noisy circuit of `family` with parametrised rotations (shared parameters, scales,
// offsets, a feature term) among random gates, mid-circuit measurements and resets.
engine::Circuit parametrised_circuit(int n, int num_params, ref::Rng& rng) {
  noisy::CircuitOptions opt;
  opt.num_ops = 5;
  opt.final_measure = false;
  engine::Circuit c(n, n);
  std::uniform_real_distribution<double> u(-1.5, 1.5);
  const std::vector<Gate> rotations = {Gate::kRX, Gate::kRY, Gate::kRZ, Gate::kRYY, Gate::kRZZ};
  for (int block = 0; block < 2; ++block) {
    c.append(noisy::to_circuit(noisy::random_circuit(n, rng, opt)));
    for (const Gate g : rotations) {
      const int k = engine::gate_info(g).num_qubits;
      Angle a = Angle::parameter(static_cast<int>(rng() % num_params), u(rng), u(rng));
      if (rng() % 2) a.add(static_cast<int>(rng() % num_params), 0, u(rng));
      c.add_rotation(g, noisy::random_qubits(n, k, rng), a);
    }
  }
  return c;
}

}  // namespace

TEST_CASE("trajectory gradient: amplitude damping, analytic mean and exact variance", "[trajectories][gradient]") {
  const double theta = 1.1, gamma = 0.3;
  engine::Circuit c(1);
  c.add_rotation(Gate::kRY, {0}, Angle::parameter(0));
  c.add_channel({0}, noise::amplitude_damping(gamma));
  const engine::Program p = engine::compile(c, nullptr);
  engine::TrajectoryOptions options;
  options.trajectories = 20000;
  options.seed = 5;
  const engine::TrajectoryGradientResult r =
      engine::trajectory_gradient(p, &theta, nullptr, {engine::PauliSum::parse("Z0")}, options);
  REQUIRE(r.jacobian.size() == 1);
  // <Z> = 1 - 2 (1 - gamma) sin^2(theta / 2).
  const double s2 = std::pow(std::sin(theta / 2), 2);
  check_within(r.values[0], 1.0 - 2.0 * (1.0 - gamma) * s2, "value");
  const double exact = -(1.0 - gamma) * std::sin(theta);
  check_within(r.jacobian[0], exact, "d<Z>/dtheta");
  // Branches: the jump (probability gamma s^2, final state |0>) estimates d(gamma s^2)/dtheta /
  // (gamma s^2) = cot(theta / 2); no jump (1 - gamma s^2) estimates
  // d(cos^2 - (1 - gamma) s^2)/dtheta / (1 - gamma s^2).
  const double p_jump = gamma * s2, p_stay = 1.0 - p_jump;
  const double v_jump = 1.0 / std::tan(theta / 2), v_stay = -(2.0 - gamma) * std::sin(theta) / 2.0 / p_stay;
  REQUIRE(std::abs(p_jump * v_jump + p_stay * v_stay - exact) <= 1e-12);
  const double variance = p_jump * v_jump * v_jump + p_stay * v_stay * v_stay - exact * exact;
  const double expected_se = std::sqrt(variance / 20000.0);
  INFO("standard error " << r.jacobian[0].standard_error << ", exact " << expected_se);
  CHECK(std::abs(r.jacobian[0].standard_error / expected_se - 1.0) <= 0.05);
  // Without the score term the estimate's mean would be p_stay * d<Z>_stay/dtheta (the jump branch's
  // normalised value does not move): far outside the window.
  const double careless = p_stay * (-std::sin(theta) * (1.0 - gamma) / (p_stay * p_stay));
  CHECK(std::abs(careless - exact) > 5.0 * r.jacobian[0].standard_error);
  CHECK(r.saved_states > 0u);  // the jumps are singular: their states were saved
}

TEST_CASE("trajectory gradient: within 5 standard errors of the exact density matrix for every channel family",
          "[trajectories][gradient][statistical]") {
  const std::string family = GENERATE(from_range(noisy::channel_cases()));
  INFO("channel family " << family);
  ref::Rng rng(0x96a + std::hash<std::string>{}(family));
  const int n = 3, num_params = 3;
  engine::Circuit c = parametrised_circuit(n, num_params, rng);
  if (noisy::case_arity(family) == 3) c.add_gate(Gate::kCCX, {0, 1, 2});
  const noise::NoiseModel model = noisy::random_model(family, n, true, rng);
  const engine::Program p = engine::compile(c, &model);
  const std::vector<double> theta = {0.4, -1.2, 2.1}, x = {0.7};
  const std::vector<engine::PauliSum> obs = {engine::PauliSum::parse("Z0 + 0.5*X1 Y2"),
                                             engine::PauliSum::parse("0.8*Y0 Z1 - 0.3*Z2")};
  engine::TrajectoryOptions options;
  options.trajectories = 6000;
  options.seed = 3;
  const engine::TrajectoryGradientResult r = engine::trajectory_gradient(p, theta.data(), x.data(), obs, options);
  REQUIRE(r.values.size() == obs.size());
  REQUIRE(r.jacobian.size() == obs.size() * num_params);
  auto exact = [&](const std::vector<double>& t, std::size_t o) {
    engine::DensityMatrix rho(n);
    engine::run(p, t.data(), x.data(), rho);
    return engine::expectation(rho, obs[o]);
  };
  for (std::size_t o = 0; o < obs.size(); ++o) {
    check_within(r.values[o], exact(theta, o), "value of " + obs[o].to_string());
    for (int i = 0; i < num_params; ++i) {
      std::vector<double> plus = theta, minus = theta;
      plus[static_cast<std::size_t>(i)] += 1e-5;
      minus[static_cast<std::size_t>(i)] -= 1e-5;
      const double fd = (exact(plus, o) - exact(minus, o)) / 2e-5;
      check_within(r.jacobian[o * num_params + static_cast<std::size_t>(i)], fd,
                   "d" + obs[o].to_string() + "/dtheta" + std::to_string(i));
    }
  }
}

TEST_CASE("trajectory gradient: noiseless programs give the adjoint gradient in every trajectory",
          "[trajectories][gradient]") {
  ref::Rng rng(0x96b);
  const int n = 4, num_params = 3;
  engine::Circuit c(n);
  std::uniform_real_distribution<double> u(-1.5, 1.5);
  for (int layer = 0; layer < 3; ++layer) {
    for (int q = 0; q < n; ++q) c.add_rotation(q % 2 ? Gate::kRY : Gate::kRX, {q}, Angle::parameter(q % num_params, u(rng)));
    for (int q = 0; q + 1 < n; ++q) c.add_gate(Gate::kCX, {q, q + 1});
    c.add_rotation(Gate::kRZX, {0, 3}, Angle::parameter(layer, 1.0, 0.2));
  }
  const engine::Program p = engine::compile(c, nullptr);
  const std::vector<double> theta = {0.3, -0.9, 1.4};
  const engine::PauliSum obs = engine::PauliSum::parse("Z0 Z3 - 0.5*X1 + 0.25*Y2 Y3");
  std::vector<double> exact(num_params);
  const double value = engine::adjoint_gradient(p, theta.data(), nullptr, obs, exact.data());
  engine::TrajectoryOptions options;
  options.trajectories = 3;
  const engine::TrajectoryGradientResult r = engine::trajectory_gradient(p, theta.data(), nullptr, {obs}, options);
  CHECK(std::abs(r.values[0].mean - value) <= 1e-12);
  CHECK(r.values[0].standard_error <= 1e-12);
  for (int i = 0; i < num_params; ++i) {
    CHECK(std::abs(r.jacobian[static_cast<std::size_t>(i)].mean - exact[static_cast<std::size_t>(i)]) <= 1e-12);
    CHECK(r.jacobian[static_cast<std::size_t>(i)].standard_error <= 1e-12);
  }
  CHECK(r.channel_decisions == 0u);
}

TEST_CASE("trajectory gradient: the same results with 1 and 2 threads", "[trajectories][gradient]") {
  for (const int n : {4, engine::kTrajectoryParallelQubits}) {
    INFO("n " << n);
    engine::Circuit c(n, n);
    for (int q = 0; q < n; ++q) c.add_rotation(Gate::kRY, {q}, Angle::parameter(q % 2));
    for (int q = 0; q + 1 < n; ++q) c.add_gate(Gate::kCX, {q, q + 1});
    c.add_measure(1, 1);
    c.add_rotation(Gate::kRX, {1}, Angle::parameter(1, 0.5));
    const noise::NoiseModel model = noise::NoiseModel::from_json(R"({"gate_noise": [
        {"gates": ["*"], "channel": {"type": "depolarizing", "p": 0.05}},
        {"gates": ["ry"], "channel": {"type": "amplitude_damping", "gamma": 0.2}}]})");
    const engine::Program p = engine::compile(c, &model);
    engine::TrajectoryOptions options;
    options.trajectories = n < engine::kTrajectoryParallelQubits ? 100 : 4;
    const std::vector<double> theta = {0.7, -0.4};
    const std::vector<engine::PauliSum> obs = {engine::PauliSum::parse("Z0 Z1 + 0.5*X2")};
    const int before = engine::num_threads();
    engine::set_num_threads(1);
    const engine::TrajectoryGradientResult one = engine::trajectory_gradient(p, theta.data(), nullptr, obs, options);
    engine::set_num_threads(2);
    const engine::TrajectoryGradientResult two = engine::trajectory_gradient(p, theta.data(), nullptr, obs, options);
    engine::set_num_threads(before);
    for (std::size_t e = 0; e < one.jacobian.size(); ++e) {
      CHECK(one.jacobian[e].mean == two.jacobian[e].mean);
      CHECK(one.jacobian[e].standard_error == two.jacobian[e].standard_error);
    }
    CHECK(one.values[0].mean == two.values[0].mean);
    CHECK(one.saved_states == two.saved_states);
    CHECK(one.saved_states > 0u);  // the mid-circuit measurement's projectors
    // The branches of run_trajectories with the same seed.
    const engine::TrajectoryResult plain = engine::run_trajectories(p, theta.data(), nullptr, obs, options);
    CHECK(std::abs(plain.expectations[0].mean - one.values[0].mean) <= 1e-12);
    CHECK(plain.state_reads == one.state_reads);
  }
}

TEST_CASE("trajectory gradient: bad arguments are refused", "[trajectories][gradient][validation]") {
  engine::Circuit c(2);
  c.add_rotation(Gate::kRY, {0}, Angle::parameter(0));
  const engine::Program p = engine::compile(c, nullptr);
  const double theta = 0.1;
  engine::TrajectoryOptions options;
  options.trajectories = 10;
  options.shots = 5;
  CHECK_THROWS_AS(engine::trajectory_gradient(p, &theta, nullptr, {engine::PauliSum::parse("Z0")}, options),
                  std::invalid_argument);
  options.shots = 0;
  options.probabilities = true;
  CHECK_THROWS_AS(engine::trajectory_gradient(p, &theta, nullptr, {engine::PauliSum::parse("Z0")}, options),
                  std::invalid_argument);
  options.probabilities = false;
  CHECK_THROWS_AS(engine::trajectory_gradient(p, &theta, nullptr, {engine::PauliSum::parse("Z2")}, options),
                  std::invalid_argument);
  engine::Circuit angle_channel(1);
  angle_channel.add_angle_dependent_channel({0}, engine::angle_dependent_amplitude_damping(0.5), Angle::parameter(0));
  CHECK_THROWS_AS(engine::trajectory_gradient(engine::compile(angle_channel, nullptr), &theta, nullptr,
                                              {engine::PauliSum::parse("Z0")}, options),
                  std::invalid_argument);
  const engine::Circuit controlled = engine::parse_qasm2(
      "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[2];\ncreg c[1];\nmeasure q[0] -> c[0];\nif (c == 1) x q[1];\n");
  CHECK_THROWS_AS(engine::trajectory_gradient(engine::compile(controlled, nullptr), nullptr, nullptr,
                                              {engine::PauliSum::parse("Z1")}, options),
                  std::invalid_argument);
}
