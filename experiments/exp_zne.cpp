// exp_zne: the error of the unmitigated and the zero-noise-extrapolated expectation value against
// the noise strength and the depth, per noise-scaling method and extrapolator (kraus::mitigation,
// docs/zne.md).
//
// Circuit: a seeded mirror circuit C = U U^-1 on n qubits. U is `depth` hardware-efficient layers,
// each RX(a) then RY(b) on every qubit followed by the CNOT chain cx(0,1), cx(1,2), ..., cx(n-2,n-1);
// the angles are uniform in [0, 2 pi) from std::mt19937_64(seed) (the seeds axis). U^-1 is
// engine::inverse(U): the same gates in reverse order with negated angles, so every gate keeps its
// name and the noise rules that match it. Noiselessly C is the identity: C|0...0> = |0...0>, and
// every observable below has the ideal value 1, far from the value 0 that noise drives it to. The
// ideal value is nevertheless computed by an exact noiseless simulation of C (the ideal column), and
// the errors are measured against that. The same circuit is used at every noise model and noise
// scale of a seed, so their rows compare like with like. The noise model's channels follow every
// gate (engine::simulate); a device model is fitted to the n-qubit register (fit_to_register).
//
// Observables: Z0, and Z0 Z1 when n >= 2 (one row each).
//
// Per grid point (noise model scaled by the noise_scale axis, qubits, depth, seed): one noiseless
// and one noisy simulation of C give ideal and unmitigated; then, for each --methods entry, the
// scaled circuits at the --scale-factors are simulated once (mitigation::mitigate, exact
// expectation values, the point's seed seeding fold-random and identity insertion, --num-to-average
// random scalings per factor) and every --extrapolators entry fits the same noisy values
// (mitigation::extrapolate, against the requested factors as Mitiq does). One density matrix per
// qubit count is allocated and reused for every simulation.
//
// Rows: one per grid point, method, extrapolator and observable. Columns after the grid (study,
// noise_model, noise_scale, qubits, depth, seed):
//   method, extrapolator      as given (canonical names: "fold-global", "poly:2", "exp:0")
//   observable                "Z0" or "Z0 Z1"
//   realized_scale_factors    the factors the scaled circuits achieved, space-separated
//   ideal                     noiseless Tr(O C|0><0|C^dagger)
//   unmitigated               the noisy value (scale 1)
//   mitigated                 the extrapolated zero-noise value (blank when the fit failed)
//   abs_error_unmitigated     |unmitigated - ideal|
//   abs_error_mitigated       |mitigated - ideal| (blank when the fit failed)
//   error_reduction           abs_error_unmitigated / abs_error_mitigated (blank when the fit failed
//                             or the mitigated error is exactly 0)
//   standard_error            the fit's standard error (blank when it has none: richardson, or no
//                             degrees of freedom left)
//   status                    "ok", or "fit_failed: <reason>" for an ExtrapolationError (e.g. an
//                             exponential fit that degenerates on nearly linear data); the run goes on
//   seconds                   wall clock of the method's scaled simulations (shared by its rows)
//                             plus this row's fit
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "harness/resources.hpp"
#include "harness/study.hpp"
#include "kraus/engine/circuit.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/observables.hpp"
#include "kraus/engine/simulator.hpp"
#include "kraus/mitigation/extrapolation.hpp"
#include "kraus/mitigation/noise_scaling.hpp"
#include "kraus/mitigation/zne.hpp"

namespace {

namespace ex = kraus::experiments;
namespace mit = kraus::mitigation;
using kraus::engine::Circuit;
using kraus::engine::DensityMatrix;
using kraus::engine::Gate;

constexpr double kTwoPi = 6.283185307179586476925286766559;

ex::StudySpec make_spec() {
  ex::StudySpec s;
  s.name = "zne";
  s.program = "exp_zne";
  s.summary =
      "Zero-noise extrapolation on seeded mirror circuits U U^-1 (U: depth x [RX, RY on every qubit; CNOT chain],\n"
      "ideal value 1 for Z0 and Z0 Z1): the absolute error of the unmitigated and the mitigated value against\n"
      "the noise strength (--noise-scale) and the depth, per noise-scaling method (--methods) and extrapolator\n"
      "(--extrapolators), from exact density-matrix simulations (kraus::mitigation).";
  s.default_noise = {"depolarizing", "amplitude_damping", "device_like"};
  s.quick_noise = {"depolarizing", "amplitude_damping"};
  s.qubits = {"4", "3"};
  s.depth = {"1:10", "2,6"};
  s.noise_scale = {"0.25,0.5,1,2", "0.5,1"};
  s.seeds = {"1:5", "1"};
  s.min_qubits = 1;
  s.max_qubits = 10;
  s.min_depth = 1;
  s.max_depth = 1000;
  s.options = {
      {"methods", ex::StudyOption::Kind::kString, "LIST",
       "noise-scaling methods, comma-separated: fold-global, fold-random, fold-all, fold-layer:L, identity, "
       "scale-noise",
       "fold-global,fold-all,scale-noise", "", 0, 0},
      {"extrapolators", ex::StudyOption::Kind::kString, "LIST",
       "extrapolators, comma-separated: linear, richardson, poly:K, exp, exp:A, polyexp:K, polyexp:K:A",
       "linear,richardson,exp", "", 0, 0},
      {"scale-factors", ex::StudyOption::Kind::kString, "LIST",
       "noise scale factors, comma-separated, each >= 1 (odd integers fold exactly)", "1,3,5", "", 0, 0},
      {"num-to-average", ex::StudyOption::Kind::kInt, "K",
       "fold-random and identity: average over K seeded random scalings per factor", "1", "", 1, 100},
  };
  s.columns = {"method",
               "extrapolator",
               "observable",
               "realized_scale_factors",
               "ideal",
               "unmitigated",
               "mitigated",
               "abs_error_unmitigated",
               "abs_error_mitigated",
               "error_reduction",
               "standard_error",
               "status",
               "seconds"};
  s.epilogue =
      "Rows: one per grid point, method, extrapolator and observable (Z0; Z0 Z1 when n >= 2). Columns after the\n"
      "grid (study, noise_model, noise_scale, qubits, depth, seed): method, extrapolator, observable,\n"
      "realized_scale_factors, ideal, unmitigated, mitigated, abs_error_unmitigated, abs_error_mitigated,\n"
      "error_reduction (unmitigated / mitigated error), standard_error (of the fit; blank when none), status\n"
      "(\"ok\" or \"fit_failed: <reason>\", then the mitigated columns are blank), seconds.\n"
      "Cost: --quick takes well under a second; the default grid (n = 4, depth 1..10, 3 models, 4 scales, 5 seeds:\n"
      "600 points) about ten seconds on one core.\n"
      "Plot: /usr/bin/python3 plots/plot_zne.py DIR/zne.csv";
  return s;
}

// The mirror circuit of the header: U (depth layers of RX, RY on every qubit, CNOT chain), then U^-1.
Circuit mirror_circuit(int num_qubits, int depth, std::uint64_t seed) {
  Circuit u(num_qubits);
  std::mt19937_64 rng(seed);
  auto angle = [&rng] { return kTwoPi * static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  for (int layer = 0; layer < depth; ++layer) {
    for (int q = 0; q < num_qubits; ++q) {
      u.add_gate(Gate::kRX, {q}, {angle()});
      u.add_gate(Gate::kRY, {q}, {angle()});
    }
    for (int q = 0; q + 1 < num_qubits; ++q) u.add_gate(Gate::kCX, {q, q + 1});
  }
  Circuit c = u;
  const Circuit back = kraus::engine::inverse(u);
  c.reserve(2 * u.operations().size());
  for (const auto& op : back.operations()) c.add_gate(op.gate, op.qubits, op.params);
  return c;
}

std::vector<std::string> observable_names(int num_qubits) {
  return num_qubits >= 2 ? std::vector<std::string>{"Z0", "Z0 Z1"} : std::vector<std::string>{"Z0"};
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    items.push_back(item);
  }
  if (!text.empty() && text.back() == ',') items.emplace_back();
  return items;
}

struct Method {
  mit::ScalingMethod method = mit::ScalingMethod::kFoldGlobal;
  int layer = 0;
  std::string name;
};

// What validate parsed, for run_point, and the density matrix reused for every point of a qubit count.
struct Settings {
  std::vector<Method> methods;
  std::vector<mit::ExtrapolatorSpec> extrapolators;
  std::vector<double> scale_factors;
  int num_to_average = 1;
  std::unique_ptr<DensityMatrix> workspace;
};

std::string joined(const std::vector<double>& values) {
  std::string s;
  for (double v : values) s += (s.empty() ? "" : " ") + ex::format_number(v);
  return s;
}

// "exponential fit degenerated (decay rate ...); use linear or richardson" -> "exponential fit degenerated".
std::string short_reason(const std::string& message) {
  std::string s = message.substr(0, message.find_first_of("(;"));
  s.erase(s.find_last_not_of(' ') + 1);
  std::replace(s.begin(), s.end(), ',', ' ');
  return s;
}

// A state-changing channel: a gate rule or idle noise (readout errors never change Tr(O rho)).
bool acts_on_state(const kraus::noise::NoiseModel& model) {
  return !model.gate_noise.empty() || model.idle_noise.has_value();
}

void parse_settings(const ex::Options& o, Settings* s) {
  try {
    s->scale_factors = mit::parse_scale_factors(o.get_string("scale-factors"));
  } catch (const std::invalid_argument& e) {
    throw ex::UsageError(std::string("--scale-factors: ") + e.what());
  }
  s->num_to_average = static_cast<int>(o.get_int("num-to-average"));
  {
    mit::ZneOptions zo;
    zo.scale_factors = s->scale_factors;
    zo.num_to_average = s->num_to_average;
    zo.extrapolator = mit::ExtrapolatorSpec::parse("linear");
    std::string why;
    if (!zo.IsValid(&why)) throw ex::UsageError("--scale-factors: " + why);
  }
  s->methods.clear();
  for (const std::string& text : split_list(o.get_string("methods"))) {
    Method m;
    try {
      m.method = mit::parse_scaling_method(text, &m.layer);
    } catch (const std::invalid_argument& e) {
      throw ex::UsageError("--methods: '" + text + "': " + e.what());
    }
    m.name = mit::scaling_method_name(m.method, m.layer);
    for (const Method& earlier : s->methods) {
      if (earlier.name == m.name) throw ex::UsageError("--methods: '" + text + "' is listed twice");
    }
    s->methods.push_back(m);
  }
  s->extrapolators.clear();
  for (const std::string& text : split_list(o.get_string("extrapolators"))) {
    mit::ExtrapolatorSpec spec;
    try {
      spec = mit::ExtrapolatorSpec::parse(text);
    } catch (const std::invalid_argument& e) {
      throw ex::UsageError("--extrapolators: '" + text + "': " + e.what());
    }
    if (spec.kind == mit::ExtrapolatorKind::kAdaptiveExponential) {
      throw ex::UsageError("--extrapolators: '" + text +
                           "': adaexp chooses its own scale factors; this study fits every extrapolator to the "
                           "same --scale-factors (use exp)");
    }
    mit::ZneOptions zo;
    zo.scale_factors = s->scale_factors;
    zo.extrapolator = spec;
    std::string why;
    if (!zo.IsValid(&why)) throw ex::UsageError("--extrapolators: '" + text + "' with --scale-factors: " + why);
    for (const mit::ExtrapolatorSpec& earlier : s->extrapolators) {
      if (earlier.name() == spec.name()) throw ex::UsageError("--extrapolators: '" + text + "' is listed twice");
    }
    s->extrapolators.push_back(spec);
  }
}

// Every model must fit every circuit of the grid, and scale-noise must be able to scale it.
void check_models(const ex::Options& o, const std::vector<ex::NamedNoiseModel>& models, const Settings& s) {
  const double max_factor = *std::max_element(s.scale_factors.begin(), s.scale_factors.end());
  const int min_depth = *std::min_element(o.depth.begin(), o.depth.end());
  for (const ex::NamedNoiseModel& m : models) {
    for (const Method& method : s.methods) {
      if (method.method != mit::ScalingMethod::kScaleNoise) continue;
      if (!acts_on_state(m.model)) {
        throw ex::UsageError("--methods scale-noise: noise model '" + m.name + "' (" + m.path +
                             ") has no gate or idle noise to scale (readout errors are not scaled and do not change "
                             "expectation values); leave out scale-noise or the model");
      }
      for (double ns : o.noise_scale) {
        try {
          (void)m.model.scaled(ns * max_factor);
        } catch (const std::exception& e) {
          throw ex::UsageError("--methods scale-noise: noise model '" + m.name + "' at --noise-scale " +
                               ex::format_number(ns) + " times scale factor " + ex::format_number(max_factor) +
                               ": " + e.what());
        }
      }
    }
    for (int n : o.qubits) {
      const Circuit c = mirror_circuit(n, min_depth, 1);
      try {
        kraus::engine::validate_noise(c, ex::fit_to_register(m.model, n));
      } catch (const std::exception& e) {
        throw ex::UsageError("noise model '" + m.name + "' (" + m.path + ") on " + std::to_string(n) +
                             " qubits: " + e.what());
      }
    }
  }
  for (const Method& method : s.methods) {
    if (method.method != mit::ScalingMethod::kFoldLayer) continue;
    for (int n : o.qubits) {
      try {
        (void)mit::fold_layer(mirror_circuit(n, min_depth, 1), method.layer, 1.0);
      } catch (const std::exception& e) {
        throw ex::UsageError("--methods " + method.name + " at " + std::to_string(n) + " qubits, depth " +
                             std::to_string(min_depth) + ": " + e.what());
      }
    }
  }
}

kraus::engine::PauliSum pauli(const std::string& text) {
  kraus::engine::PauliSum sum;
  sum.terms.push_back({1.0, kraus::engine::PauliString::parse(text)});
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  const ex::StudySpec spec = make_spec();
  auto settings = std::make_shared<Settings>();

  ex::StudyHooks hooks;
  hooks.validate = [settings](const ex::Options& o, const std::vector<ex::NamedNoiseModel>& models) {
    parse_settings(o, settings.get());
    check_models(o, models, *settings);
  };
  hooks.describe = [settings](const ex::Options&) {
    nlohmann::ordered_json d;
    d["circuit"] =
        "mirror circuit U U^-1: U = depth layers of [RX(a), RY(b) on every qubit; cx(0,1) ... cx(n-2,n-1)], angles "
        "uniform in [0, 2 pi) from std::mt19937_64(seed); U^-1 = engine::inverse(U) (same gate names, negated "
        "angles); noiselessly the identity, so the ideal value of every observable is 1 (computed by a noiseless "
        "simulation)";
    d["observables"] = "Z0, and Z0 Z1 when n >= 2";
    std::vector<std::string> methods, extrapolators;
    for (const Method& m : settings->methods) methods.push_back(m.name);
    for (const mit::ExtrapolatorSpec& e : settings->extrapolators) extrapolators.push_back(e.name());
    d["methods"] = methods;
    d["extrapolators"] = extrapolators;
    d["scale_factors"] = settings->scale_factors;
    d["num_to_average"] = settings->num_to_average;
    d["mitigation"] =
        "mitigation::mitigate with exact expectation values (no shots), the grid point's seed seeding fold-random "
        "and identity insertion; every extrapolator fits the same noisy values against the requested factors "
        "(mitigation::extrapolate); an ExtrapolationError gives status fit_failed and blank mitigated columns";
    d["errors"] = "abs_error_* = |value - ideal|; error_reduction = abs_error_unmitigated / abs_error_mitigated";
    return d;
  };
  hooks.run_point = [settings](const ex::GridPoint& p) {
    const int n = p.qubits;
    if (!settings->workspace || settings->workspace->num_qubits() != n) {
      settings->workspace.reset();
      settings->workspace = std::make_unique<DensityMatrix>(n);
    }
    DensityMatrix& rho = *settings->workspace;
    const kraus::noise::NoiseModel model = ex::fit_to_register(*p.model, n);
    const Circuit circuit = mirror_circuit(n, p.depth, p.seed);
    const std::vector<std::string> names = observable_names(n);
    std::vector<kraus::engine::PauliSum> observables;
    for (const std::string& name : names) observables.push_back(pauli(name));

    std::vector<double> ideal(names.size()), unmitigated(names.size());
    kraus::engine::simulate(circuit, nullptr, rho);
    for (std::size_t o = 0; o < names.size(); ++o) ideal[o] = kraus::engine::expectation(rho, observables[o]);
    kraus::engine::simulate(circuit, &model, rho);
    for (std::size_t o = 0; o < names.size(); ++o) unmitigated[o] = kraus::engine::expectation(rho, observables[o]);

    std::vector<ex::Row> rows;
    for (const Method& method : settings->methods) {
      const ex::Stopwatch simulation_time;
      mit::ZneOptions zo;
      zo.scale_factors = settings->scale_factors;
      zo.method = method.method;
      zo.layer = method.layer;
      zo.extrapolator = mit::ExtrapolatorSpec::parse("linear");
      zo.seed = p.seed;
      zo.num_to_average = settings->num_to_average;
      const std::vector<mit::ZneResult> scaled = mit::mitigate(circuit, &model, observables, zo, &rho);
      const double simulation_seconds = simulation_time.seconds();
      for (const mit::ExtrapolatorSpec& extrapolator : settings->extrapolators) {
        for (std::size_t o = 0; o < names.size(); ++o) {
          const ex::Stopwatch fit_time;
          const double error_unmitigated = std::fabs(unmitigated[o] - ideal[o]);
          ex::Row row;
          row.set("method", method.name)
              .set("extrapolator", extrapolator.name())
              .set("observable", names[o])
              .set("realized_scale_factors", joined(scaled[o].realized_scale_factors))
              .set("ideal", ideal[o])
              .set("unmitigated", unmitigated[o])
              .set("abs_error_unmitigated", error_unmitigated);
          try {
            const mit::ExtrapolationResult fit =
                mit::extrapolate(extrapolator, settings->scale_factors, scaled[o].noisy_values);
            const double error_mitigated = std::fabs(fit.value - ideal[o]);
            row.set("mitigated", fit.value)
                .set("abs_error_mitigated", error_mitigated)
                .set("status", "ok");
            if (error_mitigated > 0.0) {
              row.set("error_reduction", error_unmitigated / error_mitigated);
            } else {
              row.set("error_reduction", "");
            }
            if (fit.standard_error) {
              row.set("standard_error", *fit.standard_error);
            } else {
              row.set("standard_error", "");
            }
          } catch (const mit::ExtrapolationError& e) {
            row.set("mitigated", "")
                .set("abs_error_mitigated", "")
                .set("error_reduction", "")
                .set("standard_error", "")
                .set("status", "fit_failed: " + short_reason(e.what()));
          }
          row.set("seconds", simulation_seconds + fit_time.seconds());
          rows.push_back(row);
        }
      }
    }
    return rows;
  };
  return ex::run_study(spec, argc, argv, hooks);
}
