// Basis translation, layout and SABRE routing: what a device study does to a circuit before noise is
// placed on it (docs/transpile.md).
//
//  * Translation rewrites every gate into a target basis, exactly up to a global phase: multi-qubit
//    gates through textbook decompositions into cx and 1-qubit gates, cx into the basis's 2-qubit
//    gate (cx, cz or ecr), then every maximal run of 1-qubit gates on a qubit is merged into one 2x2
//    unitary and written in Euler form: rz·sx·rz·sx·rz (ZSX) at most, or one u3 (u1/p, u2 for the
//    special cases).
//  * With a coupling map, the program qubits are placed on device qubits. Without routing the
//    layout is trivial (program qubit v on device qubit v) and every 2-qubit gate must act on a
//    coupled pair. With routing, SABRE (Li, Ding, Xie, ASPLOS 2019) picks the initial layout and
//    inserts SWAPs on each of up to 32 candidate connected sets of device qubits (the densest ones,
//    and placements grown along the circuit's 2-qubit interactions, which need no SWAP when those
//    embed), keeping the fewest SWAPs; it is seeded and deterministic.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kraus/engine/circuit.hpp"
#include "kraus/engine/observables.hpp"

namespace kraus::engine {

// An undirected device connectivity (devices list both directions; a 2-qubit gate may act either way).
struct CouplingMap {
  int num_qubits = 0;                      // device qubits 0..num_qubits-1
  std::vector<std::pair<int, int>> edges;  // as listed (duplicates and both directions allowed)

  // Whether a and b share an edge, in either direction.
  bool coupled(int a, int b) const;
  // Throws std::invalid_argument naming the first bad edge, written "a-b" with its index in `edges`:
  // a device of fewer than 1 or more than 1000000 qubits, a qubit out of range, a self-loop.
  void validate() const;
};

struct TranspileOptions {
  // Target basis gate names (gate-table names or aliases: u1 u2 u3 u p rz sx x id cx ecr cz ...). Empty: no
  // translation. Supported: a 1-qubit family {rz, sx} (x, id optional) or {u3} / {u} (u1/p, u2 optional,
  // used for the special cases as Qiskit's U-family does), with a 2-qubit gate cx, cz or ecr (needed as
  // soon as the circuit has a multi-qubit gate; cx is preferred, then cz, then ecr). Other gate-table
  // names and "measure", "reset", "delay", "barrier" are allowed and ignored; unknown names are an error.
  std::vector<std::string> basis;
  std::optional<CouplingMap> coupling;  // none: all-to-all
  bool route = false;                   // with a coupling map: insert SWAPs; without route an uncoupled gate is an
                                        // error (no effect without a coupling map)
  std::uint64_t seed = 1;               // SABRE's random initial layouts (several trials derived from it)

  // False, with the reason in *why (when not null), for an unknown basis name, a basis without a
  // 1-qubit family, or an invalid coupling map. The 2-qubit gate is checked against the circuit.
  bool IsValid(std::string* why) const;
};

// Where each program (virtual) qubit sits. The transpiled circuit acts on a register of n = program qubits
// "slots"; slot s is device qubit physical[s].
struct Layout {
  std::vector<int> physical;  // physical[s]: device qubit of slot s (identity 0..n-1 without a coupling map)
  std::vector<int> initial;   // initial[v]: slot holding program qubit v at the start
  std::vector<int> final;     // final[v]: slot holding program qubit v at the end
  int swaps = 0;              // SWAPs inserted by routing
};

struct TranspileResult {
  Circuit circuit;  // on n slots, same classical bits and registers; measurements act on the slot holding
                    // their qubit then
  Layout layout;
  std::map<std::string, long> gate_counts_before, gate_counts_after;  // by Operation::name()
};

// Translation then (with a coupling map) layout and routing, then translation of the inserted SWAPs and a
// final merge of 1-qubit runs. Throws std::invalid_argument for: an unsupported basis; a circuit larger
// than the coupling map; an uncoupled 2-qubit gate without route (naming the gate, its operation index and
// qubits: "operation 3: cx on qubits 0, 3: device qubits 0 and 3 are not coupled (use --route)"); a
// 3+-qubit gate with a coupling map (decompose first: translation does that when a basis is given; with a
// coupling map but no basis, 3-qubit gates are an error too); a 2+-qubit kUnitary in translation (not
// supported yet); a circuit with classical control (if: not supported yet); a disconnected coupling map that
// has no connected set of n qubits. Throws
// std::runtime_error when routing passes its step limit.
TranspileResult transpile(const Circuit& circuit, const TranspileOptions& options);

// Reading a transpiled circuit's results in the program's qubit order, with program qubit v in slot
// final[v] (Layout::final): the slot basis index holding program basis state x; the program-to-slot
// permutation of basis indices (empty for the identity layout); a Pauli sum moved onto the slots;
// slot-indexed values (probabilities) in program order.
std::uint64_t slot_index(std::uint64_t x, const std::vector<int>& final);
std::vector<std::uint64_t> slot_permutation(const std::vector<int>& final);
PauliSum on_slots(const PauliSum& sum, const std::vector<int>& final);
std::vector<double> in_program_order(const std::vector<double>& slots, const std::vector<std::uint64_t>& perm);

}  // namespace kraus::engine
