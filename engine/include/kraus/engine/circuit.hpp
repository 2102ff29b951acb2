// A quantum circuit: a list of operations on numbered qubits (and classical bits for measure).
#pragma once

#include <string>
#include <vector>

#include <armadillo>

#include "kraus/engine/gates.hpp"

namespace kraus::engine {

enum class OpKind {
  kGate,     // a gate of the table (gates.hpp) with its parameters
  kUnitary,  // an arbitrary 1-3 qubit unitary (first listed qubit = least significant bit)
  kMeasure,  // computational-basis measurement of `qubits[0]` into classical bit `clbit`
  kReset,    // reset of `qubits[0]` to |0>
  kBarrier,  // no effect on the state; separates layers
};

struct Operation {
  OpKind kind = OpKind::kGate;
  Gate gate = Gate::kI;
  std::vector<int> qubits;
  std::vector<double> params;
  arma::cx_mat matrix;  // kUnitary only
  int clbit = -1;       // kMeasure only

  // The name noise rules match: the gate's OpenQASM name, "unitary", "measure", "reset", "barrier".
  std::string name() const;
};

// A classical register: `size` consecutive classical bits named name[0] .. name[size - 1].
struct ClassicalRegister {
  std::string name;
  int size = 0;
};

class Circuit {
 public:
  // A circuit with num_clbits > 0 has one classical register "c" of that size.
  explicit Circuit(int num_qubits, int num_clbits = 0);

  int num_qubits() const { return num_qubits_; }
  int num_clbits() const { return num_clbits_; }
  const std::vector<Operation>& operations() const { return ops_; }
  // Classical registers in declaration order; classical bits are numbered consecutively across
  // them (the first register's bit 0 is classical bit 0). OpenQASM circuits carry their cregs.
  const std::vector<ClassicalRegister>& classical_registers() const { return registers_; }
  // Replaces the registers; each needs a non-empty name and size >= 1, and the sizes must sum to
  // num_clbits() (std::invalid_argument otherwise).
  void set_classical_registers(std::vector<ClassicalRegister> registers);
  // Room for `count` operations (Operation is large and copied when the list grows).
  void reserve(std::size_t count) { ops_.reserve(count); }

  // Each adder validates its operands (qubit range, distinct qubits, arity, parameter count,
  // unitarity) and throws std::invalid_argument with a clear message.
  void add_gate(Gate gate, std::vector<int> qubits, std::vector<double> params = {});
  void add_unitary(std::vector<int> qubits, arma::cx_mat u);
  void add_measure(int qubit, int clbit);
  void add_reset(int qubit);
  void add_barrier(std::vector<int> qubits);

 private:

  int num_qubits_;
  int num_clbits_;
  std::vector<ClassicalRegister> registers_;
  std::vector<Operation> ops_;
};

// The exact inverse of a gate, unitary or barrier (global phases included, so op followed by
// inverse(op) is the identity matrix): self-inverse gates (id x y z h cx cy cz ch swap ecr ccx cswap)
// are returned unchanged; s <-> sdg, t <-> tdg, sx <-> sxdg; rx ry rz p crx cry crz cp rxx ryy rzz
// rzx negate their angle; u2(phi, lambda) -> u3(-pi/2, -lambda, -phi); u3(theta, phi, lambda) ->
// u3(-theta, -lambda, -phi), cu3 likewise; cu(theta, phi, lambda, gamma) -> cu(-theta, -lambda,
// -phi, -gamma); iswap and kUnitary -> a kUnitary with the adjoint matrix (so noise rules on "iswap"
// do not match the inverse, which is named "unitary"); a barrier is its own inverse. Measure and
// reset have no inverse: std::invalid_argument.
Operation inverse(const Operation& op);

// The inverse circuit: the inverses of the operations in reverse order (same registers, classical
// registers included). Throws
// std::invalid_argument for a circuit with a measurement or reset.
Circuit inverse(const Circuit& circuit);

}  // namespace kraus::engine
