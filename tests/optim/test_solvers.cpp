// Ceres behind our structs: L-BFGS/BFGS on a loss with a known optimum, Levenberg-Marquardt on
// per-sample residuals with our Jacobian, callbacks that stop (and a resume that reaches the same
// optimum), abort, evaluation budgets, Adam, option validation and reports.
#include <cmath>
#include <random>
#include <stdexcept>

#include "catch_compat.hpp"
#include "kraus/optim/ansatz.hpp"
#include "kraus/optim/encoding.hpp"
#include "kraus/optim/solver.hpp"
#include "reference/test_support.hpp"

using namespace kraus;
using engine::Angle;
using engine::Gate;

namespace {

constexpr double kPi = 3.14159265358979323846;

// E(θ) = Σ_i cos θ_i: RX(θ_i) on qubit i, H = Σ Z_i. Minimum -n at θ_i = π (mod 2π).
optim::EnergyObjective cosine_sum(int n, optim::GradientOptions g = {}) {
  engine::Circuit c(n);
  engine::PauliSum h;
  for (int i = 0; i < n; ++i) {
    c.add_rotation(Gate::kRX, {i}, Angle::parameter(i));
    engine::PauliString z;
    z.z_mask = std::uint64_t{1} << i;
    h.terms.emplace_back(1.0, z);
  }
  return optim::EnergyObjective(c, h, nullptr, g);
}

std::vector<double> start_point(int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<double> t(n);
  for (double& x : t) x = std::uniform_real_distribution<double>(0.4, 2.7)(rng);
  return t;
}

// An objective that throws after a number of evaluations.
class Throwing : public optim::Objective {
 public:
  int num_parameters() const override { return 1; }
  double evaluate(const double* p, double* g) const override {
    if (++calls_ > 1) throw std::runtime_error("objective failed on purpose");
    if (g) g[0] = 2 * p[0];
    return p[0] * p[0];
  }
  std::int64_t circuit_evaluations() const override { return calls_; }

 private:
  mutable int calls_ = 0;
};

}  // namespace

TEST_CASE("optim: L-BFGS and BFGS find the known optimum of sum cos(theta_i)", "[optim]") {
  for (auto direction : {optim::LineSearchDirection::kLbfgs, optim::LineSearchDirection::kBfgs}) {
    for (auto method : {optim::GradientMethod::kAdjoint, optim::GradientMethod::kParameterShift}) {
      optim::GradientOptions g;
      g.method = method;
      const optim::EnergyObjective e = cosine_sum(5, g);
      std::vector<double> theta = start_point(5, 3);
      optim::MinimizerOptions o;
      o.direction = direction;
      const optim::SolveSummary s = optim::minimize(e, &theta, o);
      INFO(s.BriefReport());
      REQUIRE(s.termination == optim::Termination::kConvergence);
      REQUIRE(s.usable());
      REQUIRE_CLOSE(s.final_cost, -5.0, 1e-12);
      for (double t : theta) REQUIRE_CLOSE(t, kPi, 1e-6);
      REQUIRE(s.circuit_evaluations > 0);
      REQUIRE(s.trace.size() >= static_cast<std::size_t>(s.iterations));  // Ceres skips the callback of the last
      REQUIRE(s.trace.front().iteration == 0);
      REQUIRE(s.BriefReport().find(direction == optim::LineSearchDirection::kLbfgs ? "lbfgs: convergence" :
                                                                                      "bfgs: convergence") == 0);
    }
  }
}

TEST_CASE("optim: a noisy hardware-efficient VQE converges to the same optimum by every gradient method", "[optim]") {
  const noise::NoiseModel model = noise::NoiseModel::from_json(R"({"gate_noise": [
      {"gates": ["*"], "channel": {"type": "depolarizing", "p": 0.01}},
      {"gates": ["cx"], "channel": {"type": "amplitude_damping", "gamma": 0.02}}]})");
  optim::AnsatzOptions ao;
  ao.num_qubits = 3;
  ao.num_layers = 2;
  ao.entangler = optim::Entangler::kCnotChain;
  const optim::Ansatz ansatz(ao);
  engine::PauliSum h;
  for (const char* t : {"Z0 Z1", "Z1 Z2", "X0", "X1", "X2"}) h.terms.emplace_back(-1.0, engine::PauliString::parse(t));
  std::vector<double> finals;
  for (auto method : {optim::GradientMethod::kAdjoint, optim::GradientMethod::kParameterShift,
                      optim::GradientMethod::kFiniteDifference}) {
    optim::GradientOptions g;
    g.method = method;
    const optim::EnergyObjective e(ansatz.circuit(), h, &model, g);
    std::vector<double> theta = ansatz.random_parameters(5, -0.5, 0.5);
    optim::MinimizerOptions o;
    o.gradient_tolerance = 1e-7;
    const optim::SolveSummary s = optim::minimize(e, &theta, o);
    INFO(s.BriefReport());
    REQUIRE(s.usable());
    finals.push_back(s.final_cost);
  }
  REQUIRE(finals[0] < -3.0);
  REQUIRE_CLOSE(finals[1], finals[0], 1e-8);
  REQUIRE_CLOSE(finals[2], finals[0], 1e-7);
}

TEST_CASE("optim: Levenberg-Marquardt fits per-sample residuals with our Jacobian", "[optim]") {
  // Angle-encoded data, two layers of RY + CZ, readout Z0; targets from known parameters θ*.
  optim::AnsatzOptions ao;
  ao.num_qubits = 2;
  ao.num_layers = 2;
  ao.rotations = optim::RotationSet::kRY;
  ao.entangler = optim::Entangler::kCzChain;
  const optim::Ansatz ansatz(ao);
  const engine::Circuit c = ansatz.circuit(optim::Encoding::angle(2));
  engine::PauliSum z0;
  z0.terms.emplace_back(1.0, engine::PauliString::parse("Z0"));
  const std::vector<double> truth = {0.7, -1.1, 0.4, 2.0};
  std::mt19937_64 rng(12);
  const int N = 12;
  std::vector<double> xs(2 * N), targets(N);
  for (double& x : xs) x = std::uniform_real_distribution<double>(0, 1)(rng);
  {
    optim::CircuitFunction f(c, {z0});
    f.evaluate_batch(truth.data(), xs.data(), N, targets.data());
  }
  const optim::RegressionObjective fit(c, z0, xs, targets);
  REQUIRE(fit.num_residuals() == N);
  // Jacobian against central differences.
  std::vector<double> p = {0.2, -0.6, 0.9, 1.5}, r(N), jac(N * 4), rp(N), rm(N);
  fit.residuals(p.data(), r.data(), jac.data());
  for (int i = 0; i < 4; ++i) {
    std::vector<double> q = p;
    q[i] += 1e-6;
    fit.residuals(q.data(), rp.data(), nullptr);
    q[i] -= 2e-6;
    fit.residuals(q.data(), rm.data(), nullptr);
    for (int k = 0; k < N; ++k) REQUIRE_CLOSE(jac[k * 4 + i], (rp[k] - rm[k]) / 2e-6, 1e-8);
  }
  // The scalar form is ½ Σ r² and its gradient J^T r.
  std::vector<double> grad(4);
  double half = 0;
  for (double v : r) half += 0.5 * v * v;
  REQUIRE_CLOSE(fit.evaluate(p.data(), grad.data()), half, 1e-14);
  for (int i = 0; i < 4; ++i) {
    double jr = 0;
    for (int k = 0; k < N; ++k) jr += jac[k * 4 + i] * r[k];
    REQUIRE_CLOSE(grad[i], jr, 1e-12);
  }
  std::vector<double> start = {0.4, -0.8, 0.7, 1.6};
  const optim::SolveSummary s = optim::least_squares(fit, &start);
  INFO(s.BriefReport());
  REQUIRE(s.usable());
  REQUIRE(s.solver == "levenberg_marquardt");
  REQUIRE(s.final_cost < 1e-20);
  REQUIRE(s.num_gradient_evaluations > 0);
  // L-BFGS on the same loss reaches a zero residual as well.
  std::vector<double> start2 = {0.4, -0.8, 0.7, 1.6};
  const optim::SolveSummary s2 = optim::minimize(fit, &start2);
  REQUIRE(s2.final_cost < 1e-14);
  // No least-squares form: refused.
  const optim::EnergyObjective e = cosine_sum(2);
  std::vector<double> t2 = {1.0, 1.0};
  REQUIRE_THROWS_AS(optim::least_squares(e, &t2), std::invalid_argument);
}

TEST_CASE("optim: a callback stops a solve and a second solve resumes to the same optimum", "[optim]") {
  const int n = 6;
  const optim::EnergyObjective e = cosine_sum(n);
  optim::MinimizerOptions plain;
  std::vector<double> reference = start_point(n, 7);
  const optim::SolveSummary full = optim::minimize(e, &reference, plain);
  REQUIRE(full.termination == optim::Termination::kConvergence);
  REQUIRE(full.iterations > 4);

  std::vector<double> theta = start_point(n, 7), seen;
  double seen_cost = 0;
  std::vector<int> iterations;
  optim::MinimizerOptions stopping;
  stopping.callbacks.push_back([&](const optim::IterationInfo& info) {
    iterations.push_back(info.iteration);
    if (info.iteration == 3) {
      seen.assign(info.parameters, info.parameters + info.num_parameters);
      seen_cost = info.cost;
      return optim::CallbackAction::kStop;
    }
    return optim::CallbackAction::kContinue;
  });
  const optim::SolveSummary first = optim::minimize(e, &theta, stopping);
  REQUIRE(iterations == std::vector<int>{0, 1, 2, 3});
  REQUIRE(first.termination == optim::Termination::kUserStop);
  REQUIRE(first.usable());
  REQUIRE(first.message == "stopped by a callback");
  REQUIRE(theta == seen);  // the parameters are the iterate the callback saw
  REQUIRE_CLOSE(first.final_cost, seen_cost, 1e-15);
  REQUIRE_CLOSE(e.evaluate(theta.data(), nullptr), seen_cost, 1e-15);
  // Resume.
  const optim::SolveSummary second = optim::minimize(e, &theta, plain);
  REQUIRE(second.termination == optim::Termination::kConvergence);
  REQUIRE_CLOSE(second.initial_cost, seen_cost, 1e-15);
  REQUIRE_CLOSE(second.final_cost, full.final_cost, 1e-12);
  for (int i = 0; i < n; ++i) REQUIRE_CLOSE(theta[i], reference[i], 1e-6);
}

TEST_CASE("optim: abort, evaluation budget and objective errors", "[optim]") {
  const optim::EnergyObjective e = cosine_sum(4);
  std::vector<double> theta = start_point(4, 1);
  optim::MinimizerOptions aborting;
  aborting.callbacks.push_back([](const optim::IterationInfo& info) {
    return info.iteration == 2 ? optim::CallbackAction::kAbort : optim::CallbackAction::kContinue;
  });
  const optim::SolveSummary a = optim::minimize(e, &theta, aborting);
  REQUIRE(a.termination == optim::Termination::kAborted);
  REQUIRE_FALSE(a.usable());

  theta = start_point(4, 1);
  optim::MinimizerOptions budget;
  budget.max_circuit_evaluations = 6;
  const optim::SolveSummary b = optim::minimize(e, &theta, budget);
  REQUIRE(b.termination == optim::Termination::kUserStop);
  REQUIRE(b.message.find("budget") != std::string::npos);
  REQUIRE(b.circuit_evaluations >= 6);
  REQUIRE(b.circuit_evaluations < 20);

  theta = start_point(4, 1);
  optim::LeastSquaresOptions lso;
  lso.max_iterations = -1;
  std::string why;
  REQUIRE_FALSE(lso.IsValid(&why));

  Throwing bad;
  std::vector<double> x = {1.0};
  REQUIRE_THROWS_WITH(optim::minimize(bad, &x), Catch::Contains("on purpose"));
}

TEST_CASE("optim: Adam decreases the loss", "[optim]") {
  const optim::EnergyObjective e = cosine_sum(3);
  std::vector<double> theta = start_point(3, 4);
  optim::AdamOptions o;
  o.learning_rate = 0.1;
  o.max_steps = 300;
  int hooks = 0;
  o.before_step = [&](int) { ++hooks; };
  const optim::SolveSummary s = optim::adam(e, &theta, o);
  REQUIRE(hooks == 300);
  REQUIRE(s.termination == optim::Termination::kNoConvergence);
  REQUIRE(s.final_cost < s.initial_cost);
  REQUIRE(s.final_cost < -2.99);
  o.learning_rate = -1;
  REQUIRE_THROWS_AS(optim::adam(e, &theta, o), std::invalid_argument);
}

TEST_CASE("optim: solver options are validated with messages naming the field", "[optim]") {
  std::string why;
  optim::MinimizerOptions o;
  REQUIRE(o.IsValid(&why));
  o.gradient_tolerance = 0;
  REQUIRE_FALSE(o.IsValid(&why));
  REQUIRE(why.find("tolerances") != std::string::npos);
  o = {};
  o.lbfgs_rank = 0;
  REQUIRE_FALSE(o.IsValid(&why));
  REQUIRE(why.find("lbfgs_rank") != std::string::npos);
  o = {};
  o.callbacks.push_back(nullptr);
  REQUIRE_FALSE(o.IsValid(&why));
  const optim::EnergyObjective e = cosine_sum(2);
  std::vector<double> wrong = {1.0};
  REQUIRE_THROWS_AS(optim::minimize(e, &wrong), std::invalid_argument);
  optim::set_solver_log_level(optim::SolverLogLevel::kError);
}
