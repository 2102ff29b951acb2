// exp_barren_plateau: the variance of the gradient of McClean's random circuits against the number
// of qubits and the depth, for a 2-local and a global cost, noiseless and under each noise model
// (noise-induced barren plateaus), next to the 2-design value d/(3(d^2-1)) (McClean et al., Nat. Commun. 9, 4812, 2018).
//
// Circuit (kraus::optim::Ansatz, family kMcClean; McClean et al. 2018, TensorFlow Quantum's set-up):
// RY(pi/4) on every qubit, then `depth` layers of [R_P(theta) on every qubit, P uniform in {X, Y, Z}
// (seeded), then the CZ ladder CZ(0,1) ... CZ(n-2,n-1)]; theta uniform in [0, 2 pi). Circuit k of a
// grid point (k = 0 .. circuits-1) uses the axis seed seed + k and the angle seed seed + k + 2^32:
// the same circuits at every noise model, so noiseless and noisy rows compare the same ensemble.
// The noise model's channels follow every gate (idle noise per layer), as in engine::simulate.
//
// Costs (both Tr(O rho), derivative with respect to the first parameter: qubit 0's rotation in the
// first layer), one row each:
//   cost = local:  O = Z0 Z1 (McClean's "two-local Pauli term");
//   cost = global: O = Z0 Z1 ... Z(n-1), the Pauli string on every qubit (for n = 2 the same as local).
// Both are Pauli strings with Tr O^2 = d = 2^n, so the 2-design reference d/(3(d^2-1)) is the same
// for both (McClean et al. 2018: Var = Tr H^2 E[Tr B^2]/(d^2-1), E[Tr B^2] = 1/3 for the RY(pi/4)
// preamble).
//
// Gradients, per --method:
//   density-matrix: optim::CircuitFunction's adjoint method (exact), one forward and one backward pass
//     per circuit for both costs at once (CircuitFunction::jacobian). The random axes change the gate
//     sequence of every circuit, so each circuit compiles its own CircuitFunction;
//   trajectories: engine::trajectory_gradient with --trajectories trajectories per circuit (seed
//     seed + k + 2^33), an unbiased estimate of each circuit's derivative with its standard error
//     SE_k; the sample variance over circuits then holds the trajectories' noise too, and
//     `variance` is that minus the mean of SE_k^2 (`trajectory_variance`): unbiased for the variance
//     of the exact derivatives, as the density matrix's. It reaches 16 qubits and beyond.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "harness/resources.hpp"
#include "harness/study.hpp"
#include "kraus/engine/observables.hpp"
#include "kraus/engine/program.hpp"
#include "kraus/engine/state_vector.hpp"
#include "kraus/engine/trajectories.hpp"
#include "kraus/optim/ansatz.hpp"
#include "kraus/optim/gradients.hpp"

namespace {

namespace ex = kraus::experiments;
namespace optim = kraus::optim;

ex::StudySpec make_spec() {
  ex::StudySpec s;
  s.name = "barren_plateau";
  s.program = "exp_barren_plateau";
  s.summary =
      "Var[dC/dtheta_1] of McClean's random circuits (RY(pi/4) on every qubit, then depth x [R_P(theta), P random\n"
      "in {X,Y,Z}, on every qubit; CZ ladder]) over --circuits seeded circuits per grid point, for the 2-local\n"
      "cost Z0 Z1 and the global cost Z0...Z(n-1), noiseless and under each noise model, against n and depth,\n"
      "next to the 2-design value d/(3(d^2-1)). Gradients by the adjoint method on the exact density matrix\n"
      "or estimated from --trajectories trajectories per circuit (the variance corrected for their noise).";
  s.default_noise = {"ideal", "depolarizing", "amplitude_damping"};
  s.quick_noise = {"ideal", "depolarizing"};
  s.qubits = {"2:8", "2:4"};
  s.depth = {"1,2,5,10,20,50,100", "2,5,10"};
  s.noise_scale = {"1", "1"};
  s.category = ex::method_axis(ex::kDensityMatrix, std::string(ex::kDensityMatrix) + "," + ex::kTrajectories);
  s.min_qubits = 2;
  s.max_qubits = 24;
  s.min_depth = 1;
  s.max_depth = 100000;
  s.options = {
      {"circuits", ex::StudyOption::Kind::kInt, "N", "random circuits per grid point", "400", "50", 2, 10000000},
      {"seed", ex::StudyOption::Kind::kInt, "S", "circuit k uses the seeds S + k (axes) and S + k + 2^32 (angles)",
       "1", "1", 0, 1e15},
      ex::trajectories_option("200", "100"),
  };
  s.columns = {"cost",     "observable", "variance",     "variance_stderr", "mean",       "mean_stderr",
               "circuits", "two_design", "trajectories", "trajectory_variance", "seconds", "seed"};
  s.epilogue =
      "Rows: one per grid point and cost (local: Z0 Z1; global: Z on every qubit). Columns after the grid\n"
      "(study, noise_model, method, noise_scale, qubits, depth): cost, observable, variance (unbiased for the\n"
      "variance of dC/dtheta_1 over the circuits), variance_stderr, mean, mean_stderr, circuits, two_design\n"
      "(d/(3(d^2-1)), d = 2^n), trajectories and trajectory_variance (the mean squared standard error of\n"
      "the circuits' estimates, subtracted from their sample variance; empty for the density matrix),\n"
      "seconds (wall clock of the point, both costs), seed.\n"
      "Cost: --quick takes about a second; the default grid (n <= 8, depth <= 100, 400 circuits, 3 models)\n"
      "takes minutes to an hour on one core, mostly at 8 qubits and depth 100.\n"
      "Plot: /usr/bin/python3 plots/plot_barren_plateau.py DIR/barren_plateau.csv";
  return s;
}

struct Settings {
  long long circuits = 400;
  std::uint64_t seed = 1;
  std::uint64_t trajectories = 200;
};

std::string global_observable(int n) {
  std::string s;
  for (int q = 0; q < n; ++q) s += (q ? " Z" : "Z") + std::to_string(q);
  return s;
}

kraus::engine::PauliSum pauli(const std::string& text) {
  kraus::engine::PauliSum sum;
  sum.terms.push_back({1.0, kraus::engine::PauliString::parse(text)});
  return sum;
}

struct Moments {
  std::vector<double> values;
  void add(double g) { values.push_back(g); }
  // mean, its standard error, unbiased variance, and the standard error of the variance
  // (sqrt((m4 - (N-3)/(N-1) s^4) / N), m4 the central fourth moment).
  void summarise(double* mean, double* mean_se, double* var, double* var_se) const {
    const double n = static_cast<double>(values.size());
    double s1 = 0.0;
    for (double g : values) s1 += g;
    const double m = s1 / n;
    double s2 = 0.0, s4 = 0.0;
    for (double g : values) {
      const double d = (g - m) * (g - m);
      s2 += d;
      s4 += d * d;
    }
    const double v = s2 / (n - 1.0);
    const double m4 = s4 / n;
    *mean = m;
    *mean_se = std::sqrt(v / n);
    *var = v;
    *var_se = std::sqrt(std::max(0.0, (m4 - (n - 3.0) / (n - 1.0) * v * v) / n));
  }
};

}  // namespace

int main(int argc, char** argv) {
  const ex::StudySpec spec = make_spec();
  auto settings = std::make_shared<Settings>();

  ex::StudyHooks hooks;
  hooks.validate = [settings](const ex::Options& o, const std::vector<ex::NamedNoiseModel>& models) {
    settings->circuits = o.get_int("circuits");
    settings->seed = static_cast<std::uint64_t>(o.get_int("seed"));
    settings->trajectories = static_cast<std::uint64_t>(o.get_int("trajectories"));
    const int largest = *std::max_element(o.qubits.begin(), o.qubits.end());
    const bool dense = std::find(o.category.begin(), o.category.end(), ex::kDensityMatrix) != o.category.end();
    try {
      kraus::engine::require_memory(largest, dense ? 3 * kraus::engine::density_matrix_bytes(largest)
                                                   : 6 * kraus::engine::state_vector_bytes(largest),
                                    dense ? "the density matrices of the adjoint gradient" : "the trajectories' states");
    } catch (const std::exception& e) {
      throw ex::UsageError(std::string("--qubits: ") + e.what());
    }
    for (const ex::NamedNoiseModel& m : models) {
      for (int n : o.qubits) {
        optim::AnsatzOptions a;
        a.family = optim::AnsatzFamily::kMcClean;
        a.num_qubits = n;
        a.num_layers = 1;
        const kraus::noise::NoiseModel fitted = ex::fit_to_register(m.model, n);
        try {
          optim::CircuitFunction f(optim::Ansatz(a).circuit(), {pauli("Z0 Z1")}, &fitted);
        } catch (const std::exception& e) {
          throw ex::UsageError("noise model '" + m.name + "' (" + m.path + ") on " + std::to_string(n) +
                               " qubits: " + e.what());
        }
      }
    }
  };
  hooks.describe = [](const ex::Options&) {
    nlohmann::ordered_json d;
    d["circuit"] =
        "McClean ensemble (optim::AnsatzFamily::kMcClean): RY(pi/4) on every qubit, then depth layers of "
        "[R_P(theta_q) on every qubit q, P uniform in {X, Y, Z} from the axis seed; CZ(0,1) ... CZ(n-2,n-1)]; theta "
        "uniform in [0, 2 pi); circuit k uses axis seed seed+k and angle seed seed+k+2^32; the noise model's "
        "channels after every gate and idle noise per layer";
    d["costs"] = "local: Tr(Z0 Z1 rho); global: Tr(Z0 Z1 ... Z(n-1) rho); derivative with respect to parameter 0 "
                 "(qubit 0, first layer)";
    d["gradient"] = "density-matrix: optim::CircuitFunction::jacobian, adjoint method (exact), both costs in one "
                    "call; trajectories: engine::trajectory_gradient, `trajectories` per circuit, seed = the circuit's "
                    "axis seed + 2^33, both costs in one call (docs/trajectories.md)";
    d["two_design"] = "d/(3(d^2-1)), d = 2^n: Var of the first parameter's derivative when the circuit after it is "
                      "a unitary 2-design (McClean et al. 2018), for any Pauli-string cost";
    d["statistics"] = "variance: unbiased sample variance over the circuits (trajectories: minus trajectory_variance, "
                      "the mean of the estimates' squared standard errors); variance_stderr: "
                      "sqrt((m4 - (N-3)/(N-1) s^4)/N) of the estimates; mean_stderr: sqrt(s^2/N)";
    return d;
  };
  hooks.run_point = [settings](const ex::GridPoint& p) {
    const int n = p.qubits;
    const kraus::noise::NoiseModel model = ex::fit_to_register(*p.model, n);
    const std::string local = "Z0 Z1", global = global_observable(n);
    const std::vector<kraus::engine::PauliSum> observables = {pauli(local), pauli(global)};
    optim::GradientOptions go;
    go.num_threads = 1;
    const bool dense = p.category == ex::kDensityMatrix;
    kraus::engine::TrajectoryOptions to;
    to.trajectories = settings->trajectories;
    Moments m_local, m_global;
    double se2_local = 0.0, se2_global = 0.0;  // sums of the estimates' squared standard errors
    ex::Stopwatch sw;
    std::vector<double> values(2);
    for (long long k = 0; k < settings->circuits; ++k) {
      optim::AnsatzOptions a;
      a.family = optim::AnsatzFamily::kMcClean;
      a.num_qubits = n;
      a.num_layers = p.depth;
      a.seed = settings->seed + static_cast<std::uint64_t>(k);
      const optim::Ansatz ansatz(a);
      const std::vector<double> theta = ansatz.random_parameters(a.seed + (std::uint64_t{1} << 32));
      if (dense) {
        const optim::CircuitFunction f(ansatz.circuit(), observables, &model, go);
        std::vector<double> jac(2 * theta.size());
        f.jacobian(theta.data(), nullptr, values.data(), jac.data(), optim::GradientMethod::kAdjoint);
        m_local.add(jac[0]);
        m_global.add(jac[theta.size()]);
      } else {
        to.seed = a.seed + (std::uint64_t{1} << 33);
        const kraus::engine::TrajectoryGradientResult r = kraus::engine::trajectory_gradient(
            kraus::engine::compile(ansatz.circuit(), &model), theta.data(), nullptr, observables, to);
        const kraus::engine::Estimate& local_d = r.jacobian[0];
        const kraus::engine::Estimate& global_d = r.jacobian[theta.size()];
        m_local.add(local_d.mean);
        m_global.add(global_d.mean);
        se2_local += local_d.standard_error * local_d.standard_error;
        se2_global += global_d.standard_error * global_d.standard_error;
      }
    }
    const double seconds = sw.seconds();
    const double d = std::ldexp(1.0, n);
    const double two_design = d / (3.0 * (d * d - 1.0));
    std::vector<ex::Row> rows;
    for (int c = 0; c < 2; ++c) {
      double mean = 0, mean_se = 0, var = 0, var_se = 0;
      (c == 0 ? m_local : m_global).summarise(&mean, &mean_se, &var, &var_se);
      const double trajectory_variance = (c == 0 ? se2_local : se2_global) / static_cast<double>(settings->circuits);
      ex::Row row;
      row.set("cost", c == 0 ? "local" : "global")
          .set("observable", c == 0 ? local : global)
          .set("variance", var - trajectory_variance)
          .set("variance_stderr", var_se)
          .set("mean", mean)
          .set("mean_stderr", mean_se)
          .set("circuits", settings->circuits)
          .set("two_design", two_design);
      if (dense) {
        row.set("trajectories", "").set("trajectory_variance", "");
      } else {
        row.set("trajectories", static_cast<unsigned long long>(settings->trajectories))
            .set("trajectory_variance", trajectory_variance);
      }
      row.set("seconds", seconds)
          .set("seed", static_cast<unsigned long long>(settings->seed));
      rows.push_back(row);
    }
    return rows;
  };
  return ex::run_study(spec, argc, argv, hooks);
}
