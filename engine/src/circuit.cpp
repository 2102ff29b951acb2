#include "kraus/engine/circuit.hpp"

#include <cmath>
#include <stdexcept>

#include "kraus/noise/kernels.hpp"

namespace kraus::engine {

std::string Operation::name() const {
  switch (kind) {
    case OpKind::kGate: return std::string(gate_info(gate).name);
    case OpKind::kUnitary: return "unitary";
    case OpKind::kMeasure: return "measure";
    case OpKind::kReset: return "reset";
    case OpKind::kBarrier: return "barrier";
  }
  return "";
}

Circuit::Circuit(int num_qubits, int num_clbits) : num_qubits_(num_qubits), num_clbits_(num_clbits) {
  if (num_qubits < 1 || num_qubits > noise::kMaxQubits) {
    throw std::invalid_argument("a circuit needs 1 to " + std::to_string(noise::kMaxQubits) + " qubits, got " +
                                std::to_string(num_qubits));
  }
  if (num_clbits < 0) throw std::invalid_argument("negative number of classical bits");
  if (num_clbits > 0) registers_.push_back({"c", num_clbits});
}

void Circuit::set_classical_registers(std::vector<ClassicalRegister> registers) {
  long long total = 0;
  for (const ClassicalRegister& r : registers) {
    if (r.name.empty()) throw std::invalid_argument("a classical register needs a name");
    if (r.size < 1) {
      throw std::invalid_argument("classical register '" + r.name + "' needs at least one bit, got " +
                                  std::to_string(r.size));
    }
    total += r.size;
  }
  if (total != num_clbits_) {
    throw std::invalid_argument("classical registers of " + std::to_string(total) + " bits in all for a circuit of " +
                                std::to_string(num_clbits_) + " classical bits");
  }
  registers_ = std::move(registers);
}

void Circuit::add_gate(Gate gate, std::vector<int> qubits, std::vector<double> params) {
  const GateInfo& info = gate_info(gate);
  if (static_cast<int>(qubits.size()) != info.num_qubits) {
    throw std::invalid_argument("gate '" + std::string(info.name) + "' acts on " + std::to_string(info.num_qubits) +
                                " qubit(s), got " + std::to_string(qubits.size()));
  }
  if (static_cast<int>(params.size()) != info.num_params) {
    throw std::invalid_argument("gate '" + std::string(info.name) + "' takes " + std::to_string(info.num_params) +
                                " parameter(s), got " + std::to_string(params.size()));
  }
  check_qubit_operands(qubits, num_qubits_);
  Operation op;
  op.kind = OpKind::kGate;
  op.gate = gate;
  op.qubits = std::move(qubits);
  op.params = std::move(params);
  ops_.push_back(std::move(op));
}

void Circuit::add_unitary(std::vector<int> qubits, arma::cx_mat u) {
  const arma::uword dim = arma::uword{1} << qubits.size();
  if (qubits.empty() || qubits.size() > 3 || u.n_rows != dim || u.n_cols != dim) {
    throw std::invalid_argument("a unitary on " + std::to_string(qubits.size()) +
                                " qubit(s) must be 2^k x 2^k with 1 <= k <= 3, got " + std::to_string(u.n_rows) +
                                "x" + std::to_string(u.n_cols));
  }
  check_qubit_operands(qubits, num_qubits_);
  const double err = arma::abs(u.t() * u - arma::eye<arma::cx_mat>(dim, dim)).max();
  if (!(err <= 1e-10)) {
    throw std::invalid_argument("matrix is not unitary: max |U^dagger U - I| = " + std::to_string(err));
  }
  Operation op;
  op.kind = OpKind::kUnitary;
  op.qubits = std::move(qubits);
  op.matrix = std::move(u);
  ops_.push_back(std::move(op));
}

void Circuit::add_measure(int qubit, int clbit) {
  check_qubit_operands({qubit}, num_qubits_);
  if (clbit < 0 || clbit >= num_clbits_) {
    throw std::invalid_argument("classical bit " + std::to_string(clbit) + " is out of range [0, " +
                                std::to_string(num_clbits_ - 1) + "]");
  }
  Operation op;
  op.kind = OpKind::kMeasure;
  op.qubits = {qubit};
  op.clbit = clbit;
  ops_.push_back(std::move(op));
}

void Circuit::add_reset(int qubit) {
  check_qubit_operands({qubit}, num_qubits_);
  Operation op;
  op.kind = OpKind::kReset;
  op.qubits = {qubit};
  ops_.push_back(std::move(op));
}

void Circuit::add_barrier(std::vector<int> qubits) {
  check_qubit_operands(qubits, num_qubits_);
  Operation op;
  op.kind = OpKind::kBarrier;
  op.qubits = std::move(qubits);
  ops_.push_back(std::move(op));
}

namespace {

void append_operation_checked(Circuit& circuit, const Operation& op) {
  switch (op.kind) {
    case OpKind::kGate: circuit.add_gate(op.gate, op.qubits, op.params); return;
    case OpKind::kUnitary: circuit.add_unitary(op.qubits, op.matrix); return;
    case OpKind::kMeasure: circuit.add_measure(op.qubits.at(0), op.clbit); return;
    case OpKind::kReset: circuit.add_reset(op.qubits.at(0)); return;
    case OpKind::kBarrier: circuit.add_barrier(op.qubits); return;
  }
}

}  // namespace

Operation inverse(const Operation& op) {
  Operation inv = op;
  switch (op.kind) {
    case OpKind::kBarrier: return inv;
    case OpKind::kUnitary: inv.matrix = op.matrix.t(); return inv;
    case OpKind::kMeasure:
    case OpKind::kReset:
      throw std::invalid_argument("'" + op.name() + "' is not unitary and has no inverse");
    case OpKind::kGate: break;
  }
  if (static_cast<int>(op.params.size()) != gate_info(op.gate).num_params) {
    throw std::invalid_argument("gate '" + op.name() + "' takes " + std::to_string(gate_info(op.gate).num_params) +
                                " parameter(s), got " + std::to_string(op.params.size()));
  }
  const double pi = std::acos(-1.0);
  const std::vector<double>& a = op.params;
  switch (op.gate) {
    case Gate::kI: case Gate::kX: case Gate::kY: case Gate::kZ: case Gate::kH:
    case Gate::kCX: case Gate::kCY: case Gate::kCZ: case Gate::kCH: case Gate::kSwap: case Gate::kECR:
    case Gate::kCCX: case Gate::kCSwap:
      return inv;
    case Gate::kS: inv.gate = Gate::kSdg; return inv;
    case Gate::kSdg: inv.gate = Gate::kS; return inv;
    case Gate::kT: inv.gate = Gate::kTdg; return inv;
    case Gate::kTdg: inv.gate = Gate::kT; return inv;
    case Gate::kSX: inv.gate = Gate::kSXdg; return inv;
    case Gate::kSXdg: inv.gate = Gate::kSX; return inv;
    case Gate::kRX: case Gate::kRY: case Gate::kRZ: case Gate::kP:
    case Gate::kCRX: case Gate::kCRY: case Gate::kCRZ: case Gate::kCP:
    case Gate::kRXX: case Gate::kRYY: case Gate::kRZZ: case Gate::kRZX:
      inv.params = {-a[0]};
      return inv;
    case Gate::kU2:
      inv.gate = Gate::kU3;
      inv.params = {-pi / 2, -a[1], -a[0]};
      return inv;
    case Gate::kU3:
    case Gate::kCU3:
      inv.params = {-a[0], -a[2], -a[1]};
      return inv;
    case Gate::kCU:
      inv.params = {-a[0], -a[2], -a[1], -a[3]};
      return inv;
    case Gate::kISwap:
      inv.kind = OpKind::kUnitary;
      inv.gate = Gate::kI;
      inv.params.clear();
      inv.matrix = gate_matrix(Gate::kISwap).t();
      return inv;
  }
  throw std::invalid_argument("inverse: unknown gate");
}

Circuit inverse(const Circuit& circuit) {
  Circuit out(circuit.num_qubits(), circuit.num_clbits());
  out.set_classical_registers(circuit.classical_registers());
  const auto& ops = circuit.operations();
  for (std::size_t i = ops.size(); i-- > 0;) append_operation_checked(out, inverse(ops[i]));
  return out;
}

}  // namespace kraus::engine
