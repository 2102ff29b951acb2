// kraus.simulate, kraus.gradient and kraus.zne: a circuit (with its parameters bound) under a noise
// model, run by the same library calls as `kraus simulate` and `kraus gradient` (cli/simulate.cpp,
// cli/gradient.cpp), returning dicts with the keys and values of their JSON (minus provenance).
// Basis translation and routing (--basis, --route) and readout mitigation are not bound.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "arrays.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/measurement.hpp"
#include "kraus/engine/observables.hpp"
#include "kraus/engine/program.hpp"
#include "kraus/engine/sampling.hpp"
#include "kraus/engine/simulator.hpp"
#include "kraus/engine/state_vector.hpp"
#include "kraus/engine/trajectories.hpp"
#include "kraus/engine/transpile.hpp"
#include "kraus/mitigation/noise_scaling.hpp"
#include "kraus/mitigation/readout_mitigation.hpp"
#include "kraus/mitigation/zne.hpp"
#include "kraus/noise/noise_model.hpp"
#include "kraus/optim/gradients.hpp"

namespace kraus::python {

namespace {

using engine::Circuit;
using engine::PauliSum;
using engine::in_program_order;
using engine::on_slots;
using engine::slot_permutation;

// As cli/simulate.cpp: trajectories estimate probabilities up to 20 qubits, auto takes the density
// matrix for noisy circuits up to 12 qubits.
constexpr int kMaxTrajectoryProbabilityQubits = 20;
constexpr int kAutoDensityMatrixQubits = 12;

py::array_t<double> to_array(const std::vector<double>& v) {
  py::array_t<double> out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

// The parameter values in the circuit's declaration order, from a dict {name: value} or a sequence.
double number(const py::handle& v, const std::string& what) {
  if (py::isinstance<py::str>(v) || py::isinstance<py::bool_>(v)) fail(what, "parameters must be numbers");
  try {
    return v.cast<double>();
  } catch (const py::cast_error&) {
    fail(what, "parameters must be numbers");
  }
}

std::vector<double> parameter_values(const Circuit& circuit, const py::object& parameters, const std::string& what) {
  const std::vector<std::string>& names = circuit.parameter_names();
  if (static_cast<int>(names.size()) != circuit.num_parameters())
    fail(what, "the circuit has " + std::to_string(circuit.num_parameters()) + " parameters but " +
                   std::to_string(names.size()) + " names");
  std::vector<double> theta;
  if (parameters.is_none()) {
    if (!names.empty()) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      fail(what, "the circuit has parameters (" + list + "): pass parameters={name: value}");
    }
    return theta;
  }
  if (py::isinstance<py::dict>(parameters)) {
    const py::dict d = parameters.cast<py::dict>();
    for (const auto& item : d) {
      if (!py::isinstance<py::str>(item.first)) fail(what, "parameters: keys must be parameter names (str)");
      const std::string key = item.first.cast<std::string>();
      if (std::find(names.begin(), names.end(), key) == names.end())
        fail(what, "parameters: the circuit has no parameter '" + key + "'");
    }
    for (const auto& n : names) {
      if (!d.contains(n)) fail(what, "parameters: missing a value for '" + n + "'");
      theta.push_back(number(d[py::str(n)], what));
    }
  } else {
    if (py::isinstance<py::str>(parameters)) fail(what, "parameters must be a dict or a sequence of numbers");
    if (!py::isinstance<py::sequence>(parameters) && !py::isinstance<py::array>(parameters))
      fail(what, "parameters must be a dict or a sequence of numbers");
    for (const py::handle v : parameters) theta.push_back(number(v, what));
    if (theta.size() != names.size())
      fail(what, "parameters: " + std::to_string(theta.size()) + " values for " + std::to_string(names.size()) +
                     " parameters");
  }
  for (const double t : theta)
    if (!std::isfinite(t)) fail(what, "parameters must be finite numbers");
  return theta;
}

// Observables as given (labels) and their Pauli sums; a single str is a list of one.
struct Observables {
  std::vector<std::string> labels;
  std::vector<PauliSum> sums;
  bool single = false;
};

Observables read_observables(const py::object& observables, int n, const std::string& what) {
  Observables out;
  if (observables.is_none()) return out;
  std::vector<std::string> texts;
  if (py::isinstance<py::str>(observables)) {
    out.single = true;
    texts.push_back(observables.cast<std::string>());
  } else {
    for (const py::handle o : observables) {
      if (!py::isinstance<py::str>(o)) fail(what, "observables must be a list of strings");
      texts.push_back(o.cast<std::string>());
    }
  }
  for (const std::string& t : texts) {
    PauliSum sum = PauliSum::parse(t);
    if (sum.min_qubits() > n)
      fail(what, "observable \"" + t + "\" acts on qubit " + std::to_string(sum.min_qubits() - 1) +
                     " but the circuit has " + std::to_string(n) + " qubit(s)");
    out.labels.push_back(t);
    out.sums.push_back(std::move(sum));
  }
  return out;
}

// The model as `kraus simulate` uses it on a circuit of n qubits: gate names resolved, a device model
// fitted to qubits 0..n-1 (what fitting drops is a warning), validated against the circuit; returns
// its coverage, whose warnings are appended.
std::optional<noise::NoiseModel> resolved(const noise::NoiseModel* given, int n, const std::string& what) {
  if (!given) return std::nullopt;
  noise::NoiseModel model = *given;
  engine::resolve_gate_names(model);
  if (model.device_qubits() > 0 && model.device_qubits() < n)
    fail(what, "the model is for a device of " + std::to_string(model.device_qubits()) +
                   " qubits but the circuit has " + std::to_string(n));
  return model;
}

std::vector<int> identity_layout(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  for (int q = 0; q < n; ++q) v[static_cast<std::size_t>(q)] = q;
  return v;
}

// Program qubit v on device qubit physical[v] (the identity without a transpilation).
std::optional<noise::NoiseModel> fit_model(const noise::NoiseModel* given, const Circuit& circuit,
                                           engine::NoiseCoverage* coverage, std::vector<std::string>* warnings,
                                           const std::string& what, std::vector<int> physical = {}) {
  std::optional<noise::NoiseModel> resolved_model = resolved(given, circuit.num_qubits(), what);
  if (!resolved_model) return std::nullopt;
  noise::NoiseModel& model = *resolved_model;
  if (physical.empty()) physical = identity_layout(circuit.num_qubits());
  if (model.device_qubits() > 0) {
    std::vector<std::string> dropped;
    model = model.fitted(physical, &dropped);
    for (const std::string& d : dropped) warnings->push_back("fitting the model to the circuit's qubits: " + d);
  }
  engine::validate_noise(circuit, model);
  *coverage = engine::noise_coverage(circuit, model);
  warnings->insert(warnings->end(), coverage->warnings.begin(), coverage->warnings.end());
  return resolved_model;
}

py::dict coverage_dict(const engine::NoiseCoverage& coverage) {
  py::dict out;
  for (const auto& g : coverage.gates) {
    py::dict entry;
    entry["instances"] = g.instances;
    entry["with_noise"] = g.with_noise;
    out[py::str(g.name)] = entry;
  }
  return out;
}

std::string gib(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

std::uint64_t run_bytes(int n) {
  const std::uint64_t state = engine::density_matrix_bytes(n);
  const std::uint64_t output = std::uint64_t{512} << n;
  return state > UINT64_MAX - output ? UINT64_MAX : state + output;
}

struct SimulateOptions {
  std::string method;
  std::optional<std::uint64_t> shots;
  std::uint64_t seed = 1;
  std::optional<std::uint64_t> trajectories;
  bool readout_in_expectations = false, density_matrix = false, memory = false, mitigate_readout = false;
};

// The method that runs and why, as cli/simulate.cpp's choose_method (its texts for auto).
std::pair<std::string, std::string> choose_method(const SimulateOptions& o, const engine::Program& program, int n) {
  const bool noiseless = engine::is_noiseless(program);
  if (o.method == "statevector" && !noiseless)
    throw std::invalid_argument(
        "method 'statevector': the circuit has noise, mid-circuit measurements or resets; use method "
        "'trajectories' or 'density-matrix'");
  if (o.method != "auto") return {o.method, "requested with method='" + o.method + "'"};
  if (program.has_conditions())
    return {"trajectories", "the circuit has classical control (if): only trajectories sample the mid-circuit "
                            "measurements its conditions read"};
  const char* needs = o.density_matrix ? "--density-matrix"
                      : o.readout_in_expectations ? "--readout-in-expectations" : nullptr;
  if (needs) return {"density-matrix", std::string(needs) + " needs the density matrix"};
  if (noiseless) return {"statevector", "the circuit has no noise, mid-circuit measurement or reset: the state vector is exact"};
  const std::uint64_t available = engine::available_memory_bytes();
  const std::string size = gib(run_bytes(n));
  if (n <= kAutoDensityMatrixQubits && (available == 0 || run_bytes(n) <= available / 2))
    return {"density-matrix", "a noisy circuit of " + std::to_string(n) + " qubits: the exact density matrix (" +
                                  size + ") fits in half the free memory"};
  return {"trajectories", "a noisy circuit of " + std::to_string(n) + " qubits: the density matrix (" + size +
                              ") is beyond " + std::to_string(kAutoDensityMatrixQubits) +
                              " qubits or half the free memory"};
}

// What a simulate run computed (filled with the GIL released).
struct SimulateRun {
  std::string method, reason;
  std::unique_ptr<engine::DensityMatrix> rho;
  std::optional<engine::StateVector> psi;
  std::optional<engine::TrajectoryResult> trajectories;
  std::vector<double> probabilities, probability_errors, expectations, expectation_errors;
  std::optional<engine::MeasurementMap> measured;
  std::map<std::uint64_t, std::uint64_t> qubit_counts;
  std::vector<std::uint64_t> memory;  // with memory=True: every shot's outcome in order
  std::vector<engine::ShotEstimate> shot_estimates;
  // With mitigate_readout, as the command's readout_mitigated block: the mitigated distribution,
  // each observable's mitigated value (none with X or Y factors), the mitigated counts by key.
  std::optional<mitigation::ReadoutMitigationResult> readout;
  std::vector<std::optional<double>> readout_expectations;
  std::map<std::string, double> readout_counts;
};

void run_simulation(const Circuit& circuit, const noise::NoiseModel* model, const std::vector<PauliSum>& sums,
                    const std::vector<std::string>& labels, const SimulateOptions& o, SimulateRun& r,
                    std::vector<std::string>& warnings) {
  const int n = circuit.num_qubits();
  const bool controlled = circuit.has_conditions();
  noise::ReadoutModel readout;
  if (model) readout = model->readout_model(n);
  if (o.shots) {
    r.measured = engine::measurement_map(circuit, controlled);
    if (r.measured->empty())
      warnings.push_back("--shots: the circuit measures no qubit, so there are no counts (add measure instructions)");
  }
  if (o.mitigate_readout && readout.empty())
    throw std::invalid_argument("mitigate_readout=True needs a noise model with readout errors");
  const engine::Program compiled = engine::compile(circuit, model);
  std::tie(r.method, r.reason) = choose_method(o, compiled, n);
  if (o.mitigate_readout && r.method == "trajectories" && n > kMaxTrajectoryProbabilityQubits)
    throw std::invalid_argument("mitigate_readout=True needs the probabilities, which trajectories estimate up to " +
                                std::to_string(kMaxTrajectoryProbabilityQubits) + " qubits");
  if (r.method == "trajectories") {
    if (n > kMaxTrajectoryProbabilityQubits)
      warnings.push_back("trajectories of " + std::to_string(n) + " qubits: the probabilities are not estimated (" +
                         std::to_string(kMaxTrajectoryProbabilityQubits) + " qubits at most); use --shots for counts");
    engine::TrajectoryOptions t;
    t.trajectories = o.trajectories.value_or(1000);
    t.seed = o.seed;
    t.probabilities = n <= kMaxTrajectoryProbabilityQubits;
    t.shots = o.shots && !r.measured->empty() ? *o.shots : 0;
    t.readout = readout;
    if (controlled && t.shots > 0) t.measurement = *r.measured;
    const engine::TrajectoryResult& tr = r.trajectories.emplace(engine::run_trajectories(compiled, nullptr, nullptr, sums, t));
    r.probabilities = tr.probabilities;
    r.probability_errors = tr.probability_errors;
    for (const engine::Estimate& e : tr.expectations) {
      r.expectations.push_back(e.mean);
      r.expectation_errors.push_back(e.standard_error);
    }
    r.qubit_counts = tr.counts;
    if (o.shots && !sums.empty())
      warnings.push_back("--shots with trajectories: no shot_estimates; the expectations carry their standard errors "
                         "(expectation_stderr)");
  } else if (r.method == "statevector") {
    engine::StateVector& psi = r.psi.emplace(n);
    engine::run(compiled, nullptr, nullptr, psi);
    r.probabilities = psi.probabilities();
    if (!readout.empty()) readout.apply(r.probabilities, n);
    for (const PauliSum& sum : sums) r.expectations.push_back(engine::expectation(psi, sum));
  } else {
    engine::require_memory(n, run_bytes(n), "the density matrix and the output");
    r.rho = std::make_unique<engine::DensityMatrix>(n);
    engine::run(compiled, nullptr, nullptr, *r.rho);
    r.probabilities = engine::probabilities_with_readout(*r.rho, model);
    for (const PauliSum& sum : sums)
      r.expectations.push_back(o.readout_in_expectations ? engine::expectation_with_readout(*r.rho, sum, readout)
                                                         : engine::expectation(*r.rho, sum));
  }
  if (o.shots && !r.trajectories) {
    std::mt19937_64 rng(o.seed);
    if (!r.measured->empty()) {
      if (o.memory) {
        r.memory = engine::sample_memory(r.probabilities, *o.shots, rng);
        for (const std::uint64_t x : r.memory) ++r.qubit_counts[x];
      } else {
        r.qubit_counts = engine::sample_counts(r.probabilities, *o.shots, rng);
      }
    }
    if (!sums.empty() && *o.shots < 2) {
      warnings.push_back("--shots " + std::to_string(*o.shots) +
                         ": no shot estimates (their standard errors need at least 2 shots)");
    } else {
      for (std::size_t i = 0; i < sums.size(); ++i) {
        std::vector<double> term_values;
        for (const auto& term : sums[i].terms) {
          term_values.push_back(r.psi ? engine::expectation(*r.psi, term.second)
                                : o.readout_in_expectations
                                    ? engine::expectation_with_readout(*r.rho, term.second, readout)
                                    : engine::expectation(*r.rho, term.second));
        }
        // One stream per observable, from (seed, index), as the kraus command.
        std::seed_seq seq{static_cast<std::uint32_t>(o.seed), static_cast<std::uint32_t>(o.seed >> 32),
                          static_cast<std::uint32_t>(i + 1)};
        std::mt19937_64 obs_rng(seq);
        r.shot_estimates.push_back(engine::estimate_with_shots(term_values, sums[i], *o.shots, obs_rng));
      }
    }
  }
  if (o.mitigate_readout) {
    r.readout = mitigation::mitigate_readout(r.probabilities, readout, n);
    for (std::size_t i = 0; i < sums.size(); ++i) {
      bool z_only = true;
      for (const auto& term : sums[i].terms) z_only = z_only && term.second.x_mask == 0;
      if (!z_only) {
        warnings.push_back("--mitigate-readout: \"" + labels[i] + "\" has X or Y factors; only Z strings are mitigated");
        r.readout_expectations.emplace_back();
        continue;
      }
      double value = 0.0;
      for (const auto& [c, p] : sums[i].terms) value += c * mitigation::z_expectation(r.readout->probabilities, p);
      r.readout_expectations.emplace_back(value);
    }
    if (!r.qubit_counts.empty()) {
      std::vector<double> frequencies(r.probabilities.size(), 0.0);
      for (const auto& [x, c] : r.qubit_counts)
        frequencies[x] = static_cast<double>(c) / static_cast<double>(*o.shots);
      const auto from_counts = mitigation::mitigate_readout(frequencies, readout, n);
      for (std::uint64_t x = 0; x < from_counts.probabilities.size(); ++x)
        if (from_counts.probabilities[x] != 0.0) r.readout_counts[r.measured->key(x)] += from_counts.probabilities[x];
    }
  }
}

template <class Map>
py::dict counts_dict(const Map& counts) {
  py::dict out;
  for (const auto& [key, count] : counts) out[py::str(key)] = count;
  return out;
}

std::uint64_t checked_count(long long v, long long low, long long high, const std::string& what) {
  if (v < low || v > high)
    fail("simulate", what + " must be in [" + std::to_string(low) + ", " + std::to_string(high) + "], got " +
                         std::to_string(v));
  return static_cast<std::uint64_t>(v);
}

py::dict simulate(const Circuit& written, const noise::NoiseModel* given, const py::object& observables,
                  const py::object& parameters, const std::string& method, const std::optional<long long>& shots,
                  long long seed, const std::optional<long long>& trajectories, bool readout_in_expectations,
                  bool density_matrix, bool memory, bool mitigate_readout, const py::object& basis, bool route,
                  long long route_seed) {
  SimulateOptions o;
  o.method = method;
  if (method != "auto" && method != "density-matrix" && method != "statevector" && method != "trajectories")
    fail("simulate", "method must be 'auto', 'density-matrix', 'statevector' or 'trajectories', got '" + method + "'");
  if (shots) o.shots = checked_count(*shots, 0, 1LL << 40, "shots");
  o.seed = checked_count(seed, 0, 1LL << 62, "seed");
  if (trajectories) {
    o.trajectories = checked_count(*trajectories, 2, 1LL << 40, "trajectories");
    if (method != "trajectories" && method != "auto")
      fail("simulate", "trajectories=N needs method='trajectories' (or 'auto')");
  }
  o.readout_in_expectations = readout_in_expectations;
  o.density_matrix = density_matrix;
  o.memory = memory;
  o.mitigate_readout = mitigate_readout;
  if (memory && !shots) fail("simulate", "memory=True needs shots");
  if (memory && *o.shots > engine::kMaxMemoryShots)
    fail("simulate", "memory lists at most " + std::to_string(engine::kMaxMemoryShots) + " shots");
  if (memory && method == "trajectories") fail("simulate", "method 'trajectories': memory is not supported yet");
  if (method == "statevector" || method == "trajectories") {
    if (density_matrix) fail("simulate", "method '" + method + "' has no density matrix to return");
    if (readout_in_expectations)
      fail("simulate", "method '" + method +
                           "': readout_in_expectations is not supported yet (readout errors act on the "
                           "probabilities and counts)");
  }
  const std::vector<double> theta = parameter_values(written, parameters, "simulate");
  const Circuit circuit = written.bind(theta.empty() ? nullptr : theta.data(), nullptr);
  const int n = circuit.num_qubits();
  if (circuit.has_conditions()) {
    if (method == "density-matrix" || method == "statevector")
      fail("simulate", "method '" + method + "': the circuit has classical control (if), which needs method "
                       "'trajectories' (or 'auto')");
    if (density_matrix || readout_in_expectations)
      fail("simulate", "the circuit has classical control (if), which needs trajectories: no density matrix");
    if (mitigate_readout)
      fail("simulate", "mitigate_readout=True is not supported yet for a circuit with classical control (if)");
  }
  // Basis translation and routing onto the device's coupling map, as the command.
  const std::optional<noise::NoiseModel> unfitted = resolved(given, n, "simulate");
  const noise::DeviceInfo* device = unfitted && unfitted->device ? &*unfitted->device : nullptr;
  engine::TranspileOptions transpile_options;
  if (!basis.is_none()) {
    if (py::isinstance<py::str>(basis) && basis.cast<std::string>() == "device") {
      if (!device || device->basis_gates.empty())
        fail("simulate", "basis='device': the noise model names no device basis gates");
      transpile_options.basis = device->basis_gates;
    } else {
      if (py::isinstance<py::str>(basis)) fail("simulate", "basis must be a list of gate names or 'device'");
      transpile_options.basis = basis.cast<std::vector<std::string>>();
    }
  }
  if (device && !device->coupling_map.empty())
    transpile_options.coupling = engine::CouplingMap{device->num_qubits, device->coupling_map};
  if (route && !transpile_options.coupling)
    fail("simulate", "route=True needs a coupling map: a noise model whose device block has a coupling_map");
  transpile_options.route = route;
  transpile_options.seed = checked_count(route_seed, 0, 1LL << 62, "route_seed");
  std::optional<engine::TranspileResult> translation;
  if (!transpile_options.basis.empty() || transpile_options.coupling) {
    std::string why;
    if (!transpile_options.IsValid(&why)) fail("simulate", why);
    py::gil_scoped_release release;
    translation = engine::transpile(circuit, transpile_options);
  }
  const Circuit& runs = translation ? translation->circuit : circuit;
  const std::vector<int> final_layout = translation ? translation->layout.final : identity_layout(n);
  const std::vector<int> physical = translation ? translation->layout.physical : identity_layout(n);

  std::vector<std::string> warnings;
  engine::NoiseCoverage coverage;
  const std::optional<noise::NoiseModel> model =
      fit_model(given, runs, &coverage, &warnings, "simulate", physical);
  const Observables obs = read_observables(observables, n, "simulate");
  std::vector<PauliSum> slot_sums;
  for (const PauliSum& sum : obs.sums) slot_sums.push_back(on_slots(sum, final_layout));
  const std::vector<std::uint64_t> perm = slot_permutation(final_layout);

  SimulateRun r;
  {
    py::gil_scoped_release release;
    run_simulation(runs, model ? &*model : nullptr, slot_sums, obs.labels, o, r, warnings);
  }

  py::dict out;
  out["num_qubits"] = n;
  py::dict m;
  m["name"] = r.method;
  m["reason"] = r.reason;
  out["method"] = m;
  if (r.trajectories) {
    py::dict t;
    t["count"] = r.trajectories->trajectories;
    t["seed"] = r.trajectories->seed;
    t["state_reads"] = r.trajectories->state_reads;
    t["channel_decisions"] = r.trajectories->channel_decisions;
    out["trajectories"] = t;
  } else if (r.rho) {
    out["trace"] = r.rho->trace();
    out["purity"] = r.rho->purity();
  } else {
    out["trace"] = r.psi->squared_norm();
    out["purity"] = 1.0;
  }
  if (!r.probabilities.empty()) out["probabilities"] = to_array(in_program_order(r.probabilities, perm));
  if (!r.probability_errors.empty())
    out["probability_stderr"] = to_array(in_program_order(r.probability_errors, perm));
  py::dict expectations, stderrs;
  for (std::size_t i = 0; i < obs.labels.size(); ++i) {
    expectations[py::str(obs.labels[i])] = r.expectations[i];
    if (r.trajectories) stderrs[py::str(obs.labels[i])] = r.expectation_errors[i];
  }
  out["expectations"] = expectations;
  if (r.trajectories) out["expectation_stderr"] = stderrs;
  if (o.shots) {
    out["shots"] = *o.shots;
    out["seed"] = o.seed;
    if (!r.measured->empty()) {
      out["counts"] = r.trajectories && !r.trajectories->clbit_counts.empty()
                          ? counts_dict(r.trajectories->clbit_counts)
                          : counts_dict(engine::clbit_counts(r.qubit_counts, *r.measured));
      if (o.memory) {
        py::list keys;
        for (const std::uint64_t x : r.memory) keys.append(r.measured->key(x));
        out["memory"] = keys;
      }
    }
    if (!r.shot_estimates.empty()) {
      py::dict estimates;
      for (std::size_t i = 0; i < obs.labels.size(); ++i) {
        py::dict e;
        e["value"] = r.shot_estimates[i].value;
        e["stderr"] = r.shot_estimates[i].standard_error;
        e["shots"] = r.shot_estimates[i].shots;
        estimates[py::str(obs.labels[i])] = e;
      }
      out["shot_estimates"] = estimates;
    }
  }
  if (r.readout) {
    py::dict block;
    const bool least_squares = r.readout->method == mitigation::ReadoutMitigationMethod::kConstrainedLeastSquares;
    block["method"] = least_squares ? "constrained-least-squares" : "tensored-inverse";
    if (least_squares) {
      block["residual"] = r.readout->residual;
      block["iterations"] = r.readout->iterations;
    }
    block["probabilities"] = to_array(in_program_order(r.readout->probabilities, perm));
    py::dict values;
    for (std::size_t i = 0; i < obs.labels.size(); ++i)
      if (r.readout_expectations[i]) values[py::str(obs.labels[i])] = *r.readout_expectations[i];
    block["expectations"] = values;
    if (!r.qubit_counts.empty()) block["counts"] = counts_dict(r.readout_counts);
    out["readout_mitigated"] = block;
  }
  if (model) out["noise_coverage"] = coverage_dict(coverage);
  if (translation) {
    py::dict counts;
    counts["before"] = translation->gate_counts_before;
    counts["after"] = translation->gate_counts_after;
    out["gate_counts"] = counts;
    if (transpile_options.coupling) {
      const engine::Layout& l = translation->layout;
      py::dict layout;
      layout["physical"] = l.physical;
      layout["initial"] = l.initial;
      layout["final"] = l.final;
      layout["swaps"] = l.swaps;
      layout["route_seed"] = transpile_options.seed;
      out["layout"] = layout;
    }
  }
  out["warnings"] = warnings;
  if (density_matrix) {
    if (!perm.empty()) fail("simulate", "density_matrix=True: routing permuted the qubits; not supported yet");
    out["density_matrix"] = py::cast(std::move(r.rho));
  }
  return out;
}

py::dict zne_dict(const mitigation::ZneResult& z) {
  py::dict m;
  m["value"] = z.value;
  m["stderr"] = z.standard_error ? py::object(py::float_(*z.standard_error)) : py::object(py::none());
  m["scale_factors"] = to_array(z.scale_factors);
  m["realized_scale_factors"] = to_array(z.realized_scale_factors);
  m["noisy_values"] = to_array(z.noisy_values);
  m["fit_parameters"] = to_array(z.fit_parameters);
  if (!z.weights.empty()) m["weights"] = to_array(z.weights);
  m["extrapolator"] = z.extrapolator;
  m["method"] = z.method;
  m["warnings"] = z.warnings;
  return m;
}

py::object zne(const Circuit& written, const py::object& observables, const noise::NoiseModel* given,
               const py::object& parameters, const std::vector<double>& scale_factors, const std::string& scaling,
               const std::string& extrapolator, long long seed) {
  mitigation::ZneOptions options;
  options.scale_factors = scale_factors;
  options.method = mitigation::parse_scaling_method(scaling, &options.layer);
  options.extrapolator = mitigation::ExtrapolatorSpec::parse(extrapolator);
  if (seed < 0) fail("zne", "seed must be >= 0");
  options.seed = static_cast<std::uint64_t>(seed);
  std::string why;
  if (!options.IsValid(&why)) fail("zne", why);
  const std::vector<double> theta = parameter_values(written, parameters, "zne");
  const Circuit circuit = written.bind(theta.empty() ? nullptr : theta.data(), nullptr);
  if (circuit.has_conditions())
    fail("zne", "zero-noise extrapolation needs the density matrix, but the circuit has classical control (if)");
  std::vector<std::string> warnings;
  engine::NoiseCoverage coverage;
  const std::optional<noise::NoiseModel> model = fit_model(given, circuit, &coverage, &warnings, "zne");
  const Observables obs = read_observables(observables, circuit.num_qubits(), "zne");
  if (obs.sums.empty()) fail("zne", "needs at least one observable");
  if (options.method == mitigation::ScalingMethod::kScaleNoise) {
    if (!model) fail("zne", "scaling 'scale-noise' needs a noise model (noise=...)");
  } else {
    mitigation::check_foldable(circuit);
  }
  std::vector<mitigation::ZneResult> results;
  {
    py::gil_scoped_release release;
    engine::require_memory(circuit.num_qubits(), run_bytes(circuit.num_qubits()), "the density matrix");
    engine::DensityMatrix workspace(circuit.num_qubits());
    results = mitigation::mitigate(circuit, model ? &*model : nullptr, obs.sums, options, &workspace);
  }
  if (obs.single) {
    py::dict d = zne_dict(results[0]);
    py::list w(py::cast(warnings));
    for (const auto& x : results[0].warnings) w.append(x);
    d["warnings"] = w;
    return std::move(d);
  }
  py::dict out;
  for (std::size_t i = 0; i < results.size(); ++i) {
    py::dict d = zne_dict(results[i]);
    py::list w(py::cast(warnings));
    for (const auto& x : results[i].warnings) w.append(x);
    d["warnings"] = w;
    out[py::str(obs.labels[i])] = d;
  }
  return std::move(out);
}

py::dict gradient(const Circuit& circuit, const py::object& observables, const py::object& parameters,
                  const noise::NoiseModel* given, const std::string& method, const std::optional<double>& step,
                  const std::optional<long long>& trajectories, const std::optional<long long>& seed) {
  optim::GradientOptions options;
  if (method == "adjoint") options.method = optim::GradientMethod::kAdjoint;
  else if (method == "parameter-shift") options.method = optim::GradientMethod::kParameterShift;
  else if (method == "finite-difference") options.method = optim::GradientMethod::kFiniteDifference;
  else fail("gradient", "method must be 'adjoint', 'parameter-shift' or 'finite-difference', got '" + method + "'");
  if (step) {
    if (options.method != optim::GradientMethod::kFiniteDifference)
      fail("gradient", "step is for method='finite-difference' only");
    if (!(*step > 0 && *step < 1)) fail("gradient", "step must be in (0, 1)");
    options.finite_difference_step = *step;
  }
  if (trajectories && options.method != optim::GradientMethod::kAdjoint)
    fail("gradient", "trajectories=N estimates the adjoint gradient; method '" + method + "' runs on the density matrix");
  if (trajectories && (*trajectories < 2 || *trajectories > (1LL << 40)))
    fail("gradient", "trajectories must be in [2, 2^40], got " + std::to_string(*trajectories));
  if (seed && !trajectories) fail("gradient", "seed needs trajectories=N");
  if (seed && (*seed < 0 || *seed > (1LL << 62))) fail("gradient", "seed must be in [0, 2^62]");
  if (circuit.has_conditions())
    fail("gradient", "classical control (if) needs the trajectory method; kraus.gradient runs on the density matrix");
  const int n = circuit.num_qubits();
  const std::vector<double> theta = parameter_values(circuit, parameters, "gradient");
  std::vector<std::string> warnings;
  engine::NoiseCoverage coverage;
  const std::optional<noise::NoiseModel> model = fit_model(given, circuit, &coverage, &warnings, "gradient");
  Observables obs = read_observables(observables, n, "gradient");
  if (obs.sums.empty()) fail("gradient", "needs at least one observable");
  const std::size_t m = obs.sums.size(), p = theta.size();
  std::vector<double> values(m), jacobian(m * p);
  std::vector<double> value_errors, jacobian_errors;
  std::optional<engine::TrajectoryGradientResult> tr;
  std::int64_t evaluations = 0;
  if (trajectories) {
    py::gil_scoped_release release;
    const engine::Program program = engine::compile(circuit, model ? &*model : nullptr);
    engine::TrajectoryOptions t;
    t.trajectories = static_cast<std::uint64_t>(*trajectories);
    t.seed = static_cast<std::uint64_t>(seed.value_or(1));
    tr.emplace(engine::trajectory_gradient(program, theta.empty() ? nullptr : theta.data(), nullptr, obs.sums, t));
    for (std::size_t i = 0; i < m; ++i) {
      values[i] = tr->values[i].mean;
      value_errors.push_back(tr->values[i].standard_error);
    }
    for (std::size_t i = 0; i < m * p; ++i) {
      jacobian[i] = tr->jacobian[i].mean;
      jacobian_errors.push_back(tr->jacobian[i].standard_error);
    }
  } else {
    py::gil_scoped_release release;
    const optim::CircuitFunction f(circuit, obs.sums, model ? &*model : nullptr, options);
    if (p == 0) f.evaluate(nullptr, nullptr, values.data());
    else f.jacobian(theta.data(), nullptr, values.data(), jacobian.data());
    evaluations = f.circuit_evaluations();
  }
  py::dict out;
  out["num_qubits"] = n;
  out["method"] = method;
  if (options.method == optim::GradientMethod::kFiniteDifference) out["step"] = options.finite_difference_step;
  py::dict params;
  for (std::size_t i = 0; i < p; ++i) params[py::str(circuit.parameter_names()[i])] = theta[i];
  out["parameters"] = params;
  const auto matrix = [&](const std::vector<double>& v) {
    py::array_t<double> a({static_cast<py::ssize_t>(m), static_cast<py::ssize_t>(p)});
    std::copy(v.begin(), v.end(), a.mutable_data());
    return a;
  };
  if (obs.single) {
    out["value"] = values[0];
    out["gradient"] = to_array(jacobian);
    if (tr) {
      out["value_stderr"] = value_errors[0];
      out["gradient_stderr"] = to_array(jacobian_errors);
    }
  } else {
    out["value"] = to_array(values);
    out["gradient"] = matrix(jacobian);
    if (tr) {
      out["value_stderr"] = to_array(value_errors);
      out["gradient_stderr"] = matrix(jacobian_errors);
    }
  }
  if (tr) {
    py::dict t;
    t["count"] = tr->trajectories;
    t["seed"] = tr->seed;
    t["state_reads"] = tr->state_reads;
    t["channel_decisions"] = tr->channel_decisions;
    t["saved_states"] = tr->saved_states;
    out["trajectories"] = t;
  } else {
    out["circuit_evaluations"] = evaluations;
  }
  if (model) out["noise_coverage"] = coverage_dict(coverage);
  out["warnings"] = warnings;
  return out;
}

}  // namespace

void bind_run(py::module_& m) {
  m.def("simulate", &simulate, py::arg("circuit"), py::arg("noise") = nullptr, py::kw_only(),
        py::arg("observables") = py::none(), py::arg("parameters") = py::none(), py::arg("method") = "auto",
        py::arg("shots") = py::none(), py::arg("seed") = 1, py::arg("trajectories") = py::none(),
        py::arg("readout_in_expectations") = false, py::arg("density_matrix") = false, py::arg("memory") = false,
        py::arg("mitigate_readout") = false,
        py::arg("basis") = py::none(),
        py::arg("route") = false, py::arg("route_seed") = 1,
        R"doc(
Runs `circuit` from |0...0> under the noise model `noise` (None: noiseless) as `kraus simulate`
does, and returns a dict with the keys and values of its JSON (no provenance; numbers as numpy
arrays where the JSON has lists of numbers):

  num_qubits, method {name, reason}, trace and purity (not for trajectories), probabilities (2^n,
  bit k of the index is qubit k, readout errors included; trajectories: means, with
  probability_stderr), expectations {observable: value} (trajectories: with expectation_stderr),
  trajectories {count, seed, state_reads, channel_decisions}, shots, seed, counts (keyed by
  classical bits as Qiskit Aer), memory (memory=True: every shot's key in order), shot_estimates {observable: {value, stderr, shots}},
  noise_coverage {gate: {instances, with_noise}}, warnings, and with density_matrix=True the final
  DensityMatrix.

observables: a Pauli sum ("0.5*Z0 Z1 - X2") or a list of them. parameters: {name: value} (or a
sequence in declaration order) for a circuit with `input float[64]` parameters. method: "auto"
(the state vector when noiseless, the density matrix for noisy circuits up to 12 qubits,
trajectories beyond and for classical control), "density-matrix", "statevector" (noiseless
circuits), "trajectories" (trajectories=N, default 1000). shots: sample N shots (seed: the sampler's
and the trajectories' seed, default 1; same seed, same counts as the command). basis: translate into
these gates (a list, or "device": the model's device basis); a device model with a coupling map
checks every 2-qubit gate against it (route=True inserts SWAPs, SABRE seeded by route_seed), and
the dict then has gate_counts {before, after} and layout {physical, initial, final, swaps,
route_seed}. mitigate_readout=True undoes the model's readout errors (tensored inverse, or constrained
least squares for correlated ones) and adds readout_mitigated {method, probabilities, expectations
(Z strings), counts}.)doc");

  m.def("zne", &zne, py::arg("circuit"), py::arg("observables"), py::arg("noise") = nullptr, py::kw_only(),
        py::arg("parameters") = py::none(), py::arg("scale_factors") = std::vector<double>{1.0, 2.0, 3.0},
        py::arg("scaling") = "fold-global", py::arg("extrapolator") = "richardson", py::arg("seed") = 1,
        R"doc(
Zero-noise extrapolation (kraus/mitigation/zne.hpp, docs/zne.md) of the exact density-matrix
expectations of `observables` after `circuit` under `noise`, as `kraus simulate --zne-*` computes
its "mitigated" block. scaling: fold-global (default), fold-random, fold-all, fold-layer:L,
identity, scale-noise (scales the model's strengths); extrapolator: linear, richardson (default),
poly:K, exp, exp:ASYMPTOTE, polyexp:K, adaexp:STEPS; seed: random folding's seed.

Returns for one observable (a str) a dict {value, stderr (None without a fit error), scale_factors,
realized_scale_factors, noisy_values, fit_parameters (numpy arrays), weights (linear
extrapolators: value = weights . noisy_values), extrapolator, method, warnings}; for a list, {observable: such a dict}.)doc");

  m.def("gradient", &gradient, py::arg("circuit"), py::arg("observables"), py::arg("parameters") = py::none(),
        py::arg("noise") = nullptr, py::kw_only(), py::arg("method") = "adjoint", py::arg("step") = py::none(),
        py::arg("trajectories") = py::none(), py::arg("seed") = py::none(),
        R"doc(
The exact expectation value(s) Tr(O rho(theta)) after a parametrised circuit (OpenQASM with
`input float[64] theta;`) under an optional noise model, and their derivatives by every parameter
(optim::CircuitFunction, as `kraus gradient`). parameters: {name: value} or a sequence in
declaration order. method: "adjoint" (default), "parameter-shift", "finite-difference" (step,
default 1e-5). trajectories=N (N >= 2, adjoint only; seed, default 1): unbiased estimates from N
quantum trajectories instead of the exact density matrix, as `kraus gradient --trajectories`.

Returns a dict: num_qubits, method, step (finite differences), parameters {name: value}, value
(a float for one observable given as a str, else a numpy array), gradient (numpy: one row per
observable, in the parameters' declaration order; 1-D for one observable), circuit_evaluations
(trajectories: value_stderr, gradient_stderr and trajectories {count, seed, state_reads,
channel_decisions, saved_states} instead), noise_coverage (with a model), warnings.)doc");
}

}  // namespace kraus::python
