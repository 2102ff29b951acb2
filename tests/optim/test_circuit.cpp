// Parametrised circuits, ansätze, encodings and data sets: the forward pass against
// engine::simulate (the same noise semantics), layer growth and removal, PCA, the digits loader.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "catch_compat.hpp"
#include "kraus/engine/simulator.hpp"
#include "kraus/optim/ansatz.hpp"
#include "kraus/optim/datasets.hpp"
#include "kraus/optim/encoding.hpp"
#include "kraus/optim/gradients.hpp"
#include "reference/test_support.hpp"

using namespace kraus;
using engine::Angle;
using engine::Gate;

namespace {

constexpr double kPi = 3.14159265358979323846;

engine::PauliSum pauli_sum(std::initializer_list<std::pair<double, const char*>> terms) {
  engine::PauliSum s;
  for (const auto& [c, t] : terms) s.terms.emplace_back(c, engine::PauliString::parse(t));
  return s;
}

// A random 3-qubit circuit of rotations (with shared parameters) and fixed gates.
engine::Circuit random_circuit(std::mt19937_64& rng, int n, int num_ops, int num_params) {
  engine::Circuit c(n);
  std::uniform_int_distribution<int> kind(0, 9), qubit(0, n - 1), param(0, num_params - 1);
  std::uniform_real_distribution<double> coeff(-1.5, 1.5);
  const Gate rot1[] = {Gate::kRX, Gate::kRY, Gate::kRZ};
  const Gate rot2[] = {Gate::kRXX, Gate::kRYY, Gate::kRZZ, Gate::kRZX};
  for (int i = 0; i < num_ops; ++i) {
    const int k = kind(rng);
    int a = qubit(rng), b = qubit(rng);
    while (b == a) b = qubit(rng);
    if (k <= 3) {
      c.add_rotation(rot1[k % 3], {a}, Angle::parameter(param(rng), coeff(rng), coeff(rng)));
    } else if (k <= 5) {
      c.add_rotation(rot2[k % 4], {a, b}, Angle::parameter(param(rng), coeff(rng)));
    } else if (k == 6) {
      c.add_gate(Gate::kCX, {a, b});
    } else if (k == 7) {
      c.add_gate(Gate::kCZ, {a, b});
    } else if (k == 8) {
      c.add_gate(Gate::kH, {a});
    } else {
      c.add_gate(Gate::kU3, {a}, {coeff(rng), coeff(rng), coeff(rng)});
    }
  }
  c.set_num_parameters(num_params);
  return c;
}

const char* kModelJson = R"({
  "gate_noise": [
    {"gates": ["*"], "channel": {"type": "depolarizing", "p": 0.02}},
    {"gates": ["rx", "ry"], "qubits": [0, 1], "channel": {"type": "amplitude_damping", "gamma": 0.03}},
    {"gates": ["cx", "rzz"], "channel": {"type": "thermal_relaxation", "t1": 50.0, "t2": 60.0, "time": 2.0}},
    {"gates": ["rxx", "cz"], "channel": {"type": "pauli", "probabilities": {"XZ": 0.01, "YY": 0.02}}}
  ],
  "idle_noise": {"type": "phase_damping", "lambda": 0.02}
})";

}  // namespace

TEST_CASE("optim: the forward pass equals engine::simulate under the same noise model", "[optim]") {
  const noise::NoiseModel model = noise::NoiseModel::from_json(kModelJson);
  const noise::NoiseModel no_idle = noise::NoiseModel::from_json(R"({"gate_noise": [
      {"gates": ["*"], "channel": {"type": "amplitude_damping", "gamma": 0.05}}]})");
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    std::mt19937_64 rng(seed);
    const int n = 3, P = 5;
    const engine::Circuit c = random_circuit(rng, n, 18, P);
    std::vector<double> theta(P);
    for (double& t : theta) t = std::uniform_real_distribution<double>(-3, 3)(rng);
    for (const noise::NoiseModel* m : {static_cast<const noise::NoiseModel*>(nullptr), &model, &no_idle}) {
      optim::CircuitFunction f(c, {pauli_sum({{1.0, "Z0"}})}, m);
      const engine::DensityMatrix ours = f.state(theta.data(), nullptr);
      engine::DensityMatrix ref(n);
      engine::simulate(c.bind(theta.data(), nullptr), m, ref);
      REQUIRE_MATRIX_CLOSE(ours.matrix(), ref.matrix(), 1e-12);
      // Expectations agree with engine::expectation.
      const engine::PauliSum obs = pauli_sum({{0.7, "X0 Z2"}, {-0.4, "Y1"}, {0.25, "Z0 Z1 Z2"}, {0.1, "I"}});
      optim::CircuitFunction g(c, {obs}, m);
      double v = 0.0;
      g.evaluate(theta.data(), nullptr, &v);
      REQUIRE_CLOSE(v, engine::expectation(ref, obs), 1e-12);
    }
  }
}

TEST_CASE("optim: Pauli rotations are exp(-i a P / 2) and only they take angles", "[optim]") {
  engine::Circuit c(2);
  REQUIRE_THROWS_AS(c.add_rotation(Gate::kCRX, {0, 1}, Angle::parameter(0)), std::invalid_argument);
  REQUIRE_THROWS_AS(c.add_rotation(Gate::kP, {0}, Angle::parameter(0)), std::invalid_argument);
  REQUIRE_THROWS_AS(c.add_rotation(Gate::kRX, {0, 1}, Angle::parameter(0)), std::invalid_argument);
  REQUIRE_THROWS_AS(c.add_gate(Gate::kCX, {0, 0}), std::invalid_argument);
  REQUIRE_THROWS_AS(c.add_gate(Gate::kH, {2}), std::invalid_argument);
  // RX(θ)|0>: <Z> = cos θ, <Y> = -sin θ (R_P(θ) = exp(-iθP/2)).
  engine::Circuit rx(1);
  rx.add_rotation(Gate::kRX, {0}, Angle::parameter(0));
  optim::CircuitFunction f(rx, {pauli_sum({{1.0, "Z0"}}), pauli_sum({{1.0, "Y0"}})});
  const double theta = 0.83;
  double v[2];
  f.evaluate(&theta, nullptr, v);
  REQUIRE_CLOSE(v[0], std::cos(theta), 1e-14);
  REQUIRE_CLOSE(v[1], -std::sin(theta), 1e-14);
  // Qubit order: RX on qubit 1 flips bit 1 (basis index 2).
  engine::Circuit q1(2);
  q1.add_rotation(Gate::kRX, {1}, Angle::constant(kPi));
  optim::CircuitFunction g(q1, {pauli_sum({{1.0, "Z1"}})});
  const engine::DensityMatrix rho = g.state(nullptr, nullptr);
  REQUIRE_CLOSE(rho.probabilities()[2], 1.0, 1e-14);
}

TEST_CASE("optim: angles are affine in parameters and features", "[optim]") {
  Angle a = Angle::parameter(2, 0.5, 0.1);
  a.add(0, 1, 2.0).add(-1, 0, 3.0);
  const double theta[] = {0.3, 0.0, 1.2};
  const double x[] = {0.4, -0.5};
  REQUIRE_CLOSE(a.value(theta, x), 0.1 + 0.5 * 1.2 + 2.0 * 0.3 * -0.5 + 3.0 * 0.4, 1e-15);
  REQUIRE(a.max_parameter() == 2);
  REQUIRE(a.max_feature() == 1);
  REQUIRE(a.depends_on_parameters());
  REQUIRE_FALSE(Angle::feature(0).depends_on_parameters());
}

TEST_CASE("optim: ansatz families have the documented structure", "[optim]") {
  SECTION("hardware-efficient") {
    optim::AnsatzOptions o;
    o.num_qubits = 4;
    o.num_layers = 3;
    o.rotations = optim::RotationSet::kRYRZ;
    o.entangler = optim::Entangler::kCzRing;
    optim::Ansatz a(o);
    REQUIRE(a.num_parameters() == 3 * 8);
    REQUIRE(a.layer_offset(2) == 16);
    const auto c = a.circuit();
    int cz = 0, rot = 0;
    for (const auto& op : c.operations()) {
      if (op.gate == Gate::kCZ) ++cz;
      if (op.has_angle) ++rot;
    }
    REQUIRE(cz == 3 * 4);
    REQUIRE(rot == 24);
    o.rotations = optim::RotationSet::kRY;
    o.entangler = optim::Entangler::kCnotChain;
    REQUIRE(optim::Ansatz(o).num_parameters() == 12);
  }
  SECTION("McClean: seeded axes, preamble, CZ ladder") {
    optim::AnsatzOptions o;
    o.family = optim::AnsatzFamily::kMcClean;
    o.num_qubits = 4;
    o.num_layers = 20;
    o.seed = 7;
    const auto c1 = optim::Ansatz(o).circuit();
    const auto c2 = optim::Ansatz(o).circuit();
    o.seed = 8;
    const auto c3 = optim::Ansatz(o).circuit();
    std::vector<Gate> g1, g2, g3;
    for (const auto& op : c1.operations()) g1.push_back(op.gate);
    for (const auto& op : c2.operations()) g2.push_back(op.gate);
    for (const auto& op : c3.operations()) g3.push_back(op.gate);
    REQUIRE(g1 == g2);
    REQUIRE(g1 != g3);
    std::set<Gate> axes(g1.begin(), g1.end());
    REQUIRE(axes.count(Gate::kRX) == 1);
    REQUIRE(axes.count(Gate::kRY) == 1);
    REQUIRE(axes.count(Gate::kRZ) == 1);
    REQUIRE(c1.operations()[0].gate == Gate::kRY);
    REQUIRE_CLOSE(c1.operations()[0].params[0], kPi / 4, 1e-15);
    REQUIRE(c1.num_parameters() == 80);
  }
  SECTION("alternating layered: shifted blocks") {
    optim::AnsatzOptions o;
    o.family = optim::AnsatzFamily::kAlternatingLayered;
    o.num_qubits = 6;
    o.num_layers = 2;
    o.block_size = 2;
    optim::Ansatz a(o);
    REQUIRE(a.layer_size(0) == 6);  // blocks (0,1) (2,3) (4,5)
    REQUIRE(a.layer_size(1) == 4);  // blocks (1,2) (3,4)
    o.block_size = 3;
    REQUIRE_FALSE(o.IsValid(nullptr));
  }
  SECTION("data re-uploading: weights and features") {
    optim::AnsatzOptions o;
    o.family = optim::AnsatzFamily::kDataReuploading;
    o.num_qubits = 2;
    o.num_layers = 2;
    o.num_features = 3;
    optim::Ansatz a(o);
    REQUIRE(a.num_parameters() == 2 * 2 * 3);
    REQUIRE(a.is_weight(0));
    REQUIRE_FALSE(a.is_weight(1));
    REQUIRE(a.is_weight(3));
    const auto c = a.circuit();
    REQUIRE(c.num_features() == 3);
    const auto p = a.random_parameters(3);
    REQUIRE(p[0] == 1.0);
    o.num_features = 0;
    std::string why;
    REQUIRE_FALSE(o.IsValid(&why));
    REQUIRE(why.find("num_features") != std::string::npos);
  }
}

TEST_CASE("optim: appended identity layers leave the state unchanged, removal undoes them", "[optim]") {
  const noise::NoiseModel model = noise::NoiseModel::from_json(
      R"({"gate_noise": [{"gates": ["*"], "channel": {"type": "depolarizing", "p": 0.01}}]})");
  for (auto family : {optim::AnsatzFamily::kHardwareEfficient, optim::AnsatzFamily::kMcClean,
                      optim::AnsatzFamily::kAlternatingLayered, optim::AnsatzFamily::kDataReuploading}) {
    optim::AnsatzOptions o;
    o.family = family;
    o.num_qubits = 3;
    o.num_layers = 2;
    o.block_size = 2;
    o.num_features = 2;
    o.entangler = optim::Entangler::kCnotRing;
    optim::Ansatz a(o);
    std::vector<double> params = a.random_parameters(11);
    params.push_back(42.0);  // a trailing non-ansatz parameter
    const std::vector<double> x = {0.3, 0.8};
    const engine::PauliSum obs = pauli_sum({{1.0, "Z0 X1"}, {0.5, "Y2"}});
    auto value = [&](const optim::Ansatz& an, const std::vector<double>& p) {
      optim::CircuitFunction f(an.circuit(), {obs}, nullptr);
      double v = 0;
      f.evaluate(p.data(), x.data(), &v);
      return v;
    };
    const double before = value(a, params);
    optim::Ansatz grown = a;
    std::vector<double> grown_params = params;
    grown.append_layer(optim::LayerKind::kIdentity, &grown_params);
    REQUIRE(grown.num_layers() == 3);
    REQUIRE(grown_params.size() == params.size() + static_cast<std::size_t>(grown.layer_size(2)));
    REQUIRE(grown_params.back() == 42.0);
    REQUIRE_CLOSE(value(grown, grown_params), before, 1e-13);
    // The new layer's gradient is not identically zero (its rotations act in the entangler's frame).
    optim::CircuitFunction f(grown.circuit(), {obs}, &model);
    std::vector<double> grad(static_cast<std::size_t>(f.num_parameters()));
    double v = 0;
    f.vjp(grown_params.data(), x.data(), [](const double*, double* w) { w[0] = 1.0; }, &v, grad.data());
    double new_norm = 0;
    for (int i = grown.layer_offset(2); i < grown.layer_offset(2) + grown.layer_size(2); ++i) new_norm += grad[i] * grad[i];
    REQUIRE(new_norm > 1e-8);
    // Removing it restores the original circuit.
    grown.remove_layer(2, &grown_params);
    REQUIRE(grown_params == params);
    REQUIRE_CLOSE(value(grown, grown_params), before, 1e-14);
    // Removing a middle layer shifts the later parameters.
    optim::Ansatz cut = a;
    std::vector<double> cut_params = params;
    cut.remove_layer(0, &cut_params);
    REQUIRE(cut.num_layers() == 1);
    REQUIRE(cut_params.size() == params.size() - static_cast<std::size_t>(a.layer_size(0)));
    REQUIRE(cut_params.back() == 42.0);
  }
}

TEST_CASE("optim: amplitude and angle encodings", "[optim]") {
  const std::vector<double> x = {0.1, 0.0, 0.7, 0.3, 0.2};
  engine::Circuit c(3);
  optim::Encoding::amplitude(5).apply(&c);
  REQUIRE(c.amplitude_features() == 5);
  optim::CircuitFunction f(c, {pauli_sum({{1.0, "Z0"}})});
  const engine::DensityMatrix rho = f.state(nullptr, x.data());
  const engine::DensityMatrix ref = optim::amplitude_density_matrix(x.data(), 5, 3);
  REQUIRE_MATRIX_CLOSE(rho.matrix(), ref.matrix(), 1e-15);
  REQUIRE_CLOSE(rho.trace(), 1.0, 1e-14);
  const std::vector<double> zero(5, 0.0);
  REQUIRE_THROWS_AS(f.state(nullptr, zero.data()), std::invalid_argument);
  REQUIRE_THROWS_AS(optim::Encoding::amplitude(9).apply(&c), std::invalid_argument);

  engine::Circuit a(2);
  optim::Encoding::angle(2, Gate::kRX).apply(&a);
  optim::CircuitFunction g(a, {pauli_sum({{1.0, "Z0"}}), pauli_sum({{1.0, "Z1"}})});
  double v[2];
  g.evaluate(nullptr, x.data(), v);
  REQUIRE_CLOSE(v[0], std::cos(kPi * x[0]), 1e-14);
  REQUIRE_CLOSE(v[1], std::cos(kPi * x[1]), 1e-14);
  REQUIRE_THROWS_AS(optim::Encoding::angle(3).apply(&a), std::invalid_argument);
  REQUIRE_THROWS_AS(g.evaluate(nullptr, nullptr, v), std::invalid_argument);
}

TEST_CASE("optim: PCA is deterministic, orthonormal and ordered", "[optim]") {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> gauss;
  const int N = 200, F = 5;
  std::vector<double> rows(N * F);
  for (int i = 0; i < N; ++i) {
    const double a = gauss(rng), b = gauss(rng);
    for (int f = 0; f < F; ++f) rows[i * F + f] = 3.0 * a * (f + 1) + 0.5 * b * (F - f) + 0.05 * gauss(rng) + 1.0;
  }
  const optim::Pca p1 = optim::Pca::fit(rows.data(), N, F, 3);
  const optim::Pca p2 = optim::Pca::fit(rows.data(), N, F, 3);
  REQUIRE(p1.components() == p2.components());
  const auto& v = p1.components();
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      double dot = 0;
      for (int f = 0; f < F; ++f) dot += v[i * F + f] * v[j * F + f];
      REQUIRE_CLOSE(dot, i == j ? 1.0 : 0.0, 1e-12);
    }
    const double* comp = v.data() + i * F;
    REQUIRE(*std::max_element(comp, comp + F, [](double a, double b) { return std::abs(a) < std::abs(b); }) > 0);
  }
  REQUIRE(p1.explained_variance()[0] >= p1.explained_variance()[1]);
  REQUIRE(p1.explained_variance()[1] >= p1.explained_variance()[2]);
  // The first component carries the a-direction: variance ~ 9 Σ (f+1)^2 = 495.
  REQUIRE(p1.explained_variance()[0] > 300);
  const std::vector<double> t = p1.transform_rows(rows.data(), N);
  REQUIRE(*std::min_element(t.begin(), t.end()) >= 0.0);
  REQUIRE(*std::max_element(t.begin(), t.end()) <= 1.0);
  REQUIRE_CLOSE(*std::max_element(t.begin(), t.end()), 1.0, 1e-15);
  REQUIRE_THROWS_AS(optim::Pca::fit(rows.data(), N, F, 6), std::invalid_argument);
}

TEST_CASE("optim: seeded stratified splits and subsets", "[optim]") {
  // 3 classes of 10, 20 and 31 samples; feature 0 of sample i is i, so rows can be traced.
  optim::Dataset data;
  data.num_features = 2;
  data.num_classes = 3;
  for (int i = 0; i < 61; ++i) {
    data.labels.push_back(i < 10 ? 0 : i < 30 ? 1 : 2);
    data.features.push_back(i);
    data.features.push_back(-i);
  }
  optim::Dataset train, test, train2, test2;
  optim::train_test_split(data, 0.3, 17, &train, &test);
  optim::train_test_split(data, 0.3, 17, &train2, &test2);
  REQUIRE(train.labels == train2.labels);
  REQUIRE(test.features == test2.features);
  // round(0.3 x class size) per class: 3 + 6 + 9.
  REQUIRE(test.size() == 18);
  REQUIRE(train.size() == 43);
  std::vector<int> per_class(3, 0);
  for (int y : test.labels) ++per_class[y];
  REQUIRE(per_class == std::vector<int>{3, 6, 9});
  // Every sample lands in exactly one part, rows intact and in the original order.
  std::vector<int> seen;
  for (const optim::Dataset* part : {&train, &test}) {
    for (int k = 0; k < part->size(); ++k) {
      const int i = static_cast<int>(part->row(k)[0]);
      REQUIRE(part->row(k)[1] == -i);
      REQUIRE(part->labels[k] == data.labels[i]);
      if (k > 0) REQUIRE(part->row(k - 1)[0] < i);
      seen.push_back(i);
    }
  }
  std::sort(seen.begin(), seen.end());
  for (int i = 0; i < 61; ++i) REQUIRE(seen[i] == i);
  optim::train_test_split(data, 0.3, 18, &train2, &test2);
  REQUIRE(test2.features != test.features);
  REQUIRE_THROWS_AS(optim::train_test_split(data, 1.0, 1, &train, &test), std::invalid_argument);
  const optim::Dataset sub = data.subset({5, 2});
  REQUIRE(sub.labels == std::vector<int>{0, 0});
  REQUIRE(sub.features == std::vector<double>{5, -5, 2, -2});
  REQUIRE_THROWS_AS(data.subset({61}), std::out_of_range);
}
