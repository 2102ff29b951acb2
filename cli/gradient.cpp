// `kraus gradient`: the expectation values of observables after an OpenQASM 2 circuit with `input`
// parameters, optionally under a noise model, and their derivatives by every parameter
// (optim::CircuitFunction, on the compiled program that `kraus simulate` runs); one JSON object.
#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common.hpp"
#include "inputs.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/program.hpp"
#include "kraus/engine/state_vector.hpp"
#include "kraus/engine/trajectories.hpp"
#include "kraus/noise/text.hpp"
#include "kraus/optim/gradients.hpp"

namespace kraus::cli {

const char* const kGradientUsage =
    "usage: kraus gradient CIRCUIT.qasm [--parameters VALUES.json] [--noise MODEL.json]\n"
    "                      (--observable EXPR | --hamiltonian FILE)... [--method M] [--step H]\n"
    "                      [--trajectories N [--seed S]] [--threads T] [--out FILE]\n"
    "\n"
    "Evaluates <O> = Tr(O rho(theta)) for each observable after the circuit, whose rotation angles may\n"
    "use the circuit's parameters (`input float[64] theta;`), and the derivative of <O> by every\n"
    "parameter. Prints one JSON object: num_qubits, method, step (finite-difference only), parameters\n"
    "(the values used, in declaration order), observables (in the order given, --observable before\n"
    "--hamiltonian: observable, value, gradient {parameter: derivative} in declaration order; no\n"
    "gradient for a circuit without parameters; with --trajectories also value_stderr and\n"
    "gradient_stderr), circuit_evaluations (passes over the whole circuit; density matrix only),\n"
    "trajectories (with --trajectories: count, seed, state_reads, channel_decisions, saved_states),\n"
    "noise_coverage (with --noise), warnings (also on stderr), provenance (version, git_revision,\n"
    "git_modified, arguments). Readout errors of the model do not enter the values. The circuit runs\n"
    "as written: --basis and --route of kraus simulate are not offered (a parametrised circuit cannot\n"
    "be translated).\n"
    "\n"
    "options:\n"
    "  --parameters FILE      the parameters' values, a JSON object {\"theta\": 0.5, \"phi\": -1}: every\n"
    "                         parameter of the circuit, no other key; needed when the circuit has any\n"
    "  --noise MODEL.json     noise model, as for kraus simulate (fitted to the circuit's qubits)\n"
    "  --observable EXPR      a weighted Pauli sum, e.g. \"0.5*Z0 Z1 - 0.2*X0\"; repeatable\n"
    "  --hamiltonian FILE     a Pauli sum from a JSON file (docs/observables.md); repeatable\n"
    "  --method M             adjoint (default; about 2 circuit evaluations), parameter-shift (exact,\n"
    "                         1 + 2 per parametrised rotation), finite-difference (central, 1 + 2 per\n"
    "                         parameter, error about 1e-10 at the default step)\n"
    "  --step H               finite-difference step, 0 < H < 1 (default 1e-5)\n"
    "  --trajectories N       estimate the values and the adjoint gradient from N >= 2 quantum\n"
    "                         trajectories (state vectors, for circuits past the density matrix's\n"
    "                         size; unbiased, with standard errors: docs/trajectories.md) instead of\n"
    "                         the exact density matrix; --method adjoint only\n"
    "  --seed S               seed of the trajectories (default 1); the same for any thread count\n"
    "  --threads T            OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
    "  --out FILE             write the JSON to FILE instead of stdout (whole or not at all)\n";

namespace {

using json = nlohmann::ordered_json;
using kraus::noise::printable;
using kraus::optim::GradientMethod;

// A parameter file of at most 16 MiB: far beyond any circuit's parameters.

struct MethodName {
  const char* name;
  GradientMethod method;
};
constexpr MethodName kMethods[] = {{"adjoint", GradientMethod::kAdjoint},
                                   {"parameter-shift", GradientMethod::kParameterShift},
                                   {"finite-difference", GradientMethod::kFiniteDifference}};

const char* method_name(GradientMethod method) {
  for (const MethodName& m : kMethods) {
    if (m.method == method) return m.name;
  }
  return "?";
}

struct Options {
  std::optional<std::string> circuit_path, parameters_path, noise_path, out_path;
  std::vector<std::string> observables, hamiltonians;
  GradientMethod method = GradientMethod::kAdjoint;
  std::optional<double> step;
  std::optional<long long> trajectories, seed;
  std::optional<int> threads;
};

Options parse_options(int argc, char** argv, bool* help) {
  Options o;
  *help = false;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      *help = true;
      return o;
    }
    if (arg == "--parameters") {
      o.parameters_path = option_value(argc, argv, i, "gradient");
    } else if (arg == "--noise") {
      o.noise_path = option_value(argc, argv, i, "gradient");
    } else if (arg == "--observable") {
      o.observables.push_back(option_value(argc, argv, i, "gradient"));
    } else if (arg == "--hamiltonian") {
      o.hamiltonians.push_back(option_value(argc, argv, i, "gradient"));
    } else if (arg == "--method") {
      const std::string value = option_value(argc, argv, i, "gradient");
      bool known = false;
      for (const MethodName& m : kMethods) {
        if (value == m.name) {
          o.method = m.method;
          known = true;
        }
      }
      if (!known) {
        throw UsageError("--method: unknown method '" + printable(value) +
                         "' (adjoint, parameter-shift or finite-difference)");
      }
    } else if (arg == "--step") {
      o.step = parse_number(arg, option_value(argc, argv, i, "gradient"));
      if (!(*o.step > 0.0 && *o.step < 1.0)) {
        throw UsageError("--step: " + kraus::noise::short_number(*o.step) + " is not in (0, 1)");
      }
    } else if (arg == "--trajectories") {
      o.trajectories = parse_integer(arg, option_value(argc, argv, i, "gradient"), 2, 1LL << 40);
    } else if (arg == "--seed") {
      o.seed = parse_integer(arg, option_value(argc, argv, i, "gradient"), 0, 1LL << 62);
    } else if (arg == "--threads") {
      o.threads = static_cast<int>(parse_integer(arg, option_value(argc, argv, i, "gradient"), 1, 1024));
    } else if (arg == "--out") {
      o.out_path = option_value(argc, argv, i, "gradient");
    } else if (arg.rfind("--", 0) == 0) {
      throw UsageError("unknown option '" + printable(arg) + "' (see kraus gradient --help)");
    } else if (!o.circuit_path) {
      o.circuit_path = arg;
    } else {
      throw UsageError("unexpected argument '" + printable(arg) + "': one circuit file only");
    }
  }
  if (!o.circuit_path) throw UsageError("missing the circuit file (see kraus gradient --help)");
  if (o.observables.empty() && o.hamiltonians.empty()) {
    throw UsageError("missing the observable: give at least one --observable or --hamiltonian");
  }
  if (o.step && o.method != GradientMethod::kFiniteDifference) {
    throw UsageError("--step needs --method finite-difference");
  }
  if (o.trajectories && o.method != GradientMethod::kAdjoint) {
    throw UsageError(std::string("--trajectories estimates the adjoint gradient; --method ") + method_name(o.method) +
                     " runs on the density matrix");
  }
  if (o.seed && !o.trajectories) throw UsageError("--seed needs --trajectories");
  return o;
}

// Memory of the smallest run on n qubits: the state and the observable carried backwards.
std::uint64_t gradient_bytes(int n) {
  const std::uint64_t state = kraus::engine::density_matrix_bytes(n);
  return state > UINT64_MAX / 2 ? UINT64_MAX : 2 * state;
}

// With trajectories: per thread the state, one observable's state and a scratch state.
std::uint64_t trajectory_gradient_bytes(int n) {
  const std::uint64_t states = 3 * static_cast<std::uint64_t>(kraus::engine::num_threads());
  const std::uint64_t state = kraus::engine::state_vector_bytes(n);
  return n > 50 || state > UINT64_MAX / states ? UINT64_MAX : state * states;
}

struct GradientResult {
  int num_qubits = 0;
  std::vector<std::string> names;  // the parameters, in declaration order
  std::vector<double> theta;
  std::vector<Observable> observables;
  std::vector<double> values;    // one per observable
  std::vector<double> jacobian;  // row-major observables x parameters
  std::optional<kraus::engine::TrajectoryGradientResult> trajectories;  // with --trajectories
  std::int64_t circuit_evaluations = 0;
  std::optional<kraus::engine::NoiseCoverage> coverage;
  std::vector<std::string> warnings;
};

// Reads and checks every input, then evaluates the values and the Jacobian.
GradientResult run(const Options& o) {
  GradientResult r;
  g_stage = "reading the circuit";
  const kraus::engine::Circuit circuit =
      o.trajectories ? read_circuit(*o.circuit_path, trajectory_gradient_bytes, "the trajectories' state vectors")
                     : read_circuit(*o.circuit_path, gradient_bytes, "the state and the observable of the gradient");
  const int n = r.num_qubits = circuit.num_qubits();
  if (circuit.has_conditions()) {
    throw UsageError(*o.circuit_path + ": classical control (if) needs the trajectory method; kraus gradient runs on "
                     "the density matrix");
  }
  r.names = circuit.parameter_names();
  r.theta = parameter_values(circuit, o.parameters_path, *o.circuit_path);
  std::optional<kraus::noise::NoiseModel> model;
  if (o.noise_path) {
    g_stage = "reading the noise model";
    model.emplace(load_noise_model(*o.noise_path, *o.circuit_path));
    check_device_size(*model, n, *o.noise_path, *o.circuit_path);
    std::vector<int> identity(static_cast<std::size_t>(n));
    for (int q = 0; q < n; ++q) identity[static_cast<std::size_t>(q)] = q;
    r.coverage = fit_noise_model(&*model, circuit, identity, *o.noise_path, *o.circuit_path, &r.warnings);
  }
  r.observables = read_observables(o.observables, o.hamiltonians, n);
  std::vector<kraus::engine::PauliSum> sums;
  for (const Observable& obs : r.observables) sums.push_back(obs.sum);

  g_stage = "compiling the circuit";
  if (o.trajectories) {
    const kraus::engine::Program program = kraus::engine::compile(circuit, model ? &*model : nullptr);
    g_stage = "running the trajectories";
    kraus::engine::TrajectoryOptions t;
    t.trajectories = static_cast<std::uint64_t>(*o.trajectories);
    t.seed = static_cast<std::uint64_t>(o.seed.value_or(1));
    t.progress = trajectory_progress();
    const kraus::engine::TrajectoryGradientResult& tr = r.trajectories.emplace(
        kraus::engine::trajectory_gradient(program, r.theta.empty() ? nullptr : r.theta.data(), nullptr, sums, t));
    for (const kraus::engine::Estimate& e : tr.values) r.values.push_back(e.mean);
    for (const kraus::engine::Estimate& e : tr.jacobian) r.jacobian.push_back(e.mean);
    return r;
  }
  kraus::optim::GradientOptions options;
  options.method = o.method;
  if (o.step) options.finite_difference_step = *o.step;
  const kraus::optim::CircuitFunction f(circuit, std::move(sums), model ? &*model : nullptr, options);
  g_stage = "computing the gradient";
  r.values.resize(r.observables.size());
  r.jacobian.resize(r.observables.size() * r.names.size());
  if (r.names.empty()) {
    f.evaluate(nullptr, nullptr, r.values.data());
  } else {
    f.jacobian(r.theta.data(), nullptr, r.values.data(), r.jacobian.data());
  }
  r.circuit_evaluations = f.circuit_evaluations();
  return r;
}

// Writes `text` to `path`; a failed write removes a regular file, so that nothing partial remains
// (a device or pipe such as /dev/full is left alone).
void write_file(const std::string& path, const std::string& text) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) throw UsageError("--out " + printable(path) + ": cannot create the file: " + std::strerror(errno));
  struct stat info {};
  const bool regular = ::fstat(::fileno(file), &info) == 0 && S_ISREG(info.st_mode);
  const bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  const int error = errno;
  if (std::fclose(file) != 0 || !written) {
    if (regular) std::remove(path.c_str());
    throw WriteError("--out " + printable(path) + ": cannot write the output: " +
                     std::strerror(written ? errno : error));
  }
}

void report(const Options& o, const GradientResult& r, json provenance_json) {
  g_stage = "preparing the output";
  json out;
  out["num_qubits"] = r.num_qubits;
  out["method"] = method_name(o.method);
  if (o.method == GradientMethod::kFiniteDifference) {
    out["step"] = o.step.value_or(kraus::optim::GradientOptions{}.finite_difference_step);
  }
  out["parameters"] = json::object();
  for (std::size_t p = 0; p < r.names.size(); ++p) out["parameters"][r.names[p]] = r.theta[p];
  out["observables"] = json::array();
  for (std::size_t i = 0; i < r.observables.size(); ++i) {
    json entry;
    entry["observable"] = r.observables[i].label;
    entry["value"] = r.values[i];
    if (r.trajectories) entry["value_stderr"] = r.trajectories->values[i].standard_error;
    if (!r.names.empty()) {
      entry["gradient"] = json::object();
      for (std::size_t p = 0; p < r.names.size(); ++p) {
        entry["gradient"][r.names[p]] = r.jacobian[i * r.names.size() + p];
      }
      if (r.trajectories) {
        entry["gradient_stderr"] = json::object();
        for (std::size_t p = 0; p < r.names.size(); ++p) {
          entry["gradient_stderr"][r.names[p]] = r.trajectories->jacobian[i * r.names.size() + p].standard_error;
        }
      }
    }
    out["observables"].push_back(std::move(entry));
  }
  if (r.trajectories) {
    const kraus::engine::TrajectoryGradientResult& t = *r.trajectories;
    out["trajectories"] = {{"count", t.trajectories},
                           {"seed", t.seed},
                           {"state_reads", t.state_reads},
                           {"channel_decisions", t.channel_decisions},
                           {"saved_states", t.saved_states}};
  } else {
    out["circuit_evaluations"] = r.circuit_evaluations;
  }
  if (r.coverage) out["noise_coverage"] = noise_coverage_json(*r.coverage);
  out["warnings"] = r.warnings;
  out["provenance"] = std::move(provenance_json);
  for (const std::string& w : r.warnings) warn(w);

  g_stage = "writing the output";
  const std::string text = out.dump(2) + "\n";
  if (o.out_path) {
    write_file(*o.out_path, text);
  } else {
    write_out(text);
    finish_output();
  }
}

}  // namespace

int run_gradient(int argc, char** argv) {
  bool help = false;
  const Options o = parse_options(argc, argv, &help);
  if (help) {
    write_out(kGradientUsage);
    finish_output();
    return 0;
  }
  if (o.threads) kraus::engine::set_num_threads(*o.threads);
  const GradientResult result = run(o);
  report(o, result, provenance("gradient", argc, argv));
  return 0;
}

}  // namespace kraus::cli
