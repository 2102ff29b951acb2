// The adaptive-depth controller: the grow / shrink / stop decisions as pure functions on hand-made
// histories, the decision log's CSV, and end-to-end runs that grow, shrink, reject a shrink and stop.
#include <cmath>
#include <limits>
#include <sstream>

#include "catch_compat.hpp"
#include "kraus/optim/adaptive.hpp"
#include "kraus/optim/encoding.hpp"
#include "reference/test_support.hpp"

using namespace kraus;
using optim::Action;

namespace {

constexpr double kPi = 3.14159265358979323846;

optim::RoundRecord record(int round, int depth, double loss, double gradient_norm,
                          std::vector<double> layer_norms = {}, std::vector<double> angle_distances = {},
                          std::int64_t evaluations = 0) {
  optim::RoundRecord r;
  r.round = round;
  r.depth = depth;
  r.loss = loss;
  r.gradient_norm = gradient_norm;
  r.layer_gradient_norms = layer_norms.empty() ? std::vector<double>(static_cast<std::size_t>(depth), 1.0) : layer_norms;
  r.layer_angle_distances =
      angle_distances.empty() ? std::vector<double>(static_cast<std::size_t>(depth), 1.0) : angle_distances;
  r.circuit_evaluations = evaluations;
  return r;
}

engine::PauliSum hamiltonian(std::initializer_list<std::pair<double, const char*>> terms) {
  engine::PauliSum s;
  for (const auto& [c, t] : terms) s.terms.emplace_back(c, engine::PauliString::parse(t));
  return s;
}

}  // namespace

TEST_CASE("optim: stop decisions (budget, target, rounds)", "[optim]") {
  optim::AdaptiveOptions o;
  o.max_circuit_evaluations = 1000;
  o.target_loss = 0.1;
  o.max_rounds = 3;
  std::vector<optim::RoundRecord> h = {record(0, 2, 0.5, 1.0, {}, {}, 999)};
  REQUIRE(optim::decide_stop(h, o).action == Action::kContinue);
  h[0].circuit_evaluations = 1000;
  optim::Decision d = optim::decide_stop(h, o);
  REQUIRE(d.action == Action::kStop);
  REQUIRE(d.reason.find("evaluation budget") != std::string::npos);
  h[0].circuit_evaluations = 10;
  h[0].loss = 0.1;
  d = optim::decide_stop(h, o);
  REQUIRE(d.action == Action::kStop);
  REQUIRE(d.reason.find("target loss reached") != std::string::npos);
  h = {record(0, 1, 1.0, 1.0), record(1, 1, 0.9, 1.0), record(2, 1, 0.8, 1.0)};
  d = optim::decide_stop(h, o);
  REQUIRE(d.action == Action::kStop);
  REQUIRE(d.reason.find("round limit") != std::string::npos);
  REQUIRE(optim::decide_stop({}, o).action == Action::kContinue);
}

TEST_CASE("optim: grow decisions (plateau window, gradient floor, depth limit, noise floor)", "[optim]") {
  optim::AdaptiveOptions o;
  o.window = 2;
  o.min_relative_improvement = 1e-3;
  o.gradient_floor = 1e-4;
  o.target_loss = 0.0;
  o.max_depth = 4;
  // Still improving, large gradient: continue.
  std::vector<optim::RoundRecord> h = {record(0, 2, 1.0, 0.5), record(1, 2, 0.9, 0.5), record(2, 2, 0.8, 0.5)};
  REQUIRE(optim::decide_grow(h, o).action == Action::kContinue);
  // Improvement 2e-4 over two rounds (< 1e-3 relative): grow, the new layer's index is the depth.
  h = {record(0, 2, 1.0, 0.5), record(1, 2, 0.9999, 0.5), record(2, 2, 0.9998, 0.5)};
  optim::Decision d = optim::decide_grow(h, o);
  REQUIRE(d.action == Action::kGrow);
  REQUIRE(d.layer == 2);
  REQUIRE(d.reason.find("over 2 rounds") != std::string::npos);
  // After a growth the window waits for `window` rounds at the new depth.
  h = {record(0, 2, 1.0, 0.5), record(1, 2, 0.9999, 0.5), record(2, 3, 0.9998, 0.5)};
  REQUIRE(optim::decide_grow(h, o).action == Action::kContinue);
  h.push_back(record(3, 3, 0.9997, 0.5));
  REQUIRE(optim::decide_grow(h, o).action == Action::kGrow);
  // A window longer than the history: no plateau verdict yet.
  h = {record(0, 2, 1.0, 0.5), record(1, 2, 1.0, 0.5)};
  REQUIRE(optim::decide_grow(h, o).action == Action::kContinue);
  // Gradient below the floor while the loss is above the target.
  h = {record(0, 2, 0.4, 5e-5)};
  d = optim::decide_grow(h, o);
  REQUIRE(d.action == Action::kGrow);
  REQUIRE(d.reason.find("below floor") != std::string::npos);
  // ... but not once the loss is at the target.
  h = {record(0, 2, 0.0, 5e-5)};
  REQUIRE(optim::decide_grow(h, o).action == Action::kContinue);
  // Depth limit: the grow becomes a stop.
  h = {record(0, 4, 0.4, 5e-5)};
  d = optim::decide_grow(h, o);
  REQUIRE(d.action == Action::kStop);
  REQUIRE(d.reason.find("depth limit") != std::string::npos);
  // Noise floor: predicted gradient 0.5^(depth+1) against 0.1.
  o.noise_floor = 0.1;
  o.layer_contraction = 0.5;
  REQUIRE_CLOSE(optim::predicted_gradient(3, o), 0.125, 1e-15);
  h = {record(0, 2, 0.4, 5e-5)};
  REQUIRE(optim::decide_grow(h, o).action == Action::kGrow);  // depth 3: 0.125 >= 0.1
  h = {record(0, 3, 0.4, 5e-5)};
  d = optim::decide_grow(h, o);
  REQUIRE(d.action == Action::kStop);  // depth 4: 0.0625 < 0.1
  REQUIRE(d.reason.find("noise floor") != std::string::npos);
}

TEST_CASE("optim: shrink decisions (angles near 0 mod 2pi, gradient floor over a window)", "[optim]") {
  optim::AdaptiveOptions o;
  o.min_depth = 1;
  o.prune_angle_tolerance = 1e-3;
  o.prune_gradient_floor = 1e-6;
  o.prune_window = 2;
  REQUIRE_CLOSE(optim::angle_distance_to_identity(2 * kPi - 1e-4), 1e-4, 1e-12);
  REQUIRE_CLOSE(optim::angle_distance_to_identity(-4 * kPi + 1e-5), 1e-5, 1e-12);
  REQUIRE_CLOSE(optim::angle_distance_to_identity(kPi), kPi, 1e-12);
  REQUIRE_CLOSE(optim::angle_distance_to_identity(0.3), 0.3, 1e-15);
  // The layer closest to the identity among those within the tolerance.
  std::vector<optim::RoundRecord> h = {record(0, 3, 0.5, 1.0, {1, 1, 1}, {0.5, 2e-4, 1e-5})};
  optim::Decision d = optim::decide_shrink(h, o);
  REQUIRE(d.action == Action::kShrink);
  REQUIRE(d.layer == 2);
  REQUIRE(d.reason.find("mod 2pi") != std::string::npos);
  d = optim::decide_shrink(h, o, {2});
  REQUIRE(d.layer == 1);
  REQUIRE(optim::decide_shrink(h, o, {1, 2}).action == Action::kContinue);
  // Never below min_depth.
  h = {record(0, 1, 0.5, 1.0, {1}, {0.0})};
  REQUIRE(optim::decide_shrink(h, o).action == Action::kContinue);
  // Gradient norm below the floor in each of the last two rounds at the same depth.
  h = {record(0, 3, 0.5, 1.0, {1e-3, 1e-8, 1e-2}), record(1, 3, 0.4, 1.0, {1e-3, 5e-7, 1e-2})};
  d = optim::decide_shrink(h, o);
  REQUIRE(d.action == Action::kShrink);
  REQUIRE(d.layer == 1);
  REQUIRE(d.reason.find("gradient norm below") != std::string::npos);
  // ... not when one of them is above the floor, nor across a change of depth.
  h = {record(0, 3, 0.5, 1.0, {1e-3, 2e-6, 1e-2}), record(1, 3, 0.4, 1.0, {1e-3, 5e-7, 1e-2})};
  REQUIRE(optim::decide_shrink(h, o).action == Action::kContinue);
  h = {record(0, 2, 0.5, 1.0, {1e-8, 1e-8}), record(1, 3, 0.4, 1.0, {1e-3, 5e-7, 1e-2})};
  REQUIRE(optim::decide_shrink(h, o).action == Action::kContinue);
  // Acceptance: the loss may not rise by prune_loss_tolerance or more.
  o.prune_loss_tolerance = 1e-6;
  REQUIRE(optim::accept_shrink(1.0, 1.0 + 1e-7, o));
  REQUIRE(optim::accept_shrink(1.0, 0.5, o));
  REQUIRE_FALSE(optim::accept_shrink(1.0, 1.0 + 1e-5, o));
  REQUIRE_FALSE(optim::accept_shrink(1.0, std::nan(""), o));
}

TEST_CASE("optim: decide() orders stop, shrink, grow", "[optim]") {
  optim::AdaptiveOptions o;
  o.max_circuit_evaluations = 100;
  o.gradient_floor = 1e-4;
  // Shrinkable and plateaued: shrink first.
  std::vector<optim::RoundRecord> h = {record(0, 3, 0.5, 1e-6, {1, 1, 1}, {1, 0.0, 1}, 10)};
  REQUIRE(optim::decide(h, o).action == Action::kShrink);
  // The budget overrides everything.
  h.back().circuit_evaluations = 100;
  REQUIRE(optim::decide(h, o).action == Action::kStop);
  // Shrink excluded: grow.
  h.back().circuit_evaluations = 10;
  REQUIRE(optim::decide(h, o, {1}).action == Action::kGrow);
  std::string why;
  REQUIRE(o.IsValid(&why));
  o.layer_contraction = 1.5;
  REQUIRE_FALSE(o.IsValid(&why));
  REQUIRE(why.find("layer_contraction") != std::string::npos);
}

TEST_CASE("optim: the decision log as CSV", "[optim]") {
  optim::DecisionLogEntry a;
  a.step = 3;
  a.depth = 2;
  a.loss = 0.25;
  a.gradient_norm = 1e-3;
  a.layer_gradient_norms = {0.5, 0.125};
  a.action = Action::kShrinkRejected;
  a.layer = 1;
  a.reason = "layer 1 \"idle\", rejected";
  a.circuit_evaluations = 420;
  a.loss_after = 0.5;
  const std::string csv = optim::decision_log_csv({a});
  std::istringstream in(csv);
  std::string header, line;
  std::getline(in, header);
  std::getline(in, line);
  REQUIRE(header == "step,depth,loss,gradient_norm,layer_gradient_norms,action,layer,reason,circuit_evaluations,loss_after");
  REQUIRE(line == "3,2,0.25,0.001,0.5;0.125,shrink_rejected,1,\"layer 1 \"\"idle\"\", rejected\",420,0.5");
}

TEST_CASE("optim: the controller grows from depth 0 until the target is reached", "[optim]") {
  // H = -(X0 X1 + Z0 Z1): ground state the Bell state, E = -2, not reachable without entangling.
  optim::AnsatzOptions ao;
  ao.num_qubits = 2;
  ao.num_layers = 0;
  ao.rotations = optim::RotationSet::kRY;
  ao.entangler = optim::Entangler::kCnotChain;
  const engine::PauliSum h = hamiltonian({{-1.0, "X0 X1"}, {-1.0, "Z0 Z1"}});
  auto factory = [&](const optim::Ansatz& a) { return std::make_unique<optim::EnergyObjective>(a.circuit(), h); };
  optim::AdaptiveOptions o;
  o.target_loss = -2.0 + 1e-9;
  const optim::AdaptiveResult r = optim::run_adaptive(optim::Ansatz(ao), {}, factory, o);
  INFO(r.BriefReport() << "\n" << optim::decision_log_csv(r.log));
  REQUIRE(r.ansatz.num_layers() == 1);
  REQUIRE(r.ansatz.layer_kind(0) == optim::LayerKind::kIdentity);
  REQUIRE(r.final_loss <= -2.0 + 1e-9);
  REQUIRE(r.log.size() == 2);
  REQUIRE(r.log[0].action == Action::kGrow);
  REQUIRE(r.log[0].depth == 0);
  REQUIRE_CLOSE(r.log[0].loss, -1.0, 1e-14);
  REQUIRE(r.log[1].action == Action::kStop);
  REQUIRE(r.log[1].reason.find("target loss reached") != std::string::npos);
  REQUIRE(r.stop_reason == r.log[1].reason);
  REQUIRE(r.circuit_evaluations > 0);
  REQUIRE(r.BriefReport().find("depth 0 -> 1") != std::string::npos);
}

TEST_CASE("optim: the controller removes identity layers and stops at the depth limit", "[optim]") {
  optim::AnsatzOptions ao;
  ao.num_qubits = 2;
  ao.num_layers = 0;
  optim::Ansatz a(ao);
  std::vector<double> params;
  for (int i = 0; i < 3; ++i) a.append_layer(optim::LayerKind::kIdentity, &params);
  const engine::PauliSum h = hamiltonian({{-1.0, "Z0"}, {-1.0, "Z1"}});  // |00> is optimal
  auto factory = [&](const optim::Ansatz& an) { return std::make_unique<optim::EnergyObjective>(an.circuit(), h); };
  optim::AdaptiveOptions o;
  o.min_depth = 1;
  o.max_depth = 1;
  const optim::AdaptiveResult r = optim::run_adaptive(a, params, factory, o);
  INFO(optim::decision_log_csv(r.log));
  REQUIRE(r.log.size() == 3);
  REQUIRE(r.log[0].action == Action::kShrink);
  REQUIRE(r.log[0].depth == 3);
  REQUIRE(r.log[1].action == Action::kShrink);
  REQUIRE(r.log[1].depth == 2);
  REQUIRE(r.log[2].action == Action::kStop);
  REQUIRE(r.log[2].reason.find("depth limit") != std::string::npos);
  REQUIRE(r.ansatz.num_layers() == 1);
  REQUIRE(r.parameters.size() == 4);
  REQUIRE_CLOSE(r.final_loss, -2.0, 1e-14);
}

TEST_CASE("optim: a shrink that would change the loss is rejected and logged", "[optim]") {
  // Two standard layers RY + CNOT; the second has zero angles but its CNOT matters.
  optim::AnsatzOptions ao;
  ao.num_qubits = 2;
  ao.num_layers = 2;
  ao.rotations = optim::RotationSet::kRY;
  ao.entangler = optim::Entangler::kCnotChain;
  const optim::Ansatz a(ao);
  const std::vector<double> params = {kPi / 2, 0.0, 0.0, 0.0};  // |+0> -> Bell -> |+0>
  const engine::PauliSum h = hamiltonian({{-1.0, "X0"}, {-1.0, "Z1"}});
  auto factory = [&](const optim::Ansatz& an) { return std::make_unique<optim::EnergyObjective>(an.circuit(), h); };
  optim::AdaptiveOptions o;
  o.max_depth = 2;
  const optim::AdaptiveResult r = optim::run_adaptive(a, params, factory, o);
  INFO(optim::decision_log_csv(r.log));
  REQUIRE(r.log.size() == 2);
  REQUIRE(r.log[0].action == Action::kShrinkRejected);
  REQUIRE(r.log[0].layer == 1);
  REQUIRE_CLOSE(r.log[0].loss, -2.0, 1e-12);
  REQUIRE_CLOSE(r.log[0].loss_after, 0.0, 1e-12);
  REQUIRE(r.log[1].action == Action::kStop);
  REQUIRE(r.ansatz.num_layers() == 2);
}

TEST_CASE("optim: the controller stops when the evaluation budget is spent", "[optim]") {
  optim::AnsatzOptions ao;
  ao.num_qubits = 3;
  ao.num_layers = 1;
  const optim::Ansatz a(ao);
  const engine::PauliSum h = hamiltonian({{1.0, "Z0 Z1"}, {1.0, "Z1 Z2"}, {0.7, "X0"}, {0.7, "X1"}, {0.7, "X2"}});
  auto factory = [&](const optim::Ansatz& an) {
    optim::GradientOptions g;
    g.method = optim::GradientMethod::kParameterShift;
    return std::make_unique<optim::EnergyObjective>(an.circuit(), h, nullptr, g);
  };
  optim::AdaptiveOptions o;
  o.max_circuit_evaluations = 200;
  const optim::AdaptiveResult r = optim::run_adaptive(a, a.random_parameters(2), factory, o);
  INFO(optim::decision_log_csv(r.log));
  REQUIRE(r.log.back().action == Action::kStop);
  REQUIRE(r.stop_reason.find("evaluation budget") != std::string::npos);
  REQUIRE(r.circuit_evaluations >= 200);
  REQUIRE(r.circuit_evaluations < 400);
  for (const optim::SolveSummary& solve : r.solves) REQUIRE(solve.solver == "lbfgs");
  // Rounds of Adam (for estimated losses): the same budget, every round at most adam.max_steps steps.
  optim::AdaptiveOptions with_adam = o;
  with_adam.adam = optim::AdamOptions{};
  with_adam.adam->max_steps = 4;
  const optim::AdaptiveResult ra = optim::run_adaptive(a, a.random_parameters(2), factory, with_adam);
  INFO(optim::decision_log_csv(ra.log));
  REQUIRE(ra.stop_reason.find("evaluation budget") != std::string::npos);
  REQUIRE(ra.circuit_evaluations >= 200);
  REQUIRE(ra.circuit_evaluations < 400);
  REQUIRE(ra.solves.size() > 1);
  for (const optim::SolveSummary& solve : ra.solves) {
    REQUIRE(solve.solver == "adam");
    REQUIRE(solve.iterations <= 4);
  }
  // The first round ran its 4 steps; the training lowered the energy.
  REQUIRE(ra.solves.front().iterations == 4);
  REQUIRE(ra.history.back().loss < ra.history.front().loss);
  with_adam.adam->learning_rate = -1;
  std::string why;
  REQUIRE_FALSE(with_adam.IsValid(&why));
  REQUIRE(why.rfind("AdaptiveOptions::adam: ", 0) == 0);
  // A factory whose objective does not match the parameters is refused.
  auto bad = [&](const optim::Ansatz&) {
    engine::Circuit c(1);
    c.add_rotation(engine::Gate::kRX, {0}, engine::Angle::parameter(0));
    return std::make_unique<optim::EnergyObjective>(c, hamiltonian({{1.0, "Z0"}}));
  };
  REQUIRE_THROWS_AS(optim::run_adaptive(a, a.random_parameters(2), bad, o), std::invalid_argument);
}

TEST_CASE("optim: the controller keeps a classifier's classical parameters across growth", "[optim]") {
  optim::Dataset d;
  d.num_features = 2;
  d.num_classes = 2;
  for (int i = 0; i < 12; ++i) {
    d.features.push_back(0.1 + 0.07 * i);
    d.features.push_back(i % 2 ? 0.8 : 0.2);
    d.labels.push_back((i % 2) ^ (i > 6 ? 1 : 0));
  }
  optim::AnsatzOptions ao;
  ao.num_qubits = 2;
  ao.num_layers = 1;
  ao.entangler = optim::Entangler::kCnotChain;
  const optim::Ansatz a(ao);
  auto factory = [&](const optim::Ansatz& an) {
    return std::make_unique<optim::ClassifierObjective>(an.circuit(optim::Encoding::angle(2)), d);
  };
  const optim::ClassifierObjective first(a.circuit(optim::Encoding::angle(2)), d);
  const std::vector<double> params = first.initial_parameters(a.random_parameters(5), 5);
  optim::AdaptiveOptions o;
  o.max_rounds = 3;
  o.window = 1;
  o.min_relative_improvement = 1.0;  // always "plateaued": grow whenever a window is complete
  o.solver.max_iterations = 10;
  const optim::AdaptiveResult r = optim::run_adaptive(a, params, factory, o);
  INFO(optim::decision_log_csv(r.log));
  REQUIRE(r.log.size() == 3);
  REQUIRE(r.log[0].action == Action::kContinue);  // one round is no window yet
  REQUIRE(r.log[1].action == Action::kGrow);
  REQUIRE(r.log[2].action == Action::kStop);
  REQUIRE(r.log[2].reason.find("round limit") != std::string::npos);
  REQUIRE(r.ansatz.num_layers() == 2);
  const int classical = first.num_classical_parameters();
  REQUIRE(r.parameters.size() == static_cast<std::size_t>(r.ansatz.num_parameters() + classical));
  // Growth inserts identity layers before W and b: the loss never goes up between rounds.
  for (std::size_t i = 1; i < r.history.size(); ++i) REQUIRE(r.history[i].loss <= r.history[i - 1].loss + 1e-12);
}
