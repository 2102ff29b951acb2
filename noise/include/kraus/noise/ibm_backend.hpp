// IBM Quantum device files as Qiskit writes them: BackendProperties JSON (props_*.json: per-qubit
// T1, T2 and readout errors, per gate instance gate_error and gate_length) and
// BackendConfiguration JSON (conf_*.json: name, qubit count, basis gates, coupling map), read into
// the noise model Qiskit Aer's NoiseModel.from_backend builds at temperature 0 (docs/devices.md):
//  * after each calibrated gate instance (a rule on its ordered qubit tuple), a depolarising
//    channel on its qubits jointly, then thermal relaxation of each of its qubits for the gate's
//    length; the depolarising parameter makes the composed channel's average gate infidelity equal
//    gate_error (NoiseModel::from_calibration: Aer's formula and bounds; no depolarising channel when
//    relaxation alone reaches gate_error, none at all for gate_error 0 and length 0, as rz);
//  * a missing gate_error counts as 0 and a missing gate_length as 0 (as in Aer); `reset` and
//    `measure` entries get no rule (kraus applies no noise rule to them);
//  * readout: prob_meas1_prep0 / prob_meas0_prep1 when a qubit lists both, else the symmetric
//    readout_error, else none;
//  * the device block: backend_name, n_qubits, basis_gates and coupling_map of the configuration.
// Units come from each entry's "unit" (times in s, ms, us, µs or ns; probabilities unitless ""),
// never assumed. Errors (NoiseModelError) name the file and the JSON path: a missing or unknown
// unit, a missing T1 or T2, a time <= 0, a negative gate_error or gate_length, a probability
// outside [0, 1], a qubit the device lacks. Clipped values are warnings: T2 above 2 T1 is clipped
// to 2 T1, a gate_error above d / (d + 1) (d = 2^k) to that maximum, as Aer does. The readers'
// limits of noise_model.hpp apply to both files (64 MiB, JSON nesting, numbers, qubit indices).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "kraus/noise/noise_model.hpp"

namespace kraus::noise {

// The two files of one device.
struct IbmBackendFiles {
  std::string props_path, conf_path;
};

// The model from the two documents' text; `props_source` and `conf_source` name them in messages.
// Warnings (clipped values), one line each naming the file and JSON path, are appended to
// *warnings when it is given.
NoiseModel from_ibm_backend(std::string_view props_json, std::string_view conf_json, const std::string& props_source,
                            const std::string& conf_source, std::vector<std::string>* warnings = nullptr);
// The same from the files (each read as NoiseModel::from_json_file reads, at most 64 MiB).
NoiseModel from_ibm_backend_files(const std::string& props_path, const std::string& conf_path,
                                  std::vector<std::string>* warnings = nullptr);

}  // namespace kraus::noise
