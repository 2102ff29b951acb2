// The only place besides logging.cpp that includes Ceres: our Objective as a
// ceres::FirstOrderFunction (GradientProblem, line search) and as a ceres::CostFunction (least
// squares), our callbacks as a ceres::IterationCallback, Ceres' summaries as SolveSummary.
#include <ceres/ceres.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <stdexcept>

#include "kraus/optim/solver.hpp"

namespace kraus::optim {

const char* to_string(Termination termination) {
  switch (termination) {
    case Termination::kConvergence: return "convergence";
    case Termination::kNoConvergence: return "no_convergence";
    case Termination::kUserStop: return "user_stop";
    case Termination::kAborted: return "aborted";
    case Termination::kFailure: return "failure";
  }
  return "?";
}

bool SolveSummary::usable() const {
  return termination == Termination::kConvergence || termination == Termination::kNoConvergence ||
         termination == Termination::kUserStop;
}

std::string SolveSummary::BriefReport() const {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%s: %s after %d iterations, cost %.10g -> %.10g (%d gradient evaluations, %lld circuit evaluations, "
                "%.3g s)",
                solver.c_str(), to_string(termination), iterations, initial_cost, final_cost, num_gradient_evaluations,
                static_cast<long long>(circuit_evaluations), time_s);
  std::string out = buf;
  if (!message.empty()) out += ": " + message;
  return out;
}

namespace {

bool positive_finite(double v) { return std::isfinite(v) && v > 0.0; }

bool check_callbacks(const std::vector<IterationCallback>& callbacks, std::string* error, const char* owner) {
  for (const auto& cb : callbacks) {
    if (!cb) {
      if (error) *error = std::string(owner) + "::callbacks holds an empty function";
      return false;
    }
  }
  return true;
}

// Shared state of one solve: the first exception thrown by the objective, the budget, callbacks.
struct SolveState {
  const Objective* objective = nullptr;
  std::vector<double>* params = nullptr;
  std::int64_t evaluations_at_start = 0;
  std::int64_t budget = 0;
  const std::vector<IterationCallback>* callbacks = nullptr;
  std::exception_ptr error;
  bool user_stop = false, budget_stop = false, user_abort = false;
  std::vector<IterationRecord> trace;

  std::int64_t evaluations() const { return objective->circuit_evaluations() - evaluations_at_start; }
};

class ObjectiveFunction final : public ceres::FirstOrderFunction {
 public:
  explicit ObjectiveFunction(SolveState* state) : state_(state) {}
  int NumParameters() const override { return state_->objective->num_parameters(); }
  bool Evaluate(const double* x, double* cost, double* gradient) const override {
    if (state_->error) return false;
    try {
      *cost = state_->objective->evaluate(x, gradient);
    } catch (...) {
      state_->error = std::current_exception();
      return false;
    }
    if (!std::isfinite(*cost)) return false;
    if (gradient) {
      for (int i = 0; i < NumParameters(); ++i)
        if (!std::isfinite(gradient[i])) return false;
    }
    return true;
  }

 private:
  SolveState* state_;
};

class ResidualFunction final : public ceres::CostFunction {
 public:
  explicit ResidualFunction(SolveState* state) : state_(state) {
    set_num_residuals(state->objective->num_residuals());
    mutable_parameter_block_sizes()->push_back(state->objective->num_parameters());
  }
  bool Evaluate(double const* const* parameters, double* residuals, double** jacobians) const override {
    if (state_->error) return false;
    double* jac = (jacobians != nullptr && jacobians[0] != nullptr) ? jacobians[0] : nullptr;
    try {
      state_->objective->residuals(parameters[0], residuals, jac);
    } catch (...) {
      state_->error = std::current_exception();
      return false;
    }
    for (int i = 0; i < num_residuals(); ++i)
      if (!std::isfinite(residuals[i])) return false;
    if (jac) {
      const long long n = static_cast<long long>(num_residuals()) * parameter_block_sizes()[0];
      for (long long i = 0; i < n; ++i)
        if (!std::isfinite(jac[i])) return false;
    }
    return true;
  }

 private:
  SolveState* state_;
};

class CallbackAdapter final : public ceres::IterationCallback {
 public:
  explicit CallbackAdapter(SolveState* state) : state_(state) {}
  ceres::CallbackReturnType operator()(const ceres::IterationSummary& s) override {
    state_->trace.push_back({s.iteration, s.cost, s.gradient_norm, s.gradient_max_norm, s.step_norm});
    if (state_->error) return ceres::SOLVER_ABORT;
    IterationInfo info;
    info.iteration = s.iteration;
    info.cost = s.cost;
    info.cost_change = s.cost_change;
    info.gradient_norm = s.gradient_norm;
    info.gradient_max_norm = s.gradient_max_norm;
    info.step_norm = s.step_norm;
    info.step_is_successful = s.step_is_successful;
    info.cumulative_time_s = s.cumulative_time_in_seconds;
    info.circuit_evaluations = state_->evaluations();
    info.parameters = state_->params->data();
    info.num_parameters = static_cast<int>(state_->params->size());
    for (const auto& cb : *state_->callbacks) {
      CallbackAction a = CallbackAction::kContinue;
      try {
        a = cb(info);
      } catch (...) {
        state_->error = std::current_exception();  // rethrown by the solver after Ceres returns
        return ceres::SOLVER_ABORT;
      }
      if (a == CallbackAction::kAbort) {
        state_->user_abort = true;
        return ceres::SOLVER_ABORT;
      }
      if (a == CallbackAction::kStop) {
        state_->user_stop = true;
        return ceres::SOLVER_TERMINATE_SUCCESSFULLY;
      }
    }
    if (state_->budget > 0 && info.circuit_evaluations >= state_->budget) {
      state_->budget_stop = true;
      return ceres::SOLVER_TERMINATE_SUCCESSFULLY;
    }
    return ceres::SOLVER_CONTINUE;
  }

 private:
  SolveState* state_;
};

Termination map_termination(ceres::TerminationType t, const SolveState& state) {
  switch (t) {
    case ceres::CONVERGENCE: return Termination::kConvergence;
    case ceres::NO_CONVERGENCE: return Termination::kNoConvergence;
    case ceres::USER_SUCCESS: return Termination::kUserStop;
    case ceres::USER_FAILURE: return state.user_abort ? Termination::kAborted : Termination::kFailure;
    default: return Termination::kFailure;
  }
}

std::string stop_message(const SolveState& state, const std::string& ceres_message) {
  if (state.budget_stop) return "circuit-evaluation budget reached";
  if (state.user_stop) return "stopped by a callback";
  if (state.user_abort) return "aborted by a callback";
  return ceres_message;
}

// Nothing to optimise: the cost at the (empty) parameter vector.
SolveSummary no_parameters(const Objective& objective, const char* solver) {
  const std::int64_t evals0 = objective.circuit_evaluations();
  SolveSummary out;
  out.solver = solver;
  out.termination = Termination::kConvergence;
  out.message = "no parameters";
  out.initial_cost = out.final_cost = objective.evaluate(nullptr, nullptr);
  out.num_cost_evaluations = 1;
  out.circuit_evaluations = objective.circuit_evaluations() - evals0;
  return out;
}

}  // namespace

bool MinimizerOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (max_iterations < 0) return fail("MinimizerOptions::max_iterations must be >= 0");
  if (lbfgs_rank < 1) return fail("MinimizerOptions::lbfgs_rank must be >= 1");
  if (!positive_finite(function_tolerance) || !positive_finite(gradient_tolerance) ||
      !positive_finite(parameter_tolerance)) {
    return fail("MinimizerOptions tolerances must be positive and finite");
  }
  if (max_circuit_evaluations < 0) return fail("MinimizerOptions::max_circuit_evaluations must be >= 0");
  return check_callbacks(callbacks, error, "MinimizerOptions");
}

bool LeastSquaresOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (max_iterations < 0) return fail("LeastSquaresOptions::max_iterations must be >= 0");
  if (!positive_finite(function_tolerance) || !positive_finite(gradient_tolerance) ||
      !positive_finite(parameter_tolerance)) {
    return fail("LeastSquaresOptions tolerances must be positive and finite");
  }
  if (!positive_finite(initial_trust_region_radius)) {
    return fail("LeastSquaresOptions::initial_trust_region_radius must be positive and finite");
  }
  if (max_circuit_evaluations < 0) return fail("LeastSquaresOptions::max_circuit_evaluations must be >= 0");
  return check_callbacks(callbacks, error, "LeastSquaresOptions");
}

bool AdamOptions::IsValid(std::string* error) const {
  auto fail = [&](const std::string& m) {
    if (error) *error = m;
    return false;
  };
  if (!positive_finite(learning_rate)) return fail("AdamOptions::learning_rate must be positive and finite");
  if (!(beta1 >= 0.0 && beta1 < 1.0) || !(beta2 >= 0.0 && beta2 < 1.0)) {
    return fail("AdamOptions::beta1 and beta2 must be in [0, 1)");
  }
  if (!positive_finite(epsilon)) return fail("AdamOptions::epsilon must be positive and finite");
  if (max_steps < 0) return fail("AdamOptions::max_steps must be >= 0");
  return check_callbacks(callbacks, error, "AdamOptions");
}

SolveSummary minimize(const Objective& objective, std::vector<double>* params, const MinimizerOptions& options) {
  std::string why;
  if (!options.IsValid(&why)) throw std::invalid_argument(why);
  if (params == nullptr || static_cast<int>(params->size()) != objective.num_parameters()) {
    throw std::invalid_argument("minimize: the parameter vector must have " + std::to_string(objective.num_parameters()) +
                                " entries");
  }
  if (objective.num_parameters() == 0) return no_parameters(objective, "lbfgs");
  SolveState state;
  state.objective = &objective;
  state.params = params;
  state.evaluations_at_start = objective.circuit_evaluations();
  state.budget = options.max_circuit_evaluations;
  state.callbacks = &options.callbacks;

  ceres::GradientProblemSolver::Options co;
  co.line_search_direction_type =
      options.direction == LineSearchDirection::kLbfgs ? ceres::LBFGS : ceres::BFGS;
  co.line_search_type = ceres::WOLFE;
  co.max_lbfgs_rank = options.lbfgs_rank;
  co.max_num_iterations = options.max_iterations;
  co.function_tolerance = options.function_tolerance;
  co.gradient_tolerance = options.gradient_tolerance;
  co.parameter_tolerance = options.parameter_tolerance;
  co.logging_type = ceres::SILENT;
  co.minimizer_progress_to_stdout = false;
  co.update_state_every_iteration = true;
  CallbackAdapter adapter(&state);
  co.callbacks.push_back(&adapter);
  if (!co.IsValid(&why)) throw std::invalid_argument("Ceres refused the options: " + why);

  ceres::GradientProblem problem(new ObjectiveFunction(&state));
  ceres::GradientProblemSolver::Summary cs;
  ceres::Solve(co, problem, params->data(), &cs);
  if (state.error) std::rethrow_exception(state.error);

  SolveSummary out;
  out.solver = options.direction == LineSearchDirection::kLbfgs ? "lbfgs" : "bfgs";
  out.termination = map_termination(cs.termination_type, state);
  out.message = stop_message(state, cs.message);
  out.initial_cost = cs.initial_cost;
  out.final_cost = cs.final_cost;
  out.iterations = cs.iterations.empty() ? 0 : cs.iterations.back().iteration;
  out.num_cost_evaluations = cs.num_cost_evaluations;
  out.num_gradient_evaluations = cs.num_gradient_evaluations;
  out.circuit_evaluations = state.evaluations();
  out.time_s = cs.total_time_in_seconds;
  out.trace = std::move(state.trace);
  return out;
}

SolveSummary least_squares(const Objective& objective, std::vector<double>* params, const LeastSquaresOptions& options) {
  std::string why;
  if (!options.IsValid(&why)) throw std::invalid_argument(why);
  if (objective.num_residuals() <= 0) throw std::invalid_argument("least_squares: the objective has no residuals");
  if (params == nullptr || static_cast<int>(params->size()) != objective.num_parameters()) {
    throw std::invalid_argument("least_squares: the parameter vector must have " +
                                std::to_string(objective.num_parameters()) + " entries");
  }
  SolveState state;
  state.objective = &objective;
  state.params = params;
  state.evaluations_at_start = objective.circuit_evaluations();
  state.budget = options.max_circuit_evaluations;
  state.callbacks = &options.callbacks;

  ceres::Problem::Options po;
  po.cost_function_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
  ceres::Problem problem(po);
  ResidualFunction cost(&state);
  problem.AddResidualBlock(&cost, nullptr, params->data());

  ceres::Solver::Options co;
  co.minimizer_type = ceres::TRUST_REGION;
  co.trust_region_strategy_type = ceres::LEVENBERG_MARQUARDT;
  co.linear_solver_type = ceres::DENSE_QR;  // Debian's default would be SPARSE_NORMAL_CHOLESKY
  co.max_num_iterations = options.max_iterations;
  co.function_tolerance = options.function_tolerance;
  co.gradient_tolerance = options.gradient_tolerance;
  co.parameter_tolerance = options.parameter_tolerance;
  co.initial_trust_region_radius = options.initial_trust_region_radius;
  co.logging_type = ceres::SILENT;
  co.minimizer_progress_to_stdout = false;
  co.update_state_every_iteration = true;
  co.num_threads = 1;
  CallbackAdapter adapter(&state);
  co.callbacks.push_back(&adapter);
  if (!co.IsValid(&why)) throw std::invalid_argument("Ceres refused the options: " + why);

  ceres::Solver::Summary cs;
  ceres::Solve(co, &problem, &cs);
  if (state.error) std::rethrow_exception(state.error);

  SolveSummary out;
  out.solver = "levenberg_marquardt";
  out.termination = map_termination(cs.termination_type, state);
  out.message = stop_message(state, cs.message);
  out.initial_cost = cs.initial_cost;
  out.final_cost = cs.final_cost;
  out.iterations = cs.iterations.empty() ? 0 : cs.iterations.back().iteration;
  out.num_cost_evaluations = cs.num_residual_evaluations;
  out.num_gradient_evaluations = cs.num_jacobian_evaluations;
  out.circuit_evaluations = state.evaluations();
  out.time_s = cs.total_time_in_seconds;
  out.trace = std::move(state.trace);
  return out;
}

SolveSummary adam(const Objective& objective, std::vector<double>* params, const AdamOptions& options) {
  std::string why;
  if (!options.IsValid(&why)) throw std::invalid_argument(why);
  const int P = objective.num_parameters();
  if (params == nullptr || static_cast<int>(params->size()) != P) {
    throw std::invalid_argument("adam: the parameter vector must have " + std::to_string(P) + " entries");
  }
  const auto start = std::chrono::steady_clock::now();
  const std::int64_t evals0 = objective.circuit_evaluations();
  std::vector<double> g(static_cast<std::size_t>(P)), m(static_cast<std::size_t>(P), 0.0),
      v(static_cast<std::size_t>(P), 0.0);
  SolveSummary out;
  out.solver = "adam";
  out.termination = Termination::kNoConvergence;
  out.message = "step limit reached";
  double previous = 0.0;
  for (int step = 0; step < options.max_steps; ++step) {
    if (options.before_step) options.before_step(step);
    const double loss = objective.evaluate(params->data(), g.data());
    ++out.num_gradient_evaluations;
    if (!std::isfinite(loss)) {
      out.termination = Termination::kFailure;
      out.message = "non-finite loss";
      break;
    }
    if (step == 0) out.initial_cost = loss;
    double norm2 = 0.0, max_norm = 0.0;
    for (double gi : g) {
      norm2 += gi * gi;
      max_norm = std::max(max_norm, std::abs(gi));
    }
    const double t = static_cast<double>(step + 1);
    double step_norm2 = 0.0;
    for (int i = 0; i < P; ++i) {
      const std::size_t k = static_cast<std::size_t>(i);
      m[k] = options.beta1 * m[k] + (1.0 - options.beta1) * g[k];
      v[k] = options.beta2 * v[k] + (1.0 - options.beta2) * g[k] * g[k];
      const double mh = m[k] / (1.0 - std::pow(options.beta1, t));
      const double vh = v[k] / (1.0 - std::pow(options.beta2, t));
      const double delta = options.learning_rate * mh / (std::sqrt(vh) + options.epsilon);
      (*params)[k] -= delta;
      step_norm2 += delta * delta;
    }
    out.iterations = step + 1;
    out.trace.push_back({step, loss, std::sqrt(norm2), max_norm, std::sqrt(step_norm2)});
    IterationInfo info;
    info.iteration = step;
    info.cost = loss;
    info.cost_change = step == 0 ? 0.0 : previous - loss;
    info.gradient_norm = std::sqrt(norm2);
    info.gradient_max_norm = max_norm;
    info.step_norm = std::sqrt(step_norm2);
    info.cumulative_time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    info.circuit_evaluations = objective.circuit_evaluations() - evals0;
    info.parameters = params->data();
    info.num_parameters = P;
    previous = loss;
    bool stop = false;
    for (const IterationCallback& cb : options.callbacks) {
      const CallbackAction a = cb(info);
      if (a == CallbackAction::kAbort) {
        out.termination = Termination::kAborted;
        out.message = "aborted by a callback";
        stop = true;
        break;
      }
      if (a == CallbackAction::kStop) {
        out.termination = Termination::kUserStop;
        out.message = "stopped by a callback";
        stop = true;
        break;
      }
    }
    if (stop) break;
  }
  out.final_cost = objective.evaluate(params->data(), nullptr);
  ++out.num_cost_evaluations;
  out.circuit_evaluations = objective.circuit_evaluations() - evals0;
  out.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace kraus::optim
