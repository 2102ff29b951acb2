// The `kraus` command. For now one subcommand, `demo`, which simulates a small noisy circuit and
// prints its results as JSON; `kraus simulate` (OpenQASM input) follows.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/observables.hpp"
#include "kraus/engine/sampling.hpp"

namespace {

using kraus::engine::DensityMatrix;
using kraus::engine::Gate;

constexpr const char* kUsage =
    "usage: kraus <command> [options]\n"
    "\n"
    "commands:\n"
    "  demo    simulate a noisy GHZ circuit and print its results as JSON\n"
    "\n"
    "kraus demo [--qubits N] [--p P] [--gamma G] [--shots S] [--seed SEED] [--threads T]\n"
    "  --qubits N   number of qubits, 2..12 (default 3)\n"
    "  --p P        1-qubit depolarising probability after every gate, in [0, 1] (default 0.01)\n"
    "  --gamma G    amplitude damping after every gate, in [0, 1] (default 0.005)\n"
    "  --shots S    measurement shots to sample (default 1000)\n"
    "  --seed SEED  seed of the shot sampler (default 1)\n"
    "  --threads T  OpenMP threads (default: OpenMP's choice)\n"
    "\n"
    "Errors print one message on stderr and exit with status 2.\n";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

double parse_number(const std::string& flag, const char* text) {
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !std::isfinite(v)) {
    throw UsageError(flag + ": '" + text + "' is not a number");
  }
  return v;
}

long long parse_integer(const std::string& flag, const char* text, long long lo, long long hi) {
  char* end = nullptr;
  const long long v = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0' || v < lo || v > hi) {
    throw UsageError(flag + ": '" + text + "' is not an integer in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "]");
  }
  return v;
}

int run_demo(int argc, char** argv) {
  int n = 3;
  double p = 0.01, gamma = 0.005;
  long long shots = 1000, seed = 1;
  for (int i = 0; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (i + 1 >= argc) throw UsageError("option '" + flag + "' needs a value (see kraus --help)");
    const char* value = argv[++i];
    if (flag == "--qubits") n = static_cast<int>(parse_integer(flag, value, 2, 12));
    else if (flag == "--p") p = parse_number(flag, value);
    else if (flag == "--gamma") gamma = parse_number(flag, value);
    else if (flag == "--shots") shots = parse_integer(flag, value, 0, 1LL << 40);
    else if (flag == "--seed") seed = parse_integer(flag, value, 0, 1LL << 62);
    else if (flag == "--threads") kraus::engine::set_num_threads(static_cast<int>(parse_integer(flag, value, 1, 1024)));
    else throw UsageError("unknown option '" + flag + "' (see kraus --help)");
  }
  if (!(p >= 0 && p <= 1)) throw UsageError("--p " + std::to_string(p) + " is outside [0, 1]");
  if (!(gamma >= 0 && gamma <= 1)) throw UsageError("--gamma " + std::to_string(gamma) + " is outside [0, 1]");

  // GHZ preparation: H on qubit 0, then a CNOT ladder; every gate followed by depolarising and
  // amplitude damping on each qubit it touched.
  DensityMatrix rho(n);
  auto noisy = [&](Gate g, std::vector<int> qubits) {
    rho.apply(g, qubits);
    for (int q : qubits) {
      rho.apply_depolarizing(q, p);
      rho.apply_amplitude_damping(q, gamma);
    }
  };
  noisy(Gate::kH, {0});
  for (int q = 0; q + 1 < n; ++q) noisy(Gate::kCX, {q, q + 1});

  arma::cx_vec ghz(rho.dim(), arma::fill::zeros);
  ghz(0) = ghz(rho.dim() - 1) = 1.0 / std::sqrt(2.0);
  std::string all_z, all_x;
  for (int q = 0; q < n; ++q) {
    all_z += (q ? " Z" : "Z") + std::to_string(q);
    all_x += (q ? " X" : "X") + std::to_string(q);
  }
  const std::string z01 = "Z0 Z1";

  nlohmann::ordered_json out;
  out["circuit"] = "GHZ on " + std::to_string(n) + " qubits: h 0; cx q,q+1";
  out["noise"] = {{"depolarizing_p", p}, {"amplitude_damping_gamma", gamma}};
  out["num_qubits"] = n;
  out["trace"] = rho.trace();
  out["purity"] = rho.purity();
  out["fidelity_with_ghz"] = rho.fidelity(ghz);
  out["probabilities"] = rho.probabilities();
  for (const std::string& s : {z01, all_z, all_x}) {
    out["expectations"][s] = kraus::engine::expectation(rho, kraus::engine::PauliString::parse(s));
  }
  std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
  const auto counts = kraus::engine::sample_counts(rho.probabilities(), static_cast<std::uint64_t>(shots), rng);
  out["seed"] = seed;
  out["shots"] = shots;
  out["counts"] = nlohmann::ordered_json::object();
  for (const auto& [outcome, count] : counts) {
    std::string bits;
    for (int q = n - 1; q >= 0; --q) bits += ((outcome >> q) & 1) ? '1' : '0';
    out["counts"][bits] = count;
  }
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
      std::cout << kUsage;
      return argc < 2 ? 2 : 0;
    }
    const std::string command = argv[1];
    if (command == "demo") return run_demo(argc - 2, argv + 2);
    throw UsageError("unknown command '" + command + "' (see kraus --help)");
  } catch (const std::exception& e) {
    std::cerr << "kraus: " << e.what() << "\n";
    return 2;
  }
}
