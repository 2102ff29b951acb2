// How the classical bits of a circuit are read from its final state, and their Qiskit Aer keys.
//
// A classical bit holds the outcome of the last measurement written to it. kraus simulates the
// density matrix, where a mid-circuit measurement is the non-selective measurement channel
// (simulator.hpp), so only final measurements can be sampled: a measurement is final when no later
// operation other than a barrier or another measurement acts on its qubit (the simulator's rule).
// Every bit whose last write is a final measurement reads its qubit in the final state; a qubit
// measured into several bits gives each of them the same outcome; a bit never written reads 0.
//
// Classical control (Operation::condition) needs sampled outcomes: trajectories sample every
// recorded measurement (recorded_measurements) and keep its outcome in the trajectory's classical
// bits, which conditions read; a bit whose last write is recorded takes the trajectory's value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kraus/engine/circuit.hpp"

namespace kraus::engine {

// Counts and memory keys are one character per classical bit: circuits with more classical bits
// than this are refused when they measure anything.
inline constexpr int kMaxCountedClbits = 4096;

// MeasurementMap::clbit_qubit of a bit whose last write is a recorded measurement.
inline constexpr int kRecordedClbit = -2;

struct MeasurementMap {
  // Per classical bit: the qubit its final measurement reads, -1 (never written: reads 0), or
  // kRecordedClbit (the trajectory's recorded outcome).
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
  // give "b0 a1a0". A kRecordedClbit bit reads recorded[bit] (a trajectory's classical bits, one
  // byte per bit, 0 or 1). Throws std::invalid_argument when the registers hold more bits than
  // clbit_qubit maps, or for a recorded bit beyond `recorded`.
  std::string key(std::uint64_t qubit_outcome, const std::vector<std::uint8_t>& recorded = {}) const;
};

// For each operation of `circuit`: a measurement whose outcome a trajectory samples and records in
// its classical bit. A mid-circuit measurement (one that a later operation other than a barrier or
// measurement on its qubit follows) always is (compile() makes it a step); in a circuit with
// conditions, also a conditional measurement, one whose bit a later condition reads, and one whose
// bit a later conditional measurement may overwrite (so the bit holds a sampled value either way).
// A measurement not recorded is final: it is read from the final state.
std::vector<bool> recorded_measurements(const Circuit& circuit);

// The map of `circuit`'s classical bits. Throws std::invalid_argument when a bit's last write is a
// measurement that is not final ("counts need every classical bit's last measurement to be final;
// c[0] is written by the measurement of qubit 1 (operation 1) which is followed by 'h' on qubit 1
// (operation 3): not yet supported (needs trajectories)"; operations counted from 0, as in the
// transpiler's and folding's messages), or when the circuit measures and has
// more than kMaxCountedClbits classical bits.
//
// With `recorded_bits` (trajectories), a bit whose last write is a recorded measurement
// (recorded_measurements) maps to kRecordedClbit instead, and a mid-circuit last write is no error.
MeasurementMap measurement_map(const Circuit& circuit, bool recorded_bits = false);

}  // namespace kraus::engine
