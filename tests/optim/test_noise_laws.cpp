// Exact noise laws and barren-plateau statistics (McClean et al. 2018):
//  * 1-qubit depolarising after every RX layer: <Z0> = q^L cos(Σθ), q = 1 - 4p/3, and its
//    derivatives, by all three gradient methods; <Z0 Z1> = q^(2L) cos²(Σθ).
//  * global depolarising after every layer scales every value and gradient by (1 - p)^L.
//  * Cerezo's warm-up: Var[∂C_G/∂θ1] = (1/8)(3/8)^(n-1), Var[∂C_L/∂θ1] = 1/(8n²), with 5σ windows
//    from the exact fourth moments; McClean's ensemble reaches the 2-design value d/(3(d²-1)).
#include <chrono>
#include <cmath>
#include <random>

#include "catch_compat.hpp"
#include "kraus/noise/channel_table.hpp"
#include "kraus/optim/ansatz.hpp"
#include "kraus/optim/gradients.hpp"
#include "reference/test_support.hpp"

using namespace kraus;
using engine::Angle;
using optim::GradientMethod;
using engine::Gate;

namespace {

constexpr double kPi = 3.14159265358979323846;

engine::PauliSum pauli_sum(std::initializer_list<std::pair<double, const char*>> terms) {
  engine::PauliSum s;
  for (const auto& [c, t] : terms) s.terms.emplace_back(c, engine::PauliString::parse(t));
  return s;
}

noise::NoiseModel depolarizing_after_rx(double p) {
  return noise::NoiseModel::from_json(R"({"gate_noise": [{"gates": ["rx"], "channel": {"type": "depolarizing", "p": )" +
                                      std::to_string(p) + "}}]}");
}

const GradientMethod kMethods[] = {GradientMethod::kAdjoint, GradientMethod::kParameterShift,
                                   GradientMethod::kFiniteDifference};

}  // namespace

TEST_CASE("optim: <Z0> = q^L cos(sum theta) under depolarising after every RX layer, with derivatives", "[optim]") {
  std::mt19937_64 rng(3);
  for (double p : {0.0, 0.01, 0.05}) {
    const noise::NoiseModel model = depolarizing_after_rx(p);
    const double q = 1.0 - 4.0 * p / 3.0;
    for (int L : {1, 5, 10}) {
      // One qubit: <Z0>.  Two qubits, θ_l shared by both RX gates of layer l: <Z0 Z1> and <Z0>.
      engine::Circuit one(1), two(2);
      for (int l = 0; l < L; ++l) {
        one.add_rotation(Gate::kRX, {0}, Angle::parameter(l));
        two.add_rotation(Gate::kRX, {0}, Angle::parameter(l));
        two.add_rotation(Gate::kRX, {1}, Angle::parameter(l));
      }
      std::vector<double> theta(L);
      for (double& t : theta) t = std::uniform_real_distribution<double>(-kPi, kPi)(rng);
      double sum = 0;
      for (double t : theta) sum += t;
      optim::CircuitFunction f1(one, {pauli_sum({{1.0, "Z0"}})}, &model);
      optim::CircuitFunction f2(two, {pauli_sum({{1.0, "Z0 Z1"}}), pauli_sum({{1.0, "Z0"}})}, &model);
      const double qL = std::pow(q, L), q2L = std::pow(q, 2 * L);
      for (GradientMethod m : kMethods) {
        INFO("p " << p << " L " << L << " method " << optim::to_string(m));
        const double tol = m == GradientMethod::kFiniteDifference ? 1e-9 : 1e-12;
        std::vector<double> v1(1), j1(L), v2(2), j2(2 * L);
        f1.jacobian(theta.data(), nullptr, v1.data(), j1.data(), m);
        f2.jacobian(theta.data(), nullptr, v2.data(), j2.data(), m);
        REQUIRE_CLOSE(v1[0], qL * std::cos(sum), 1e-12);
        REQUIRE_CLOSE(v2[0], q2L * std::cos(sum) * std::cos(sum), 1e-12);
        REQUIRE_CLOSE(v2[1], qL * std::cos(sum), 1e-12);
        for (int l = 0; l < L; ++l) {
          REQUIRE_CLOSE(j1[l], -qL * std::sin(sum), tol);
          REQUIRE_CLOSE(j2[l], -q2L * std::sin(2 * sum), tol);
          REQUIRE_CLOSE(j2[L + l], -qL * std::sin(sum), tol);
        }
      }
    }
  }
}

TEST_CASE("optim: global depolarising after every layer scales every gradient by (1-p)^L", "[optim]") {
  std::mt19937_64 rng(8);
  for (int n : {2, 3}) {
    for (double p : {0.05, 0.2}) {
      const int L = 4;
      // Layers of RY, RZ on every qubit and a CNOT chain; after each layer global depolarising
      // (1-p)ρ + p I/2^n, the n-qubit depolarising channel with total error p (4^n - 1)/4^n.
      engine::Circuit clean(n), noisy(n);
      int P = 0;
      std::vector<int> all(static_cast<std::size_t>(n));
      for (int q = 0; q < n; ++q) all[static_cast<std::size_t>(q)] = q;
      const double d2 = std::pow(4.0, n);
      for (int l = 0; l < L; ++l) {
        for (engine::Circuit* c : {&clean, &noisy}) {
          int k = P;
          for (int q = 0; q < n; ++q) {
            c->add_rotation(Gate::kRY, {q}, Angle::parameter(k++));
            c->add_rotation(Gate::kRZ, {q}, Angle::parameter(k++));
          }
          for (int q = 0; q + 1 < n; ++q) c->add_gate(Gate::kCX, {q, q + 1});
        }
        P += 2 * n;
        noisy.add_channel(all, noise::depolarizing(n, p * (d2 - 1.0) / d2));
      }
      const std::vector<engine::PauliSum> obs = {pauli_sum({{1.0, "Z0 Z1"}, {0.5, "X0"}, {-0.7, "Y1"}})};
      std::vector<double> theta(P);
      for (double& t : theta) t = std::uniform_real_distribution<double>(-kPi, kPi)(rng);
      optim::CircuitFunction fc(clean, obs), fn(noisy, obs);
      const double scale = std::pow(1.0 - p, L);
      std::vector<double> vc(1), jc(P);
      fc.jacobian(theta.data(), nullptr, vc.data(), jc.data(), GradientMethod::kAdjoint);
      double jmax = 0;
      for (double g : jc) jmax = std::max(jmax, std::abs(g));
      REQUIRE(jmax > 0.05);
      for (GradientMethod m : kMethods) {
        INFO("n " << n << " p " << p << " method " << optim::to_string(m));
        const double tol = m == GradientMethod::kFiniteDifference ? 1e-9 : 1e-12;
        std::vector<double> vn(1), jn(P);
        fn.jacobian(theta.data(), nullptr, vn.data(), jn.data(), m);
        REQUIRE_CLOSE(vn[0], scale * vc[0], 1e-12);
        for (int i = 0; i < P; ++i) REQUIRE_CLOSE(jn[i], scale * jc[i], tol);
      }
      // The state itself is (1-p)^L ρ_clean + (1 - (1-p)^L) I/d.
      const arma::cx_mat rc = fc.state(theta.data(), nullptr).matrix();
      const arma::cx_mat rn = fn.state(theta.data(), nullptr).matrix();
      const double d = std::ldexp(1.0, n);
      const arma::cx_mat expect = scale * rc + (1.0 - scale) / d * arma::eye<arma::cx_mat>(rc.n_rows, rc.n_cols);
      REQUIRE_MATRIX_CLOSE(rn, expect, 1e-13);
    }
  }
}

TEST_CASE("optim: Cerezo's warm-up variances, global (1/8)(3/8)^(n-1) and local 1/(8n^2)", "[optim]") {
  // V(θ) = ⊗_j RX(θ_j) on |0...0>, θ_j uniform on [-π, π]. C_G = 1 - <|0..0><0..0|>, with
  // |0..0><0..0| = Π_j (I + Z_j)/2 as a Pauli sum of 2^n terms; C_L = 1 - (1/n) Σ_j <(I + Z_j)/2>.
  // Each sample's angles are data features (angle = θ_j + x_j at θ = 0), so one batched Jacobian
  // gives every sample's gradient. Mean 0 is known: s² = mean(g²), with Var(s²) = (m4 - σ⁴)/M.
  const int M = 4000;
  for (int n = 2; n <= 6; ++n) {
    engine::Circuit c(n);
    for (int j = 0; j < n; ++j) c.add_rotation(Gate::kRX, {j}, Angle::parameter(j).add(-1, j, 1.0));
    engine::PauliSum global, local;
    for (std::uint64_t subset = 0; subset < (std::uint64_t{1} << n); ++subset) {
      engine::PauliString z;
      z.z_mask = subset;
      global.terms.emplace_back(-1.0 / std::ldexp(1.0, n), z);
    }
    for (int j = 0; j < n; ++j) {
      engine::PauliString z;
      z.z_mask = std::uint64_t{1} << j;
      local.terms.emplace_back(-1.0 / (2.0 * n), z);
    }
    optim::CircuitFunction f(c, {global, local});
    std::mt19937_64 rng(1000 + n);
    std::vector<double> xs(static_cast<std::size_t>(M) * n), theta(n, 0.0);
    for (double& x : xs) x = std::uniform_real_distribution<double>(-kPi, kPi)(rng);
    std::vector<double> values(2 * M), jac(2 * M * n);
    f.jacobian_batch(theta.data(), xs.data(), M, values.data(), jac.data());
    double s_global = 0, s_local = 0;
    for (int k = 0; k < M; ++k) {
      const double* x = xs.data() + k * n;
      const double gg = jac[(2 * k) * n + 0], gl = jac[(2 * k + 1) * n + 0];
      // The simulator's gradient is the closed form.
      double prod = 1;
      for (int j = 1; j < n; ++j) prod *= std::cos(x[j] / 2) * std::cos(x[j] / 2);
      REQUIRE_CLOSE(gg, 0.5 * std::sin(x[0]) * prod, 1e-12);
      REQUIRE_CLOSE(gl, std::sin(x[0]) / (2.0 * n), 1e-12);
      s_global += gg * gg;
      s_local += gl * gl;
    }
    s_global /= M;
    s_local /= M;
    const double var_g = 0.125 * std::pow(0.375, n - 1), m4_g = (3.0 / 128) * std::pow(35.0 / 128, n - 1);
    const double var_l = 1.0 / (8.0 * n * n), m4_l = (3.0 / 8.0) / (16.0 * std::pow(n, 4));
    const double se_g = std::sqrt((m4_g - var_g * var_g) / M), se_l = std::sqrt((m4_l - var_l * var_l) / M);
    INFO("n " << n << ": global " << s_global << " vs " << var_g << " (se " << se_g << "), local " << s_local << " vs "
              << var_l << " (se " << se_l << ")");
    REQUIRE(std::abs(s_global - var_g) < 5 * se_g);
    REQUIRE(std::abs(s_local - var_l) < 5 * se_l);
  }
}

TEST_CASE("optim: McClean's random circuits reach the 2-design variance d/(3(d^2-1))", "[optim]") {
  // Observable Z0 Z1, derivative with respect to the first rotation (qubit 0, layer 0), L = 25 n
  // layers, 2000 circuits (random axes and angles): within ±20 % of d/(3(d²-1)) (McClean et al. 2018).
  const int circuits = 2000;
  for (int n : {2, 3}) {
    const int L = 25 * n;
    const double d = std::ldexp(1.0, n);
    const double expected = d / (3.0 * (d * d - 1.0));
    double s2 = 0.0, s1 = 0.0;
    for (int k = 0; k < circuits; ++k) {
      optim::AnsatzOptions o;
      o.family = optim::AnsatzFamily::kMcClean;
      o.num_qubits = n;
      o.num_layers = L;
      o.seed = 10000 * n + k;
      const optim::Ansatz a(o);
      optim::GradientOptions go;
      go.num_threads = 1;
      optim::CircuitFunction f(a.circuit(), {pauli_sum({{1.0, "Z0 Z1"}})}, nullptr, go);
      const std::vector<double> theta = a.random_parameters(o.seed);
      std::vector<double> grad(theta.size());
      double v;
      f.vjp(theta.data(), nullptr, [](const double*, double* w) { w[0] = 1; }, &v, grad.data());
      s1 += grad[0];
      s2 += grad[0] * grad[0];
    }
    const double mean = s1 / circuits, var = s2 / circuits - mean * mean;
    INFO("n " << n << ": variance " << var << " vs 2-design " << expected << ", mean " << mean);
    REQUIRE(std::abs(var / expected - 1.0) < 0.2);
  }
}
