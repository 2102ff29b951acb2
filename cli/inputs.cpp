#include "inputs.hpp"

#include "common.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/qasm2.hpp"
#include "kraus/noise/text.hpp"

namespace kraus::cli {

using kraus::noise::printable;

kraus::engine::Circuit read_circuit(const std::string& path, const std::function<std::uint64_t(int)>& bytes,
                                    const std::string& what) {
  kraus::engine::Qasm2Options options;
  options.check_qubits = [&](int qubits) { kraus::engine::require_memory(qubits, bytes(qubits), what); };
  return kraus::engine::read_qasm2_file(path, options);
}

namespace {

// A noise-model error with the model's file (and the circuit) in front.
[[noreturn]] void rethrow_model_error(const std::exception& e, const std::string& noise_path,
                                      const std::string& circuit_path) {
  throw kraus::noise::NoiseModelError(noise_path + ": " + e.what() + " (circuit " + circuit_path + ")");
}

}  // namespace

kraus::noise::NoiseModel load_noise_model(const std::string& noise_path, const std::string& circuit_path) {
  kraus::noise::NoiseModel model = kraus::noise::NoiseModel::from_json_file(noise_path);
  try {
    kraus::engine::resolve_gate_names(model);
  } catch (const kraus::noise::NoiseModelError& e) {
    rethrow_model_error(e, noise_path, circuit_path);
  }
  return model;
}

void check_device_size(const kraus::noise::NoiseModel& model, int n, const std::string& noise_path,
                       const std::string& circuit_path) {
  if (model.device_qubits() > 0 && model.device_qubits() < n) {
    throw UsageError(noise_path + ": the model is for a device of " + std::to_string(model.device_qubits()) +
                     " qubits but the circuit " + circuit_path + " has " + std::to_string(n));
  }
}

kraus::engine::NoiseCoverage fit_noise_model(kraus::noise::NoiseModel* model, const kraus::engine::Circuit& circuit,
                                             const std::vector<int>& physical, const std::string& noise_path,
                                             const std::string& circuit_path, std::vector<std::string>* warnings) {
  kraus::engine::NoiseCoverage coverage;
  try {
    if (model->device_qubits() > 0) {
      std::vector<std::string> dropped;
      *model = model->fitted(physical, &dropped);
      for (const std::string& d : dropped) warnings->push_back("fitting the model to the circuit's qubits: " + d);
    }
    kraus::engine::validate_noise(circuit, *model);
    coverage = kraus::engine::noise_coverage(circuit, *model);
  } catch (const kraus::noise::NoiseModelError& e) {
    rethrow_model_error(e, noise_path, circuit_path);
  }
  warnings->insert(warnings->end(), coverage.warnings.begin(), coverage.warnings.end());
  return coverage;
}

nlohmann::ordered_json noise_coverage_json(const kraus::engine::NoiseCoverage& coverage) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& g : coverage.gates) out[g.name] = {{"instances", g.instances}, {"with_noise", g.with_noise}};
  return out;
}

std::vector<Observable> read_observables(const std::vector<std::string>& expressions,
                                         const std::vector<std::string>& hamiltonians, int n) {
  std::vector<Observable> out;
  for (const std::string& text : expressions) {
    try {
      out.push_back({text, kraus::engine::PauliSum::parse(text)});
    } catch (const std::invalid_argument& e) {
      throw UsageError("--observable \"" + printable(text) + "\": " + printable(e.what()));
    }
  }
  for (const std::string& path : hamiltonians) out.push_back({path, kraus::engine::read_hamiltonian_file(path)});
  for (const Observable& obs : out) {
    if (obs.sum.min_qubits() > n) {
      throw UsageError("observable \"" + printable(obs.label) + "\" acts on qubit " +
                       std::to_string(obs.sum.min_qubits() - 1) + " but the circuit has " + std::to_string(n) +
                       " qubit(s)");
    }
  }
  return out;
}

}  // namespace kraus::cli
