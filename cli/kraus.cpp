// The `kraus` command: `kraus simulate` runs an OpenQASM 2 circuit under a noise model and prints
// one JSON object; `kraus demo` simulates a small built-in noisy circuit. Errors print one message
// on stderr, nothing on stdout, and exit with status 2; a failed write to stdout exits with status 1.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <new>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/observables.hpp"
#include "kraus/engine/qasm2.hpp"
#include "kraus/engine/sampling.hpp"
#include "kraus/engine/simulator.hpp"
#include "kraus/mitigation/noise_scaling.hpp"
#include "kraus/mitigation/zne.hpp"
#include "kraus/noise/noise_model.hpp"
#include "kraus/noise/text.hpp"

namespace {

using kraus::engine::DensityMatrix;
using json = nlohmann::ordered_json;
using kraus::noise::printable;

constexpr const char* kUsage =
    "usage: kraus <command> [options]\n"
    "\n"
    "commands:\n"
    "  simulate   run an OpenQASM 2 circuit, optionally under a noise model, and print JSON\n"
    "  demo       simulate a built-in noisy GHZ circuit and print JSON\n"
    "\n"
    "Errors print one message on stderr, nothing on stdout, and exit with status 2; a failed write\n"
    "to stdout (a full disk, a closed pipe) prints a message and exits with status 1.\n"
    "`kraus <command> --help` prints one command's options; all of them follow.\n\n";

constexpr const char* kSimulateUsage =
    "usage: kraus simulate CIRCUIT.qasm [--noise MODEL.json] [--observable \"X0 Z2\"]... [--shots N]\n"
    "                      [--seed S] [--density-matrix] [--threads T]\n"
    "                      [--zne-scales 1,2,3] [--zne-method M] [--zne-extrapolator E] [--zne-seed S]\n"
    "\n"
    "Runs the circuit exactly on a density matrix and prints one JSON object:\n"
    "  num_qubits, trace, purity, probabilities (2^n numbers; bit k of the index is qubit k; readout\n"
    "  error included when the model has one), expectations (exact, no readout error, keyed by the\n"
    "  observable as given), counts (with --shots; bitstrings with qubit n-1 leftmost, readout error\n"
    "  included), density_matrix (with --density-matrix: real and imag parts, [row][column]).\n"
    "\n"
    "options:\n"
    "  --noise MODEL.json     noise model (format: docs/noise-model.md); default: noiseless\n"
    "  --observable P         Pauli string of factors <P><qubit>, P in I X Y Z, e.g. \"X0 Z2\"; \"I\" is\n"
    "                         the identity; repeatable\n"
    "  --shots N              sample N measurement shots (0 <= N <= 2^40)\n"
    "  --seed S               seed of the shot sampler (default 1); same seed, same counts\n"
    "  --density-matrix       include the final density matrix\n"
    "  --threads T            OpenMP threads (default: OMP_NUM_THREADS or all cores)\n"
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

constexpr const char* kDemoUsage =
    "usage: kraus demo [--qubits N] [--p P] [--gamma G] [--shots S] [--seed SEED] [--threads T]\n"
    "  --qubits N   number of qubits, 2..12 (default 3)\n"
    "  --p P        1-qubit depolarising probability after every gate, in [0, 1] (default 0.01)\n"
    "  --gamma G    amplitude damping after every gate, in [0, 1] (default 0.005)\n"
    "  --shots S    measurement shots to sample (default 1000)\n"
    "  --seed SEED  seed of the shot sampler (default 1)\n"
    "  --threads T  OpenMP threads\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A failed write to stdout: exit status 1.
struct WriteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What the program is doing, for the message of an allocation that fails anyway.
const char* g_stage = "starting";

// Everything on stdout goes through here: a failed write stops the run at once.
void write_out(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) {
    throw WriteError(std::string("cannot write the output: ") + std::strerror(errno));
  }
}

void finish_output() {
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    throw WriteError(std::string("cannot write the output: ") + std::strerror(errno));
  }
}

double parse_number(const std::string& flag, const char* text) {
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !std::isfinite(v)) {
    throw UsageError(flag + ": '" + printable(text) + "' is not a number");
  }
  return v;
}

long long parse_integer(const std::string& flag, const char* text, long long lo, long long hi) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || errno == ERANGE || v < lo || v > hi) {
    throw UsageError(flag + ": '" + printable(text) + "' is not an integer in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "]");
  }
  return v;
}

// The value of option argv[i] (which takes one), or a UsageError.
const char* option_value(int argc, char** argv, int& i, const char* command) {
  if (i + 1 >= argc) {
    throw UsageError("option '" + std::string(argv[i]) + "' needs a value (see kraus " + command + " --help)");
  }
  return argv[++i];
}

std::string bitstring(std::uint64_t outcome, int n) {
  std::string bits;
  for (int q = n - 1; q >= 0; --q) bits += ((outcome >> q) & 1) ? '1' : '0';
  return bits;
}

json counts_json(const std::map<std::uint64_t, std::uint64_t>& counts, int n) {
  json out = json::object();
  for (const auto& [outcome, count] : counts) out[bitstring(outcome, n)] = count;
  return out;
}

// Memory of a run on n qubits: the density matrix, plus under 512 bytes per basis state for the
// probabilities, the counts and one printed row of the density matrix (it is streamed).
std::uint64_t run_bytes(int n) {
  const std::uint64_t state = kraus::engine::density_matrix_bytes(n);
  const std::uint64_t output = std::uint64_t{512} << n;
  return state > UINT64_MAX - output ? UINT64_MAX : state + output;
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
// density matrix takes about ten times the state's memory).
void write_with_density_matrix(const json& head, const arma::cx_mat& m, const json& tail) {
  std::string text = head.dump(2);
  text.resize(text.size() - 2);  // the closing "\n}"
  write_out(text + ",\n  \"density_matrix\": {\n");
  json row = json::array();
  for (const bool imaginary : {false, true}) {
    write_out(imaginary ? "    \"imag\": [\n" : "    \"real\": [\n");
    for (arma::uword r = 0; r < m.n_rows; ++r) {
      row.clear();
      for (arma::uword c = 0; c < m.n_cols; ++c) row.push_back(imaginary ? m(r, c).imag() : m(r, c).real());
      write_out("      " + indented(row.dump(2), "      ") + (r + 1 < m.n_rows ? ",\n" : "\n"));
    }
    write_out(imaginary ? "    ]\n  }" : "    ],\n");
  }
  // dump(2) of {"mitigated": ...} is "{\n  \"mitigated\": ...\n}": everything after its "{".
  write_out(tail.empty() ? std::string("\n}\n") : "," + tail.dump(2).substr(1) + "\n");
}

int run_simulate(int argc, char** argv) {
  std::optional<std::string> circuit_path, noise_path;
  std::vector<std::string> observables;
  std::optional<long long> shots;
  long long seed = 1;
  bool with_density_matrix = false;
  bool zne_on = false;
  std::optional<int> threads;
  kraus::mitigation::ZneOptions zne;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      write_out(kSimulateUsage);
      finish_output();
      return 0;
    }
    if (arg == "--density-matrix") {
      with_density_matrix = true;
    } else if (arg == "--noise") {
      noise_path = option_value(argc, argv, i, "simulate");
    } else if (arg == "--observable") {
      observables.push_back(option_value(argc, argv, i, "simulate"));
    } else if (arg == "--shots") {
      shots = parse_integer(arg, option_value(argc, argv, i, "simulate"), 0, 1LL << 40);
    } else if (arg == "--seed") {
      seed = parse_integer(arg, option_value(argc, argv, i, "simulate"), 0, 1LL << 62);
    } else if (arg == "--threads") {
      threads = static_cast<int>(parse_integer(arg, option_value(argc, argv, i, "simulate"), 1, 1024));
    } else if (arg == "--zne-scales" || arg == "--zne-method" || arg == "--zne-extrapolator" || arg == "--zne-seed") {
      const char* value = option_value(argc, argv, i, "simulate");
      zne_on = true;
      try {
        if (arg == "--zne-scales") zne.scale_factors = kraus::mitigation::parse_scale_factors(value);
        else if (arg == "--zne-method") zne.method = kraus::mitigation::parse_scaling_method(value, &zne.layer);
        else if (arg == "--zne-extrapolator") zne.extrapolator = kraus::mitigation::ExtrapolatorSpec::parse(value);
        else zne.seed = static_cast<std::uint64_t>(parse_integer(arg, value, 0, 1LL << 62));
      } catch (const std::invalid_argument& e) {
        throw UsageError(arg + ": " + printable(e.what()));
      }
    } else if (arg.rfind("--", 0) == 0) {
      throw UsageError("unknown option '" + printable(arg) + "' (see kraus simulate --help)");
    } else if (!circuit_path) {
      circuit_path = arg;
    } else {
      throw UsageError("unexpected argument '" + printable(arg) + "': one circuit file only");
    }
  }
  if (!circuit_path) throw UsageError("missing the circuit file (see kraus simulate --help)");
  if (threads) kraus::engine::set_num_threads(*threads);

  // Everything that can be checked is checked before the simulation starts.
  g_stage = "reading the circuit";
  // The memory check runs when a qreg declares the qubits, before anything of that size is built.
  kraus::engine::Qasm2Options qasm_options;
  qasm_options.check_qubits = [](int qubits) {
    kraus::engine::require_memory(qubits, run_bytes(qubits), "the density matrix and the output");
  };
  const kraus::engine::Circuit circuit = kraus::engine::read_qasm2_file(*circuit_path, qasm_options);
  std::optional<kraus::noise::NoiseModel> model;
  if (noise_path) {
    g_stage = "reading the noise model";
    model.emplace(kraus::noise::NoiseModel::from_json_file(*noise_path));
    try {
      kraus::engine::validate_noise(circuit, *model);
    } catch (const kraus::noise::NoiseModelError& e) {
      throw kraus::noise::NoiseModelError(*noise_path + ": " + e.what() + " (circuit " + *circuit_path + ")");
    }
  }
  const int n = circuit.num_qubits();
  std::vector<kraus::engine::PauliString> paulis;
  for (const std::string& text : observables) {
    try {
      paulis.push_back(kraus::engine::PauliString::parse(text));
    } catch (const std::invalid_argument& e) {
      throw UsageError("--observable \"" + printable(text) + "\": " + printable(e.what()));
    }
    if (paulis.back().min_qubits() > n) {
      throw UsageError("--observable \"" + printable(text) + "\" acts on qubit " + std::to_string(paulis.back().min_qubits() - 1) +
                       " but the circuit has " + std::to_string(n) + " qubit(s)");
    }
  }

  if (zne_on) {
    std::string why;
    if (!zne.IsValid(&why)) throw UsageError(why);
    if (observables.empty()) throw UsageError("zero-noise extrapolation needs at least one --observable");
    if (zne.method == kraus::mitigation::ScalingMethod::kScaleNoise) {
      if (!model) throw UsageError("--zne-method scale-noise needs a noise model (--noise)");
    } else {
      kraus::mitigation::check_foldable(circuit);
    }
  }

  kraus::engine::require_memory(n, run_bytes(n), "the density matrix and the output");
  g_stage = "allocating the density matrix";
  DensityMatrix rho(n);
  json tail = json::object();
  if (zne_on) {
    // Runs first, with rho as its workspace, so that nothing is printed before every part succeeded.
    g_stage = "running zero-noise extrapolation";
    std::vector<kraus::engine::PauliSum> sums;
    for (const auto& p : paulis) sums.push_back(kraus::engine::PauliSum{{{1.0, p}}});
    const auto results = kraus::mitigation::mitigate(circuit, model ? &*model : nullptr, sums, zne, &rho);
    tail["mitigated"] = json::object();
    for (std::size_t i = 0; i < results.size(); ++i) {
      const auto& r = results[i];
      json m;
      m["value"] = r.value;
      m["stderr"] = r.standard_error ? json(*r.standard_error) : json(nullptr);
      m["scale_factors"] = r.scale_factors;
      m["realized_scale_factors"] = r.realized_scale_factors;
      m["noisy_values"] = r.noisy_values;
      m["fit_parameters"] = r.fit_parameters;
      m["extrapolator"] = r.extrapolator;
      tail["mitigated"][observables[i]] = m;
      for (const std::string& w : r.warnings) {
        std::cerr << "kraus: warning: " << printable(observables[i]) << ": " << w << "\n";
      }
    }
  }
  g_stage = "simulating the circuit";
  kraus::engine::simulate(circuit, model ? &*model : nullptr, rho);
  const std::vector<double> probabilities = kraus::engine::probabilities_with_readout(rho, model ? &*model : nullptr);

  g_stage = "preparing the output";
  json out;
  out["num_qubits"] = n;
  out["trace"] = rho.trace();
  out["purity"] = rho.purity();
  out["probabilities"] = probabilities;
  out["expectations"] = json::object();
  for (std::size_t i = 0; i < paulis.size(); ++i) out["expectations"][observables[i]] = kraus::engine::expectation(rho, paulis[i]);
  if (shots) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
    out["counts"] = counts_json(kraus::engine::sample_counts(probabilities, static_cast<std::uint64_t>(*shots), rng), n);
  }
  g_stage = "writing the output";
  if (!with_density_matrix) {
    out.update(tail);
    write_out(out.dump(2) + "\n");
  } else {
    write_with_density_matrix(out, rho.matrix(), tail);
  }
  finish_output();
  return 0;
}

int run_demo(int argc, char** argv) {
  int n = 3;
  double p = 0.01, gamma = 0.005;
  long long shots = 1000, seed = 1;
  std::optional<int> threads;
  for (int i = 0; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      write_out(kDemoUsage);
      finish_output();
      return 0;
    }
    if (flag == "--qubits") n = static_cast<int>(parse_integer(flag, option_value(argc, argv, i, "demo"), 2, 12));
    else if (flag == "--p") p = parse_number(flag, option_value(argc, argv, i, "demo"));
    else if (flag == "--gamma") gamma = parse_number(flag, option_value(argc, argv, i, "demo"));
    else if (flag == "--shots") shots = parse_integer(flag, option_value(argc, argv, i, "demo"), 0, 1LL << 40);
    else if (flag == "--seed") seed = parse_integer(flag, option_value(argc, argv, i, "demo"), 0, 1LL << 62);
    else if (flag == "--threads") threads = static_cast<int>(parse_integer(flag, option_value(argc, argv, i, "demo"), 1, 1024));
    else if (flag.rfind("--", 0) == 0) throw UsageError("unknown option '" + printable(flag) + "' (see kraus demo --help)");
    else throw UsageError("unexpected argument '" + printable(flag) + "' (see kraus demo --help)");
  }
  if (!(p >= 0 && p <= 1)) throw UsageError("--p " + std::to_string(p) + " is outside [0, 1]");
  if (!(gamma >= 0 && gamma <= 1)) throw UsageError("--gamma " + std::to_string(gamma) + " is outside [0, 1]");
  if (threads) kraus::engine::set_num_threads(*threads);

  // GHZ preparation (h 0; cx q, q+1) with depolarising then amplitude damping after every gate.
  kraus::engine::Circuit circuit(n);
  circuit.add_gate(kraus::engine::Gate::kH, {0});
  for (int q = 0; q + 1 < n; ++q) circuit.add_gate(kraus::engine::Gate::kCX, {q, q + 1});
  kraus::noise::NoiseModel model;
  kraus::noise::GateNoiseRule depolarize, damp;
  depolarize.gates = damp.gates = {"*"};
  depolarize.channel.type = "depolarizing";
  depolarize.channel.params = {{"p", p}};
  depolarize.channel.num_qubits = 1;
  damp.channel.type = "amplitude_damping";
  damp.channel.params = {{"gamma", gamma}};
  model.gate_noise = {depolarize, damp};
  DensityMatrix rho(n);
  kraus::engine::simulate(circuit, &model, rho);

  arma::cx_vec ghz(rho.dim(), arma::fill::zeros);
  ghz(0) = ghz(rho.dim() - 1) = 1.0 / std::sqrt(2.0);
  std::string all_z, all_x;
  for (int q = 0; q < n; ++q) {
    all_z += (q ? " Z" : "Z") + std::to_string(q);
    all_x += (q ? " X" : "X") + std::to_string(q);
  }
  json out;
  out["circuit"] = "GHZ on " + std::to_string(n) + " qubits: h 0; cx q,q+1";
  out["noise_model"] = json::parse(model.to_json());
  out["num_qubits"] = n;
  out["trace"] = rho.trace();
  out["purity"] = rho.purity();
  out["fidelity_with_ghz"] = rho.fidelity(ghz);
  out["probabilities"] = rho.probabilities();
  for (const std::string& s : {std::string("Z0 Z1"), all_z, all_x}) {
    out["expectations"][s] = kraus::engine::expectation(rho, kraus::engine::PauliString::parse(s));
  }
  std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
  out["seed"] = seed;
  out["shots"] = shots;
  out["counts"] = counts_json(kraus::engine::sample_counts(rho.probabilities(), static_cast<std::uint64_t>(shots), rng), n);
  write_out(out.dump(2) + "\n");
  finish_output();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // With stdout closed, a file opened later could take descriptor 1 and receive the output: hold it
  // with a read-only /dev/null, so that writes fail with EBADF and are reported.
  if (::fcntl(STDOUT_FILENO, F_GETFD) == -1) {
    const int fd = ::open("/dev/null", O_RDONLY);
    if (fd != -1 && fd != STDOUT_FILENO) ::close(fd);
  }
  try {
    // OMP_NUM_THREADS above the available cores is capped like --threads (with a note).
    if (std::getenv("OMP_NUM_THREADS")) kraus::engine::set_num_threads(kraus::engine::num_threads());
    if (argc < 2) {
      std::cerr << "kraus: missing command (simulate or demo; see kraus --help)\n";
      return 2;
    }
    const std::string command = argv[1];
    if (command == "--help" || command == "-h") {
      write_out(std::string(kUsage) + kSimulateUsage + "\n" + kDemoUsage);
      finish_output();
      return 0;
    }
    if (command == "simulate") return run_simulate(argc - 2, argv + 2);
    if (command == "demo") return run_demo(argc - 2, argv + 2);
    throw UsageError("unknown command '" + printable(command) + "' (see kraus --help)");
  } catch (const WriteError& e) {
    std::cerr << "kraus: " << e.what() << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "kraus: out of memory while " << g_stage << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "kraus: " << printable(e.what()) << "\n";
    return 2;
  }
}
