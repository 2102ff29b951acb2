// The gate set: OpenQASM 2's qelib1.inc as extended by Qiskit, in one table.
//
// Conventions: R_P(theta) = exp(-i theta P / 2). A k-qubit gate's matrix is row-major
// 2^k x 2^k with bit j of its index belonging to the j-th listed qubit (the first listed qubit is
// the least significant), so `cx a, b` is controlled on a (bit 0) and targets b (bit 1).
// Matrices follow Qiskit's definitions, global phases included.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include <armadillo>

namespace kraus::engine {

enum class Gate {
  kI, kX, kY, kZ, kH, kS, kSdg, kT, kTdg, kSX, kSXdg,
  kRX, kRY, kRZ, kP, kU2, kU3,
  kCX, kCY, kCZ, kCH, kSwap, kISwap, kCRX, kCRY, kCRZ, kCP, kCU3, kCU,
  kRXX, kRYY, kRZZ, kRZX, kECR,
  kCCX, kCSwap,
};

struct GateInfo {
  Gate gate;
  std::string_view name;  // OpenQASM 2 name
  int num_qubits;
  int num_params;
  std::string_view definition;  // matrix or formula, for documentation
};

// Every gate, in the order of the enum; the single source of truth for names and arities.
const std::vector<GateInfo>& gate_table();
const GateInfo& gate_info(Gate gate);

// Another name the reader and noise rules accept for a gate of the table.
struct GateAlias {
  std::string_view alias;
  Gate gate;
};
// Every alias: u1 -> p, u -> u3, cu1 -> cp, cnot -> cx.
const std::vector<GateAlias>& gate_aliases();

// Looks a gate up by its OpenQASM 2 name or an alias (gate_aliases).
std::optional<Gate> gate_from_name(std::string_view name);

// The gate's matrix (2^k x 2^k, conventions above). Throws std::invalid_argument when the number
// of parameters is wrong.
arma::cx_mat gate_matrix(Gate gate, const std::vector<double>& params = {});

// Checks an operation's qubit list against a register of `num_qubits`: every index in range and no
// qubit twice. Throws std::invalid_argument naming the offending qubit.
void check_qubit_operands(const std::vector<int>& qubits, int num_qubits);

}  // namespace kraus::engine
