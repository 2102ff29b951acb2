// Minimisers for Objective (objectives.hpp): Ceres Solver behind plain structs of ours (no Ceres
// type reaches this header), and a small Adam for mini-batch training.
//
//  * minimize(): the scalar loss through ceres::GradientProblem with our gradient, line search
//    (L-BFGS by default, or dense BFGS) with the Wolfe conditions. Ceres' cost is our loss.
//  * least_squares(): the objective's residuals with our Jacobian as one Ceres residual block,
//    Levenberg-Marquardt with a dense QR solver. Ceres' cost is ½ Σ r².
//  * adam(): Adam steps on Objective::evaluate (an `before_step` hook can change the mini-batch).
//
// Callbacks see every iteration (Ceres calls them at iteration 0 too) with the current parameters
// (Ceres' update_state_every_iteration is on) and may continue, stop (the solve ends successfully,
// the parameters are the current iterate: call the solver again on them to resume) or abort.
// Resuming restarts L-BFGS' memory (or the trust region), nothing else: a stopped-and-resumed solve
// reaches the same optimum as an uninterrupted one.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kraus/optim/objectives.hpp"

namespace kraus::optim {

// What a callback sees after each iteration.
struct IterationInfo {
  int iteration = 0;
  double cost = 0.0;         // the loss (least squares: ½ Σ r²)
  double cost_change = 0.0;  // decrease since the previous iteration
  double gradient_norm = 0.0;      // 2-norm
  double gradient_max_norm = 0.0;  // max-norm
  double step_norm = 0.0;
  bool step_is_successful = true;
  double cumulative_time_s = 0.0;
  std::int64_t circuit_evaluations = 0;  // of the objective, since the solve started
  const double* parameters = nullptr;    // the current iterate
  int num_parameters = 0;
};

enum class CallbackAction { kContinue, kStop, kAbort };
using IterationCallback = std::function<CallbackAction(const IterationInfo&)>;

enum class LineSearchDirection { kLbfgs, kBfgs };

struct MinimizerOptions {
  // Search direction: L-BFGS (default) or dense BFGS (P ≲ 100). Line search: Wolfe (required by
  // both).
  LineSearchDirection direction = LineSearchDirection::kLbfgs;
  // Iterations. Default 200.
  int max_iterations = 200;
  // L-BFGS memory. Default 20.
  int lbfgs_rank = 20;
  // Stop when |Δcost| <= function_tolerance · |cost| (relative: costs near 0 make it strict).
  // Default 1e-10.
  double function_tolerance = 1e-10;
  // Stop when the max-norm of the gradient <= gradient_tolerance. Default 1e-8.
  double gradient_tolerance = 1e-8;
  // Stop when |Δx| <= parameter_tolerance · (|x| + parameter_tolerance). Default 1e-10.
  double parameter_tolerance = 1e-10;
  // Stop (successfully) once the objective has run this many circuit evaluations during the
  // solve; 0 = no budget. Default 0.
  std::int64_t max_circuit_evaluations = 0;
  // Called after every iteration, in order. Default none.
  std::vector<IterationCallback> callbacks;

  bool IsValid(std::string* error) const;
};

struct LeastSquaresOptions {
  // Levenberg-Marquardt iterations. Default 100.
  int max_iterations = 100;
  // Ceres' tolerances (relative cost change, gradient max-norm, relative step). Defaults 1e-12,
  // 1e-12, 1e-10.
  double function_tolerance = 1e-12;
  double gradient_tolerance = 1e-12;
  double parameter_tolerance = 1e-10;
  // Initial trust-region radius. Default 1e4 (Ceres' default).
  double initial_trust_region_radius = 1e4;
  std::int64_t max_circuit_evaluations = 0;
  std::vector<IterationCallback> callbacks;

  bool IsValid(std::string* error) const;
};

struct AdamOptions {
  // Step size. Default 0.05.
  double learning_rate = 0.05;
  // Moment decay rates and the denominator guard. Defaults 0.9, 0.999, 1e-8.
  double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  // Steps. Default 100.
  int max_steps = 100;
  // Called before each step with the step number (e.g. to draw the next mini-batch). Default none.
  std::function<void(int step)> before_step;
  // Called after each step (cost = the loss of that step's batch before the update).
  std::vector<IterationCallback> callbacks;

  bool IsValid(std::string* error) const;
};

enum class Termination {
  kConvergence,    // a tolerance was met
  kNoConvergence,  // iteration limit
  kUserStop,       // a callback (or the evaluation budget) stopped the solve; parameters = last iterate
  kAborted,        // a callback aborted
  kFailure,        // the objective failed (non-finite value) or Ceres refused
};
const char* to_string(Termination termination);

struct IterationRecord {
  int iteration = 0;
  double cost = 0.0;
  double gradient_norm = 0.0;
  double gradient_max_norm = 0.0;
  double step_norm = 0.0;
};

struct SolveSummary {
  std::string solver;  // "lbfgs", "bfgs", "levenberg_marquardt", "adam"
  Termination termination = Termination::kFailure;
  std::string message;
  double initial_cost = 0.0;
  double final_cost = 0.0;
  int iterations = 0;
  int num_cost_evaluations = 0;
  int num_gradient_evaluations = 0;  // gradient (or Jacobian) evaluations
  std::int64_t circuit_evaluations = 0;
  double time_s = 0.0;
  std::vector<IterationRecord> trace;

  // CONVERGENCE, NO_CONVERGENCE or USER_STOP: the parameters are a usable iterate.
  bool usable() const;
  // One line, e.g. "lbfgs: convergence after 23 iterations, cost 0.6931 -> -2.9999 (48 gradient
  // evaluations, 1296 circuit evaluations, 0.12 s): Gradient tolerance reached".
  std::string BriefReport() const;
};

// Minimises objective.evaluate from *params (overwritten with the result). Throws
// std::invalid_argument when !options.IsValid.
SolveSummary minimize(const Objective& objective, std::vector<double>* params, const MinimizerOptions& options = {});

// Minimises ½ Σ r² of the objective's least-squares form (num_residuals() > 0).
SolveSummary least_squares(const Objective& objective, std::vector<double>* params,
                           const LeastSquaresOptions& options = {});

SolveSummary adam(const Objective& objective, std::vector<double>* params, const AdamOptions& options = {});

// ---- logging (glog, which Ceres uses, is set up in one place: optim/src/logging.cpp) ----

enum class SolverLogLevel { kInfo = 0, kWarning = 1, kError = 2, kFatalOnly = 3 };
// Minimum level of Ceres' glog messages written to stderr. Solves run with Ceres logging SILENT
// and validated options, so nothing is logged normally. Safe to call any number of times.
void set_solver_log_level(SolverLogLevel level);
// Initialises glog once per process (the first call wins; later calls do nothing). Call from an
// executable's main() only, never from a library; messages then go to stderr at `level` and above.
void initialize_solver_logging(const char* program_name, SolverLogLevel level = SolverLogLevel::kWarning);

}  // namespace kraus::optim
