// What `kraus simulate` and `kraus gradient` both read and check: the circuit, the noise model
// (aliases resolved, fitted to the circuit's qubits, validated, its coverage) and the observables.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kraus/engine/circuit.hpp"
#include "kraus/engine/observables.hpp"
#include "kraus/engine/simulator.hpp"
#include "kraus/noise/noise_model.hpp"

namespace kraus::cli {

// Reads an OpenQASM 2 file. `bytes(n)` is the memory a run on n qubits needs (`what` names it in
// the message): checked as soon as a qreg declares the qubits, before anything of that size is built.
kraus::engine::Circuit read_circuit(const std::string& path, const std::function<std::uint64_t(int)>& bytes,
                                    const std::string& what);

// The values of the circuit's parameters (Circuit::parameter_names, in their order) from the JSON
// object {"name": number} in the file of --parameters (at most 16 MiB): every name once, no other
// key, finite numbers; errors name the file and the key. No file: the circuit must have no
// parameters ("missing --parameters FILE: the circuit c.qasm has theta, phi").
std::vector<double> parameter_values(const kraus::engine::Circuit& circuit,
                                     const std::optional<std::string>& parameters_path, const std::string& circuit_path);

// The model of --noise with its gate names resolved (aliases such as cnot); errors name the model
// and the circuit.
kraus::noise::NoiseModel load_noise_model(const std::string& noise_path, const std::string& circuit_path);
// UsageError when the model is for a device smaller than the circuit's n qubits.
void check_device_size(const kraus::noise::NoiseModel& model, int n, const std::string& noise_path,
                       const std::string& circuit_path);
// Fits a device model to the register (program qubit v on device qubit physical[v]; what fitting
// drops becomes a warning), validates it against `circuit` and returns the coverage, whose warnings
// are appended to `warnings`.
kraus::engine::NoiseCoverage fit_noise_model(kraus::noise::NoiseModel* model, const kraus::engine::Circuit& circuit,
                                             const std::vector<int>& physical, const std::string& noise_path,
                                             const std::string& circuit_path, std::vector<std::string>* warnings);
// {gate name: {"instances", "with_noise"}}, in the coverage's order.
nlohmann::ordered_json noise_coverage_json(const kraus::engine::NoiseCoverage& coverage);

// An observable as given (--observable text or --hamiltonian path) and its Pauli sum.
struct Observable {
  std::string label;
  kraus::engine::PauliSum sum;
};
// The --observable expressions, then the --hamiltonian files; UsageError naming the flag for bad
// text or an observable on a qubit beyond the circuit's n.
std::vector<Observable> read_observables(const std::vector<std::string>& expressions,
                                         const std::vector<std::string>& hamiltonians, int n);

}  // namespace kraus::cli
