// The classical baselines of models/classical.hpp: gradients against central finite differences
// (softmax regression and the MLP, binary and multi-class, with the L2 term, on a mini-batch), the
// parameter counts and the rule that matches the MLP to a budget, the mini-batches (the quantum
// objective's for the same seed), seeded initial parameters, a linearly separable task learned
// exactly by softmax regression and an XOR task learned by the MLP (and not by softmax regression).
#include <algorithm>
#include <cmath>
#include <random>

#include "catch_compat.hpp"
#include "kraus/engine/circuit.hpp"
#include "kraus/optim/solver.hpp"
#include "models/classical.hpp"

using namespace kraus;
using experiments::ClassicalClassifier;
using experiments::ClassicalKind;
using experiments::ClassicalOptions;

namespace {

double uniform(std::mt19937_64& rng, double lo, double hi) {
  return lo + (hi - lo) * static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

// n samples of `features` uniform features in [-1, 1], labels uniform in [0, classes).
optim::Dataset uniform_data(int n, int features, int classes, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  optim::Dataset d;
  d.num_features = features;
  d.num_classes = classes;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < features; ++j) d.features.push_back(uniform(rng, -1.0, 1.0));
    d.labels.push_back(i % classes);  // every class present
  }
  return d;
}

// 2-feature points uniform in [-1, 1]^2 kept when `label` gives a class (>= 0); `n` of them.
template <class Label>
optim::Dataset points(int n, int classes, std::uint64_t seed, Label label) {
  std::mt19937_64 rng(seed);
  optim::Dataset d;
  d.num_features = 2;
  d.num_classes = classes;
  while (d.size() < n) {
    const double x = uniform(rng, -1.0, 1.0), y = uniform(rng, -1.0, 1.0);
    const int c = label(x, y);
    if (c < 0) continue;
    d.features.insert(d.features.end(), {x, y});
    d.labels.push_back(c);
  }
  return d;
}

// Softmax regression options as the study's: mini-batches and the quantum head's L2 penalty.
ClassicalOptions batched(bool binary, int batch_size, std::uint64_t batch_seed) {
  ClassicalOptions o;
  o.binary = binary;
  o.batch_size = batch_size;
  o.batch_seed = batch_seed;
  o.l2 = 1e-4;
  return o;
}

// Adam with the study's batch protocol (next_batch before every step); the trained parameters.
std::vector<double> train(ClassicalClassifier& model, std::uint64_t seed, int steps, double learning_rate) {
  std::vector<double> p = model.initial_parameters(seed);
  optim::AdamOptions adam;
  adam.learning_rate = learning_rate;
  adam.max_steps = steps;
  adam.before_step = [&](int) { model.next_batch(); };
  const optim::SolveSummary s = optim::adam(model, &p, adam);
  REQUIRE(s.usable());
  return p;
}

}  // namespace

TEST_CASE("experiments: classical models' gradients match central finite differences", "[experiments][classical]") {
  struct Case {
    ClassicalKind kind;
    int hidden;
    int classes;
    bool binary;
  };
  for (const Case& c : {Case{ClassicalKind::kSoftmax, 0, 2, true}, Case{ClassicalKind::kSoftmax, 0, 3, false},
                        Case{ClassicalKind::kSoftmax, 0, 2, false}, Case{ClassicalKind::kMlp, 4, 2, true},
                        Case{ClassicalKind::kMlp, 5, 4, false}}) {
    CAPTURE(experiments::to_string(c.kind), c.hidden, c.classes, c.binary);
    ClassicalOptions o;
    o.kind = c.kind;
    o.hidden_units = c.hidden;
    o.binary = c.binary;
    o.batch_size = 7;
    o.batch_seed = 3;
    o.l2 = 0.1;  // large enough that a wrong penalty gradient shows
    ClassicalClassifier model(uniform_data(20, 3, c.classes, 11), o);
    model.next_batch();
    REQUIRE(model.batch().size() == 7);
    const int P = model.num_parameters();
    std::mt19937_64 rng(5);
    std::vector<double> p(static_cast<std::size_t>(P));
    for (double& v : p) v = uniform(rng, -1.5, 1.5);  // non-zero biases too
    std::vector<double> g(static_cast<std::size_t>(P));
    const double value = model.evaluate(p.data(), g.data());
    CHECK(value == model.evaluate(p.data(), nullptr));
    std::vector<double> fd(static_cast<std::size_t>(P));
    const double h = 1e-5;
    for (int i = 0; i < P; ++i) {
      std::vector<double> q = p;
      q[static_cast<std::size_t>(i)] = p[static_cast<std::size_t>(i)] + h;
      const double up = model.evaluate(q.data(), nullptr);
      q[static_cast<std::size_t>(i)] = p[static_cast<std::size_t>(i)] - h;
      fd[static_cast<std::size_t>(i)] = (up - model.evaluate(q.data(), nullptr)) / (2 * h);
    }
    double scale = 0.0;
    for (double v : fd) scale = std::max(scale, std::fabs(v));
    REQUIRE(scale > 1e-3);
    for (int i = 0; i < P; ++i) {
      CAPTURE(i);
      CHECK(std::fabs(g[static_cast<std::size_t>(i)] - fd[static_cast<std::size_t>(i)]) <= 1e-6 * scale);
    }
    CHECK(model.circuit_evaluations() == 0);
  }
}

TEST_CASE("experiments: classical parameter counts and the MLP matched to a budget", "[experiments][classical]") {
  using experiments::classical_parameter_count;
  using experiments::mlp_hidden_units;
  // softmax: K F + K; MLP: H (F + 1 + K) + K.
  CHECK(classical_parameter_count(ClassicalKind::kSoftmax, 16, 1) == 17);
  CHECK(classical_parameter_count(ClassicalKind::kSoftmax, 16, 10) == 170);
  CHECK(classical_parameter_count(ClassicalKind::kMlp, 16, 1, 3) == 3 * 18 + 1);
  CHECK(classical_parameter_count(ClassicalKind::kMlp, 2, 1, 2) == 9);
  // The studies' budgets: digits01 at depth 2 (8 * 2 + 5 = 21) -> 1 unit (19 parameters), at depth 10
  // (85) -> 4 units (73); moons at depth 1 (6 + 3 = 9) -> 2 units (exactly 9); digits10 at depth 2
  // (16 + 50 = 66) -> 2 units (64); digits01 at depth 1 (13): not even one unit (19).
  CHECK(mlp_hidden_units(21, 16, 1) == 1);
  CHECK(mlp_hidden_units(85, 16, 1) == 4);
  CHECK(mlp_hidden_units(9, 2, 1) == 2);
  CHECK(mlp_hidden_units(66, 16, 10) == 2);
  CHECK(mlp_hidden_units(13, 16, 1) == 0);
  // The rule: the largest H whose count does not exceed the budget.
  for (int F : {1, 2, 16}) {
    for (int K : {1, 3, 10}) {
      for (int budget = 0; budget <= 300; ++budget) {
        CAPTURE(F, K, budget);
        const int H = mlp_hidden_units(budget, F, K);
        REQUIRE(H >= 0);
        if (H > 0) CHECK(classical_parameter_count(ClassicalKind::kMlp, F, K, H) <= budget);
        CHECK(classical_parameter_count(ClassicalKind::kMlp, F, K, H + 1) > budget);
      }
    }
  }
  ClassicalOptions o;
  o.kind = ClassicalKind::kMlp;
  o.hidden_units = 3;
  CHECK(ClassicalClassifier(uniform_data(10, 4, 3, 1), o).num_parameters() == 3 * 8 + 3);
  o.binary = true;
  CHECK(ClassicalClassifier(uniform_data(10, 4, 2, 1), o).num_parameters() == 3 * 6 + 1);
}

TEST_CASE("experiments: classical models see the quantum objective's mini-batches", "[experiments][classical]") {
  const optim::Dataset data = uniform_data(23, 2, 2, 4);
  optim::ClassifierOptions qo;
  qo.batch_size = 5;
  qo.batch_seed = 9;
  optim::ClassifierObjective quantum(engine::Circuit(2), data, qo);
  ClassicalOptions o;
  o.batch_size = 5;
  o.batch_seed = 9;
  ClassicalClassifier classical(data, o);
  // Construction draws the first batch of both; then three epochs of 4 batches (23 = 4 * 5 + 3).
  for (int step = 0; step < 13; ++step) {
    CAPTURE(step);
    CHECK(classical.batch() == quantum.batch());
    quantum.next_batch();
    classical.next_batch();
  }
  ClassicalOptions full;
  ClassicalClassifier whole(data, full);
  CHECK(whole.batch().size() == 23);
}

TEST_CASE("experiments: classical initial parameters come from the seed", "[experiments][classical]") {
  ClassicalOptions o;
  o.kind = ClassicalKind::kMlp;
  o.hidden_units = 4;
  const ClassicalClassifier model(uniform_data(10, 9, 3, 2), o);
  const std::vector<double> a = model.initial_parameters(1), b = model.initial_parameters(1),
                            c = model.initial_parameters(2);
  REQUIRE(a.size() == static_cast<std::size_t>(model.num_parameters()));
  CHECK(a == b);
  CHECK(a != c);
  // [W1 (4 x 9) | b1 (4) | W2 (3 x 4) | b2 (3)]: weights within 1/sqrt(fan_in), biases 0.
  for (int i = 0; i < 36; ++i) CHECK(std::fabs(a[static_cast<std::size_t>(i)]) <= 1.0 / 3.0);
  for (int i = 36; i < 40; ++i) CHECK(a[static_cast<std::size_t>(i)] == 0.0);
  for (int i = 40; i < 52; ++i) CHECK(std::fabs(a[static_cast<std::size_t>(i)]) <= 0.5);
  for (int i = 52; i < 55; ++i) CHECK(a[static_cast<std::size_t>(i)] == 0.0);
}

TEST_CASE("experiments: softmax regression learns linearly separable tasks exactly", "[experiments][classical]") {
  SECTION("binary: one logit") {
    // Class 1 above the line x + 2y = 0.3, a margin of 0.1 around it.
    const optim::Dataset d = points(120, 2, 3, [](double x, double y) {
      const double s = x + 2 * y - 0.3;
      return std::fabs(s) < 0.1 ? -1 : (s > 0 ? 1 : 0);
    });
    ClassicalClassifier model(d, batched(true, 16, 1));
    const std::vector<double> p = train(model, 1, 1500, 0.1);
    CHECK(model.accuracy(p.data(), d) == 1.0);
    CHECK(model.loss(p.data(), d) < 0.2);
  }
  SECTION("three classes: softmax cross-entropy") {
    // Three sectors of the square, split by the rays at angles 0, 120 and 240 degrees, margins of
    // 0.15 rad, points at radius >= 0.2.
    const double pi = 3.14159265358979323846;
    const optim::Dataset d = points(150, 3, 4, [pi](double x, double y) {
      if (std::hypot(x, y) < 0.2) return -1;
      const double a = std::atan2(y, x) + (y < 0 ? 2 * pi : 0.0);  // [0, 2 pi)
      const double sector = a / (2 * pi / 3);
      const double frac = sector - std::floor(sector);
      if (frac < 0.07 || frac > 0.93) return -1;
      return static_cast<int>(sector);
    });
    ClassicalClassifier model(d, batched(false, 32, 2));
    const std::vector<double> p = train(model, 2, 2000, 0.1);
    CHECK(model.accuracy(p.data(), d) == 1.0);
    const std::vector<double> probs = model.probabilities(p.data(), d);
    REQUIRE(probs.size() == 150 * 3);
    CHECK(std::fabs(probs[0] + probs[1] + probs[2] - 1.0) < 1e-12);
  }
}

TEST_CASE("experiments: the MLP learns XOR, softmax regression cannot", "[experiments][classical]") {
  // Quadrants: label 1 when exactly one coordinate is negative; points at least 0.15 from the axes.
  const optim::Dataset d = points(200, 2, 5, [](double x, double y) {
    if (std::fabs(x) < 0.15 || std::fabs(y) < 0.15) return -1;
    return x * y < 0 ? 1 : 0;
  });
  ClassicalOptions o = batched(true, 32, 3);
  ClassicalClassifier linear(d, o);
  const std::vector<double> pl = train(linear, 3, 1500, 0.05);
  CHECK(linear.accuracy(pl.data(), d) < 0.8);
  o.kind = ClassicalKind::kMlp;
  o.hidden_units = 6;
  ClassicalClassifier mlp(d, o);
  const std::vector<double> pm = train(mlp, 3, 1500, 0.05);
  CHECK(mlp.accuracy(pm.data(), d) == 1.0);
}

TEST_CASE("experiments: classical models refuse bad input", "[experiments][classical]") {
  ClassicalOptions o;
  CHECK_THROWS_AS(ClassicalClassifier(optim::Dataset{2, 2, {}, {}}, o), std::invalid_argument);
  CHECK_THROWS_AS(ClassicalClassifier(optim::Dataset{2, 2, {0.0}, {0}}, o), std::invalid_argument);
  CHECK_THROWS_AS(ClassicalClassifier(optim::Dataset{1, 2, {0.0}, {2}}, o), std::invalid_argument);
  o.binary = true;
  CHECK_THROWS_AS(ClassicalClassifier(uniform_data(6, 2, 3, 1), o), std::invalid_argument);
  o.binary = false;
  o.kind = ClassicalKind::kMlp;  // no hidden units
  CHECK_THROWS_AS(ClassicalClassifier(uniform_data(6, 2, 3, 1), o), std::invalid_argument);
  o.kind = ClassicalKind::kSoftmax;
  o.hidden_units = 2;
  CHECK_THROWS_AS(ClassicalClassifier(uniform_data(6, 2, 3, 1), o), std::invalid_argument);
  o.hidden_units = 0;
  const ClassicalClassifier model(uniform_data(6, 2, 3, 1), o);
  const std::vector<double> p = model.initial_parameters(1);
  CHECK_THROWS_AS(model.accuracy(p.data(), uniform_data(6, 3, 3, 1)), std::invalid_argument);
}
