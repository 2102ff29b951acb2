// The three gradient methods (adjoint, parameter shift, central differences) agree on random noisy
// circuits; the adjoint method with checkpoints equals the stored-state one; parameter shift fails
// (and is refused) with θ-dependent noise while the adjoint method stays exact; costs and threads.
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "catch_compat.hpp"
#include "kraus/engine/program.hpp"
#include "kraus/engine/trajectories.hpp"
#include "kraus/noise/channel_table.hpp"
#include "kraus/optim/encoding.hpp"
#include "kraus/optim/gradients.hpp"
#include "reference/test_support.hpp"

using namespace kraus;
using engine::Angle;
using optim::GradientMethod;
using engine::Gate;

namespace {

engine::PauliSum pauli_sum(std::initializer_list<std::pair<double, const char*>> terms) {
  engine::PauliSum s;
  for (const auto& [c, t] : terms) s.terms.emplace_back(c, engine::PauliString::parse(t));
  return s;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

double max_abs(const std::vector<double>& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::abs(v));
  return m;
}

// Rotations with shared parameters, data terms and trainable data weights; fixed gates; explicit
// channels (1, 2 and 3 qubits).
engine::Circuit random_noisy_circuit(std::mt19937_64& rng, int n, int num_ops, int num_params,
                                               int num_features, bool explicit_channels) {
  engine::Circuit c(n);
  std::uniform_int_distribution<int> kind(0, 11), qubit(0, n - 1), param(0, num_params - 1), feat(0, num_features - 1);
  std::uniform_real_distribution<double> coeff(-1.5, 1.5);
  const Gate rot1[] = {Gate::kRX, Gate::kRY, Gate::kRZ};
  const Gate rot2[] = {Gate::kRXX, Gate::kRYY, Gate::kRZZ, Gate::kRZX};
  for (int i = 0; i < num_ops; ++i) {
    const int k = kind(rng);
    int a = qubit(rng), b = qubit(rng);
    while (b == a) b = qubit(rng);
    if (k <= 3) {
      Angle ang = Angle::parameter(param(rng), coeff(rng), coeff(rng));
      if (num_features > 0 && k == 3) ang.add(param(rng), feat(rng), coeff(rng)).add(-1, feat(rng), 2.0);
      c.add_rotation(rot1[k % 3], {a}, ang);
    } else if (k <= 5) {
      c.add_rotation(rot2[k % 4], {a, b}, Angle::parameter(param(rng), coeff(rng)));
    } else if (k == 6) {
      c.add_gate(Gate::kCX, {a, b});
    } else if (k == 7) {
      c.add_gate(Gate::kCZ, {a, b});
    } else if (k == 8) {
      c.add_gate(Gate::kH, {a});
    } else if (k == 9 && explicit_channels) {
      c.add_channel({a}, noise::generalized_amplitude_damping(0.1, 0.2));
    } else if (k == 10 && explicit_channels) {
      c.add_channel({a, b}, noise::depolarizing(2, 0.05));
    } else if (k == 11 && explicit_channels && n >= 3) {
      int t = qubit(rng);
      while (t == a || t == b) t = qubit(rng);
      c.add_channel({a, b, t}, noise::depolarizing(3, 0.03));
    } else {
      c.add_rotation(Gate::kRY, {a}, Angle::constant(coeff(rng)));  // a rotation with no parameter
    }
  }
  c.set_num_parameters(num_params);
  c.set_num_features(num_features);
  return c;
}

const char* kModelJson = R"({
  "gate_noise": [
    {"gates": ["*"], "channel": {"type": "depolarizing", "p": 0.02}},
    {"gates": ["rx", "ry", "h"], "channel": {"type": "amplitude_damping", "gamma": 0.04}},
    {"gates": ["cx", "rzz"], "channel": {"type": "thermal_relaxation", "t1": 50.0, "t2": 60.0, "time": 3.0}},
    {"gates": ["rz"], "channel": {"type": "coherent_overrotation", "axis": "x", "angle": 0.05}},
    {"gates": ["rxx", "cz"], "channel": {"type": "pauli", "probabilities": {"XZ": 0.01, "YY": 0.02}}}
  ],
  "idle_noise": {"type": "phase_damping", "lambda": 0.03}
})";

struct Jac {
  std::vector<double> values, jacobian;
};

Jac jacobian_of(const optim::CircuitFunction& f, const std::vector<double>& theta, const std::vector<double>& xs,
                int samples, GradientMethod method) {
  Jac j;
  j.values.resize(static_cast<std::size_t>(samples) * f.num_outputs());
  j.jacobian.resize(j.values.size() * f.num_parameters());
  f.jacobian_batch(theta.data(), xs.empty() ? nullptr : xs.data(), samples, j.values.data(), j.jacobian.data(), method);
  return j;
}

}  // namespace

TEST_CASE("optim: adjoint, parameter shift and finite differences agree on random noisy circuits", "[optim]") {
  const noise::NoiseModel model = noise::NoiseModel::from_json(kModelJson);
  const std::vector<engine::PauliSum> observables = {
      pauli_sum({{1.0, "Z0 Z1"}}), pauli_sum({{0.6, "X0 Y2"}, {-0.3, "Z1"}, {0.2, "I"}}), pauli_sum({{1.0, "Y1 X2"}})};
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    std::mt19937_64 rng(seed);
    const int n = 3, P = 6, F = 2, samples = 2;
    const bool explicit_channels = seed % 2 == 0;
    const engine::Circuit c = random_noisy_circuit(rng, n, 24, P, F, explicit_channels);
    std::vector<double> theta(P), xs(samples * F);
    for (double& t : theta) t = std::uniform_real_distribution<double>(-3, 3)(rng);
    for (double& x : xs) x = std::uniform_real_distribution<double>(0, 1)(rng);
    optim::CircuitFunction f(c, observables, &model);
    const Jac adj = jacobian_of(f, theta, xs, samples, GradientMethod::kAdjoint);
    const Jac ps = jacobian_of(f, theta, xs, samples, GradientMethod::kParameterShift);
    const Jac fd = jacobian_of(f, theta, xs, samples, GradientMethod::kFiniteDifference);
    INFO("seed " << seed);
    REQUIRE(max_abs(adj.jacobian) > 1e-3);  // a non-trivial gradient
    REQUIRE(max_abs_diff(adj.values, ps.values) < 1e-14);
    REQUIRE(max_abs_diff(adj.jacobian, ps.jacobian) < 1e-12);
    REQUIRE(max_abs_diff(adj.jacobian, fd.jacobian) < 1e-8);
    REQUIRE(max_abs_diff(ps.jacobian, fd.jacobian) < 1e-8);

    // The vector-Jacobian product equals w^T J, summed over samples, for every method.
    const std::vector<double> w = {0.7, -1.3, 0.4};
    for (GradientMethod m : {GradientMethod::kAdjoint, GradientMethod::kParameterShift, GradientMethod::kFiniteDifference}) {
      std::vector<double> values(samples * 3), grad(P), expect(P, 0.0);
      f.vjp_batch(theta.data(), xs.data(), samples,
                  [&](int k, const double*, double* wk) {
                    for (int i = 0; i < 3; ++i) wk[i] = w[i] * (k + 1);
                  },
                  values.data(), grad.data(), m);
      for (int k = 0; k < samples; ++k)
        for (int i = 0; i < 3; ++i)
          for (int p = 0; p < P; ++p) expect[p] += w[i] * (k + 1) * adj.jacobian[(k * 3 + i) * P + p];
      REQUIRE(max_abs_diff(grad, expect) < (m == GradientMethod::kFiniteDifference ? 1e-8 : 1e-12));
    }
  }
}

TEST_CASE("optim: the adjoint method with checkpoints equals the stored-state pass", "[optim]") {
  // 8 qubits, so that the adjoint method runs in several pieces (cache-blocked sweeps of 7 qubits).
  const noise::NoiseModel model = noise::NoiseModel::from_json(kModelJson);
  std::mt19937_64 rng(21);
  const int n = 8, P = 8;
  const engine::Circuit c = random_noisy_circuit(rng, n, 80, P, 0, true);
  std::vector<double> theta(P);
  for (double& t : theta) t = std::uniform_real_distribution<double>(-3, 3)(rng);
  const std::vector<engine::PauliSum> obs = {pauli_sum({{1.0, "Z0 X2"}}), pauli_sum({{1.0, "Y1 Z7"}})};
  optim::CircuitFunction full(c, obs, &model);
  REQUIRE(full.num_parametrized_rotations() > 16);
  optim::GradientOptions small;
  small.adjoint_memory_bytes = 8 * engine::density_matrix_bytes(n);  // forces segments (16 pieces)
  optim::CircuitFunction seg(c, obs, &model, small);
  const Jac a = jacobian_of(full, theta, {}, 1, GradientMethod::kAdjoint);
  const Jac b = jacobian_of(seg, theta, {}, 1, GradientMethod::kAdjoint);
  // One forward pass and one backward pass per observable; with checkpoints, every backward pass
  // recomputes the forward pass.
  REQUIRE(full.circuit_evaluations() == 1 + 2);
  REQUIRE(seg.circuit_evaluations() == 1 + 2 * 2);
  REQUIRE(max_abs_diff(a.jacobian, b.jacobian) < 1e-14);
  const Jac fd = jacobian_of(full, theta, {}, 1, GradientMethod::kFiniteDifference);
  REQUIRE(max_abs_diff(b.jacobian, fd.jacobian) < 1e-8);
  // Budgets between: pieces recomputed rather than keeping their points, segments of kept points.
  for (const int states : {4, 6, 12, 24}) {
    CAPTURE(states);
    optim::GradientOptions o;
    o.adjoint_memory_bytes = static_cast<std::uint64_t>(states) * engine::density_matrix_bytes(n);
    optim::CircuitFunction f(c, obs, &model, o);
    REQUIRE(max_abs_diff(a.jacobian, jacobian_of(f, theta, {}, 1, GradientMethod::kAdjoint).jacobian) < 1e-14);
  }
  // Too little memory for even checkpointing is an error that says what to do.
  optim::GradientOptions tiny;
  tiny.adjoint_memory_bytes = engine::density_matrix_bytes(n);
  REQUIRE_THROWS_WITH(optim::CircuitFunction(c, obs, &model, tiny), Catch::Contains("adjoint_memory_bytes"));
}

TEST_CASE("optim: theta-dependent noise breaks parameter shift, not the adjoint method", "[optim]") {
  // RY(θ0) then damping with γ = 0.3 sin²(θ0/2), RX(θ1), damping with γ(θ1), CX, RZ(θ0 + θ2).
  engine::Circuit c(2);
  c.add_rotation(Gate::kRY, {0}, Angle::parameter(0));
  c.add_angle_dependent_channel({0}, engine::angle_dependent_amplitude_damping(0.3), Angle::parameter(0));
  c.add_rotation(Gate::kRX, {1}, Angle::parameter(1));
  c.add_angle_dependent_channel({1}, engine::angle_dependent_amplitude_damping(0.2), Angle::parameter(1, 0.5, 0.3));
  c.add_gate(Gate::kCX, {0, 1});
  c.add_rotation(Gate::kRZ, {0}, Angle::parameter(0).add(2, -1, 1.0));
  c.add_rotation(Gate::kRY, {0}, Angle::parameter(2));
  REQUIRE(c.has_parameter_dependent_channels());
  const std::vector<engine::PauliSum> obs = {pauli_sum({{1.0, "Z0"}, {0.5, "Z1"}, {0.3, "X0 X1"}})};
  const noise::NoiseModel model = noise::NoiseModel::from_json(
      R"({"gate_noise": [{"gates": ["*"], "channel": {"type": "depolarizing", "p": 0.02}}]})");
  optim::GradientOptions lax;
  lax.strict_parameter_shift = false;
  optim::CircuitFunction f(c, obs, &model, lax);
  const std::vector<double> theta = {1.1, -0.7, 0.4};
  const Jac adj = jacobian_of(f, theta, {}, 1, GradientMethod::kAdjoint);
  const Jac fd = jacobian_of(f, theta, {}, 1, GradientMethod::kFiniteDifference);
  const Jac ps = jacobian_of(f, theta, {}, 1, GradientMethod::kParameterShift);
  REQUIRE(max_abs_diff(adj.jacobian, fd.jacobian) < 1e-8);
  REQUIRE(max_abs_diff(ps.jacobian, fd.jacobian) > 1e-3);  // the documented failure
  // The numerical superoperator derivative (no analytic one given) is as good.
  engine::AngleDependentChannel numeric = engine::angle_dependent_amplitude_damping(0.3);
  numeric.derivative = nullptr;
  engine::Circuit c2(1);
  c2.add_rotation(Gate::kRY, {0}, Angle::parameter(0));
  c2.add_angle_dependent_channel({0}, numeric, Angle::parameter(0));
  optim::CircuitFunction f2(c2, {pauli_sum({{1.0, "Z0"}, {0.4, "X0"}})}, nullptr, lax);
  const std::vector<double> t2 = {0.9};
  REQUIRE(max_abs_diff(jacobian_of(f2, t2, {}, 1, GradientMethod::kAdjoint).jacobian,
                       jacobian_of(f2, t2, {}, 1, GradientMethod::kFiniteDifference).jacobian) < 1e-8);
  // Strict (the default): parameter shift is refused with a clear message.
  optim::CircuitFunction strict(c, obs, &model);
  std::vector<double> v(1), j(3);
  REQUIRE_THROWS_WITH(strict.jacobian(theta.data(), nullptr, v.data(), j.data(), GradientMethod::kParameterShift),
                      Catch::Contains("parameter shift is not valid"));
}

TEST_CASE("optim: gradients of amplitude-encoded circuits", "[optim]") {
  engine::Circuit c(3);
  optim::Encoding::amplitude(6).apply(&c);
  std::mt19937_64 rng(4);
  const engine::Circuit body = random_noisy_circuit(rng, 3, 20, 5, 0, true);
  c.append(body);
  const noise::NoiseModel model = noise::NoiseModel::from_json(kModelJson);
  optim::CircuitFunction f(c, {pauli_sum({{1.0, "Z0"}}), pauli_sum({{1.0, "X1 Z2"}})}, &model);
  REQUIRE(f.num_features() == 6);
  const std::vector<double> theta = {0.3, -1.2, 2.0, 0.5, 1.7};
  const std::vector<double> xs = {0.1, 0.5, 0.0, 0.9, 0.3, 0.2, 0.7, 0.7, 0.1, 0.0, 0.0, 0.4};
  const Jac adj = jacobian_of(f, theta, xs, 2, GradientMethod::kAdjoint);
  const Jac ps = jacobian_of(f, theta, xs, 2, GradientMethod::kParameterShift);
  const Jac fd = jacobian_of(f, theta, xs, 2, GradientMethod::kFiniteDifference);
  REQUIRE(max_abs_diff(adj.jacobian, ps.jacobian) < 1e-12);
  REQUIRE(max_abs_diff(adj.jacobian, fd.jacobian) < 1e-8);
}

TEST_CASE("optim: circuit-evaluation cost of each method", "[optim]") {
  engine::Circuit c(3);
  const int L = 6;
  for (int l = 0; l < L; ++l)
    for (int q = 0; q < 3; ++q) c.add_rotation(Gate::kRY, {q}, Angle::parameter(3 * l + q));
  const int P = 3 * L;
  optim::CircuitFunction f(c, {pauli_sum({{1.0, "Z0 Z1"}})});
  std::vector<double> theta(P, 0.3), grad(P);
  double v;
  auto cost = [&](GradientMethod m) {
    f.reset_circuit_evaluations();
    f.vjp(theta.data(), nullptr, [](const double*, double* w) { w[0] = 1; }, &v, grad.data(), m);
    return f.circuit_evaluations();
  };
  REQUIRE(cost(GradientMethod::kAdjoint) == 2);  // one forward, one backward pass
  REQUIRE(cost(GradientMethod::kParameterShift) == 1 + 2 * P);
  REQUIRE(cost(GradientMethod::kFiniteDifference) == 1 + 2 * P);
  // With checkpoints (too little memory for every stored state) the backward pass also recomputes
  // the forward pass: see "the adjoint method with checkpoints equals the stored-state pass".
}

TEST_CASE("optim: batched results do not depend on the number of threads", "[optim]") {
  const noise::NoiseModel model = noise::NoiseModel::from_json(kModelJson);
  std::mt19937_64 rng(9);
  const int n = 3, P = 5, F = 2, N = 7;
  const engine::Circuit c = random_noisy_circuit(rng, n, 20, P, F, true);
  std::vector<double> theta(P), xs(N * F);
  for (double& t : theta) t = std::uniform_real_distribution<double>(-3, 3)(rng);
  for (double& x : xs) x = std::uniform_real_distribution<double>(0, 1)(rng);
  const std::vector<engine::PauliSum> obs = {pauli_sum({{1.0, "Z0"}}), pauli_sum({{1.0, "X1"}})};
  std::vector<std::vector<double>> results;
  for (int threads : {1, 2, 3}) {
    for (GradientMethod m : {GradientMethod::kAdjoint, GradientMethod::kParameterShift}) {
      optim::GradientOptions o;
      o.num_threads = threads;
      o.method = m;
      optim::CircuitFunction f(c, obs, &model, o);
      std::vector<double> values(N * 2), grad(P);
      f.vjp_batch(theta.data(), xs.data(), N, [](int k, const double* v, double* w) { w[0] = v[1] * k; w[1] = 1.0; },
                  values.data(), grad.data());
      values.insert(values.end(), grad.begin(), grad.end());
      results.push_back(values);
    }
  }
  for (std::size_t i = 2; i < results.size(); ++i) REQUIRE(max_abs_diff(results[i], results[i % 2]) < 1e-13);
  REQUIRE(max_abs_diff(results[0], results[1]) < 1e-12);
}

TEST_CASE("optim: gradient options are validated", "[optim]") {
  optim::GradientOptions o;
  std::string why;
  REQUIRE(o.IsValid(&why));
  o.finite_difference_step = 0;
  REQUIRE_FALSE(o.IsValid(&why));
  REQUIRE(why.find("finite_difference_step") != std::string::npos);
  o = {};
  o.num_threads = -1;
  REQUIRE_FALSE(o.IsValid(&why));
  engine::Circuit c(1);
  c.add_rotation(Gate::kRX, {0}, Angle::parameter(0));
  REQUIRE_THROWS_AS(optim::CircuitFunction(c, {pauli_sum({{1.0, "Z3"}})}), std::invalid_argument);
  REQUIRE_THROWS_AS(optim::CircuitFunction(c, {}), std::invalid_argument);
  REQUIRE_THROWS_AS(optim::CircuitFunction(c, {pauli_sum({{1.0, "Z0"}})}, nullptr, o), std::invalid_argument);
}

TEST_CASE("optim: a circuit with classical control is refused (only trajectories run it)", "[optim][if]") {
  engine::Circuit c(2, 1);
  c.add_rotation(Gate::kRY, {0}, Angle::parameter(0));
  c.add_measure(0, 0);
  c.add_gate(Gate::kX, {1});
  c.condition_last({0, 1, 1});
  try {
    optim::CircuitFunction f(c, {engine::PauliSum::parse("Z1")});
    FAIL("no refusal");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()) == "classical control (if) needs the trajectory method: gradients and training (on "
                                   "the density matrix) cannot run it");
  }
}

namespace {

// An encoding (angle encoding of F features, or amplitude encoding), then a random noisy body.
engine::Circuit encoded_circuit(std::mt19937_64& rng, int n, const optim::Encoding& encoding, int num_params) {
  engine::Circuit c(n);
  encoding.apply(&c);
  c.append(random_noisy_circuit(rng, n, 6 * n, num_params, 0, true));
  return c;
}

}  // namespace

TEST_CASE("optim: data mixtures equal the per-sample batches", "[optim][mixtures]") {
  const noise::NoiseModel model = noise::NoiseModel::from_json(kModelJson);
  std::mt19937_64 rng(21);
  const std::vector<engine::PauliSum> obs = {pauli_sum({{1.0, "Z0"}}), pauli_sum({{0.7, "X1 Z2"}, {-0.4, "Y0"}})};
  const int P = 6;
  for (int n : {3, 5, 9}) {
    const std::vector<optim::Encoding> encodings = {optim::Encoding::angle(n, Gate::kRX),
                                                    optim::Encoding::angle(n - 1, Gate::kRY, 2.0),
                                                    optim::Encoding::amplitude((1 << n) - 3)};
    for (const optim::Encoding& enc : encodings) {
      const engine::Circuit c = encoded_circuit(rng, n, enc, P);
      const int F = c.num_features(), N = 5;
      std::vector<double> theta(P), xs(static_cast<std::size_t>(N) * F);
      for (double& t : theta) t = std::uniform_real_distribution<double>(-3, 3)(rng);
      for (double& x : xs) x = std::uniform_real_distribution<double>(0.05, 1)(rng);
      // Cotangents that read the values, as a loss's do: of rank 2, and of rank 1 (as a binary head's).
      const optim::CircuitFunction::BatchCotangent cotangents[] = {
          [](int k, const double* v, double* w) {
            w[0] = std::sin(3 * v[0] + k);
            w[1] = v[1] * v[0] - 0.3 * k;
          },
          [](int k, const double* v, double* w) {
            w[0] = std::sin(3 * v[0] + k);
            w[1] = -2.0 * w[0];
          }};
      for (std::uint64_t memory : {std::uint64_t{0}, 5 * engine::density_matrix_bytes(n)}) {
        INFO("n = " << n << ", features " << F << ", memory " << memory);
        optim::GradientOptions on, off;
        on.adjoint_memory_bytes = off.adjoint_memory_bytes = memory;
        off.data_mixtures = false;
        const optim::CircuitFunction fm(c, obs, &model, on), fs(c, obs, &model, off);
        REQUIRE(fm.data_mixtures());
        REQUIRE_FALSE(fs.data_mixtures());
        std::vector<double> vm(N * 2), vs(N * 2), gm(P), gs(P);
        fm.evaluate_batch(theta.data(), xs.data(), N, vm.data());
        fs.evaluate_batch(theta.data(), xs.data(), N, vs.data());
        REQUIRE(max_abs_diff(vm, vs) < 1e-10);
        REQUIRE(max_abs(vs) > 1e-3);
        for (const auto& cot : cotangents) {
          std::fill(vm.begin(), vm.end(), 0.0);
          fm.vjp_batch(theta.data(), xs.data(), N, cot, vm.data(), gm.data());
          fs.vjp_batch(theta.data(), xs.data(), N, cot, vs.data(), gs.data());
          REQUIRE(max_abs_diff(vm, vs) < 1e-10);
          REQUIRE(max_abs_diff(gm, gs) < 1e-10);
          REQUIRE(max_abs(gs) > 1e-3);
        }
      }
    }
  }
}

TEST_CASE("optim: a data-mixture batch costs the same for any number of samples", "[optim][mixtures]") {
  const noise::NoiseModel model = noise::NoiseModel::from_json(kModelJson);
  std::mt19937_64 rng(5);
  const int n = 4, P = 5;
  const engine::Circuit c = encoded_circuit(rng, n, optim::Encoding::angle(n), P);
  const std::vector<engine::PauliSum> obs = {pauli_sum({{1.0, "Z0"}}), pauli_sum({{1.0, "Z1"}}),
                                             pauli_sum({{1.0, "Z3"}})};
  optim::CircuitFunction f(c, obs, &model);
  std::vector<double> theta(P, 0.4), grad(P);
  // Cotangents of rank 3 (independent in the outputs) and of rank 1 (as a binary head's: one logit).
  const auto cost = [&](int N, bool gradient, bool rank_one = false) {
    std::vector<double> xs(static_cast<std::size_t>(N) * n, 0.3), values(static_cast<std::size_t>(N) * 3);
    f.reset_circuit_evaluations();
    if (gradient) {
      f.vjp_batch(theta.data(), xs.data(), N,
                  [&](int k, const double*, double* w) {
                    w[0] = 1.0;
                    w[1] = rank_one ? 2.0 : k;
                    w[2] = rank_one ? -1.0 : k * k;
                  },
                  values.data(), grad.data());
    } else {
      f.evaluate_batch(theta.data(), xs.data(), N, values.data());
    }
    return f.circuit_evaluations();
  };
  // Per output a backward pass for E^dagger(O_i); then per direction of the cotangent a forward and
  // a backward pass for σ'_k.
  REQUIRE(cost(6, true) == 9);
  REQUIRE(cost(200, true) == 9);
  REQUIRE(cost(200, true, true) == 5);
  REQUIRE(cost(200, false) == 3);
  // Where the time went: the mixtures' values (forward), the cotangent, the gradients (backward).
  f.reset_timing();
  cost(200, true);
  const optim::CircuitTiming t = f.timing();
  REQUIRE(t.forward_seconds > 0);
  REQUIRE(t.backward_seconds > 0);
  REQUIRE(t.cotangent_seconds > 0);
  f.reset_timing();
  REQUIRE(f.timing().forward_seconds == 0);
  REQUIRE(cost(5, false) == 5);  // fewer than twice as many samples as outputs: one pass per sample
}

TEST_CASE("optim: data mixtures only where the data enter through the first steps", "[optim][mixtures]") {
  const noise::NoiseModel model = noise::NoiseModel::from_json(kModelJson);
  const auto prefix = [&](const engine::Circuit& c) { return engine::data_prefix(engine::compile(c, &model)); };
  engine::Circuit angle(2);
  optim::Encoding::angle(2).apply(&angle);
  angle.add_gate(Gate::kCX, {0, 1});
  angle.add_rotation(Gate::kRY, {1}, Angle::parameter(0));
  angle.set_num_parameters(1);
  // Each encoding rotation is followed by depolarising and damping: the prefix ends at the last
  // step that reads a feature (RY, 2 channels, RY), and the rest starts with that rotation's noise.
  REQUIRE(prefix(angle) == 4);
  REQUIRE(optim::CircuitFunction(angle, {pauli_sum({{1.0, "Z0"}})}, &model).data_mixtures());
  engine::Circuit reupload = angle;  // a feature read after a parameter
  reupload.add_rotation(Gate::kRX, {0}, Angle::feature(1));
  REQUIRE(prefix(reupload) == -1);
  REQUIRE_FALSE(optim::CircuitFunction(reupload, {pauli_sum({{1.0, "Z0"}})}, &model).data_mixtures());
  engine::Circuit entangled(2);  // a feature read after a two-qubit gate
  entangled.add_gate(Gate::kCX, {0, 1});
  optim::Encoding::angle(2).apply(&entangled);
  REQUIRE(prefix(entangled) == -1);
  engine::Circuit weighted(1);  // a trainable data weight θ·x: the state after it depends on θ
  weighted.add_rotation(Gate::kRY, {0}, Angle().add(0, 0, 1.0));
  weighted.set_num_parameters(1);
  weighted.set_num_features(1);
  REQUIRE(prefix(weighted) == -1);
  engine::Circuit amplitude(2);
  optim::Encoding::amplitude(4).apply(&amplitude);
  amplitude.add_rotation(Gate::kRY, {1}, Angle::parameter(0));
  amplitude.set_num_parameters(1);
  REQUIRE(prefix(amplitude) == 0);
  amplitude.add_rotation(Gate::kRZ, {0}, Angle::feature(0));  // amplitude encoding and an angle
  REQUIRE(prefix(amplitude) == -1);
}

namespace {

const char* kDampingJson = R"({
  "gate_noise": [
    {"gates": ["*"], "channel": {"type": "depolarizing", "p": 0.03}},
    {"gates": ["rx", "ry", "cx"], "channel": {"type": "amplitude_damping", "gamma": 0.15}}
  ]
})";

// An angle encoding of n features, then layers of RY, RX and a CNOT chain with parameters.
engine::Circuit sgd_circuit(int n, int layers) {
  engine::Circuit c(n);
  optim::Encoding::angle(n).apply(&c);
  int p = 0;
  for (int l = 0; l < layers; ++l) {
    for (int q = 0; q < n; ++q) c.add_rotation(Gate::kRY, {q}, Angle::parameter(p++));
    for (int q = 0; q < n; ++q) c.add_rotation(Gate::kRX, {q}, Angle::parameter(p++, 0.7));
    for (int q = 0; q + 1 < n; ++q) c.add_gate(Gate::kCX, {q, q + 1});
  }
  c.set_num_parameters(p);
  return c;
}

}  // namespace

TEST_CASE("optim: trajectory vector-Jacobian products agree with the density matrix within 5 sigma",
          "[optim][trajectories]") {
  const noise::NoiseModel model = noise::NoiseModel::from_json(kDampingJson);
  const int n = 4, N = 3;
  const engine::Circuit c = sgd_circuit(n, 2);
  const int P = c.num_parameters();
  std::mt19937_64 rng(3);
  std::vector<double> theta(P), xs(N * n);
  for (double& t : theta) t = std::uniform_real_distribution<double>(-2, 2)(rng);
  for (double& x : xs) x = std::uniform_real_distribution<double>(0, 1)(rng);
  const std::vector<engine::PauliSum> obs = {pauli_sum({{1.0, "Z0"}}), pauli_sum({{1.0, "Z2 Z3"}, {0.5, "X1"}})};
  // Weights that do not read the values: the estimate is unbiased.
  const auto weights = [](std::size_t s, const double*, double* w) {
    w[0] = 1.0 + static_cast<double>(s);
    w[1] = -0.5;
  };
  optim::CircuitFunction exact(c, obs, &model);
  std::vector<double> values(N * 2), grad(P);
  exact.vjp_batch(theta.data(), xs.data(), N, [&](int s, const double* v, double* w) { weights(s, v, w); },
                  values.data(), grad.data());
  const engine::Program program = engine::compile(c, &model);
  engine::TrajectoryVjpOptions o;
  o.trajectories = 4000;
  o.seed = 11;
  const engine::TrajectoryVjpResult r = engine::trajectory_vjp(program, theta.data(), xs.data(), N, obs, o, weights);
  REQUIRE(r.walks == 2 * N * o.trajectories);
  REQUIRE(r.backward_passes == N * o.trajectories);
  for (int i = 0; i < N * 2; ++i) {
    INFO("value " << i << ": " << r.values[i] << " +- " << r.value_errors[i] << " exact " << values[i]);
    REQUIRE(r.value_errors[i] > 0);
    REQUIRE(std::abs(r.values[i] - values[i]) < 5 * r.value_errors[i]);
  }
  // Damping makes the branch probabilities depend on θ: the estimates carry the score term.
  for (int p = 0; p < P; ++p) {
    INFO("parameter " << p << ": " << r.gradient[p] << " +- " << r.gradient_errors[p] << " exact " << grad[p]);
    REQUIRE(r.gradient_errors[p] > 0);
    REQUIRE(std::abs(r.gradient[p] - grad[p]) < 5 * r.gradient_errors[p]);
  }
  REQUIRE(max_abs(grad) > 0.1);
}

TEST_CASE("optim: one trajectory per sample walks the same branches as T trajectories of one sample",
          "[optim][trajectories]") {
  // Sample s of a T = 1 batch draws from stream s, trajectory t of a one-sample run from stream t: with
  // N copies of one sample both walk streams 0 .. N-1, once recording during the values' walk, once
  // walking again for the backward pass.
  const noise::NoiseModel model = noise::NoiseModel::from_json(kDampingJson);
  const int n = 3, N = 40;
  const engine::Circuit c = sgd_circuit(n, 2);
  const int P = c.num_parameters();
  std::vector<double> theta(P, 0.6), x = {0.2, 0.9, 0.4}, xs;
  for (int s = 0; s < N; ++s) xs.insert(xs.end(), x.begin(), x.end());
  const std::vector<engine::PauliSum> obs = {pauli_sum({{1.0, "Z0"}}), pauli_sum({{1.0, "X1 Z2"}})};
  const auto weights = [](std::size_t, const double*, double* w) {
    w[0] = 0.8;
    w[1] = -1.3;
  };
  const engine::Program program = engine::compile(c, &model);
  engine::TrajectoryVjpOptions one, many;
  one.seed = many.seed = 5;
  many.trajectories = N;
  const engine::TrajectoryVjpResult a = engine::trajectory_vjp(program, theta.data(), xs.data(), N, obs, one, weights);
  const engine::TrajectoryVjpResult b = engine::trajectory_vjp(program, theta.data(), x.data(), 1, obs, many, weights);
  REQUIRE(a.walks == N);
  REQUIRE(b.walks == 2 * N);
  REQUIRE(a.value_errors.empty());
  REQUIRE(a.gradient_errors.empty());
  for (int o = 0; o < 2; ++o) {
    double mean = 0;
    for (int s = 0; s < N; ++s) mean += a.values[s * 2 + o] / N;
    REQUIRE(std::abs(mean - b.values[o]) < 1e-12);
  }
  for (int p = 0; p < P; ++p) REQUIRE(std::abs(a.gradient[p] - N * b.gradient[p]) < 1e-10);
  // The same for any number of threads.
  for (int threads : {1, 3}) {
    engine::TrajectoryVjpOptions t = one;
    t.num_threads = threads;
    const engine::TrajectoryVjpResult r = engine::trajectory_vjp(program, theta.data(), xs.data(), N, obs, t, weights);
    REQUIRE(r.values == a.values);
    REQUIRE(r.gradient == a.gradient);
  }
}

TEST_CASE("optim: CircuitFunction with trajectories (trajectory SGD)", "[optim][trajectories]") {
  const noise::NoiseModel model = noise::NoiseModel::from_json(kDampingJson);
  const int n = 3, N = 6;
  const engine::Circuit c = sgd_circuit(n, 1);
  const int P = c.num_parameters();
  std::vector<double> theta(P, 0.3), xs(N * n, 0.5), values(N), grad(P), values2(N), grad2(P);
  const std::vector<engine::PauliSum> obs = {pauli_sum({{1.0, "Z0"}})};
  optim::GradientOptions o;
  o.trajectories = 1;
  o.seed = 9;
  optim::CircuitFunction f(c, obs, &model, o), g(c, obs, &model, o);
  REQUIRE_FALSE(f.data_mixtures());
  const optim::CircuitFunction::BatchCotangent cot = [](int, const double* v, double* w) { w[0] = 2 * v[0]; };
  f.vjp_batch(theta.data(), xs.data(), N, cot, values.data(), grad.data());
  REQUIRE(f.circuit_evaluations() == 2 * N);  // a walk and a backward pass per sample
  for (double v : values) REQUIRE(std::abs(v) <= 1.0 + 1e-12);
  // The same call sequence gives the same estimates; the next call draws new trajectories.
  g.vjp_batch(theta.data(), xs.data(), N, cot, values2.data(), grad2.data());
  REQUIRE(values2 == values);
  REQUIRE(grad2 == grad);
  g.vjp_batch(theta.data(), xs.data(), N, cot, values2.data(), grad2.data());
  REQUIRE(grad2 != grad);
  // Only what trajectories estimate.
  std::vector<double> jac(P);
  REQUIRE_THROWS_WITH(f.jacobian_batch(theta.data(), xs.data(), 1, values.data(), jac.data()),
                      Catch::Matchers::Contains("Jacobians are not estimated"));
  REQUIRE_THROWS_WITH(f.vjp_batch(theta.data(), xs.data(), N, cot, values.data(), grad.data(),
                                  GradientMethod::kParameterShift),
                      Catch::Matchers::Contains("estimate the adjoint gradient"));
  REQUIRE_THROWS_WITH(f.state(theta.data(), xs.data()), Catch::Matchers::Contains("no density matrix"));
}

namespace {

// The ranks of a job as threads of this process: all_gather meets every rank's call (a barrier) and
// returns their vectors in rank order, as kraus::dist::all_gather does over MPI.
class ThreadJob {
 public:
  explicit ThreadJob(int ranks) : parts_(static_cast<std::size_t>(ranks)) {}
  optim::GradientOptions::DataParallel rank(int r) {
    optim::GradientOptions::DataParallel d;
    d.rank = r;
    d.ranks = static_cast<int>(parts_.size());
    d.all_gather = [this, r](const std::vector<double>& mine) { return all_gather(r, mine); };
    return d;
  }

 private:
  std::vector<double> all_gather(int r, const std::vector<double>& mine) {
    std::unique_lock<std::mutex> lock(mutex_);
    const std::uint64_t round = round_;
    parts_[static_cast<std::size_t>(r)] = mine;
    if (++arrived_ == parts_.size()) {
      result_.clear();
      for (const auto& p : parts_) result_.insert(result_.end(), p.begin(), p.end());
      arrived_ = 0;
      ++round_;
      done_.notify_all();
    } else {
      done_.wait(lock, [&] { return round_ != round; });
    }
    return result_;
  }
  std::mutex mutex_;
  std::condition_variable done_;
  std::vector<std::vector<double>> parts_;
  std::vector<double> result_;
  std::size_t arrived_ = 0;
  std::uint64_t round_ = 0;
};

// What one rank (or one process) returns for a call sequence: two vjp batches and a value batch.
struct SgdCalls {
  std::vector<double> values, gradients;
  std::int64_t evaluations = 0;
};

SgdCalls run_sgd_calls(const engine::Circuit& c, const std::vector<engine::PauliSum>& obs,
                       const noise::NoiseModel& model, const optim::GradientOptions& o, const std::vector<double>& theta,
                       const std::vector<double>& xs, int N) {
  optim::CircuitFunction f(c, obs, &model, o);
  const int P = c.num_parameters(), K = static_cast<int>(obs.size());
  // The cotangent also records per sample, as a classifier head records its losses.
  std::vector<double> recorded(static_cast<std::size_t>(N));
  const optim::CircuitFunction::BatchCotangent cot = [&recorded](int s, const double* v, double* w) {
    w[0] = std::sin(2 * v[0] + s);
    w[1] = v[1] * v[0] - 0.1 * s;
    recorded[static_cast<std::size_t>(s)] = v[0] - 3 * v[1];
  };
  SgdCalls out;
  std::vector<double> values(static_cast<std::size_t>(N) * K), grad(P);
  for (int call = 0; call < 2; ++call) {
    std::fill(recorded.begin(), recorded.end(), NAN);
    f.vjp_batch(theta.data(), xs.data(), N, cot, values.data(), grad.data());
    out.values.insert(out.values.end(), values.begin(), values.end());
    out.values.insert(out.values.end(), recorded.begin(), recorded.end());
    out.gradients.insert(out.gradients.end(), grad.begin(), grad.end());
  }
  f.evaluate_batch(theta.data(), xs.data(), N, values.data());
  out.values.insert(out.values.end(), values.begin(), values.end());
  out.evaluations = f.circuit_evaluations();
  return out;
}

}  // namespace

TEST_CASE("optim: data-parallel trajectory batches return one process's results bit for bit",
          "[optim][trajectories][data-parallel]") {
  const noise::NoiseModel model = noise::NoiseModel::from_json(kDampingJson);
  const int n = 3, N = 7;
  const engine::Circuit c = sgd_circuit(n, 2);
  const int P = c.num_parameters();
  std::mt19937_64 rng(17);
  std::vector<double> theta(P), xs(N * n);
  for (double& t : theta) t = std::uniform_real_distribution<double>(-2, 2)(rng);
  for (double& x : xs) x = std::uniform_real_distribution<double>(0, 1)(rng);
  const std::vector<engine::PauliSum> obs = {pauli_sum({{1.0, "Z0"}}), pauli_sum({{1.0, "Z1 Z2"}, {0.5, "X0"}})};
  for (std::uint64_t T : {1, 3}) {
    optim::GradientOptions o;
    o.trajectories = T;
    o.seed = 9;
    o.num_threads = 1;
    const SgdCalls one = run_sgd_calls(c, obs, model, o, theta, xs, N);
    REQUIRE(one.evaluations == static_cast<std::int64_t>(N * T * (T == 1 ? 4 : 6) + N * T));
    for (int ranks : {1, 2, 3, 9}) {  // 9 > N: two ranks hold no sample
      INFO("T = " << T << ", " << ranks << " ranks");
      ThreadJob job(ranks);
      std::vector<SgdCalls> got(static_cast<std::size_t>(ranks));
      std::vector<std::thread> threads;
      for (int r = 0; r < ranks; ++r) {
        threads.emplace_back([&, r] {
          optim::GradientOptions mine = o;
          mine.data_parallel = job.rank(r);
          got[static_cast<std::size_t>(r)] = run_sgd_calls(c, obs, model, mine, theta, xs, N);
        });
      }
      for (std::thread& t : threads) t.join();
      for (const SgdCalls& g : got) {
        REQUIRE(g.values == one.values);
        REQUIRE(g.gradients == one.gradients);
        REQUIRE(g.evaluations == one.evaluations);
      }
    }
  }
  // A rank that fails (a non-finite weight for sample 5, on rank 1 of 2) fails every rank, no hang.
  ThreadJob job(2);
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      optim::GradientOptions o;
      o.trajectories = 1;
      o.num_threads = 1;
      o.data_parallel = job.rank(r);
      optim::CircuitFunction f(c, obs, &model, o);
      std::vector<double> values(N * 2), grad(P);
      try {
        f.vjp_batch(theta.data(), xs.data(), N, [](int s, const double*, double* w) { w[0] = w[1] = s == 5 ? NAN : 1.0; },
                    values.data(), grad.data());
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(r)] = e.what();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(errors[0] == "rank 1 of the data-parallel trajectory batch failed");
  CHECK(errors[1] == "a non-finite cotangent weight");
  // What cannot be split.
  std::string why;
  optim::GradientOptions bad;
  bad.data_parallel = job.rank(0);
  REQUIRE_FALSE(bad.IsValid(&why));
  CHECK(why == "GradientOptions::data_parallel splits trajectory batches: set trajectories >= 1");
  bad.trajectories = 1;
  REQUIRE(bad.IsValid(&why));
  bad.data_parallel.all_gather = nullptr;
  REQUIRE_FALSE(bad.IsValid(&why));
  CHECK(why == "GradientOptions::data_parallel: ranks > 1 needs all_gather");
  bad.data_parallel.rank = 2;
  REQUIRE_FALSE(bad.IsValid(&why));
  CHECK(why == "GradientOptions::data_parallel: rank 2 of 2 (need 0 <= rank < ranks)");
}

TEST_CASE("optim: values from shots have the binomial variance, with the readout errors", "[optim][shots]") {
  const noise::NoiseModel model = noise::NoiseModel::from_json(R"({
    "gate_noise": [{"gates": ["*"], "channel": {"type": "depolarizing", "p": 0.05}}],
    "readout": [{"qubits": [0], "p1_given_0": 0.1, "p0_given_1": 0.2}]
  })");
  engine::Circuit c(2);
  c.add_rotation(Gate::kRY, {0}, Angle::parameter(0));
  c.add_gate(Gate::kCX, {0, 1});
  c.set_num_parameters(1);
  const std::vector<engine::PauliSum> obs = {pauli_sum({{1.0, "Z0"}}), pauli_sum({{1.0, "Z0 Z1"}})};
  const double theta = 2.5;
  optim::CircuitFunction exact(c, obs, &model);
  std::vector<double> ideal(2);
  exact.evaluate(&theta, nullptr, ideal.data());
  // The readout errors act on bit 0: <Z0> -> (1 - a - b) <Z0> + (b - a), a = P(1|0), b = P(0|1); the
  // parity Z0 Z1 flips with bit 0 alike.
  const double a = 0.1, b = 0.2;
  std::vector<double> reported(2);
  engine::DensityMatrix rho = exact.state(&theta, nullptr);
  std::vector<double> p(4);
  for (int i = 0; i < 4; ++i) p[i] = rho.data()[i + 4 * i].real();
  const double p0[] = {p[0] * (1 - a) + p[1] * b, p[1] * (1 - b) + p[0] * a};  // bit 1 = 0
  const double p1[] = {p[2] * (1 - a) + p[3] * b, p[3] * (1 - b) + p[2] * a};  // bit 1 = 1
  reported[0] = p0[0] - p0[1] + p1[0] - p1[1];
  reported[1] = p0[0] - p0[1] - p1[0] + p1[1];
  REQUIRE(std::abs(reported[0] - ideal[0]) > 0.1);
  optim::GradientOptions o;
  o.shots = 50;
  o.method = GradientMethod::kParameterShift;
  optim::CircuitFunction f(c, obs, &model, o);
  const int K = 4000;  // evaluations, each from its own 50 shots
  std::vector<double> values(2 * K);
  f.evaluate_batch(&theta, nullptr, K, values.data());
  for (int i = 0; i < 2; ++i) {
    double mean = 0, m2 = 0;
    for (int k = 0; k < K; ++k) mean += values[2 * k + i] / K;
    for (int k = 0; k < K; ++k) m2 += (values[2 * k + i] - mean) * (values[2 * k + i] - mean);
    const double variance = m2 / (K - 1), binomial = (1 - reported[i] * reported[i]) / static_cast<double>(o.shots);
    INFO("observable " << i << ": mean " << mean << " reported " << reported[i] << " variance " << variance
                       << " binomial " << binomial);
    REQUIRE(std::abs(mean - reported[i]) < 5 * std::sqrt(binomial / K));
    // The sample variance of K values has a relative standard error of about sqrt(2 / K).
    REQUIRE(std::abs(variance / binomial - 1) < 5 * std::sqrt(2.0 / K));
  }
  // The next call draws new shots; a function built alike repeats the first call.
  std::vector<double> again(2 * K), fresh(2 * K);
  f.evaluate_batch(&theta, nullptr, K, again.data());
  REQUIRE(again != values);
  optim::CircuitFunction g(c, obs, &model, o);
  g.evaluate_batch(&theta, nullptr, K, fresh.data());
  REQUIRE(fresh == values);
}

TEST_CASE("optim: parameter-shift gradients from shots are unbiased; what shots cannot read is refused",
          "[optim][shots]") {
  const noise::NoiseModel model = noise::NoiseModel::from_json(kDampingJson);
  const int n = 3, K = 3000;
  const engine::Circuit c = sgd_circuit(n, 1);
  const int P = c.num_parameters();
  std::vector<double> theta(P), x = {0.3, 0.8, 0.5}, xs;
  for (int p = 0; p < P; ++p) theta[p] = 0.4 * p - 1.0;
  for (int k = 0; k < K; ++k) xs.insert(xs.end(), x.begin(), x.end());
  const std::vector<engine::PauliSum> obs = {pauli_sum({{1.0, "Z0 Z1"}, {0.5, "Z2"}})};
  optim::CircuitFunction exact(c, obs, &model);
  std::vector<double> v(1), jac_exact(P);
  exact.jacobian(theta.data(), x.data(), v.data(), jac_exact.data());
  optim::GradientOptions o;
  o.shots = 100;
  o.method = GradientMethod::kParameterShift;
  optim::CircuitFunction f(c, obs, &model, o);
  std::vector<double> values(K), jac(static_cast<std::size_t>(K) * P);
  f.jacobian_batch(theta.data(), xs.data(), K, values.data(), jac.data());
  for (int p = 0; p < P; ++p) {
    double mean = 0, m2 = 0;
    for (int k = 0; k < K; ++k) mean += jac[k * P + p] / K;
    for (int k = 0; k < K; ++k) m2 += (jac[k * P + p] - mean) * (jac[k * P + p] - mean);
    const double se = std::sqrt(m2 / (K - 1) / K);
    INFO("parameter " << p << ": " << mean << " +- " << se << " exact " << jac_exact[p]);
    REQUIRE(se > 0);
    REQUIRE(std::abs(mean - jac_exact[p]) < 5 * se);
  }
  REQUIRE(max_abs(jac_exact) > 0.05);
  optim::GradientOptions adjoint = o;
  adjoint.method = GradientMethod::kAdjoint;
  optim::CircuitFunction h(c, obs, &model, adjoint);
  REQUIRE_THROWS_WITH(h.jacobian(theta.data(), x.data(), v.data(), jac_exact.data()),
                      Catch::Contains("use parameter shift"));
  REQUIRE_THROWS_WITH(optim::CircuitFunction(c, {pauli_sum({{1.0, "X0"}})}, &model, o),
                      Catch::Contains("sum of Z strings"));
  optim::GradientOptions both = o;
  both.trajectories = 1;
  std::string why;
  REQUIRE_FALSE(both.IsValid(&why));
  REQUIRE(why.find("exclude each other") != std::string::npos);
}
