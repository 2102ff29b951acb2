#include "kraus/engine/measurement.hpp"

#include <algorithm>
#include <stdexcept>

namespace kraus::engine {
namespace {

// "name[i]" of classical bit `clbit`.
std::string clbit_name(const std::vector<ClassicalRegister>& registers, int clbit) {
  int offset = 0;
  for (const ClassicalRegister& r : registers) {
    if (clbit < offset + r.size) return r.name + "[" + std::to_string(clbit - offset) + "]";
    offset += r.size;
  }
  return "classical bit " + std::to_string(clbit);
}

}  // namespace

bool MeasurementMap::empty() const {
  return std::none_of(clbit_qubit.begin(), clbit_qubit.end(), [](int q) { return q >= 0; });
}

std::vector<int> MeasurementMap::measured_qubits() const {
  std::vector<int> qubits;
  for (int q : clbit_qubit) {
    if (q >= 0) qubits.push_back(q);
  }
  std::sort(qubits.begin(), qubits.end());
  qubits.erase(std::unique(qubits.begin(), qubits.end()), qubits.end());
  return qubits;
}

std::string MeasurementMap::key(std::uint64_t qubit_outcome, const std::vector<std::uint8_t>& recorded) const {
  std::string out;
  std::size_t end = clbit_qubit.size();
  for (std::size_t r = registers.size(); r-- > 0;) {
    if (registers[r].size < 0 || static_cast<std::size_t>(registers[r].size) > end) {
      throw std::invalid_argument("measurement map: the registers hold more bits than the " +
                                  std::to_string(clbit_qubit.size()) + " classical bits mapped");
    }
    if (!out.empty()) out += ' ';
    const std::size_t begin = end - static_cast<std::size_t>(registers[r].size);
    for (std::size_t b = end; b-- > begin;) {
      const int q = clbit_qubit[b];
      if (q == kRecordedClbit) {
        if (b >= recorded.size()) {
          throw std::invalid_argument("measurement map: classical bit " + std::to_string(b) +
                                      " is recorded, but no recorded value was given");
        }
        out += recorded[b] != 0 ? '1' : '0';
      } else {
        out += q >= 0 && ((qubit_outcome >> q) & 1u) ? '1' : '0';
      }
    }
    end = begin;
  }
  return out;
}

std::vector<bool> recorded_measurements(const Circuit& circuit) {
  const auto& ops = circuit.operations();
  const bool controlled = circuit.has_conditions();
  std::vector<bool> used_later(static_cast<std::size_t>(circuit.num_qubits()), false);
  // Bits a later condition reads or a later conditional measurement writes.
  std::vector<bool> needed_later(static_cast<std::size_t>(circuit.num_clbits()), false);
  std::vector<bool> out(ops.size(), false);
  for (std::size_t i = ops.size(); i-- > 0;) {
    const Operation& op = ops[i];
    if (op.kind == OpKind::kMeasure) {
      const auto bit = static_cast<std::size_t>(op.clbit);
      out[i] = used_later[static_cast<std::size_t>(op.qubits[0])] ||
               (controlled && (op.condition.active() || needed_later[bit]));
      if (op.condition.active()) needed_later[bit] = true;
    } else if (op.kind != OpKind::kBarrier) {
      for (int q : op.qubits) used_later[static_cast<std::size_t>(q)] = true;
    }
    for (int b = 0; b < op.condition.size; ++b) needed_later[static_cast<std::size_t>(op.condition.clbit + b)] = true;
  }
  return out;
}

MeasurementMap measurement_map(const Circuit& circuit, bool recorded_bits) {
  const auto& ops = circuit.operations();
  MeasurementMap map;
  if (std::none_of(ops.begin(), ops.end(), [](const Operation& op) { return op.kind == OpKind::kMeasure; })) {
    return map;
  }
  map.registers = circuit.classical_registers();
  if (circuit.num_clbits() > kMaxCountedClbits) {
    throw std::invalid_argument("counts support at most " + std::to_string(kMaxCountedClbits) +
                                " classical bits (one character each in a key); the circuit has " +
                                std::to_string(circuit.num_clbits()));
  }
  // Backwards: the first measurement met on a bit is its last write; next_use[q] is the next
  // operation other than a barrier or measurement on qubit q (ops.size() when there is none).
  std::vector<std::size_t> next_use(static_cast<std::size_t>(circuit.num_qubits()), ops.size());
  const std::vector<bool> recorded = recorded_bits ? recorded_measurements(circuit) : std::vector<bool>(ops.size(), false);
  std::vector<bool> written(static_cast<std::size_t>(circuit.num_clbits()), false);
  map.clbit_qubit.assign(static_cast<std::size_t>(circuit.num_clbits()), -1);
  for (std::size_t i = ops.size(); i-- > 0;) {
    const Operation& op = ops[i];
    if (op.kind == OpKind::kMeasure) {
      const auto bit = static_cast<std::size_t>(op.clbit);
      const int q = op.qubits[0];
      const std::size_t next = next_use[static_cast<std::size_t>(q)];
      if (!written[bit] && recorded[i]) map.clbit_qubit[bit] = kRecordedClbit;
      if (!written[bit] && !recorded[i] && next < ops.size()) {
        throw std::invalid_argument(
            "counts need every classical bit's last measurement to be final; " +
            clbit_name(map.registers, op.clbit) + " is written by the measurement of qubit " + std::to_string(q) +
            " (operation " + std::to_string(i) + ") which is followed by '" + ops[next].name() + "' on qubit " +
            std::to_string(q) + " (operation " + std::to_string(next) +
            "): not yet supported (needs trajectories)");
      }
      if (!written[bit] && !recorded[i]) map.clbit_qubit[bit] = q;
      written[bit] = true;
    } else if (op.kind != OpKind::kBarrier) {
      for (int q : op.qubits) next_use[static_cast<std::size_t>(q)] = i;
    }
  }
  return map;
}

}  // namespace kraus::engine
