// Noisy circuit simulation: a circuit under a noise model on one density matrix.
//
// Semantics:
//  * After every gate (kGate and kUnitary; user gates are already expanded into built-in gates by
//    the reader), the channels of every matching noise rule, in file order (noise_model.hpp).
//  * Idle noise: the circuit is layered as soon as possible (an operation goes into the layer after
//    the last one that used any of its qubits; a barrier aligns its qubits); in every layer up to
//    the last, the idle channel acts on each qubit that no operation of that layer uses — except
//    after the qubit's final measurement (it has been read out).
//  * A measurement followed by no other operation on its qubit does not change the state (read-outs
//    come from the final state); a mid-circuit measurement is the non-selective measurement
//    channel. Reset is the reset channel. No noise rule applies to measure, reset or barrier.
//  * Readout errors act on probabilities and counts (probabilities_with_readout), never on ρ.
#pragma once

#include <vector>

#include "kraus/engine/circuit.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/noise/noise_model.hpp"

namespace kraus::engine {

// Checks that `model` fits `circuit` (each rule's channel arity against the gates it matches,
// readout qubits within the register) so that a bad combination fails before any simulation;
// throws noise::NoiseModelError.
void validate_noise(const Circuit& circuit, const noise::NoiseModel& model);

// Resets `rho` (which must have circuit.num_qubits() qubits) to |0...0> and runs the circuit;
// `model` may be null for a noiseless run.
void simulate(const Circuit& circuit, const noise::NoiseModel* model, DensityMatrix& rho);

// The layer of each operation in the as-soon-as-possible layering (barriers get the layer they
// align to; they occupy none), and the number of layers.
std::vector<int> asap_layers(const Circuit& circuit, int* num_layers);

// rho's probabilities with the model's readout errors applied (plain probabilities without a model).
std::vector<double> probabilities_with_readout(const DensityMatrix& rho, const noise::NoiseModel* model);

}  // namespace kraus::engine
