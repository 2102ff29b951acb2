// Objectives: the dressed classifier's gradients (quantum and classical parameters) and Brier
// Jacobian against finite differences, mini-batches, ZNE-mitigated objectives with gradients through
// the extrapolation (checked against kraus::mitigation), and the 4-qubit digits 0-vs-1 classifier.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "catch_compat.hpp"
#include "kraus/mitigation/zne.hpp"
#include "kraus/optim/ansatz.hpp"
#include "kraus/optim/datasets.hpp"
#include "kraus/optim/encoding.hpp"
#include "kraus/optim/solver.hpp"
#include "reference/test_support.hpp"

using namespace kraus;
using optim::GradientMethod;

namespace {

// Central-difference gradient of an objective's loss.
std::vector<double> numeric_gradient(const optim::Objective& f, std::vector<double> p, double h = 1e-6) {
  std::vector<double> g(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    const double x = p[i];
    p[i] = x + h;
    const double plus = f.evaluate(p.data(), nullptr);
    p[i] = x - h;
    const double minus = f.evaluate(p.data(), nullptr);
    p[i] = x;
    g[i] = (plus - minus) / (2 * h);
  }
  return g;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

// A small 3-class problem on 2 features.
optim::Dataset synthetic(int n, std::uint64_t seed, int classes = 3) {
  std::mt19937_64 rng(seed);
  optim::Dataset d;
  d.num_features = 2;
  d.num_classes = classes;
  for (int i = 0; i < n; ++i) {
    const int y = i % classes;
    d.features.push_back(std::clamp(0.2 + 0.3 * y + 0.1 * std::normal_distribution<double>()(rng), 0.0, 1.0));
    d.features.push_back(std::uniform_real_distribution<double>(0, 1)(rng));
    d.labels.push_back(y);
  }
  return d;
}

const char* kNoise = R"({"gate_noise": [
    {"gates": ["*"], "channel": {"type": "depolarizing", "p": 0.02}},
    {"gates": ["cz"], "channel": {"type": "amplitude_damping", "gamma": 0.03}}],
    "idle_noise": {"type": "phase_damping", "lambda": 0.01}})";

}  // namespace

TEST_CASE("optim: classifier gradients for quantum and classical parameters", "[optim]") {
  const noise::NoiseModel model = noise::NoiseModel::from_json(kNoise);
  optim::AnsatzOptions ao;
  ao.num_qubits = 2;
  ao.num_layers = 2;
  ao.entangler = optim::Entangler::kCzChain;
  const optim::Ansatz ansatz(ao);
  const engine::Circuit circuit = ansatz.circuit(optim::Encoding::angle(2));
  for (bool binary : {false, true}) {
    for (GradientMethod m : {GradientMethod::kAdjoint, GradientMethod::kParameterShift}) {
      optim::ClassifierOptions co;
      co.binary = binary;
      co.gradient.method = m;
      co.l2 = 0.01;
      const optim::ClassifierObjective f(circuit, synthetic(9, 1, binary ? 2 : 3), co, &model);
      REQUIRE(f.num_quantum_parameters() == 8);
      // Binary: one readout <Z_0>, logit w <Z_0> + b. Multi-class: <Z_0>, <Z_1> -> Linear(2 -> 3).
      REQUIRE(f.num_classical_parameters() == (binary ? 1 + 1 : 3 * 2 + 3));
      const std::vector<double> p = f.initial_parameters(ansatz.random_parameters(3), 4);
      std::vector<double> g(p.size());
      const double loss = f.evaluate(p.data(), g.data());
      REQUIRE(loss > 0);
      REQUIRE_CLOSE(f.evaluate(p.data(), nullptr), loss, 1e-14);
      INFO("binary " << binary << " method " << optim::to_string(m));
      REQUIRE(max_abs_diff(g, numeric_gradient(f, p)) < 1e-8);
      // Brier residuals and their Jacobian.
      const int R = f.num_residuals();
      REQUIRE(R == 9 * (binary ? 1 : 3));
      std::vector<double> r(R), jac(R * p.size()), rp(R), rm(R);
      f.residuals(p.data(), r.data(), jac.data());
      for (std::size_t i = 0; i < p.size(); ++i) {
        std::vector<double> q = p;
        q[i] += 1e-6;
        f.residuals(q.data(), rp.data(), nullptr);
        q[i] -= 2e-6;
        f.residuals(q.data(), rm.data(), nullptr);
        for (int k = 0; k < R; ++k) REQUIRE_CLOSE(jac[k * p.size() + i], (rp[k] - rm[k]) / 2e-6, 1e-8);
      }
    }
  }
}

TEST_CASE("optim: mini-batches cycle through seeded epochs", "[optim]") {
  optim::AnsatzOptions ao;
  ao.num_qubits = 2;
  const optim::Ansatz ansatz(ao);
  optim::ClassifierOptions co;
  co.batch_size = 4;
  co.batch_seed = 9;
  optim::ClassifierObjective f(ansatz.circuit(optim::Encoding::angle(2)), synthetic(10, 2), co);
  REQUIRE(f.batch().size() == 4);
  std::vector<int> seen = f.batch();
  f.next_batch();
  seen.insert(seen.end(), f.batch().begin(), f.batch().end());
  std::sort(seen.begin(), seen.end());
  REQUIRE(std::adjacent_find(seen.begin(), seen.end()) == seen.end());  // no repeats within an epoch
  optim::ClassifierObjective g(ansatz.circuit(optim::Encoding::angle(2)), synthetic(10, 2), co);
  g.next_batch();
  optim::ClassifierObjective h(ansatz.circuit(optim::Encoding::angle(2)), synthetic(10, 2), co);
  h.next_batch();
  REQUIRE(g.batch() == h.batch());  // seeded
  // The loss is the mean over the batch: a batch of one sample is that sample's loss.
  const std::vector<double> p = f.initial_parameters(ansatz.random_parameters(1), 1);
  f.set_batch({3});
  const double one = f.evaluate(p.data(), nullptr);
  f.set_batch({3, 3});
  REQUIRE_CLOSE(f.evaluate(p.data(), nullptr), one, 1e-15);
  f.use_full_batch();
  REQUIRE(f.batch().size() == 10);
  REQUIRE_CLOSE(f.evaluate(p.data(), nullptr), f.loss(p.data(), synthetic(10, 2)), 1e-14);
  // Adam with a new mini-batch before every step decreases the full-data loss.
  optim::AdamOptions adam;
  adam.max_steps = 60;
  adam.learning_rate = 0.05;
  adam.before_step = [&](int) { f.next_batch(); };
  std::vector<double> q = p;
  const double before = f.loss(q.data(), synthetic(10, 2));
  optim::adam(f, &q, adam);
  REQUIRE(f.loss(q.data(), synthetic(10, 2)) < before);
}

TEST_CASE("optim: ZNE-mitigated objectives and their gradients through the extrapolation", "[optim]") {
  const noise::NoiseModel model = noise::NoiseModel::from_json(kNoise);
  optim::AnsatzOptions ao;
  ao.num_qubits = 3;
  ao.num_layers = 2;
  ao.entangler = optim::Entangler::kCzChain;
  const optim::Ansatz ansatz(ao);
  const engine::Circuit circuit = ansatz.circuit();
  engine::PauliSum h;
  h.terms.emplace_back(1.0, engine::PauliString::parse("Z0 Z1"));
  h.terms.emplace_back(-0.5, engine::PauliString::parse("X2"));
  const std::vector<double> theta = ansatz.random_parameters(6);
  for (const char* extrapolator : {"richardson", "linear", "poly:2"}) {
    optim::ZneSettings zne;
    zne.scale_factors = {1.0, 1.5, 2.0, 3.0};
    zne.extrapolator = mitigation::ExtrapolatorSpec::parse(extrapolator);
    INFO(extrapolator);
    for (GradientMethod m : {GradientMethod::kAdjoint, GradientMethod::kParameterShift}) {
      optim::GradientOptions go;
      go.method = m;
      const optim::EnergyObjective e(circuit, h, &model, go, zne);
      std::vector<double> g(theta.size());
      const double value = e.evaluate(theta.data(), g.data());
      // The value is Σ γ_j E(s_j) with the extrapolator's weights, and equals kraus::mitigation's
      // scale-noise ZNE of the bound circuit.
      const std::vector<double> gammas = mitigation::extrapolation_weights(zne.extrapolator, zne.scale_factors);
      double expect = 0;
      std::vector<double> expect_grad(theta.size(), 0.0);
      for (std::size_t j = 0; j < gammas.size(); ++j) {
        const noise::NoiseModel scaled = model.scaled(zne.scale_factors[j]);
        const optim::EnergyObjective plain(circuit, h, &scaled);
        std::vector<double> gj(theta.size());
        expect += gammas[j] * plain.evaluate(theta.data(), gj.data());
        for (std::size_t i = 0; i < theta.size(); ++i) expect_grad[i] += gammas[j] * gj[i];
      }
      REQUIRE_CLOSE(value, expect, 1e-13);
      REQUIRE(max_abs_diff(g, expect_grad) < 1e-12);
      mitigation::ZneOptions zo;
      zo.scale_factors = zne.scale_factors;
      zo.method = mitigation::ScalingMethod::kScaleNoise;
      zo.extrapolator = zne.extrapolator;
      const mitigation::ZneResult ref = mitigation::mitigate(circuit.bind(theta.data(), nullptr), &model, h, zo);
      REQUIRE_CLOSE(value, ref.value, 1e-12);
      // Gradient through the extrapolation against central differences of the mitigated value.
      REQUIRE(max_abs_diff(g, numeric_gradient(e, theta)) < 1e-8);
    }
  }
  // Every scaling method inside training: the value is kraus::mitigation's ZNE of the bound circuit
  // with the same method, and the gradient (adjoint, through the folded circuits) that of the
  // mitigated value by central differences.
  for (const char* method : {"fold-global", "fold-random", "fold-all", "fold-layer:1", "identity"}) {
    INFO(method);
    for (bool realized : {false, true}) {
      optim::ZneSettings zne;
      zne.scale_factors = {1.0, 3.5, 5.5};
      zne.method = mitigation::parse_scaling_method(method, &zne.layer);
      zne.seed = 11;
      zne.use_realized_factors = realized;
      const optim::EnergyObjective e(circuit, h, &model, {}, zne);
      std::vector<double> g(theta.size());
      const double value = e.evaluate(theta.data(), g.data());
      mitigation::ZneOptions zo;
      zo.scale_factors = zne.scale_factors;
      zo.method = zne.method;
      zo.layer = zne.layer;
      zo.seed = zne.seed;
      zo.use_realized_factors = realized;
      zo.extrapolator = zne.extrapolator;
      const mitigation::ZneResult ref = mitigation::mitigate(circuit.bind(theta.data(), nullptr), &model, h, zo);
      REQUIRE_CLOSE(value, ref.value, 1e-12);
      REQUIRE(max_abs_diff(g, numeric_gradient(e, theta)) < 1e-8);
    }
  }
  // The mitigated value is closer to the noiseless one than the noisy one.
  optim::ZneSettings zne;
  const optim::EnergyObjective mitigated(circuit, h, &model, {}, zne), noisy(circuit, h, &model), ideal(circuit, h);
  const double e0 = ideal.evaluate(theta.data(), nullptr);
  REQUIRE(std::abs(mitigated.evaluate(theta.data(), nullptr) - e0) < std::abs(noisy.evaluate(theta.data(), nullptr) - e0));
  // A classifier evaluated with ZNE: gradient through the extrapolation and the softmax.
  optim::ClassifierOptions co;
  co.zne = zne;
  const optim::ClassifierObjective f(ansatz.circuit(optim::Encoding::angle(2)), synthetic(6, 3), co, &model);
  const std::vector<double> p = f.initial_parameters(theta, 2);
  std::vector<double> g(p.size());
  f.evaluate(p.data(), g.data());
  REQUIRE(max_abs_diff(g, numeric_gradient(f, p)) < 1e-8);
  // Refused: ZNE without a model, and a non-linear extrapolator.
  REQUIRE_THROWS_AS(optim::EnergyObjective(circuit, h, nullptr, {}, zne), std::invalid_argument);
  optim::ZneSettings bad;
  bad.extrapolator = mitigation::ExtrapolatorSpec::parse("exp");
  std::string why;
  REQUIRE_FALSE(bad.IsValid(&why));
  REQUIRE(why.find("linear") != std::string::npos);
}
