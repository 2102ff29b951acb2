// Noise models of a study: resolving --noise arguments to files, loading them, and fitting a model
// written for a device to a smaller register.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kraus/noise/noise_model.hpp"

namespace kraus::experiments {

// A loaded noise model and where it came from.
struct NamedNoiseModel {
  std::string name;          // the file name without ".json": the CSV's noise_model column
  std::string path;          // the file read
  nlohmann::ordered_json document;  // the file's JSON, as written (recorded in <study>.json)
  noise::NoiseModel model;
};

// The folder of the models shipped with kraus (experiments/noise_models in the source tree).
std::string shipped_noise_model_dir();

// Resolves each argument: an existing file; an existing folder (every *.json in it, sorted by name);
// otherwise, for a bare name without '/', the shipped model NAME.json (or NAME). Loads every model
// as NoiseModel::from_json does and resolves its gate names (engine::resolve_gate_names: aliases to
// gate-table names). Throws UsageError naming the argument: a missing file (listing the shipped
// models), an empty folder, a model that does not load (the parser's message) or names an unknown
// gate, two models with the same name, a name that is not [A-Za-z0-9_.+-]+.
std::vector<NamedNoiseModel> load_noise_models(const std::vector<std::string>& arguments);

// The model for an n-qubit register on the device's qubits 0..n-1: model.fitted({0, ..., m - 1})
// (NoiseModel::fitted: rules and readout errors on other qubits dropped, a correlated readout
// group with any qubit >= m dropped), m = n, or the device's qubit count when the device is smaller
// (its model then leaves the register's further qubits noiseless, as exp_scaling warns).
noise::NoiseModel fit_to_register(const noise::NoiseModel& model, int num_qubits);

}  // namespace kraus::experiments
