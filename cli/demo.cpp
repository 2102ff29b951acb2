// `kraus demo`: a small built-in noisy GHZ circuit, one JSON object on stdout.
#include <cmath>
#include <optional>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "common.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/measurement.hpp"
#include "kraus/engine/observables.hpp"
#include "kraus/engine/sampling.hpp"
#include "kraus/engine/simulator.hpp"
#include "kraus/noise/noise_model.hpp"
#include "kraus/noise/text.hpp"

namespace kraus::cli {

const char* const kDemoUsage =
    "usage: kraus demo [--qubits N] [--p P] [--gamma G] [--shots S] [--seed SEED] [--threads T]\n"
    "  --qubits N   number of qubits, 2..12 (default 3)\n"
    "  --p P        1-qubit depolarising probability after every gate, in [0, 1] (default 0.01)\n"
    "  --gamma G    amplitude damping after every gate, in [0, 1] (default 0.005)\n"
    "  --shots S    measurement shots to sample (default 1000)\n"
    "  --seed SEED  seed of the shot sampler (default 1)\n"
    "  --threads T  OpenMP threads\n";

int run_demo(int argc, char** argv) {
  using json = nlohmann::ordered_json;
  using kraus::noise::printable;
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

  // GHZ preparation (h 0; cx q, q+1; measure q[k] -> c[k]) with depolarising then amplitude damping
  // after every gate.
  kraus::engine::Circuit circuit(n, n);
  circuit.add_gate(kraus::engine::Gate::kH, {0});
  for (int q = 0; q + 1 < n; ++q) circuit.add_gate(kraus::engine::Gate::kCX, {q, q + 1});
  for (int q = 0; q < n; ++q) circuit.add_measure(q, q);
  kraus::noise::NoiseModel model;
  kraus::noise::GateNoiseRule depolarize, damp;
  depolarize.gates = damp.gates = {"*"};
  depolarize.channel.type = "depolarizing";
  depolarize.channel.params = {{"p", p}};
  depolarize.channel.num_qubits = 1;
  damp.channel.type = "amplitude_damping";
  damp.channel.params = {{"gamma", gamma}};
  model.gate_noise = {depolarize, damp};
  kraus::engine::DensityMatrix rho(n);
  kraus::engine::simulate(circuit, &model, rho);

  arma::cx_vec ghz(rho.dim(), arma::fill::zeros);
  ghz(0) = ghz(rho.dim() - 1) = 1.0 / std::sqrt(2.0);
  std::string all_z, all_x;
  for (int q = 0; q < n; ++q) {
    all_z += (q ? " Z" : "Z") + std::to_string(q);
    all_x += (q ? " X" : "X") + std::to_string(q);
  }
  json out;
  out["circuit"] = "GHZ on " + std::to_string(n) + " qubits: h 0; cx q,q+1; measure q[k] -> c[k]";
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
  const auto qubit_counts = kraus::engine::sample_counts(rho.probabilities(), static_cast<std::uint64_t>(shots), rng);
  json counts = json::object();
  for (const auto& [key, c] : kraus::engine::clbit_counts(qubit_counts, kraus::engine::measurement_map(circuit))) {
    counts[key] = c;
  }
  out["counts"] = std::move(counts);
  write_out(out.dump(2) + "\n");
  finish_output();
  return 0;
}

}  // namespace kraus::cli
