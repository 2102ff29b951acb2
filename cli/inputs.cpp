#include "inputs.hpp"

#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

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

using json = nlohmann::ordered_json;

constexpr std::size_t kMaxParameterFileBytes = std::size_t{16} << 20;

std::string name_list(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + printable(name, noise::kMaxQuotedBytes);
  return out;
}

// The values of the parameters `names` (in their order) from a JSON object {"name": number} in the
// file `path`: every name once, no other key. Errors name the file and the key.
std::vector<double> read_parameters(const std::string& path, const std::vector<std::string>& names,
                                    const std::string& circuit_path) {
  std::string text;
  try {
    text = kraus::noise::read_text_file(path, kMaxParameterFileBytes, "parameter file");
  } catch (const kraus::noise::TextFileError& e) {
    throw UsageError(std::string("--parameters: ") + e.what());
  }
  const std::string declared = names.empty() ? "the circuit " + circuit_path + " has no parameters"
                                             : "the circuit " + circuit_path + " has " + name_list(names);
  std::string key;  // the key whose value is being read
  std::set<std::string> seen;
  const auto key_error = [&](const std::string& what) {
    return UsageError(path + ": \"" + printable(key, noise::kMaxQuotedBytes) + "\": " + what);
  };
  // Only a flat object of numbers is read: anything else stops the parser at once (no deep nesting).
  const json::parser_callback_t check = [&](int depth, json::parse_event_t event, json& parsed) {
    using E = json::parse_event_t;
    if (depth == 0 && (event == E::array_start || event == E::value)) {
      throw UsageError(path + ": expected a JSON object {\"name\": number, ...}");
    }
    if (depth >= 1 && (event == E::object_start || event == E::array_start)) throw key_error("expected a number");
    if (event == E::key) {
      key = parsed.get<std::string>();
      if (!seen.insert(key).second) throw key_error("given twice");
    }
    if (event == E::value && !parsed.is_number()) throw key_error("expected a number, got " + parsed.dump());
    return true;
  };
  json doc;
  try {
    doc = json::parse(text, check);
  } catch (const json::parse_error& e) {
    // nlohmann's message without its "[json.exception.parse_error.101] parse error at line L, column C: ".
    const std::string what = e.what();
    std::size_t start = what.find("column ");
    start = what.find(": ", start == std::string::npos ? 0 : start);
    throw UsageError(path + ":" + kraus::noise::line_col(text, e.byte == 0 ? 0 : e.byte - 1) + ": invalid JSON (" +
                     printable(start == std::string::npos ? what : what.substr(start + 2), 200) + ")");
  } catch (const json::exception&) {
    // A number beyond double's range ("number overflow parsing '1e400'"), read after its key.
    throw key_error("not a finite number");
  }
  std::vector<double> values(names.size());
  for (const auto& item : doc.items()) {
    key = item.key();
    std::size_t p = 0;
    while (p < names.size() && names[p] != key) ++p;
    if (p == names.size()) throw key_error("unknown parameter (" + declared + ")");
    values[p] = item.value().get<double>();
    if (!std::isfinite(values[p])) throw key_error("not a finite number");
  }
  for (const std::string& name : names) {
    if (!doc.contains(name)) {
      throw UsageError(path + ": missing parameter \"" + printable(name, noise::kMaxQuotedBytes) + "\" (" + declared +
                       ")");
    }
  }
  return values;
}


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

std::vector<double> parameter_values(const kraus::engine::Circuit& circuit,
                                     const std::optional<std::string>& parameters_path, const std::string& circuit_path) {
  const std::vector<std::string>& names = circuit.parameter_names();
  if (parameters_path) return read_parameters(*parameters_path, names, circuit_path);
  if (!names.empty()) throw UsageError("missing --parameters FILE: the circuit " + circuit_path + " has " + name_list(names));
  return {};
}

}  // namespace kraus::cli
