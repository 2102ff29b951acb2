// How the classical bits of a circuit are read from its final state, and their Qiskit Aer keys.
//
// A classical bit holds the outcome of the last measurement written to it. kraus simulates the
// density matrix, where a mid-circuit measurement is the non-selective measurement channel
// (simulator.hpp), so only final measurements can be sampled: a measurement is final when no later
// operation other than a barrier or another measurement acts on its qubit (the simulator's rule).
// Every bit whose last write is a final measurement reads its qubit in the final state; a qubit
// measured into several bits gives each of them the same outcome; a bit never written reads 0.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kraus/engine/circuit.hpp"

namespace kraus::engine {

// Counts and memory keys are one character per classical bit: circuits with more classical bits
// than this are refused when they measure anything.
inline constexpr int kMaxCountedClbits = 4096;

struct MeasurementMap {
  // Per classical bit: the qubit its final measurement reads, or -1 (never written: reads 0).
  std::vector<int> clbit_qubit;
  // The circuit's classical registers (their sizes sum to clbit_qubit.size()).
  std::vector<ClassicalRegister> registers;
  // Both lists are empty when the circuit measures nothing.

  // No measurement at all (no counts, no memory).
  bool empty() const;
  // The qubits some classical bit reads, sorted and distinct.
  std::vector<int> measured_qubits() const;
  // The Aer-style key of an outcome of the qubits (bit q = qubit q): registers in reverse
  // declaration order separated by one space, each with its highest bit leftmost; cregs a[2], b[1]
  // give "b0 a1a0". Throws std::invalid_argument when the registers hold more bits than
  // clbit_qubit maps.
  std::string key(std::uint64_t qubit_outcome) const;
};

// The map of `circuit`'s classical bits. Throws std::invalid_argument when a bit's last write is a
// measurement that is not final ("counts need every classical bit's last measurement to be final;
// c[0] is written by the measurement of qubit 1 (operation 1) which is followed by 'h' on qubit 1
// (operation 3): not yet supported (needs trajectories)"; operations counted from 0, as in the
// transpiler's and folding's messages), or when the circuit measures and has
// more than kMaxCountedClbits classical bits.
MeasurementMap measurement_map(const Circuit& circuit);

}  // namespace kraus::engine
