// Adaptive depth: a controller that alternates solves (minimize or adam, solver.hpp) with structure
// decisions on a layered Ansatz — grow, shrink, stop — and logs every decision.
//
// After each solve (round) the controller evaluates the loss and its gradient at the solution and
// records a RoundRecord. The decisions are pure functions of the history and the options (no Ceres,
// no circuits), unit-tested on hand-made histories:
//
//  stop  (decide_stop, first): the circuit-evaluation budget is spent; the loss reached
//        target_loss; max_rounds rounds ran.
//  shrink (decide_shrink, second; only above min_depth): a layer whose angles are all within
//        prune_angle_tolerance of 0 mod 2π (re-uploading weights: of 0), or whose gradient norm
//        stayed below prune_gradient_floor in each of the last prune_window rounds at the current
//        depth, is proposed. The controller then removes it on a copy and accepts the removal when
//        the loss rises by less than prune_loss_tolerance (accept_shrink); otherwise it logs the
//        rejection and excludes that layer until the next structural change.
//  grow  (decide_grow, last): the loss improved by less than min_relative_improvement (relative to
//        |loss|) over the last `window` rounds, all at the current depth (the round before them may
//        be at the previous depth: the loss when the layer was added), or the gradient norm is below gradient_floor while
//        the loss is above target_loss. Growing appends a new_layer_kind layer (by default an
//        identity layer, ansatz.hpp: the loss is unchanged) and warm-starts from the current
//        parameters — unless depth >= max_depth ("depth limit") or the predicted gradient of the
//        deeper circuit, gradient_scale · layer_contraction^(depth+1), is below noise_floor (with local
//        Pauli noise of strength q per layer the usable gradient signal shrinks like q^L: NIBP):
//        then the decision is stop.
//  otherwise continue (another round at the same depth).
//
// The parameter vector holds the ansatz parameters first and, after them, any others the objective
// needs (e.g. a classifier's W and b), which the controller leaves in place.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kraus/optim/ansatz.hpp"
#include "kraus/optim/objectives.hpp"
#include "kraus/optim/solver.hpp"

namespace kraus::optim {

enum class Action { kContinue, kGrow, kShrink, kShrinkRejected, kStop };
const char* to_string(Action action);

// The state after one round (a solve).
struct RoundRecord {
  int round = 0;
  int depth = 0;
  double loss = 0.0;
  double gradient_norm = 0.0;
  std::vector<double> layer_gradient_norms;   // per layer, 2-norm of its parameters' gradient
  std::vector<double> layer_angle_distances;  // per layer, max over its parameters of the distance
                                              // of an angle to the nearest multiple of 2π (|w| for a
                                              // re-uploading weight)
  std::int64_t circuit_evaluations = 0;       // cumulative, all rounds
};

struct Decision {
  Action action = Action::kContinue;
  int layer = -1;      // kShrink: the layer proposed
  std::string reason;  // e.g. "gradient norm 3.2e-07 below floor 1e-05 while loss 0.41 above target 0"
};

struct AdaptiveOptions {
  // Depth limits: never shrink below min_depth; growing at max_depth stops. Defaults 1 and 8.
  int min_depth = 1;
  int max_depth = 8;
  // Rounds (solves) at most. Default 50.
  int max_rounds = 50;
  // Grow when the loss improved by less than min_relative_improvement · |loss| over the last
  // `window` rounds. Defaults 2 and 1e-3.
  int window = 2;
  double min_relative_improvement = 1e-3;
  // Grow when the gradient norm is below gradient_floor while loss > target_loss. Default 1e-4.
  double gradient_floor = 1e-4;
  // Stop when loss <= target_loss. Default -infinity (never).
  double target_loss = -std::numeric_limits<double>::infinity();
  // Shrink rules (see above). Defaults 1e-3 rad, 1e-6, 2 rounds, 1e-6.
  double prune_angle_tolerance = 1e-3;
  double prune_gradient_floor = 1e-6;
  int prune_window = 2;
  double prune_loss_tolerance = 1e-6;
  // Total circuit-evaluation budget over all rounds; 0 = none. Default 0.
  std::int64_t max_circuit_evaluations = 0;
  // Noise-aware stop: predicted gradient at depth L = gradient_scale · layer_contraction^L; growing
  // stops when that falls below noise_floor (0 disables). E.g. local depolarising p after every gate
  // with g gates per qubit per layer and a cost of Pauli weight w: contraction (1 - 4p/3)^(g·w).
  // Defaults 0, 1, 1.
  double noise_floor = 0.0;
  double gradient_scale = 1.0;
  double layer_contraction = 1.0;
  // New layers: kind (default kIdentity), perturbation of their parameters (default 0) and seed
  // (default 0; round r uses a seed derived from (seed, r)).
  LayerKind new_layer_kind = LayerKind::kIdentity;
  double new_layer_perturbation = 0.0;
  std::uint64_t seed = 0;
  // The solver of every round: L-BFGS (or BFGS) with a Wolfe line search, or, when `adam` is set,
  // adam.max_steps steps of Adam, which estimated losses and gradients (trajectories, shots:
  // GradientOptions) need, since a line search compares losses that are exact. With a budget
  // (max_circuit_evaluations) a round of either stops once it is spent.
  MinimizerOptions solver{};
  std::optional<AdamOptions> adam;

  bool IsValid(std::string* error) const;
};

// ---- the pure decisions ----
double predicted_gradient(int depth, const AdaptiveOptions& options);
// Distance of an angle to the nearest multiple of 2π.
double angle_distance_to_identity(double angle);
Decision decide_stop(const std::vector<RoundRecord>& history, const AdaptiveOptions& options);
Decision decide_shrink(const std::vector<RoundRecord>& history, const AdaptiveOptions& options,
                       const std::vector<int>& excluded_layers = {});
bool accept_shrink(double loss_before, double loss_after, const AdaptiveOptions& options);
Decision decide_grow(const std::vector<RoundRecord>& history, const AdaptiveOptions& options);
// stop, then shrink, then grow, else continue.
Decision decide(const std::vector<RoundRecord>& history, const AdaptiveOptions& options,
                const std::vector<int>& excluded_layers = {});

// One line of the decision log.
struct DecisionLogEntry {
  int step = 0;  // the round
  int depth = 0;  // before the action
  double loss = 0.0;
  double gradient_norm = 0.0;
  std::vector<double> layer_gradient_norms;
  Action action = Action::kContinue;
  int layer = -1;  // grow: the new layer's index; shrink: the removed (or rejected) layer
  std::string reason;
  std::int64_t circuit_evaluations = 0;
  double loss_after = 0.0;  // shrink / shrink_rejected: the loss without the layer; else = loss
};

// CSV with a header line:
//   step,depth,loss,gradient_norm,layer_gradient_norms,action,layer,reason,circuit_evaluations,loss_after
// layer_gradient_norms is ';'-separated inside its field; reason is double-quoted (quotes doubled);
// numbers with 17 significant digits.
std::string decision_log_csv(const std::vector<DecisionLogEntry>& log);

struct AdaptiveResult {
  Ansatz ansatz;
  std::vector<double> parameters;
  std::vector<RoundRecord> history;
  std::vector<DecisionLogEntry> log;
  std::vector<SolveSummary> solves;
  double final_loss = 0.0;
  std::int64_t circuit_evaluations = 0;
  std::string stop_reason;

  // e.g. "adaptive: 6 rounds, depth 1 -> 3, loss 0.52 -> 1.2e-09, 5120 circuit evaluations; stop:
  // target loss reached"
  std::string BriefReport() const;
};

// Builds the objective for an ansatz (its circuit with whatever encoding, observable, data).
using ObjectiveFactory = std::function<std::unique_ptr<Objective>(const Ansatz&)>;

// Runs the controller from `ansatz` and `params` (ansatz parameters first). Throws
// std::invalid_argument when !options.IsValid or when an objective's parameter count does not
// match.
AdaptiveResult run_adaptive(Ansatz ansatz, std::vector<double> params, const ObjectiveFactory& make_objective,
                            const AdaptiveOptions& options);

}  // namespace kraus::optim
