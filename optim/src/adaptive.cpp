#include "kraus/optim/adaptive.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "random_detail.hpp"

namespace kraus::optim {

namespace {

constexpr double kTwoPi = 6.283185307179586476925;

std::string fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

std::string fmt17(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

const char* to_string(Action action) {
  switch (action) {
    case Action::kContinue: return "continue";
    case Action::kGrow: return "grow";
    case Action::kShrink: return "shrink";
    case Action::kShrinkRejected: return "shrink_rejected";
    case Action::kStop: return "stop";
  }
  return "?";
}

bool AdaptiveOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (min_depth < 0 || max_depth < min_depth) return fail("AdaptiveOptions: need 0 <= min_depth <= max_depth");
  if (max_rounds < 1) return fail("AdaptiveOptions::max_rounds must be >= 1");
  if (window < 1 || prune_window < 1) return fail("AdaptiveOptions::window and prune_window must be >= 1");
  if (!(min_relative_improvement >= 0.0)) return fail("AdaptiveOptions::min_relative_improvement must be >= 0");
  if (!(gradient_floor >= 0.0) || !(prune_gradient_floor >= 0.0)) {
    return fail("AdaptiveOptions gradient floors must be >= 0");
  }
  if (!(prune_angle_tolerance >= 0.0) || !(prune_loss_tolerance >= 0.0)) {
    return fail("AdaptiveOptions prune tolerances must be >= 0");
  }
  if (max_circuit_evaluations < 0) return fail("AdaptiveOptions::max_circuit_evaluations must be >= 0");
  if (!(noise_floor >= 0.0) || !(gradient_scale > 0.0) || !(layer_contraction > 0.0 && layer_contraction <= 1.0)) {
    return fail("AdaptiveOptions: need noise_floor >= 0, gradient_scale > 0 and 0 < layer_contraction <= 1");
  }
  if (!(new_layer_perturbation >= 0.0)) return fail("AdaptiveOptions::new_layer_perturbation must be >= 0");
  std::string why;
  if (!solver.IsValid(&why)) return fail("AdaptiveOptions::solver: " + why);
  if (adam && !adam->IsValid(&why)) return fail("AdaptiveOptions::adam: " + why);
  return true;
}

double predicted_gradient(int depth, const AdaptiveOptions& options) {
  return options.gradient_scale * std::pow(options.layer_contraction, depth);
}

double angle_distance_to_identity(double angle) {
  if (!std::isfinite(angle)) return INFINITY;
  const double r = std::remainder(angle, kTwoPi);  // in [-π, π]
  return std::abs(r);
}

Decision decide_stop(const std::vector<RoundRecord>& history, const AdaptiveOptions& options) {
  Decision d;
  if (history.empty()) return d;
  const RoundRecord& last = history.back();
  if (options.max_circuit_evaluations > 0 && last.circuit_evaluations >= options.max_circuit_evaluations) {
    d.action = Action::kStop;
    d.reason = "evaluation budget spent (" + std::to_string(last.circuit_evaluations) + " >= " +
               std::to_string(options.max_circuit_evaluations) + " circuit evaluations)";
    return d;
  }
  if (last.loss <= options.target_loss) {
    d.action = Action::kStop;
    d.reason = "target loss reached (" + fmt(last.loss) + " <= " + fmt(options.target_loss) + ")";
    return d;
  }
  if (static_cast<int>(history.size()) >= options.max_rounds) {
    d.action = Action::kStop;
    d.reason = "round limit (" + std::to_string(options.max_rounds) + ")";
    return d;
  }
  return d;
}

Decision decide_shrink(const std::vector<RoundRecord>& history, const AdaptiveOptions& options,
                       const std::vector<int>& excluded_layers) {
  Decision d;
  if (history.empty()) return d;
  const RoundRecord& last = history.back();
  if (last.depth <= options.min_depth) return d;
  auto excluded = [&](int l) {
    return std::find(excluded_layers.begin(), excluded_layers.end(), l) != excluded_layers.end();
  };
  // Rule 1: every angle of the layer near 0 mod 2π.
  int best = -1;
  double best_distance = INFINITY;
  for (int l = 0; l < static_cast<int>(last.layer_angle_distances.size()); ++l) {
    if (excluded(l)) continue;
    const double dist = last.layer_angle_distances[static_cast<std::size_t>(l)];
    if (dist <= options.prune_angle_tolerance && dist < best_distance) {
      best = l;
      best_distance = dist;
    }
  }
  if (best >= 0) {
    d.action = Action::kShrink;
    d.layer = best;
    d.reason = "layer " + std::to_string(best) + " angles within " + fmt(options.prune_angle_tolerance) +
               " of 0 mod 2pi (max distance " + fmt(best_distance) + ")";
    return d;
  }
  // Rule 2: gradient norm below the floor in each of the last prune_window rounds at this depth.
  const int w = options.prune_window;
  if (static_cast<int>(history.size()) < w) return d;
  for (int k = 0; k < w; ++k) {
    const RoundRecord& r = history[history.size() - 1 - static_cast<std::size_t>(k)];
    if (r.depth != last.depth || r.layer_gradient_norms.size() != last.layer_gradient_norms.size()) return d;
  }
  double best_norm = INFINITY;
  for (int l = 0; l < static_cast<int>(last.layer_gradient_norms.size()); ++l) {
    if (excluded(l)) continue;
    double worst = 0.0;
    for (int k = 0; k < w; ++k) {
      worst = std::max(worst, history[history.size() - 1 - static_cast<std::size_t>(k)]
                                  .layer_gradient_norms[static_cast<std::size_t>(l)]);
    }
    if (worst < options.prune_gradient_floor && worst < best_norm) {
      best = l;
      best_norm = worst;
    }
  }
  if (best >= 0) {
    d.action = Action::kShrink;
    d.layer = best;
    d.reason = "layer " + std::to_string(best) + " gradient norm below " + fmt(options.prune_gradient_floor) +
               " for " + std::to_string(w) + " rounds (max " + fmt(best_norm) + ")";
  }
  return d;
}

bool accept_shrink(double loss_before, double loss_after, const AdaptiveOptions& options) {
  return std::isfinite(loss_after) && loss_after - loss_before < options.prune_loss_tolerance;
}

Decision decide_grow(const std::vector<RoundRecord>& history, const AdaptiveOptions& options) {
  Decision d;
  if (history.empty()) return d;
  const RoundRecord& last = history.back();
  std::string why;
  const int w = options.window;
  // The plateau verdict needs `window` rounds at the current depth: right after a growth the window
  // would otherwise still see the plateau that caused it and grow again before the new layer trained.
  int at_depth = 0;
  for (auto it = history.rbegin(); it != history.rend() && it->depth == last.depth; ++it) ++at_depth;
  if (static_cast<int>(history.size()) > w && at_depth >= w) {
    const double before = history[history.size() - 1 - static_cast<std::size_t>(w)].loss;
    const double gain = before - last.loss;
    if (gain < options.min_relative_improvement * std::max(std::abs(before), 1e-12)) {
      why = "loss improved by " + fmt(gain) + " (< " + fmt(options.min_relative_improvement) + " relative) over " +
            std::to_string(w) + " rounds";
    }
  }
  if (why.empty() && last.gradient_norm < options.gradient_floor && last.loss > options.target_loss) {
    why = "gradient norm " + fmt(last.gradient_norm) + " below floor " + fmt(options.gradient_floor) + " while loss " +
          fmt(last.loss) + " above target " + fmt(options.target_loss);
  }
  if (why.empty()) return d;
  if (last.depth >= options.max_depth) {
    d.action = Action::kStop;
    d.reason = "depth limit " + std::to_string(options.max_depth) + " reached (" + why + ")";
    return d;
  }
  if (options.noise_floor > 0.0) {
    const double g = predicted_gradient(last.depth + 1, options);
    if (g < options.noise_floor) {
      d.action = Action::kStop;
      d.reason = "predicted gradient " + fmt(g) + " at depth " + std::to_string(last.depth + 1) +
                 " below the noise floor " + fmt(options.noise_floor) + " (" + why + ")";
      return d;
    }
  }
  d.action = Action::kGrow;
  d.layer = last.depth;
  d.reason = why;
  return d;
}

Decision decide(const std::vector<RoundRecord>& history, const AdaptiveOptions& options,
                const std::vector<int>& excluded_layers) {
  Decision d = decide_stop(history, options);
  if (d.action != Action::kContinue) return d;
  d = decide_shrink(history, options, excluded_layers);
  if (d.action != Action::kContinue) return d;
  return decide_grow(history, options);
}

std::string decision_log_csv(const std::vector<DecisionLogEntry>& log) {
  std::ostringstream out;
  out << "step,depth,loss,gradient_norm,layer_gradient_norms,action,layer,reason,circuit_evaluations,loss_after\n";
  for (const DecisionLogEntry& e : log) {
    std::string norms;
    for (std::size_t i = 0; i < e.layer_gradient_norms.size(); ++i) {
      if (i) norms += ';';
      norms += fmt17(e.layer_gradient_norms[i]);
    }
    std::string reason;
    for (char c : e.reason) {
      if (c == '"') reason += '"';
      reason += c;
    }
    out << e.step << ',' << e.depth << ',' << fmt17(e.loss) << ',' << fmt17(e.gradient_norm) << ',' << norms << ','
        << to_string(e.action) << ',' << e.layer << ",\"" << reason << "\"," << e.circuit_evaluations << ','
        << fmt17(e.loss_after) << '\n';
  }
  return out.str();
}

std::string AdaptiveResult::BriefReport() const {
  std::ostringstream out;
  out << "adaptive: " << history.size() << " rounds, depth "
      << (history.empty() ? ansatz.num_layers() : history.front().depth) << " -> " << ansatz.num_layers() << ", loss "
      << (history.empty() ? final_loss : history.front().loss) << " -> " << final_loss << ", " << circuit_evaluations
      << " circuit evaluations";
  if (!stop_reason.empty()) out << "; stop: " << stop_reason;
  return out.str();
}

namespace {

RoundRecord make_record(int round, const Ansatz& ansatz, const std::vector<double>& params,
                        const std::vector<double>& grad, double loss, std::int64_t evaluations) {
  RoundRecord r;
  r.round = round;
  r.depth = ansatz.num_layers();
  r.loss = loss;
  double g2 = 0.0;
  for (double g : grad) g2 += g * g;
  r.gradient_norm = std::sqrt(g2);
  for (int l = 0; l < ansatz.num_layers(); ++l) {
    const int off = ansatz.layer_offset(l), size = ansatz.layer_size(l);
    double n2 = 0.0, dist = 0.0;
    for (int i = off; i < off + size; ++i) {
      n2 += grad[static_cast<std::size_t>(i)] * grad[static_cast<std::size_t>(i)];
      const double v = params[static_cast<std::size_t>(i)];
      dist = std::max(dist, ansatz.is_weight(i) ? std::abs(v) : angle_distance_to_identity(v));
    }
    r.layer_gradient_norms.push_back(std::sqrt(n2));
    r.layer_angle_distances.push_back(dist);
  }
  r.circuit_evaluations = evaluations;
  return r;
}

DecisionLogEntry make_entry(const RoundRecord& r, const Decision& d) {
  DecisionLogEntry e;
  e.step = r.round;
  e.depth = r.depth;
  e.loss = r.loss;
  e.gradient_norm = r.gradient_norm;
  e.layer_gradient_norms = r.layer_gradient_norms;
  e.action = d.action;
  e.layer = d.layer;
  e.reason = d.reason;
  e.circuit_evaluations = r.circuit_evaluations;
  e.loss_after = r.loss;
  return e;
}

}  // namespace

AdaptiveResult run_adaptive(Ansatz ansatz, std::vector<double> params, const ObjectiveFactory& make_objective,
                            const AdaptiveOptions& options) {
  std::string why;
  if (!options.IsValid(&why)) throw std::invalid_argument(why);
  if (!make_objective) throw std::invalid_argument("run_adaptive: no objective factory");
  const int extras = static_cast<int>(params.size()) - ansatz.num_parameters();
  if (extras < 0) {
    throw std::invalid_argument("run_adaptive: " + std::to_string(params.size()) + " parameters for an ansatz with " +
                                std::to_string(ansatz.num_parameters()));
  }
  AdaptiveResult result{ansatz, {}, {}, {}, {}, 0.0, 0, {}};
  std::int64_t evaluations = 0;
  std::vector<int> excluded;
  auto build = [&](const Ansatz& a, const std::vector<double>& p) {
    std::unique_ptr<Objective> obj = make_objective(a);
    if (!obj) throw std::invalid_argument("run_adaptive: the factory returned no objective");
    if (obj->num_parameters() != static_cast<int>(p.size())) {
      throw std::invalid_argument("run_adaptive: the objective has " + std::to_string(obj->num_parameters()) +
                                  " parameters, the ansatz " + std::to_string(a.num_parameters()) + " plus " +
                                  std::to_string(extras) + " others");
    }
    return obj;
  };
  double loss = 0.0;
  for (int round = 0;; ++round) {
    std::unique_ptr<Objective> objective = build(ansatz, params);
    const std::int64_t left = std::max<std::int64_t>(options.max_circuit_evaluations - evaluations, 1);
    if (options.adam) {
      AdamOptions adam_options = *options.adam;
      if (options.max_circuit_evaluations > 0) {
        adam_options.callbacks.push_back([left](const IterationInfo& info) {
          return info.circuit_evaluations >= left ? CallbackAction::kStop : CallbackAction::kContinue;
        });
      }
      result.solves.push_back(adam(*objective, &params, adam_options));
    } else {
      MinimizerOptions solver = options.solver;
      if (options.max_circuit_evaluations > 0) {
        solver.max_circuit_evaluations =
            solver.max_circuit_evaluations > 0 ? std::min(solver.max_circuit_evaluations, left) : left;
      }
      result.solves.push_back(minimize(*objective, &params, solver));
    }
    std::vector<double> grad(params.size());
    loss = objective->evaluate(params.data(), grad.data());
    evaluations += objective->circuit_evaluations();
    result.history.push_back(make_record(round, ansatz, params, grad, loss, evaluations));
    const RoundRecord& record = result.history.back();

    bool next_round = false;
    while (!next_round) {
      const Decision d = decide(result.history, options, excluded);
      DecisionLogEntry entry = make_entry(record, d);
      switch (d.action) {
        case Action::kShrink: {
          Ansatz trial = ansatz;
          std::vector<double> trial_params = params;
          trial.remove_layer(d.layer, &trial_params);
          std::unique_ptr<Objective> trial_objective = build(trial, trial_params);
          const double trial_loss = trial_objective->evaluate(trial_params.data(), nullptr);
          evaluations += trial_objective->circuit_evaluations();
          entry.loss_after = trial_loss;
          entry.circuit_evaluations = evaluations;
          if (accept_shrink(loss, trial_loss, options)) {
            entry.reason += "; loss change " + fmt(trial_loss - loss) + " < " + fmt(options.prune_loss_tolerance);
            result.log.push_back(entry);
            ansatz = std::move(trial);
            params = std::move(trial_params);
            loss = trial_loss;
            excluded.clear();
            next_round = true;
          } else {
            entry.action = Action::kShrinkRejected;
            entry.reason += "; rejected: loss change " + fmt(trial_loss - loss) + " >= " + fmt(options.prune_loss_tolerance);
            result.log.push_back(entry);
            excluded.push_back(d.layer);
          }
          break;
        }
        case Action::kGrow:
          ansatz.append_layer(options.new_layer_kind, &params, options.new_layer_perturbation,
                              detail::mix_seed(options.seed, static_cast<std::uint64_t>(round)));
          result.log.push_back(entry);
          excluded.clear();
          next_round = true;
          break;
        case Action::kStop:
          result.log.push_back(entry);
          result.stop_reason = d.reason;
          result.ansatz = ansatz;
          result.parameters = params;
          result.final_loss = loss;
          result.circuit_evaluations = evaluations;
          return result;
        case Action::kContinue:
        case Action::kShrinkRejected:
          entry.reason = entry.reason.empty() ? "no structural change" : entry.reason;
          result.log.push_back(entry);
          next_round = true;
          break;
      }
    }
  }
  result.ansatz = ansatz;
  result.parameters = params;
  result.final_loss = loss;
  result.circuit_evaluations = evaluations;
  return result;
}

}  // namespace kraus::optim
