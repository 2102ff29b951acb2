// A noise model: which channels follow which gates, idle noise, readout errors; its JSON format is
// documented in docs/noise-model.md.
//
// Rules attach a channel after gates by name (or "*" for every gate). A rule with `qubits` applies
// only to gates all of whose qubits are in that list; a rule with `gate_qubits` (ordered tuples, as
// in Qiskit Aer) only to gates whose qubit list equals one of the tuples, in order. Every matching
// rule applies, in file order.
// A channel whose arity equals the gate's acts on the gate's qubits jointly (the gate's first qubit
// is the channel's first qubit, the least significant bit); a 1-qubit channel after a k-qubit gate
// acts on each of its qubits; any other combination is an error. Idle noise is a 1-qubit channel on
// every qubit left idle in a layer of the circuit's as-soon-as-possible layering (applied by the
// simulator). Readout errors act on probabilities and sampled counts. A model may name the device it
// was written for (DeviceInfo) and be fitted to a register of some of the device's qubits
// (NoiseModel::fitted; docs/devices.md, which also covers IBM device files: ibm_backend.hpp).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kraus/noise/channel_table.hpp"
#include "kraus/noise/readout.hpp"

namespace kraus::noise {

// Limits of the JSON readers (from_json, from_json_file, from_aer_json, and from_ibm_backend for
// each of its two files), each checked before the reader allocates or recurses for it:
//  * a model file or text of at most 64 MiB (kMaxNoiseModelBytes);
//  * JSON arrays and objects nested at most 64 deep (kMaxJsonDepth), checked on the raw bytes
//    before parsing, refused with "source:line:col";
//  * numbers within double's range (1e400 is refused with its line and column; underflow such as
//    1e-400 reads as strtod gives it, here 0); integer fields are integer literals in their range;
//  * no duplicate keys in an object;
//  * `tensor` channels nested at most 8 levels (kMaxTensorNesting);
//  * qubit indices 0 to 62 (kMaxQubitIndex); Kraus matrices 2x2 or 4x4 (1 or 2 qubits);
//    correlated readout matrices on at most 10 qubits (kMaxReadoutGroupQubits, readout.hpp);
//  * gate names are letters, digits and _ (not starting with a digit), or "*".
inline constexpr std::size_t kMaxNoiseModelBytes = std::size_t{64} << 20;
inline constexpr int kMaxJsonDepth = 64;
inline constexpr int kMaxTensorNesting = 8;
inline constexpr int kMaxQubitIndex = 62;

// Bad model files: the message names the source and the JSON path, e.g.
// "model.json: gate_noise[2].channel.p: 1.5 is outside [0, 1] for a depolarizing channel", or the
// line and column for JSON syntax ("model.json:3:21: invalid JSON (...)"). Text from the file
// is quoted through printable (text.hpp): control bytes and broken UTF-8 as \xNN.
struct NoiseModelError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

struct GateNoiseRule {
  std::vector<std::string> gates;  // gate names, or "*"
  std::vector<int> qubits;         // empty: any qubits
  ChannelSpec channel;
  std::vector<std::vector<int>> gate_qubits;  // empty: no ordered-tuple condition
  // Where each name of `gates` was written, a JSON path ("gate_noise[2].gates[0]",
  // "errors[1].operations[0]", "calibration.gates[3].gate"), for messages; empty for rules built
  // in code.
  std::vector<std::string> gate_paths;

  bool matches(std::string_view gate, const std::vector<int>& gate_qubits) const;
};

// Readout error as written: per qubit (p1_given_0, p0_given_1) on listed qubits or on all qubits,
// or a correlated confusion matrix on a group.
struct ReadoutSpec {
  bool all_qubits = false;
  std::vector<int> qubits;
  double p1_given_0 = 0.0, p0_given_1 = 0.0;
  std::vector<double> matrix;  // correlated form when non-empty (row-major, row = true outcome)
};

// Calibration-style figures for one qubit and one gate (any consistent time unit).
struct QubitCalibration {
  double t1 = 0.0, t2 = 0.0;                  // t2 is clipped to 2 t1, as Qiskit Aer does
  double excited_population = 0.0;
  double p1_given_0 = 0.0, p0_given_1 = 0.0;  // readout
};
struct GateCalibration {
  std::string gate;
  std::vector<int> qubits;
  double error = 0.0;  // 1 - average gate fidelity
  double time = 0.0;
  std::string path;    // where the gate name was written (GateNoiseRule::gate_paths); may be empty
};

// What a model knows about the device it was written for (JSON key "device").
struct DeviceInfo {
  std::string name;                               // e.g. "ibmq_manila"; may be empty
  int num_qubits = 0;                             // > 0
  std::vector<std::string> basis_gates;           // as the device names them (may be empty)
  std::vector<std::pair<int, int>> coupling_map;  // directed edges as listed (empty: all-to-all)
};

// One channel to apply and where, built from the rule that placed it.
struct PlacedChannel {
  std::shared_ptr<const Channel> channel;
  std::vector<int> qubits;
  KernelKind kernel = KernelKind::kSuperoperator;  // how to apply it (ChannelSpec::kernel)
};

class NoiseModel {
 public:
  std::vector<GateNoiseRule> gate_noise;
  std::optional<ChannelSpec> idle_noise;
  std::vector<ReadoutSpec> readout;
  // JSON key "device": {"name", "num_qubits", "basis_gates", "coupling_map"} (only num_qubits
  // required). When present, every qubit the model names (rules, readout, coupling map) is below
  // num_qubits. A `calibration` section without a "device" block gives a DeviceInfo with only
  // num_qubits (its number of qubits).
  std::optional<DeviceInfo> device;

  // Parses the JSON text; `source` names it in errors. Validates every channel (building it) and
  // throws NoiseModelError with the JSON path of the first problem. A Qiskit Aer
  // NoiseModel.to_dict() document (a top-level "errors" key and none of kraus' keys) is read as
  // from_aer_json reads it.
  static NoiseModel from_json(std::string_view text, const std::string& source = "<noise model>");
  static NoiseModel from_json_file(const std::string& path);
  // The model's JSON; from_json(to_json()) gives the same model.
  std::string to_json() const;

  // A model from calibration figures, the method of Qiskit Aer's NoiseModel.from_backend: after
  // each calibrated gate (rules on exactly its ordered qubit tuple), a depolarising channel on the
  // gate's qubits jointly, then thermal relaxation (t1, t2 clipped to 2 t1, the gate's time) of
  // each of its qubits (a `tensor` of per-qubit channels; none when time is 0). With d = 2^k,
  // F_relax the relaxation's average gate fidelity and e = min(error, d / (d + 1)), Qiskit's
  // depolarising parameter is lambda = d (e - (1 - F_relax)) / (d F_relax - 1), at most
  // 4^k / (4^k - 1), so that the composed channel's average gate infidelity is e; no depolarising
  // rule when error <= 1 - F_relax (relaxation alone reaches it). Readout errors per qubit with a
  // non-zero probability. No device block (from_json's calibration section adds it).
  static NoiseModel from_calibration(const std::vector<QubitCalibration>& qubits,
                                     const std::vector<GateCalibration>& gates);

  // Qiskit Aer's NoiseModel.to_dict() JSON, for what both support: rules on named gates become
  // "qerror"s with a Kraus instruction (gate_qubits listing every qubit tuple a `qubits` rule
  // allows, for `num_qubits`), readout becomes "roerror"s. "*" rules and idle noise have no Aer form
  // and are refused.
  std::string to_aer_json(int num_qubits) const;
  // Reads Aer's JSON: "qerror" (instructions pauli, kraus, unitary, reset and the Pauli/identity
  // gates, mixed with their probabilities) and "roerror".
  static NoiseModel from_aer_json(std::string_view text, const std::string& source = "<aer noise model>");

  // Every error strength multiplied by s (ChannelSpec::scaled); readout is not scaled.
  NoiseModel scaled(double s) const;

  // The number of device qubits the model was written for: device->num_qubits, or 0 without a
  // device block (rule qubits must then lie inside the circuit, which validate_noise checks).
  int device_qubits() const;
  // The model for a register whose qubit s is device qubit physical[s] (distinct, each below
  // device_qubits() when that is > 0, else at most kMaxQubitIndex; at least one): every qubit is
  // renumbered to its register index. A `qubits` rule keeps its listed qubits that are in
  // `physical` (the rule is dropped when none is); a `gate_qubits` rule keeps the tuples all of
  // whose qubits are in `physical` (dropped when none is); rules on any qubits and the idle noise
  // are kept; per-qubit readout errors keep their qubits in `physical`; a correlated readout group
  // is kept only when all its qubits are in `physical`; the coupling map keeps the edges inside
  // `physical`, and device->num_qubits becomes physical.size(). `dropped`, when given, receives
  // one line per dropped correlated group. Throws NoiseModelError for a bad `physical`.
  NoiseModel fitted(const std::vector<int>& physical, std::vector<std::string>* dropped = nullptr) const;

  // The channels to apply after gate `gate` on `gate_qubits`, in order, built on each call (the
  // model is plain data and keeps nothing: a compiled program holds the channels it uses). A tensor
  // channel comes as its factors, each on its slice of the gate's qubits (the same map: the factors
  // commute). Throws NoiseModelError naming the rule when a channel's arity does not fit the gate.
  std::vector<PlacedChannel> channels_after(std::string_view gate, const std::vector<int>& gate_qubits) const;
  // The idle channel, built (null when there is none), and its kernel.
  std::shared_ptr<const Channel> idle_channel() const;
  // The readout errors resolved for an n-qubit register.
  ReadoutModel readout_model(int num_qubits) const;

};

}  // namespace kraus::noise
