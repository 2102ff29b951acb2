// exp_adaptive: adaptive circuit depth (kraus::optim::run_adaptive) against fixed depths at the same
// budget of circuit evaluations, per data set, noise model and seed: final depth, parameters,
// accuracy, and the adaptive run's depth trajectory.
//
// Model (models/classifier.hpp, the same as exp_classifier's): image tasks amplitude-encode 4x4 pixels
// on 4 qubits followed by hardware-efficient layers (RY, RZ, CNOT chain); synthetic tasks use data
// re-uploading layers on 2 qubits; <Z_q> readouts feed the dressed classical head (logistic loss
// for 2 classes, softmax cross-entropy otherwise, L2 1e-4 on the head's weights). The noise model
// (fitted to the register) acts after every gate of the layers. Training is full-batch.
//
// At each grid point (dataset, noise model, seed) the task is loaded with the point's seed
// (split, per-class subsampling to --samples-per-class, synthetic sets), then:
//  * strategy = adaptive: run_adaptive from --start-depth standard layers (min depth 1, max depth
//    --max-depth), rounds of at most --round-iterations L-BFGS iterations; a round grows by an
//    identity layer when the loss improved by less than 1 % over the last 2 rounds (or the gradient
//    norm is below 1e-4), shrinks a layer whose angles are all within 1e-3 of the identity or whose
//    gradient stayed below 1e-6 (accepted when the loss rises by < 1e-6), and stops when
//    --budget circuit evaluations are spent. The noise-aware stop (layer_contraction) is off: the
//    shipped models are not pure depolarising channels of one strength, and for the depolarizing
//    model (p = 0.001 / 0.01) the predicted contraction per layer (about 0.97) would not stop growth
//    below depth 10 at any meaningful floor.
//  * strategy = fixed: for each --fixed-depths value d, L-BFGS on the model at depth d (one solve,
//    iterations unlimited) until it converges or has used --budget circuit evaluations.
// Every strategy starts from initial_parameters(ansatz, objective, seed) at its starting depth
// (angles from the seed, head from seed + 1: the head starts identical for every strategy).
//
// --method (optim::GradientOptions, as exp_classifier's): density-matrix (exact, the L-BFGS above);
// trajectories (--trajectories per sample) or shots (--shots per circuit, parameter shift), whose
// estimated losses train with Adam (--learning-rate): --round-iterations steps per adaptive round
// (AdaptiveOptions::adam), and Adam until the budget at each fixed depth. The k-th objective a
// point builds draws from seed + k * 2^32. --model classical or both adds the classical baselines
// (models/classical.hpp: softmax regression and the MLP within the quantum model's parameter count
// at --max-depth), trained by L-BFGS to convergence. --qpu-latency and --batch-circuits charge every
// training evaluation what hardware would submit (AccountedObjective below).
//
// Budget: the training objective's circuit-evaluation counter (one per sample per loss, one or two
// per sample per loss+gradient; optim::CircuitFunction). Budgets are checked after each solver
// iteration, so a solve ends at most one iteration (its line search) past the budget; the adaptive
// run adds the controller's loss+gradient at the end of its last round. Accuracies and the loss on
// the full train and test sets are computed afterwards by separate objectives and are not counted.
//
// Rows: one per adaptive round (in order), then one per fixed depth (ascending). Columns after the
// grid columns (study, noise_model, dataset, seed):
//   strategy             adaptive | fixed | softmax | mlp
//   fixed_depth          the fixed strategy's depth; 0 for adaptive
//   round                adaptive: the controller round (0, 1, ...); fixed: 0
//   depth                layers during the round (adaptive) or the fixed depth
//   parameters           trainable parameters at that depth: circuit angles (re-uploading weights) + head
//   circuit_evaluations  cumulative training circuit evaluations at the end of the round / solve
//   budget               --budget
//   loss                 training loss (with the L2 term) at the end of the round / solve
//   train_accuracy, test_accuracy   on the full train / test split, with those parameters
//   action               adaptive: the round's decision (continue, grow, shrink, stop); fixed: final
//   final                1 on the strategy's last row (its result), else 0
//   seconds              wall clock of the strategy's training up to the end of the row's round/solve
//   reason               adaptive: the controller's reason for the action; fixed: the solver's report
//   circuit_executions   circuits a hardware run would have submitted so far
//   latency_seconds, latency_share    their simulated round trips, and latency / (latency + seconds)
//   seconds_forward, seconds_backward, seconds_head, seconds_optimiser    where `seconds` went
#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/datasets.hpp"
#include "harness/resources.hpp"
#include "harness/study.hpp"
#include "kraus/optim/adaptive.hpp"
#include "kraus/optim/solver.hpp"
#include "models/classical.hpp"
#include "models/classifier.hpp"

namespace {

namespace ex = kraus::experiments;
namespace optim = kraus::optim;

ex::StudySpec make_spec() {
  ex::StudySpec s;
  s.name = "adaptive";
  s.program = "exp_adaptive";
  s.summary =
      "Adaptive circuit depth (optim::run_adaptive: grow by identity layers, prune, stop on the budget) against\n"
      "fixed depths (L-BFGS) at the same budget of circuit evaluations, on the classifier of exp_classifier, per\n"
      "data set, noise model and seed: final depth, parameters, train/test accuracy, and the adaptive run's depth\n"
      "trajectory.";
  s.default_noise = {"ideal", "depolarizing", "amplitude_damping", "device_like"};
  s.quick_noise = {"ideal", "depolarizing"};
  s.seeds = {"1:3", "1"};
  s.category = {"dataset", "classification tasks (experiments/data/datasets.hpp)", ex::task_names(),
                "digits01,digits38,moons", "digits01,moons"};
  s.options = {
      {"fixed-depths", ex::StudyOption::Kind::kString, "LIST", "depths of the fixed strategies (1 .. --max-depth)",
       "2:10", "2,4"},
      {"start-depth", ex::StudyOption::Kind::kInt, "L", "layers the adaptive run starts with", "1", "1", 1, 100},
      {"max-depth", ex::StudyOption::Kind::kInt, "L", "the adaptive run's depth limit", "10", "4", 1, 100},
      {"budget", ex::StudyOption::Kind::kInt, "N", "circuit evaluations per training (every strategy)", "40000",
       "20000", 1, 1e12},
      {"round-iterations", ex::StudyOption::Kind::kInt, "N", "L-BFGS iterations per adaptive round (at most)", "10",
       "10", 1, 1000000},
      {"samples-per-class", ex::StudyOption::Kind::kInt, "N",
       "training samples per class (test: ceil(3N/7)); 0 = all", "50", "20", 0, 1000000},
      {"learning-rate", ex::StudyOption::Kind::kDouble, "R", "Adam's step size (--method trajectories or shots)",
       "0.05", "0.05", 1e-6, 10},
  };
  for (const ex::StudyOption& o : ex::training_options()) s.options.push_back(o);
  s.columns = {"strategy",           "fixed_depth",     "round",           "depth",           "parameters",
               "circuit_evaluations", "budget",          "loss",            "train_accuracy",  "test_accuracy",
               "action",             "final",           "seconds",         "reason",          "circuit_executions",
               "latency_seconds",    "latency_share",   "seconds_forward", "seconds_backward", "seconds_head",
               "seconds_optimiser"};
  s.epilogue =
      "Rows: one per adaptive round, then one per fixed depth. Columns after the grid (study, noise_model,\n"
      "dataset, seed): strategy (adaptive|fixed), fixed_depth (0 for adaptive), round, depth, parameters,\n"
      "circuit_evaluations (cumulative, training only), budget, loss, train_accuracy, test_accuracy, action\n"
      "(continue|grow|shrink|stop; fixed: final), final (1 on a strategy's last row), seconds, reason,\n"
      "circuit_executions (what a hardware run would submit so far), latency_seconds (--qpu-latency per\n"
      "submission of --batch-circuits), latency_share (of latency + seconds), seconds_forward, seconds_backward,\n"
      "seconds_head (the circuits' passes and the head's loss) and seconds_optimiser (the rest), cumulative.\n"
      "With --model classical or both: strategies softmax and mlp, trained by L-BFGS to convergence.\n"
      "Cost: --quick (digits01 and moons, 2 models, 3 strategies at 20000 evaluations) takes about 5 s on one\n"
      "core; the default grid (3 data sets x 4 models x 3 seeds x 10 strategies at 40000 evaluations) takes\n"
      "about an hour (about a minute per point).\n"
      "Plot: /usr/bin/python3 plots/plot_adaptive.py DIR/adaptive.csv";
  return s;
}

struct Settings {
  std::vector<int> fixed_depths;
  int start_depth = 1, max_depth = 10, round_iterations = 20, samples_per_class = 50;
  long long budget = 0;
  ex::TrainingSetup training;  // --method, --model, --qpu-latency, ...
  double learning_rate = 0.05;  // Adam's, with trajectories or shots
  std::map<std::string, std::string> task_descriptions, model_descriptions;
};

// What a hardware run of a strategy's training would cost, and where the simulation's time went,
// summed over every training objective the strategy builds.
struct Account {
  long long executions = 0;      // circuits submitted
  double latency_seconds = 0.0;  // --qpu-latency per submission of --batch-circuits circuits
  optim::CircuitTiming timing;
};

// A training objective that charges its evaluations to an Account: per sample of the (full) batch
// the circuit, and with the gradient its two parameter-shifted copies per parametrised rotation, as
// hardware would run them, whatever method the simulation uses.
class AccountedObjective : public optim::Objective {
 public:
  AccountedObjective(std::unique_ptr<optim::ClassifierObjective> objective, const Settings& s, Account* account)
      : objective_(std::move(objective)), settings_(s), account_(account) {
    for (int j = 0; j < objective_->function().num_functions(); ++j) {
      per_sample_ += 1;
      per_sample_gradient_ += 1 + 2LL * objective_->function().function(j).num_parametrized_rotations();
    }
  }
  int num_parameters() const override { return objective_->num_parameters(); }
  std::int64_t circuit_evaluations() const override { return objective_->circuit_evaluations(); }
  double evaluate(const double* params, double* gradient) const override {
    const optim::CircuitTiming before = objective_->function().timing();
    const double loss = objective_->evaluate(params, gradient);
    const optim::CircuitTiming after = objective_->function().timing();
    account_->timing.forward_seconds += after.forward_seconds - before.forward_seconds;
    account_->timing.backward_seconds += after.backward_seconds - before.backward_seconds;
    account_->timing.cotangent_seconds += after.cotangent_seconds - before.cotangent_seconds;
    const long long circuits =
        static_cast<long long>(objective_->batch().size()) * (gradient ? per_sample_gradient_ : per_sample_);
    account_->executions += circuits;
    const ex::TrainingSetup& t = settings_.training;
    account_->latency_seconds +=
        static_cast<double>((circuits + t.batch_circuits - 1) / t.batch_circuits) * t.qpu_latency_ms / 1e3;
    return loss;
  }

 private:
  std::unique_ptr<optim::ClassifierObjective> objective_;
  const Settings& settings_;
  Account* account_;
  long long per_sample_ = 0, per_sample_gradient_ = 0;
};

// The account's columns for a row whose training took `seconds`.
void set_account(ex::Row* row, const Account& a, double seconds) {
  const optim::CircuitTiming& t = a.timing;
  row->set("circuit_executions", a.executions)
      .set("latency_seconds", a.latency_seconds)
      .set("latency_share", a.latency_seconds > 0.0 ? a.latency_seconds / (a.latency_seconds + seconds) : 0.0)
      .set("seconds_forward", t.forward_seconds)
      .set("seconds_backward", t.backward_seconds)
      .set("seconds_head", t.cotangent_seconds)
      .set("seconds_optimiser",
           std::max(0.0, seconds - t.forward_seconds - t.backward_seconds - t.cotangent_seconds));
}

// Adaptive controller settings besides the depth limits and the budget (documented in describe).
constexpr int kWindow = 2;
constexpr double kMinRelativeImprovement = 1e-2;
constexpr int kMaxRounds = 100000;

// A model's objective at a given ansatz (the noise model fitted to its register), with the method's
// gradient options. `stream` numbers the objectives a point builds: each draws (trajectories,
// shots) from its own streams, GradientOptions::seed = point seed + stream · 2^32.
std::unique_ptr<optim::ClassifierObjective> make_objective(const Settings& s, const ex::ClassifierModel& model,
                                                           const optim::Ansatz& ansatz, const optim::Dataset& train,
                                                           const kraus::noise::NoiseModel* noise, std::uint64_t seed,
                                                           std::uint64_t stream) {
  optim::ClassifierOptions o = model.options;
  s.training.apply(&o.gradient, seed + (stream << 32));
  return std::make_unique<optim::ClassifierObjective>(ansatz.circuit(model.encoding), train, o, noise);
}

// A fixed depth's training: L-BFGS until convergence or the budget, or (estimated losses) Adam
// until the budget.
optim::SolveSummary train_fixed(const Settings& s, const optim::Objective& objective, std::vector<double>* params) {
  if (s.training.stochastic()) {
    optim::AdamOptions a;
    a.learning_rate = s.learning_rate;
    a.max_steps = 1000000000;  // the budget ends the training
    const long long budget = s.budget;
    a.callbacks.push_back([budget](const optim::IterationInfo& info) {
      return info.circuit_evaluations >= budget ? optim::CallbackAction::kStop : optim::CallbackAction::kContinue;
    });
    return optim::adam(objective, params, a);
  }
  optim::MinimizerOptions m;
  m.max_iterations = 1000000;  // the budget (or convergence) ends the solve
  m.max_circuit_evaluations = s.budget;
  return optim::minimize(objective, params, m);
}

// The state at the end of an adaptive round: the structure solved, the last iterate, the time.
struct RoundEnd {
  optim::Ansatz ansatz;
  std::vector<double> params;
  double seconds = 0.0;
  Account account;  // the strategy's so far
};

}  // namespace

int main(int argc, char** argv) {
  const ex::StudySpec spec = make_spec();
  auto settings = std::make_shared<Settings>();

  ex::StudyHooks hooks;
  hooks.validate = [settings](const ex::Options& o, const std::vector<ex::NamedNoiseModel>& models) {
    Settings& s = *settings;
    s.start_depth = static_cast<int>(o.get_int("start-depth"));
    s.max_depth = static_cast<int>(o.get_int("max-depth"));
    s.budget = o.get_int("budget");
    s.round_iterations = static_cast<int>(o.get_int("round-iterations"));
    s.samples_per_class = static_cast<int>(o.get_int("samples-per-class"));
    if (s.start_depth > s.max_depth) {
      throw ex::UsageError("--start-depth " + std::to_string(s.start_depth) + " exceeds --max-depth " +
                           std::to_string(s.max_depth));
    }
    s.fixed_depths = ex::parse_int_list("--fixed-depths", o.get_string("fixed-depths"), 1, s.max_depth);
    s.training = ex::training_setup(o);
    s.learning_rate = o.get_double("learning-rate");
    for (const std::string& name : o.category) {
      ex::Task task;
      try {
        task = ex::load_task(name, 1, s.samples_per_class);
      } catch (const ex::DataError& e) {
        throw ex::UsageError("--dataset " + name + ": " + e.what());
      }
      const ex::ClassifierModel model = ex::classifier_model(task, s.start_depth);
      s.task_descriptions[name] = task.description;
      s.model_descriptions[name] = model.description;
      const optim::Ansatz ansatz(model.ansatz);
      for (const ex::NamedNoiseModel& m : models) {
        const kraus::noise::NoiseModel fitted = ex::fit_to_register(m.model, ansatz.num_qubits());
        try {
          make_objective(s, model, ansatz, task.train, &fitted, 1, 0);
        } catch (const std::exception& e) {
          throw ex::UsageError("noise model '" + m.name + "' (" + m.path + ") on the " + name + " model (" +
                               std::to_string(ansatz.num_qubits()) + " qubits): " + e.what());
        }
      }
    }
  };
  hooks.describe = [settings](const ex::Options&) {
    const Settings& s = *settings;
    nlohmann::ordered_json d;
    for (const auto& [name, text] : s.task_descriptions) {
      d["datasets"][name] = {{"task", text},
                             {"model", s.model_descriptions.at(name) + " (layers: the strategy's depth; shown at "
                                                                      "--start-depth)"}};
    }
    d["budget"] = "circuit evaluations of the training objective per strategy (optim::CircuitFunction counter: one "
                  "per sample per loss, one or two per sample per loss+gradient); checked after every solver "
                  "iteration, so a solve may end one iteration past it, and the adaptive run adds one "
                  "loss+gradient at the end of its last round; accuracy evaluations are not counted";
    d["method"] = s.training.method;
    if (s.training.method == "trajectories") {
      d["method_detail"] = "trajectory SGD (optim::GradientOptions::trajectories = " +
                           std::to_string(s.training.trajectories) +
                           "): every loss and gradient estimated from that many state-vector trajectories per sample";
    } else if (s.training.method == "shots") {
      d["method_detail"] = "shots (optim::GradientOptions::shots = " + std::to_string(s.training.shots) +
                           " per circuit, the model's readout errors applied), parameter-shift gradients";
    } else {
      d["method_detail"] = "exact density matrices, adjoint gradients";
    }
    if (s.training.stochastic()) {
      d["random_streams"] = "the k-th objective a point builds (training rounds, fixed depths, accuracy scorers, in "
                            "order) draws with GradientOptions::seed = point seed + k * 2^32";
    }
    const std::string round_solver =
        s.training.stochastic() ? "Adam (learning rate " + ex::format_number(s.learning_rate) +
                             "), --round-iterations steps per round (estimated losses: no line search)"
                       : "L-BFGS (Wolfe line search), at most --round-iterations iterations per round, tolerances: "
                         "function 1e-10, gradient 1e-8, parameter 1e-10";
    d["adaptive"] = {
        {"controller", "optim::run_adaptive, min_depth 1, max_depth --max-depth, start --start-depth standard layers"},
        {"round_solver", round_solver},
        {"grow", "identity layer (loss unchanged), when the loss improved by less than " +
                     ex::format_number(kMinRelativeImprovement) + " |loss| over the last " + std::to_string(kWindow) +
                     " rounds or the gradient norm is below 1e-4"},
        {"shrink", "a layer with every angle within 1e-3 rad of identity or gradient norm below 1e-6 for 2 rounds, "
                   "accepted when the loss rises by less than 1e-6"},
        {"stop", "budget spent (or depth limit reached when growing)"},
        {"noise_aware_stop", "off (layer_contraction 1): the shipped models are not one depolarising strength"}};
    d["fixed"] = s.training.stochastic() ? "Adam (learning rate " + ex::format_number(s.learning_rate) +
                                      ") at each --fixed-depths depth until the budget"
                                : "L-BFGS (Wolfe line search) at each --fixed-depths depth, iterations unlimited, until "
                                  "convergence (tolerances as above) or the budget";
    d["circuit_executions"] = "what a hardware run would submit: per training loss evaluation one circuit per sample, "
                              "per loss and gradient also two parameter-shifted circuits per parametrised rotation; "
                              "latency_seconds charges --qpu-latency ms per submission of --batch-circuits circuits "
                              "(simulated, not slept)";
    if (s.training.classical) {
      d["classical"] = "softmax regression and a one-hidden-layer tanh MLP with the most hidden units whose parameter "
                       "count does not exceed the quantum model's at --max-depth, on the raw features, full batch, "
                       "L-BFGS to convergence (at most 100000 iterations; no circuits, so no budget), from "
                       "initial parameters drawn with the point's seed";
    }
    d["initial_parameters"] = "experiments::initial_parameters(ansatz at the starting depth, objective, seed): "
                              "angles uniform in [0, 2 pi) from the seed, head W uniform in [-1, 1] from seed + 1, b = 0";
    return d;
  };
  hooks.run_point = [settings](const ex::GridPoint& p) {
    const Settings& s = *settings;
    const ex::Task task = ex::load_task(p.category, p.seed, s.samples_per_class);
    const ex::ClassifierModel start_model = ex::classifier_model(task, s.start_depth);
    const kraus::noise::NoiseModel noise = ex::fit_to_register(*p.model, start_model.ansatz.num_qubits);
    std::uint64_t streams = 0;  // objectives built at this point, in order
    auto objective = [&](const ex::ClassifierModel& model, const optim::Ansatz& ansatz) {
      return make_objective(s, model, ansatz, task.train, &noise, p.seed, streams++);
    };
    std::vector<ex::Row> rows;
    auto base_row = [&](const std::string& strategy, int fixed_depth, int round) {
      ex::Row r;
      r.set("strategy", strategy).set("fixed_depth", fixed_depth).set("round", round).set("budget", s.budget);
      return r;
    };

    // ---- adaptive ----
    if (s.training.quantum) {
      const optim::Ansatz ansatz(start_model.ansatz);
      std::optional<optim::Ansatz> building;  // the structure of the round being solved
      std::vector<RoundEnd> ends;
      Account account;
      ex::Stopwatch sw;
      optim::AdaptiveOptions ao;
      ao.min_depth = 1;
      ao.max_depth = s.max_depth;
      ao.max_rounds = kMaxRounds;
      ao.window = kWindow;
      ao.min_relative_improvement = kMinRelativeImprovement;
      ao.max_circuit_evaluations = s.budget;
      ao.seed = p.seed;
      // A round's row: its last iterate; the time and the account up to the next round's (or a
      // shrink trial's) objective, so that they include the controller's closing evaluation.
      const optim::IterationCallback on_iteration = [&](const optim::IterationInfo& info) {
        if (info.iteration == 0) ends.push_back({*building, {}, 0.0, {}});
        ends.back().params.assign(info.parameters, info.parameters + info.num_parameters);
        return optim::CallbackAction::kContinue;
      };
      if (s.training.stochastic()) {
        ao.adam = optim::AdamOptions{};
        ao.adam->learning_rate = s.learning_rate;
        ao.adam->max_steps = s.round_iterations;
        ao.adam->callbacks.push_back(on_iteration);
      } else {
        ao.solver.max_iterations = s.round_iterations;
        ao.solver.callbacks.push_back(on_iteration);
      }
      const optim::ObjectiveFactory factory = [&](const optim::Ansatz& a) -> std::unique_ptr<optim::Objective> {
        if (!ends.empty()) {
          ends.back().seconds = sw.seconds();
          ends.back().account = account;
        }
        building = a;
        return std::make_unique<AccountedObjective>(objective(start_model, a), s, &account);
      };
      std::vector<double> params = ex::initial_parameters(ansatz, *objective(start_model, ansatz), p.seed);
      const optim::AdaptiveResult result = optim::run_adaptive(ansatz, params, factory, ao);
      // The last row: everything, the controller's closing evaluation included.
      const double total_seconds = sw.seconds();
      const Account total = account;
      if (ends.size() != result.history.size()) {
        throw std::logic_error("exp_adaptive: " + std::to_string(ends.size()) + " solves seen for " +
                               std::to_string(result.history.size()) + " rounds");
      }
      // Each round's decision: its last log entry (a rejected shrink is followed by another decision).
      std::vector<const optim::DecisionLogEntry*> decision(result.history.size(), nullptr);
      for (const optim::DecisionLogEntry& e : result.log) decision.at(static_cast<std::size_t>(e.step)) = &e;
      // Accuracy objectives, rebuilt only when the structure changed (after a grow or a shrink).
      std::unique_ptr<optim::ClassifierObjective> scorer;
      for (std::size_t r = 0; r < result.history.size(); ++r) {
        const optim::RoundRecord& h = result.history[r];
        const RoundEnd& end = ends[r];
        const optim::Action action = decision[r]->action;
        if (r == 0 || decision[r - 1]->action == optim::Action::kGrow ||
            decision[r - 1]->action == optim::Action::kShrink) {
          scorer = objective(start_model, end.ansatz);
        }
        const bool last = r + 1 == result.history.size();
        const double* theta = last ? result.parameters.data() : end.params.data();
        const double seconds = last ? total_seconds : end.seconds;
        ex::Row row = base_row("adaptive", 0, h.round);
        row.set("depth", h.depth)
            .set("parameters", static_cast<unsigned long>(end.params.size()))
            .set("circuit_evaluations", static_cast<long long>(h.circuit_evaluations))
            .set("loss", h.loss)
            .set("train_accuracy", scorer->accuracy(theta, task.train))
            .set("test_accuracy", scorer->accuracy(theta, task.test))
            .set("action", optim::to_string(action))
            .set("final", last ? 1 : 0)
            .set("seconds", seconds)
            .set("reason", decision[r]->reason);
        set_account(&row, last ? total : end.account, seconds);
        rows.push_back(row);
      }
    }

    // ---- fixed depths ----
    for (int depth : s.training.quantum ? s.fixed_depths : std::vector<int>{}) {
      const ex::ClassifierModel model = ex::classifier_model(task, depth);
      const optim::Ansatz ansatz(model.ansatz);
      Account account;
      const AccountedObjective training(objective(model, ansatz), s, &account);
      const auto scorer = objective(model, ansatz);
      std::vector<double> params = ex::initial_parameters(ansatz, *scorer, p.seed);
      ex::Stopwatch sw;
      const optim::SolveSummary summary = train_fixed(s, training, &params);
      const double seconds = sw.seconds();
      if (!summary.usable()) {
        throw std::runtime_error("fixed depth " + std::to_string(depth) + ": " + summary.BriefReport());
      }
      ex::Row row = base_row("fixed", depth, 0);
      row.set("depth", depth)
          .set("parameters", static_cast<unsigned long>(params.size()))
          .set("circuit_evaluations", static_cast<long long>(training.circuit_evaluations()))
          .set("loss", summary.final_cost)
          .set("train_accuracy", scorer->accuracy(params.data(), task.train))
          .set("test_accuracy", scorer->accuracy(params.data(), task.test))
          .set("action", "final")
          .set("final", 1)
          .set("seconds", seconds)
          .set("reason", std::string(optim::to_string(summary.termination)) + ": " + summary.message);
      set_account(&row, account, seconds);
      rows.push_back(row);
    }

    // ---- classical baselines: L-BFGS to convergence on the raw features ----
    if (s.training.classical) {
      const ex::ClassifierModel largest = ex::classifier_model(task, s.max_depth);
      const optim::ClassifierObjective sized(optim::Ansatz(largest.ansatz).circuit(largest.encoding), task.train,
                                             largest.options);
      for (const ex::ClassicalOptions& o : ex::classical_baselines(task.train, largest.options, sized.num_parameters())) {
        const ex::ClassicalClassifier c(task.train, o);
        std::vector<double> params = c.initial_parameters(p.seed);
        ex::Stopwatch sw;
        optim::MinimizerOptions m;
        m.max_iterations = 100000;
        const optim::SolveSummary summary = optim::minimize(c, &params, m);
        const double seconds = sw.seconds();
        if (!summary.usable()) throw std::runtime_error(std::string(ex::to_string(o.kind)) + ": " + summary.BriefReport());
        ex::Row row = base_row(ex::to_string(o.kind), 0, 0);
        row.set("depth", 0)
            .set("parameters", c.num_parameters())
            .set("circuit_evaluations", 0)
            .set("loss", summary.final_cost)
            .set("train_accuracy", c.accuracy(params.data(), task.train))
            .set("test_accuracy", c.accuracy(params.data(), task.test))
            .set("action", "final")
            .set("final", 1)
            .set("seconds", seconds)
            .set("reason", std::string(optim::to_string(summary.termination)) + ": " + summary.message);
        set_account(&row, Account{}, seconds);
        rows.push_back(row);
      }
    }
    return rows;
  };
  return ex::run_study(spec, argc, argv, hooks);
}
