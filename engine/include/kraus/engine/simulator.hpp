// Noisy circuit simulation: a circuit under a noise model on one density matrix.
//
// The noise is placed by compile() (program.hpp), which states the semantics: channels after gates,
// idle noise per as-soon-as-possible layer, measurements and resets.
#pragma once

#include <string>
#include <vector>

#include "kraus/engine/circuit.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/program.hpp"
#include "kraus/noise/noise_model.hpp"

namespace kraus::engine {

// Rewrites every rule's gate names to the names operations carry (Operation::name()): a gate-table
// name stays, an alias (gate_aliases(): u1, u, cu1, cnot) becomes its gate's name (u1 -> p), "*" and
// "unitary" stay. Names are case-sensitive. Anything else throws noise::NoiseModelError at the
// name's JSON path (GateNoiseRule::gate_paths; "gate_noise[i].gates[k]" for rules built in code):
//  * a qelib1.inc gate the reader expands (qasm2_expanded_gates()): "gate_noise[0].gates[1]: 'csx'
//    never reaches the simulator: the reader expands it into h, cp, h; put the noise on those gates";
//  * measure, reset, barrier, delay: noise rules apply after gates (measurement errors go in the
//    readout section);
//  * any other name, with the nearest table names or aliases by edit distance, compared
//    case-insensitively: "gate_noise[0].gates[0]: 'CNOT' is not a gate (did you mean 'cx'?)".
// Call it once after loading a model and before validate_noise.
void resolve_gate_names(noise::NoiseModel& model);

// Checks that `model` fits `circuit`, so that a bad combination fails before any simulation; throws
// noise::NoiseModelError naming the JSON path:
//  * every rule name is a gate-table name, "*" or "unitary" (an alias not yet resolved, or any
//    other name, is the error resolve_gate_names gives);
//  * every index in a rule's `qubits` and `gate_qubits` is a qubit of the circuit
//    ("gate_noise[1].qubits: qubit 7 does not exist (the circuit has 4 qubits)"), as readout qubits;
//  * each rule's channel arity fits the gates it matches; the idle channel is a 1-qubit channel.
void validate_noise(const Circuit& circuit, const noise::NoiseModel& model);

// Which gates of a circuit get channels from a model, exactly as simulate() places them.
struct NoiseCoverage {
  // One entry per gate name (Operation::name()) of the circuit, in order of first appearance;
  // gates and unitaries only (measure, reset and barrier get no gate noise).
  struct Gate {
    std::string name;
    long instances = 0;   // operations of that name
    long with_noise = 0;  // of which at least one channel follows
  };
  std::vector<Gate> gates;
  // One line each, only when the model has gate noise (idle noise does not count):
  //  * a gate name none of whose instances gets noise, when no rule names it: "no noise on any of
  //    the 7 'h' gates: the model has no rule for 'h' (rules name: cx, sx, x, id, rz); translate to
  //    the model's basis with --basis, or add a rule" ("no noise on the 'h' gate: ..." for one);
  //    when a rule names it but not on those qubits: "no noise on any of the 2 'h' gates: no rule
  //    for their qubits, e.g. h 3"; none for a basis gate of the model's device that no rule names
  //    (the device calibrated it error-free, as IBM's virtual rz);
  //  * a gate name only some of whose instances get noise: "3 of 12 'cx' gates get no noise: no rule
  //    for their qubits, e.g. cx 0,2" (the first such instance);
  //  * a rule that matches no gate of the circuit, for models without a device (device_qubits() ==
  //    0; a device model has rules for gates a circuit need not use): "gate_noise[2] (cu3, rzz on
  //    qubits 0,1) matches no gate of this circuit" ("(cx on 0,1 or 1,2)" for gate_qubits).
  std::vector<std::string> warnings;
};

// The coverage of `circuit` by `model` (validate_noise should have accepted them).
NoiseCoverage noise_coverage(const Circuit& circuit, const noise::NoiseModel& model);

// Resets `rho` (which must have circuit.num_qubits() qubits) to |0...0> and runs the circuit:
// compile(circuit, model, options) then run(). `model` may be null for a noiseless run. A
// parametrised circuit is refused (std::invalid_argument): run its program with parameter values;
// so is a circuit with classical control (trajectories run it).
void simulate(const Circuit& circuit, const noise::NoiseModel* model, DensityMatrix& rho,
              const CompileOptions& options = {});

// The layer of each operation in the as-soon-as-possible layering (barriers and explicit channels
// get the layer they align to; they occupy none), and the number of layers. Classical bits that a
// condition reads are used like qubits: by the conditions that read them and the measurements that
// write them.
std::vector<int> asap_layers(const Circuit& circuit, int* num_layers);

// rho's probabilities with the model's readout errors applied (plain probabilities without a model).
std::vector<double> probabilities_with_readout(const DensityMatrix& rho, const noise::NoiseModel* model);

}  // namespace kraus::engine
