// `kraus simulate`: an OpenQASM 2 circuit, optionally translated to a basis and routed onto a
// device, under a noise model, on one density matrix; one JSON object on stdout. Under MPI the
// trajectories are spread over the ranks and rank 0 prints.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <tuple>
#include <utility>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common.hpp"
#include "inputs.hpp"
#include "kraus/dist/dist.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/measurement.hpp"
#include "kraus/engine/observables.hpp"
#include "kraus/engine/sampling.hpp"
#include "kraus/engine/simulator.hpp"
#include "kraus/engine/state_vector.hpp"
#include "kraus/engine/trajectories.hpp"
#include "kraus/engine/transpile.hpp"
#include "kraus/mitigation/noise_scaling.hpp"
#include "kraus/mitigation/readout_mitigation.hpp"
#include "kraus/mitigation/zne.hpp"
#include "kraus/noise/noise_model.hpp"
#include "kraus/noise/text.hpp"

namespace kraus::cli {

const char* const kSimulateUsage =
    "usage: kraus simulate CIRCUIT.qasm [--parameters VALUES.json] [--noise MODEL.json]\n"
    "                      [--observable EXPR]... [--hamiltonian FILE]...\n"
    "                      [--shots N] [--seed S] [--memory] [--readout-in-expectations] [--mitigate-readout]\n"
    "                      [--basis LIST|device] [--route] [--route-seed S]\n"
    "                      [--method auto|density-matrix|statevector|trajectories] [--trajectories N]\n"
    "                      [--density-matrix] [--threads T] [--no-fusion]\n"
    "                      [--zne-scales 1,2,3] [--zne-method M] [--zne-extrapolator E] [--zne-seed S]\n"
    "\n"
    "Runs the circuit on a density matrix (exact), a state vector (exact, noiseless circuits) or as\n"
    "quantum trajectories (Monte-Carlo, noisy circuits beyond the density matrix; docs/trajectories.md)\n"
    "and prints one JSON object:\n"
    "  method (name, and why auto chose it), trajectories (count, seed, state_reads,\n"
    "  channel_decisions; trajectories only),\n"
    "  num_qubits, trace and purity (not for trajectories), probabilities (2^n numbers; bit k of the\n"
    "  index is program qubit k; readout error included when the model has one; trajectories: their\n"
    "  means, with probability_stderr, up to 20 qubits), expectations (keyed by the observable as given;\n"
    "  exact, or trajectory means with expectation_stderr; readout error only with\n"
    "  --readout-in-expectations), counts and memory (with --shots;\n"
    "  keyed by classical bits as Qiskit Aer does: registers in declaration order, the last one\n"
    "  leftmost, separated by a space, bit 0 rightmost; readout error included; a circuit without a\n"
    "  measurement has no counts; with classical control (if), a bit written mid-circuit or read by a\n"
    "  condition holds its trajectory's sampled outcome), shot_estimates (with --shots N >= 2 and\n"
    "  observables: value, stderr, shots), readout_mitigated (with --mitigate-readout),\n"
    "  noise_coverage (per gate name: instances, with_noise), gate_counts (before/after --basis or\n"
    "  routing), layout (with a coupling map),\n"
    "  warnings (also on stderr), provenance (version, git_revision, git_modified, arguments),\n"
    "  density_matrix (with --density-matrix: real and imag, [row][column]).\n"
    "\n"
    "options:\n"
    "  --parameters FILE      values of the circuit's input parameters (`input float[64] theta;`), a\n"
    "                         JSON object {\"theta\": 0.5}: required when the circuit has parameters\n"
    "  --noise MODEL.json     noise model: kraus' format or a Qiskit Aer NoiseModel.to_dict() file\n"
    "                         (docs/noise-model.md); a model written for a larger device is fitted to\n"
    "                         the circuit's qubits (docs/devices.md); default: noiseless\n"
    "  --observable EXPR      a weighted Pauli sum, e.g. \"X0 Z2\" or \"0.5*Z0 Z1 - 0.2*X0\" (factors\n"
    "                         <P><qubit>, P in I X Y Z; \"I\" is the identity); repeatable\n"
    "  --hamiltonian FILE     a Pauli sum from a JSON file {\"terms\": [{\"coefficient\": c, \"pauli\": \"Z0 Z1\"}]}\n"
    "                         (docs/observables.md); keyed by the file name; repeatable\n"
    "  --shots N              sample N measurement shots (0 <= N <= 2^40); trajectories spread them\n"
    "                         over the trajectories in order, each drawn from its trajectory's state\n"
    "  --seed S               seed of the shot sampler and of the trajectories (default 1); same\n"
    "                         seed, same counts and estimates, for any number of threads\n"
    "  --memory               also list every shot's outcome in order (N <= 1000000)\n"
    "  --readout-in-expectations\n"
    "                         expectations (and shot estimates) from the noisy measured distribution\n"
    "  --mitigate-readout     undo the model's readout errors: tensored inverse of per-qubit confusion\n"
    "                         matrices, or constrained least squares for correlated ones\n"
    "  --basis LIST|device    translate every gate into these gates (e.g. id,rz,sx,x,cx or u1,u2,u3,cx or\n"
    "                         rz,sx,x,ecr), or the noise model's device basis (docs/transpile.md)\n"
    "  --route                insert SWAPs (SABRE) where the device's coupling map lacks a pair;\n"
    "                         without it such a gate is an error\n"
    "  --route-seed S         seed of SABRE's random layouts (default 1)\n"
    "  --density-matrix       include the final density matrix (program qubit order)\n"
    "  --method M             auto (default): the state vector for a noiseless circuit, the density\n"
    "                         matrix for a noisy one up to 12 qubits when it fits in half the free\n"
    "                         memory, trajectories beyond and for classical control (if); or\n"
    "                         density-matrix, statevector (noiseless circuits only), trajectories\n"
    "  --trajectories N       trajectories of --method trajectories (2 <= N <= 2^40, default 1000);\n"
    "                         standard errors shrink as 1/sqrt(N)\n"
    "  --threads T            OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
    "  --no-fusion            run the compiled program call by call: no operator fusion and no cache\n"
    "                         blocking (for comparison; the results agree to rounding, 1e-12)\n"
    "\n"
    "zero-noise extrapolation (any --zne-* option turns it on; needs --observable; docs/zne.md):\n"
    "  --zne-scales LIST      scale factors >= 1, comma-separated (default 1,2,3)\n"
    "  --zne-method M         fold-global (default), fold-random, fold-all, fold-layer:L, identity,\n"
    "                         scale-noise (scales the noise model's strengths; needs --noise)\n"
    "  --zne-extrapolator E   linear, richardson (default), poly:K, exp, exp:ASYMPTOTE, polyexp:K,\n"
    "                         adaexp:STEPS\n"
    "  --zne-seed S           seed of random folding (default 1)\n"
    "  The JSON gains \"mitigated\": {observable: {value, stderr, scale_factors,\n"
    "  realized_scale_factors, noisy_values, fit_parameters, extrapolator}}.\n";

namespace {

using json = nlohmann::ordered_json;
using kraus::engine::in_program_order;
using kraus::engine::on_slots;
using kraus::engine::slot_permutation;
using kraus::noise::printable;

struct Options {
  std::optional<std::string> circuit_path, noise_path, basis, parameters_path;
  std::vector<std::string> observables, hamiltonians;
  std::optional<long long> shots;
  long long seed = 1, route_seed = 1;
  bool memory = false, readout_in_expectations = false, mitigate_readout = false, route = false;
  bool with_density_matrix = false, zne_on = false, no_fusion = false;
  std::optional<int> threads;
  std::string method = "auto";
  std::optional<long long> trajectories;
  kraus::mitigation::ZneOptions zne;
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
    if (arg == "--density-matrix") {
      o.with_density_matrix = true;
    } else if (arg == "--memory") {
      o.memory = true;
    } else if (arg == "--parameters") {
      o.parameters_path = option_value(argc, argv, i, "simulate");
    } else if (arg == "--no-fusion") {
      o.no_fusion = true;
    } else if (arg == "--readout-in-expectations") {
      o.readout_in_expectations = true;
    } else if (arg == "--mitigate-readout") {
      o.mitigate_readout = true;
    } else if (arg == "--route") {
      o.route = true;
    } else if (arg == "--noise") {
      o.noise_path = option_value(argc, argv, i, "simulate");
    } else if (arg == "--basis") {
      o.basis = option_value(argc, argv, i, "simulate");
    } else if (arg == "--observable") {
      o.observables.push_back(option_value(argc, argv, i, "simulate"));
    } else if (arg == "--hamiltonian") {
      o.hamiltonians.push_back(option_value(argc, argv, i, "simulate"));
    } else if (arg == "--shots") {
      o.shots = parse_integer(arg, option_value(argc, argv, i, "simulate"), 0, 1LL << 40);
    } else if (arg == "--seed") {
      o.seed = parse_integer(arg, option_value(argc, argv, i, "simulate"), 0, 1LL << 62);
    } else if (arg == "--route-seed") {
      o.route_seed = parse_integer(arg, option_value(argc, argv, i, "simulate"), 0, 1LL << 62);
    } else if (arg == "--method") {
      o.method = option_value(argc, argv, i, "simulate");
      if (o.method != "auto" && o.method != "density-matrix" && o.method != "statevector" && o.method != "trajectories") {
        throw UsageError("--method must be auto, density-matrix, statevector or trajectories, got '" + printable(o.method) + "'");
      }
    } else if (arg == "--trajectories") {
      o.trajectories = parse_integer(arg, option_value(argc, argv, i, "simulate"), 2, 1LL << 40);
    } else if (arg == "--threads") {
      o.threads = static_cast<int>(parse_integer(arg, option_value(argc, argv, i, "simulate"), 1, 1024));
    } else if (arg == "--zne-scales" || arg == "--zne-method" || arg == "--zne-extrapolator" || arg == "--zne-seed") {
      const char* value = option_value(argc, argv, i, "simulate");
      o.zne_on = true;
      try {
        if (arg == "--zne-scales") o.zne.scale_factors = kraus::mitigation::parse_scale_factors(value);
        else if (arg == "--zne-method") o.zne.method = kraus::mitigation::parse_scaling_method(value, &o.zne.layer);
        else if (arg == "--zne-extrapolator") o.zne.extrapolator = kraus::mitigation::ExtrapolatorSpec::parse(value);
        else o.zne.seed = static_cast<std::uint64_t>(parse_integer(arg, value, 0, 1LL << 62));
      } catch (const std::invalid_argument& e) {
        throw UsageError(arg + ": " + printable(e.what()));
      }
    } else if (arg.rfind("--", 0) == 0) {
      throw UsageError("unknown option '" + printable(arg) + "' (see kraus simulate --help)");
    } else if (!o.circuit_path) {
      o.circuit_path = arg;
    } else {
      throw UsageError("unexpected argument '" + printable(arg) + "': one circuit file only");
    }
  }
  if (!o.circuit_path) throw UsageError("missing the circuit file (see kraus simulate --help)");
  if (o.memory && !o.shots) throw UsageError("--memory needs --shots");
  if (o.memory && *o.shots > static_cast<long long>(kraus::engine::kMaxMemoryShots)) {
    throw UsageError("--memory lists at most " + std::to_string(kraus::engine::kMaxMemoryShots) + " shots");
  }
  if (o.trajectories && o.method != "trajectories" && o.method != "auto") {
    throw UsageError("--trajectories needs --method trajectories (or auto)");
  }
  if (o.method == "statevector" || o.method == "trajectories") {
    const std::string m = "--method " + o.method;
    if (o.with_density_matrix) throw UsageError(m + " has no density matrix to print (--density-matrix)");
    if (o.zne_on) throw UsageError(m + ": zero-noise extrapolation runs on the density matrix only (not yet here)");
    if (o.readout_in_expectations) {
      throw UsageError(m + ": --readout-in-expectations is not supported yet (readout errors act on the probabilities and counts)");
    }
    if (o.method == "trajectories" && o.memory) throw UsageError(m + ": --memory is not supported yet");
  }
  if (o.zne_on && o.readout_in_expectations) {
    throw UsageError("--readout-in-expectations cannot be combined with zero-noise extrapolation yet");
  }
  return o;
}

// Memory of a run on n qubits: the density matrix, plus under 512 bytes per basis state for the
// probabilities, the counts, readout mitigation and one printed row of the density matrix (it is
// streamed).
std::uint64_t run_bytes(int n) {
  const std::uint64_t state = kraus::engine::density_matrix_bytes(n);
  const std::uint64_t output = std::uint64_t{512} << n;
  return state > UINT64_MAX - output ? UINT64_MAX : state + output;
}

// Memory of a state-vector or trajectory run on n qubits: a state per thread and one more, plus 64
// bytes per basis state for the probabilities, their errors and readout mitigation.
std::uint64_t vector_run_bytes(int n) {
  const std::uint64_t states = static_cast<std::uint64_t>(kraus::engine::num_threads() + 1);
  const std::uint64_t state = kraus::engine::state_vector_bytes(n);
  if (n > 50 || state > UINT64_MAX / (states + 4)) return UINT64_MAX;
  return state * (states + 4);
}

// Trajectories print their probabilities up to this many qubits (16 MiB of numbers).
constexpr int kMaxPrintedTrajectoryQubits = 20;
// --method auto takes the density matrix for noisy circuits up to this many qubits (256 MiB).
constexpr int kAutoDensityMatrixQubits = 12;

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  for (const char c : text + ",") {
    if (c != ',') {
      item += c;
      continue;
    }
    if (item.empty()) throw UsageError("--basis '" + printable(text) + "': empty gate name");
    out.push_back(item);
    item.clear();
  }
  return out;
}


// `text` with `indent` spaces after every newline.
std::string indented(const std::string& text, const std::string& indent) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (const char c : text) {
    out += c;
    if (c == '\n') out += indent;
  }
  return out;
}

// Writes head + {"density_matrix": {"real": rows, "imag": rows}} + tail exactly as
// json::dump(2) of the whole object would, one row at a time (the whole JSON document of a 12-qubit
// density matrix takes about ten times the state's memory). Element (r, c) is m(perm[r], perm[c])
// (program order; perm empty: the identity).
void write_with_density_matrix(const json& head, const arma::cx_mat& m, const std::vector<std::uint64_t>& perm,
                               const json& tail) {
  std::string text = head.dump(2);
  text.resize(text.size() - 2);  // the closing "\n}"
  write_out(text + ",\n  \"density_matrix\": {\n");
  const auto at = [&](arma::uword i) { return perm.empty() ? i : static_cast<arma::uword>(perm[i]); };
  json row = json::array();
  for (const bool imaginary : {false, true}) {
    write_out(imaginary ? "    \"imag\": [\n" : "    \"real\": [\n");
    for (arma::uword r = 0; r < m.n_rows; ++r) {
      row.clear();
      for (arma::uword c = 0; c < m.n_cols; ++c) {
        const auto v = m(at(r), at(c));
        row.push_back(imaginary ? v.imag() : v.real());
      }
      write_out("      " + indented(row.dump(2), "      ") + (r + 1 < m.n_rows ? ",\n" : "\n"));
    }
    write_out(imaginary ? "    ]\n  }" : "    ],\n");
  }
  // dump(2) of {"mitigated": ...} is "{\n  \"mitigated\": ...\n}": everything after its "{".
  write_out(tail.empty() ? std::string("\n}\n") : "," + tail.dump(2).substr(1) + "\n");
}

json counts_map_json(const std::map<std::string, std::uint64_t>& counts) {
  json out = json::object();
  for (const auto& [key, count] : counts) out[key] = count;
  return out;
}

bool z_only(const kraus::engine::PauliSum& sum) {
  return std::all_of(sum.terms.begin(), sum.terms.end(), [](const auto& t) { return t.second.x_mask == 0; });
}

// What a run computed. Probabilities and the density matrix are in the simulated register's order
// (slots); `perm` maps them to program order.
struct SimulateResult {
  int num_qubits = 0;
  std::string method, method_reason;  // the method that ran, and why (--method auto)
  std::vector<Observable> observables;
  std::optional<kraus::engine::NoiseCoverage> coverage;
  std::optional<kraus::engine::TranspileResult> translation;
  bool routed = false;  // the model has a coupling map: the output has the layout
  std::vector<kraus::mitigation::ZneResult> zne;  // with zero-noise extrapolation, one per observable
  std::optional<kraus::engine::DensityMatrix> rho;
  std::optional<kraus::engine::StateVector> psi;
  std::optional<kraus::engine::TrajectoryResult> trajectories;
  std::vector<std::uint64_t> perm;
  std::vector<double> probabilities, probability_errors;  // errors: trajectories
  std::vector<double> expectations, expectation_errors;    // one per observable; errors: trajectories
  // With --shots: which qubits are read into which classical bits; the outcomes in order (--memory)
  // and their tally; the shot estimates (one per observable, or none).
  std::optional<kraus::engine::MeasurementMap> measured;
  std::vector<std::uint64_t> memory;
  std::map<std::uint64_t, std::uint64_t> qubit_counts;
  std::vector<kraus::engine::ShotEstimate> shot_estimates;
  // With --mitigate-readout: the mitigated distribution, each observable's mitigated value (none
  // with X or Y factors), and the mitigated counts by classical-bit key (when there are counts).
  std::optional<kraus::mitigation::ReadoutMitigationResult> readout;
  std::vector<std::optional<double>> readout_expectations;
  std::map<std::string, double> readout_counts;
  std::vector<std::string> warnings;
};

std::string gib(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

// The method of a run, and why: --method as given, or auto's choice.
std::pair<std::string, std::string> choose_method(const Options& o, const kraus::engine::Program& program, int n) {
  const bool noiseless = kraus::engine::is_noiseless(program);
  if (o.method == "statevector" && !noiseless) {
    throw UsageError("--method statevector: the circuit has noise, mid-circuit measurements or resets; use --method "
                     "trajectories or density-matrix");
  }
  if (o.method != "auto") return {o.method, "requested with --method"};
  if (program.has_conditions()) {  // run() refused every option that needs another method
    return {"trajectories", "the circuit has classical control (if): only trajectories sample the mid-circuit "
                            "measurements its conditions read"};
  }
  const char* needs = o.with_density_matrix ? "--density-matrix" : o.zne_on ? "zero-noise extrapolation"
                      : o.readout_in_expectations ? "--readout-in-expectations" : nullptr;
  if (needs) return {"density-matrix", std::string(needs) + " needs the density matrix"};
  if (noiseless) return {"statevector", "the circuit has no noise, mid-circuit measurement or reset: the state vector is exact"};
  const std::uint64_t available = kraus::engine::available_memory_bytes();
  const std::string size = gib(run_bytes(n));
  if (n <= kAutoDensityMatrixQubits && (available == 0 || run_bytes(n) <= available / 2)) {
    return {"density-matrix", "a noisy circuit of " + std::to_string(n) + " qubits: the exact density matrix (" + size +
                                  ") fits in half the free memory"};
  }
  return {"trajectories", "a noisy circuit of " + std::to_string(n) + " qubits: the density matrix (" + size +
                              ") is beyond " + std::to_string(kAutoDensityMatrixQubits) +
                              " qubits or half the free memory"};
}

// TrajectoryBlocks as bytes, for the ranks' trajectories to reach rank 0 (all ranks share one
// machine architecture): the values' bytes as they are, so the blocks combine exactly as if one
// process had run them.
class BlockWriter {
 public:
  void add(const kraus::engine::TrajectoryBlock& b) {
    put(b.trajectories);
    put(b.mean.size());
    for (std::size_t q = 0; q < b.mean.size(); ++q) {
      put(b.mean[q]);
      put(b.m2[q]);
    }
    put(b.counts.size());
    for (const auto& [outcome, count] : b.counts) {
      put(outcome);
      put(count);
    }
    put(b.clbit_counts.size());
    for (const auto& [key, count] : b.clbit_counts) {
      put(key.size());
      bytes_ += key;
      put(count);
    }
    put(b.state_reads);
    put(b.channel_decisions);
  }
  const std::string& bytes() const { return bytes_; }

 private:
  template <class T>
  void put(T v) {
    bytes_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  std::string bytes_;
};

class BlockReader {
 public:
  explicit BlockReader(const std::string& bytes) : bytes_(bytes) {}
  bool done() const { return at_ == bytes_.size(); }
  kraus::engine::TrajectoryBlock next() {
    kraus::engine::TrajectoryBlock b;
    b.trajectories = get<std::uint64_t>();
    b.mean.resize(get<std::size_t>());
    b.m2.resize(b.mean.size());
    for (std::size_t q = 0; q < b.mean.size(); ++q) {
      b.mean[q] = get<double>();
      b.m2[q] = get<double>();
    }
    for (std::size_t i = get<std::size_t>(); i > 0; --i) {
      const auto outcome = get<std::uint64_t>();
      b.counts[outcome] = get<std::uint64_t>();
    }
    for (std::size_t i = get<std::size_t>(); i > 0; --i) {
      const std::size_t length = get<std::size_t>();
      if (length > bytes_.size() - at_) throw std::runtime_error("a truncated trajectory block from another rank");
      std::string key = bytes_.substr(at_, length);
      at_ += length;
      b.clbit_counts[key] = get<std::uint64_t>();
    }
    b.state_reads = get<std::uint64_t>();
    b.channel_decisions = get<std::uint64_t>();
    return b;
  }

 private:
  template <class T>
  T get() {
    if (sizeof(T) > bytes_.size() - at_) throw std::runtime_error("a truncated trajectory block from another rank");
    T v;
    std::memcpy(&v, bytes_.data() + at_, sizeof v);
    at_ += sizeof v;
    return v;
  }
  const std::string& bytes_;
  std::size_t at_ = 0;
};

// The trajectories spread over the MPI ranks (docs/distributed.md): rank r runs the contiguous
// blocks [B r / K, B (r + 1) / K) of the B blocks, rank 0 gathers the others' blocks and folds all of
// them in block order, which gives the one-process result bit for bit. The result on rank 0 only.
std::optional<kraus::engine::TrajectoryResult> run_trajectories_on_ranks(const kraus::engine::Program& program,
                                                                        const std::vector<kraus::engine::PauliSum>& observables,
                                                                        const kraus::engine::TrajectoryOptions& options) {
  const auto ranks = static_cast<std::uint64_t>(kraus::dist::size());
  const auto me = static_cast<std::uint64_t>(kraus::dist::rank());
  const std::uint64_t blocks = kraus::engine::trajectory_blocks(options.trajectories);
  const std::uint64_t first = blocks * me / ranks, last = blocks * (me + 1) / ranks;
  if (me != 0) {
    if (options.probabilities) {
      kraus::engine::require_memory(program.num_qubits, (last - first) * 2 * sizeof(double) << program.num_qubits,
                                    "the trajectory blocks' probabilities kept for rank 0");
    }
    BlockWriter writer;
    kraus::engine::run_trajectory_blocks(program, nullptr, nullptr, observables, options, first, last - first,
                                         [&](kraus::engine::TrajectoryBlock&& b) { writer.add(b); });
    kraus::dist::gather(writer.bytes());
    return std::nullopt;
  }
  kraus::engine::TrajectoryCombiner combiner(program.num_qubits, observables.size(), options);
  kraus::engine::run_trajectory_blocks(program, nullptr, nullptr, observables, options, first, last - first,
                                       [&](kraus::engine::TrajectoryBlock&& b) { combiner.add(b); });
  const std::vector<std::string> parts = kraus::dist::gather("");
  for (std::size_t r = 1; r < parts.size(); ++r) {
    for (BlockReader reader(parts[r]); !reader.done();) combiner.add(reader.next());
  }
  return combiner.result();
}

// Checks everything that can be checked, then runs the circuit.
SimulateResult run(const Options& o) {
  SimulateResult r;
  std::vector<std::string>& warnings = r.warnings;

  g_stage = "reading the circuit";
  const bool dense = o.method == "density-matrix";
  const kraus::engine::Circuit written = read_circuit(*o.circuit_path, dense ? run_bytes : vector_run_bytes,
                                                      dense ? "the density matrix and the output" : "the state vectors and the output");
  const std::vector<double> theta = parameter_values(written, o.parameters_path, *o.circuit_path);
  const kraus::engine::Circuit program = written.bind(theta.data(), nullptr);
  const int n = r.num_qubits = program.num_qubits();
  const bool controlled = program.has_conditions();
  if (controlled) {
    // Conditions read sampled mid-circuit outcomes, which only trajectories have.
    if (o.method == "density-matrix" || o.method == "statevector") {
      throw UsageError("--method " + o.method + ": the circuit has classical control (if), which needs --method "
                       "trajectories (or auto)");
    }
    const char* needs = o.with_density_matrix ? "--density-matrix" : o.zne_on ? "zero-noise extrapolation"
                        : o.readout_in_expectations ? "--readout-in-expectations" : nullptr;
    if (needs) {
      throw UsageError(std::string(needs) + " needs the density matrix, but the circuit has classical control (if), "
                       "which needs trajectories");
    }
    if (o.mitigate_readout) {
      throw UsageError("--mitigate-readout is not supported yet for a circuit with classical control (if)");
    }
  }
  std::optional<kraus::noise::NoiseModel> model;
  if (o.noise_path) {
    g_stage = "reading the noise model";
    model.emplace(load_noise_model(*o.noise_path, *o.circuit_path));
  }

  // Basis translation and routing onto the device's coupling map.
  g_stage = "translating the circuit";
  const kraus::noise::DeviceInfo* device = model && model->device ? &*model->device : nullptr;
  kraus::engine::TranspileOptions transpile_options;
  if (o.basis) {
    if (*o.basis == "device") {
      if (!device || device->basis_gates.empty()) {
        throw UsageError("--basis device: the noise model names no device basis gates (a \"device\" block with "
                         "\"basis_gates\"; see docs/devices.md)");
      }
      transpile_options.basis = device->basis_gates;
    } else {
      transpile_options.basis = split_list(*o.basis);
    }
  }
  if (device && !device->coupling_map.empty()) {
    transpile_options.coupling = kraus::engine::CouplingMap{device->num_qubits, device->coupling_map};
  }
  if (o.route && !transpile_options.coupling) {
    throw UsageError("--route needs a coupling map: a noise model whose \"device\" block has a \"coupling_map\"");
  }
  if (model) check_device_size(*model, n, *o.noise_path, *o.circuit_path);
  transpile_options.route = o.route;
  transpile_options.seed = static_cast<std::uint64_t>(o.route_seed);
  r.routed = transpile_options.coupling.has_value();
  if (!transpile_options.basis.empty() || r.routed) {
    std::string why;
    if (!transpile_options.IsValid(&why)) throw UsageError((o.basis ? "--basis: " : "") + why);
    try {
      r.translation = kraus::engine::transpile(program, transpile_options);
    } catch (const std::invalid_argument& e) {
      throw UsageError(*o.circuit_path + ": " + e.what());
    }
  }
  const kraus::engine::Circuit& circuit = r.translation ? r.translation->circuit : program;
  std::vector<int> final_layout(static_cast<std::size_t>(n)), physical(static_cast<std::size_t>(n));
  for (int v = 0; v < n; ++v) final_layout[static_cast<std::size_t>(v)] = physical[static_cast<std::size_t>(v)] = v;
  if (r.translation) {
    final_layout = r.translation->layout.final;
    physical = r.translation->layout.physical;
  }

  // The model on the simulated register, checked against the circuit that runs.
  if (model) r.coverage = fit_noise_model(&*model, circuit, physical, *o.noise_path, *o.circuit_path, &warnings);
  const kraus::noise::NoiseModel* noise = model ? &*model : nullptr;

  r.observables = read_observables(o.observables, o.hamiltonians, n);
  std::vector<kraus::engine::PauliSum> slot_sums;
  for (const Observable& obs : r.observables) slot_sums.push_back(on_slots(obs.sum, final_layout));

  if (o.zne_on) {
    std::string why;
    if (!o.zne.IsValid(&why)) throw UsageError(why);
    if (r.observables.empty()) throw UsageError("zero-noise extrapolation needs at least one --observable");
    if (o.zne.method == kraus::mitigation::ScalingMethod::kScaleNoise) {
      if (!model) throw UsageError("--zne-method scale-noise needs a noise model (--noise)");
    } else {
      kraus::mitigation::check_foldable(circuit);
    }
  }
  kraus::noise::ReadoutModel readout;
  if (model) readout = model->readout_model(n);
  if (o.mitigate_readout && readout.empty()) {
    throw UsageError("--mitigate-readout needs a noise model with readout errors");
  }
  if (o.shots) {
    try {
      r.measured = kraus::engine::measurement_map(circuit, controlled);
    } catch (const std::invalid_argument& e) {
      throw UsageError(*o.circuit_path + ": " + e.what());
    }
    if (r.measured->empty()) {
      warnings.push_back("--shots: the circuit measures no qubit, so there are no counts (add measure instructions)");
    }
  }

  g_stage = "compiling the circuit";
  kraus::engine::CompileOptions compile_options;
  if (o.no_fusion) {
    compile_options.fusion = false;
    compile_options.block_qubits = 0;
  }
  const kraus::engine::Program compiled = kraus::engine::compile(circuit, noise, compile_options);
  std::tie(r.method, r.method_reason) = choose_method(o, compiled, n);
  if (kraus::dist::size() > 1 && r.method != "trajectories") {
    throw UsageError("--method " + r.method + " runs on one process, not on " + std::to_string(kraus::dist::size()) +
                     " MPI ranks: only --method trajectories is spread over ranks (docs/distributed.md)");
  }
  r.perm = slot_permutation(final_layout);
  if (r.method == "trajectories") {
    if (n > kMaxPrintedTrajectoryQubits) {
      if (o.mitigate_readout) {
        throw UsageError("--mitigate-readout needs the probabilities, which trajectories estimate up to " +
                         std::to_string(kMaxPrintedTrajectoryQubits) + " qubits");
      }
      warnings.push_back("trajectories of " + std::to_string(n) + " qubits: the probabilities are not estimated (" +
                         std::to_string(kMaxPrintedTrajectoryQubits) + " qubits at most); use --shots for counts");
    }
    kraus::engine::require_memory(n, vector_run_bytes(n), "the state vectors and the output");
    g_stage = "running the trajectories";
    kraus::engine::TrajectoryOptions t;
    t.trajectories = static_cast<std::uint64_t>(o.trajectories.value_or(1000));
    t.seed = static_cast<std::uint64_t>(o.seed);
    t.probabilities = n <= kMaxPrintedTrajectoryQubits;
    t.shots = o.shots && !r.measured->empty() ? static_cast<std::uint64_t>(*o.shots) : 0;
    t.readout = readout;
    // Keys from each trajectory's classical bits (its recorded outcomes) and shots.
    if (controlled && t.shots > 0) t.measurement = *r.measured;
    if (kraus::dist::rank() == 0) t.progress = trajectory_progress();
    r.trajectories = run_trajectories_on_ranks(compiled, slot_sums, t);
    if (!r.trajectories) return r;  // another rank than 0: rank 0 reports
    const kraus::engine::TrajectoryResult& tr = *r.trajectories;
    r.probabilities = tr.probabilities;
    r.probability_errors = tr.probability_errors;
    for (const kraus::engine::Estimate& e : tr.expectations) {
      r.expectations.push_back(e.mean);
      r.expectation_errors.push_back(e.standard_error);
    }
    r.qubit_counts = tr.counts;
    if (o.shots && !r.observables.empty()) {
      warnings.push_back("--shots with trajectories: no shot_estimates; the expectations carry their standard errors "
                         "(expectation_stderr)");
    }
  } else if (r.method == "statevector") {
    kraus::engine::require_memory(n, vector_run_bytes(n), "the state vector and the output");
    g_stage = "simulating the circuit";
    kraus::engine::StateVector& psi = r.psi.emplace(n);
    kraus::engine::run(compiled, nullptr, nullptr, psi);
    r.probabilities = psi.probabilities();
    if (!readout.empty()) readout.apply(r.probabilities, n);
    for (const kraus::engine::PauliSum& sum : slot_sums) r.expectations.push_back(kraus::engine::expectation(psi, sum));
  } else {
    kraus::engine::require_memory(n, run_bytes(n), "the density matrix and the output");
    g_stage = "allocating the density matrix";
    kraus::engine::DensityMatrix& rho = r.rho.emplace(n);
    if (o.zne_on) {
      // Runs first, with rho as its workspace, so that nothing is printed before every part succeeded.
      g_stage = "running zero-noise extrapolation";
      r.zne = kraus::mitigation::mitigate(circuit, noise, slot_sums, o.zne, &rho);
      for (std::size_t i = 0; i < r.zne.size(); ++i) {
        for (const std::string& w : r.zne[i].warnings) warnings.push_back(r.observables[i].label + ": " + w);
      }
    }
    g_stage = "simulating the circuit";
    kraus::engine::run(compiled, nullptr, nullptr, rho);
    r.probabilities = kraus::engine::probabilities_with_readout(rho, noise);
    for (const kraus::engine::PauliSum& sum : slot_sums) {
      r.expectations.push_back(o.readout_in_expectations ? kraus::engine::expectation_with_readout(rho, sum, readout)
                                                         : kraus::engine::expectation(rho, sum));
    }
  }

  g_stage = "preparing the output";
  if (o.shots && !r.trajectories) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(o.seed));
    if (!r.measured->empty()) {
      if (o.memory) {
        r.memory = kraus::engine::sample_memory(r.probabilities, static_cast<std::uint64_t>(*o.shots), rng);
        for (const std::uint64_t x : r.memory) ++r.qubit_counts[x];
      } else {
        r.qubit_counts = kraus::engine::sample_counts(r.probabilities, static_cast<std::uint64_t>(*o.shots), rng);
      }
    }
    if (!r.observables.empty() && *o.shots < 2) {
      warnings.push_back("--shots " + std::to_string(*o.shots) +
                         ": no shot estimates (their standard errors need at least 2 shots)");
    } else {
      for (std::size_t i = 0; i < slot_sums.size(); ++i) {
        std::vector<double> term_values;
        for (const auto& term : slot_sums[i].terms) {
          term_values.push_back(r.psi ? kraus::engine::expectation(*r.psi, term.second)
                                : o.readout_in_expectations
                                    ? kraus::engine::expectation_with_readout(*r.rho, term.second, readout)
                                    : kraus::engine::expectation(*r.rho, term.second));
        }
        // One stream per observable, from (seed, index): independent of the other options.
        std::seed_seq seq{static_cast<std::uint32_t>(o.seed), static_cast<std::uint32_t>(o.seed >> 32),
                          static_cast<std::uint32_t>(i + 1)};
        std::mt19937_64 obs_rng(seq);
        r.shot_estimates.push_back(kraus::engine::estimate_with_shots(term_values, slot_sums[i],
                                                                      static_cast<std::uint64_t>(*o.shots), obs_rng));
      }
    }
  }
  if (o.mitigate_readout) {
    g_stage = "mitigating readout errors";
    r.readout = kraus::mitigation::mitigate_readout(r.probabilities, readout, n);
    for (std::size_t i = 0; i < slot_sums.size(); ++i) {
      if (!z_only(slot_sums[i])) {
        warnings.push_back("--mitigate-readout: \"" + r.observables[i].label +
                           "\" has X or Y factors; only Z strings are mitigated");
        r.readout_expectations.emplace_back();
        continue;
      }
      double value = 0.0;
      for (const auto& [c, p] : slot_sums[i].terms) {
        value += c * kraus::mitigation::z_expectation(r.readout->probabilities, p);
      }
      r.readout_expectations.emplace_back(value);
    }
    if (!r.qubit_counts.empty()) {
      std::vector<double> frequencies(r.probabilities.size(), 0.0);
      for (const auto& [x, c] : r.qubit_counts) frequencies[x] = static_cast<double>(c) / static_cast<double>(*o.shots);
      const auto from_counts = kraus::mitigation::mitigate_readout(frequencies, readout, n);
      for (std::uint64_t x = 0; x < from_counts.probabilities.size(); ++x) {
        if (from_counts.probabilities[x] != 0.0) r.readout_counts[r.measured->key(x)] += from_counts.probabilities[x];
      }
    }
  }
  return r;
}

// Prints the result as one JSON object (warnings also on stderr).
void report(const Options& o, const SimulateResult& r, json provenance_json) {
  g_stage = "preparing the output";
  json out;
  out["num_qubits"] = r.num_qubits;
  out["method"] = {{"name", r.method}, {"reason", r.method_reason}};
  if (r.trajectories) {
    const kraus::engine::TrajectoryResult& t = *r.trajectories;
    out["trajectories"] = {{"count", t.trajectories},
                           {"seed", t.seed},
                           {"state_reads", t.state_reads},
                           {"channel_decisions", t.channel_decisions}};
  } else if (r.rho) {
    out["trace"] = r.rho->trace();
    out["purity"] = r.rho->purity();
  } else {
    out["trace"] = r.psi->squared_norm();
    out["purity"] = 1.0;
  }
  if (!r.probabilities.empty()) out["probabilities"] = in_program_order(r.probabilities, r.perm);
  if (!r.probability_errors.empty()) out["probability_stderr"] = in_program_order(r.probability_errors, r.perm);
  out["expectations"] = json::object();
  for (std::size_t i = 0; i < r.observables.size(); ++i) {
    out["expectations"][r.observables[i].label] = r.expectations[i];
  }
  if (r.trajectories) {
    out["expectation_stderr"] = json::object();
    for (std::size_t i = 0; i < r.observables.size(); ++i) {
      out["expectation_stderr"][r.observables[i].label] = r.expectation_errors[i];
    }
  }
  if (o.shots) {
    out["shots"] = *o.shots;
    out["seed"] = o.seed;
    if (!r.measured->empty()) {
      out["counts"] = counts_map_json(r.trajectories && !r.trajectories->clbit_counts.empty()
                                          ? r.trajectories->clbit_counts
                                          : kraus::engine::clbit_counts(r.qubit_counts, *r.measured));
      if (o.memory) {
        json memory = json::array();
        for (const std::uint64_t x : r.memory) memory.push_back(r.measured->key(x));
        out["memory"] = std::move(memory);
      }
    }
    if (!r.shot_estimates.empty()) {
      out["shot_estimates"] = json::object();
      for (std::size_t i = 0; i < r.observables.size(); ++i) {
        const kraus::engine::ShotEstimate& e = r.shot_estimates[i];
        out["shot_estimates"][r.observables[i].label] = {
            {"value", e.value}, {"stderr", e.standard_error}, {"shots", e.shots}};
      }
    }
  }
  if (r.readout) {
    json block;
    block["method"] = r.readout->method == kraus::mitigation::ReadoutMitigationMethod::kTensoredInverse
                          ? "tensored-inverse"
                          : "constrained-least-squares";
    if (r.readout->method == kraus::mitigation::ReadoutMitigationMethod::kConstrainedLeastSquares) {
      block["residual"] = r.readout->residual;
      block["iterations"] = r.readout->iterations;
    }
    block["probabilities"] = in_program_order(r.readout->probabilities, r.perm);
    block["expectations"] = json::object();
    for (std::size_t i = 0; i < r.observables.size(); ++i) {
      if (r.readout_expectations[i]) block["expectations"][r.observables[i].label] = *r.readout_expectations[i];
    }
    if (!r.qubit_counts.empty()) {
      block["counts"] = json::object();
      for (const auto& [key, p] : r.readout_counts) block["counts"][key] = p;
    }
    out["readout_mitigated"] = std::move(block);
  }
  if (r.coverage) out["noise_coverage"] = noise_coverage_json(*r.coverage);
  if (r.translation) {
    out["gate_counts"] = {{"before", r.translation->gate_counts_before}, {"after", r.translation->gate_counts_after}};
    if (r.routed) {
      const auto& l = r.translation->layout;
      out["layout"] = {{"physical", l.physical}, {"initial", l.initial}, {"final", l.final},
                       {"swaps", l.swaps},       {"route_seed", o.route_seed}};
    }
  }
  out["warnings"] = r.warnings;
  out["provenance"] = std::move(provenance_json);
  for (const std::string& w : r.warnings) warn(w);

  json tail = json::object();
  if (o.zne_on) {
    tail["mitigated"] = json::object();
    for (std::size_t i = 0; i < r.zne.size(); ++i) {
      const auto& z = r.zne[i];
      json m;
      m["value"] = z.value;
      m["stderr"] = z.standard_error ? json(*z.standard_error) : json(nullptr);
      m["scale_factors"] = z.scale_factors;
      m["realized_scale_factors"] = z.realized_scale_factors;
      m["noisy_values"] = z.noisy_values;
      m["fit_parameters"] = z.fit_parameters;
      m["extrapolator"] = z.extrapolator;
      tail["mitigated"][r.observables[i].label] = m;
    }
  }
  g_stage = "writing the output";
  if (!o.with_density_matrix) {
    out.update(tail);
    write_out(out.dump(2) + "\n");
  } else {
    write_with_density_matrix(out, r.rho->matrix(), r.perm, tail);
  }
  finish_output();
}

}  // namespace

int run_simulate(int argc, char** argv) {
  bool help = false;
  const Options o = parse_options(argc, argv, &help);
  if (help) {
    write_out(kSimulateUsage);
    finish_output();
    return 0;
  }
  if (o.threads) kraus::engine::set_num_threads(*o.threads);
  const SimulateResult result = run(o);
  if (kraus::dist::rank() != 0) return 0;
  report(o, result, provenance("simulate", argc, argv));
  return 0;
}

}  // namespace kraus::cli
