// Noise scaling for zero-noise extrapolation: unitary folding (global, random local, all gates,
// layers) and identity insertion, with Mitiq's conventions (docs/zne.md).
//
// Terms used below:
//  * N, the number of gates: operations of kind kGate or kUnitary. Barriers, measurements and
//    resets are not gates.
//  * The requested scale factor s (>= 1) is what the caller asks for; the realised factor is what
//    the folded circuit achieves: (gates of the folded circuit) / N for folding (with weights,
//    sum of w_j (2 n_j + 1) / sum of w_j), (layers after) / (layers before) for identity insertion.
//  * Folding a gate G once replaces it by G G^-1 G (inverse() of circuit.hpp: exact, phases included),
//    so every scaled circuit has the noiseless state of the original.
//  * Rounding "half to even" is Python's round(), which Mitiq uses: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2.
//
// Measurements: a measurement with no later gate or reset on its qubit is terminal; terminal
// measurements are taken out before folding and appended, in their order, at the end. Resets that
// come before any other operation on their qubit act on |0> and are kept at the front. A circuit
// with a mid-circuit measurement or any other reset cannot be folded: UnfoldableCircuitError.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "kraus/engine/circuit.hpp"

namespace kraus::mitigation {

// A circuit that folding cannot handle: the message names the operation, e.g. "cannot fold the
// circuit: operation 3 (measure on qubit 0) is followed by a gate on that qubit (mid-circuit
// measurement)".
struct UnfoldableCircuitError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// The most operations a scaled circuit may have, the same as the QASM reader's expansion limit (1
// million; an operation takes a few hundred bytes): a scale factor whose circuit would be larger is
// refused with std::invalid_argument before the circuit is built, e.g. "noise scale factor 1e+09
// would give a circuit of at least 2000000000 operations (fold-global on 2 gates); the limit is
// 1000000".
constexpr double kMaxScaledOperations = 1'000'000;

struct ScaledCircuit {
  engine::Circuit circuit;
  double requested_scale_factor = 1.0;
  double realized_scale_factor = 1.0;
};

// Python's round(): nearest integer, ties to the even one.
double round_half_to_even(double x);

// Number of gates (kGate and kUnitary operations).
int num_gates(const engine::Circuit& circuit);

// Throws UnfoldableCircuitError unless `circuit` can be folded (see above).
void check_foldable(const engine::Circuit& circuit);

// Global folding, C -> C (C^-1 C)^g, then the inverses of the last k gates followed by those gates:
// g, f = divmod(s - 1, 2), k = round_half_to_even(f N / 2); realised factor 1 + 2g + 2k/N. The last
// k gates are taken as Mitiq (Cirq) does: layers (engine::asap_layers) from last to first,
// operations within a layer from last to first; they are appended inverted in that order and then
// again in circuit order. Barriers of C are kept in C and C^-1 (not in the partial fold).
// s >= 1 (std::invalid_argument otherwise); a circuit without gates: UnfoldableCircuitError.
ScaledCircuit fold_global(const engine::Circuit& circuit, double scale_factor);

// Local folding at random (Mitiq's fold_gates_at_random with its _create_fold_mask): gate j has
// weight w_j (all 1 when `weights` is empty; Mitiq's default would be 0.99^(qubits of the gate));
// gates of weight 0 are never folded. Every gate of nonzero weight is folded u = floor((s - 1)/2)
// times; unless the weighted factor then equals s (to 1e-9), the gate indices are shuffled
// (Fisher-Yates with std::mt19937_64 seeded by `seed`) and, in that order, a gate gets one more
// fold while that strictly brings the weighted factor closer to s (the walk stops at the first gate
// that would not). Same seed, same folds. Realised factor: the weighted factor.
ScaledCircuit fold_gates_at_random(const engine::Circuit& circuit, double scale_factor, std::uint64_t seed,
                                   const std::vector<double>& weights = {});

// Every gate G -> G (G^-1 G)^k with k = round_half_to_even((s - 1) / 2); realised factor 1 + 2k.
// Pitfalls kept from Mitiq: s = 2 gives k = 0 (no folding), s = 4 gives k = 2 (realised 5).
ScaledCircuit fold_all(const engine::Circuit& circuit, double scale_factor);

// Layer folding: after layer i (engine::asap_layers) the layer's gates L_i are appended as
// (L_i^-1 L_i)^{folds[i]}; folds.size() must equal the number of layers. The requested factor is
// reported equal to the realised one (gates after / gates before).
ScaledCircuit fold_layers(const engine::Circuit& circuit, const std::vector<int>& folds_per_layer);

// Mitiq's get_layer_folding(layer): layer `layer` folded floor((s - 1) / 2) times, the rest untouched.
ScaledCircuit fold_layer(const engine::Circuit& circuit, int layer, double scale_factor);

// Identity insertion (Mitiq's insert_id_layers) on the depth d (layers of engine::asap_layers):
// u = floor(s - 1); when u + 1 equals s (to 1e-9), u identity layers after every layer; otherwise,
// in addition, one more identity layer after each of floor(d (s - 1 - u)) distinct layers chosen at
// random (seeded). An identity layer is a barrier on every qubit followed by an `id` gate on every
// qubit, so it takes the noise of rules that match `id` (or "*"); idle noise does not act on it
// (its qubits are busy). Realised factor: layers after / d.
ScaledCircuit insert_identity_layers(const engine::Circuit& circuit, double scale_factor, std::uint64_t seed);

}  // namespace kraus::mitigation
