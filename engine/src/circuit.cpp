#include "kraus/engine/circuit.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "kraus/noise/kernels.hpp"

namespace kraus::engine {

Angle Angle::constant(double value) {
  Angle a;
  a.offset = value;
  return a;
}

Angle Angle::parameter(int index, double coeff, double offset) {
  if (index < 0) throw std::invalid_argument("parameter index " + std::to_string(index) + " is negative");
  Angle a;
  a.offset = offset;
  a.terms.push_back({index, -1, coeff});
  return a;
}

Angle Angle::feature(int index, double coeff, double offset) {
  if (index < 0) throw std::invalid_argument("feature index " + std::to_string(index) + " is negative");
  Angle a;
  a.offset = offset;
  a.terms.push_back({-1, index, coeff});
  return a;
}

Angle& Angle::add(int param, int feature, double coeff) {
  terms.push_back({param < 0 ? -1 : param, feature < 0 ? -1 : feature, coeff});
  return *this;
}

double Angle::value(const double* theta, const double* x) const {
  double a = offset;
  for (const AngleTerm& t : terms) {
    double v = t.coeff;
    if (t.param >= 0) v *= theta[t.param];
    if (t.feature >= 0) v *= x[t.feature];
    a += v;
  }
  return a;
}

double Angle::term_derivative(const AngleTerm& term, const double* x) {
  return term.feature >= 0 ? term.coeff * x[term.feature] : term.coeff;
}

bool Angle::depends_on_parameters() const {
  return std::any_of(terms.begin(), terms.end(), [](const AngleTerm& t) { return t.param >= 0; });
}

int Angle::max_parameter() const {
  int m = -1;
  for (const AngleTerm& t : terms) m = std::max(m, t.param);
  return m;
}

int Angle::max_feature() const {
  int m = -1;
  for (const AngleTerm& t : terms) m = std::max(m, t.feature);
  return m;
}

AngleDependentChannel angle_dependent_amplitude_damping(double gamma_max) {
  if (!(gamma_max >= 0.0 && gamma_max < 1.0)) {
    throw std::invalid_argument("angle-dependent amplitude damping: gamma_max " + std::to_string(gamma_max) +
                                " is outside [0, 1)");
  }
  // E(B)_00 = B00 + γ B11, E(B)_01 = sqrt(1-γ) B01, E(B)_10 = sqrt(1-γ) B10, E(B)_11 = (1-γ) B11,
  // on vec(B)[a + 2b] = B(a, b): index 0 = B00, 1 = B10, 2 = B01, 3 = B11.
  auto superop = [](double g, double s) {  // s = sqrt(1 - g)
    noise::Matrix m(4, 4);
    m(0, 0) = 1.0;
    m(0, 3) = g;
    m(1, 1) = s;
    m(2, 2) = s;
    m(3, 3) = 1.0 - g;
    return m;
  };
  AngleDependentChannel c;
  c.num_qubits = 1;
  c.name = "angle_dependent_amplitude_damping";
  c.superoperator = [gamma_max, superop](double a) {
    const double g = gamma_max * std::sin(a / 2) * std::sin(a / 2);
    return superop(g, std::sqrt(1.0 - g));
  };
  c.derivative = [gamma_max](double a) {
    const double g = gamma_max * std::sin(a / 2) * std::sin(a / 2);
    const double dg = gamma_max * std::sin(a / 2) * std::cos(a / 2);  // d/da of gamma_max sin²(a/2)
    const double ds = -dg / (2.0 * std::sqrt(1.0 - g));
    noise::Matrix m(4, 4);
    m(0, 3) = dg;
    m(1, 1) = ds;
    m(2, 2) = ds;
    m(3, 3) = -dg;
    return m;
  };
  return c;
}

bool is_pauli_rotation(Gate gate) {
  switch (gate) {
    case Gate::kRX: case Gate::kRY: case Gate::kRZ:
    case Gate::kRXX: case Gate::kRYY: case Gate::kRZZ: case Gate::kRZX:
      return true;
    default:
      return false;
  }
}

std::string Operation::name() const {
  switch (kind) {
    case OpKind::kGate: return std::string(gate_info(gate).name);
    case OpKind::kUnitary: return "unitary";
    case OpKind::kMeasure: return "measure";
    case OpKind::kReset: return "reset";
    case OpKind::kBarrier: return "barrier";
    case OpKind::kChannel: return "channel";
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

void Circuit::add_rotation(Gate gate, std::vector<int> qubits, Angle angle) {
  const GateInfo& info = gate_info(gate);
  if (!is_pauli_rotation(gate)) {
    throw std::invalid_argument("gate '" + std::string(info.name) +
                                "' cannot carry a parametrised angle: only the Pauli rotations rx, ry, rz, rxx, "
                                "ryy, rzz, rzx can (exact gradients need a Pauli generator)");
  }
  if (static_cast<int>(qubits.size()) != info.num_qubits) {
    throw std::invalid_argument("gate '" + std::string(info.name) + "' acts on " + std::to_string(info.num_qubits) +
                                " qubit(s), got " + std::to_string(qubits.size()));
  }
  check_qubit_operands(qubits, num_qubits_);
  for (const AngleTerm& t : angle.terms) {
    if (t.param < -1 || t.feature < -1) throw std::invalid_argument("angle term with a bad index");
  }
  note_angle(angle);
  Operation op;
  op.kind = OpKind::kGate;
  op.gate = gate;
  op.qubits = std::move(qubits);
  op.has_angle = true;
  op.angle = std::move(angle);
  ops_.push_back(std::move(op));
}

void Circuit::add_channel(std::vector<int> qubits, noise::Channel channel) {
  check_qubit_operands(qubits, num_qubits_);
  if (channel.num_qubits() != static_cast<int>(qubits.size()) || qubits.empty() || qubits.size() > 3) {
    throw std::invalid_argument("a " + std::to_string(channel.num_qubits()) + "-qubit channel placed on " +
                                std::to_string(qubits.size()) + " qubit(s); explicit channels act on 1 to 3 qubits");
  }
  Operation op;
  op.kind = OpKind::kChannel;
  op.qubits = std::move(qubits);
  op.channel = std::make_shared<const noise::Channel>(std::move(channel));
  ops_.push_back(std::move(op));
}

void Circuit::add_angle_dependent_channel(std::vector<int> qubits, AngleDependentChannel channel, Angle angle) {
  check_qubit_operands(qubits, num_qubits_);
  if (channel.num_qubits != static_cast<int>(qubits.size()) || qubits.empty() || qubits.size() > 2) {
    throw std::invalid_argument("an angle-dependent channel on " + std::to_string(channel.num_qubits) +
                                " qubit(s) placed on " + std::to_string(qubits.size()) + " (1 or 2 allowed)");
  }
  if (!channel.superoperator) throw std::invalid_argument("angle-dependent channel without a superoperator");
  const noise::Matrix s = channel.superoperator(angle.offset);
  const int dim = 1 << (2 * channel.num_qubits);
  if (s.rows() != dim || s.cols() != dim) {
    throw std::invalid_argument("angle-dependent channel '" + channel.name + "': superoperator is " +
                                std::to_string(s.rows()) + "x" + std::to_string(s.cols()) + ", expected " +
                                std::to_string(dim) + "x" + std::to_string(dim));
  }
  note_angle(angle);
  Operation op;
  op.kind = OpKind::kChannel;
  op.qubits = std::move(qubits);
  op.has_angle = true;
  op.angle = std::move(angle);
  op.angle_channel = std::make_shared<const AngleDependentChannel>(std::move(channel));
  ops_.push_back(std::move(op));
}

void Circuit::condition_last(const Condition& condition) {
  if (ops_.empty()) throw std::invalid_argument("a condition needs an operation to control");
  if (ops_.back().kind == OpKind::kBarrier) throw std::invalid_argument("a barrier cannot be conditional");
  if (condition.size < 1 || condition.clbit < 0 || condition.clbit > num_clbits_ - condition.size) {
    throw std::invalid_argument("a condition on classical bits " + std::to_string(condition.clbit) + " .. " +
                                std::to_string(condition.clbit + condition.size - 1) + " of a circuit with " +
                                std::to_string(num_clbits_) + " classical bits");
  }
  if (condition.size < 64 && condition.value >> condition.size != 0) {
    throw std::invalid_argument("a condition's value " + std::to_string(condition.value) + " does not fit in " +
                                std::to_string(condition.size) + " bits");
  }
  ops_.back().condition = condition;
}

void Circuit::add(const Operation& op) {
  switch (op.kind) {
    case OpKind::kGate:
      if (op.has_angle) {
        add_rotation(op.gate, op.qubits, op.angle);
      } else {
        add_gate(op.gate, op.qubits, op.params);
      }
      break;
    case OpKind::kUnitary: add_unitary(op.qubits, op.matrix); break;
    case OpKind::kMeasure: add_measure(op.qubits.at(0), op.clbit); break;
    case OpKind::kReset: add_reset(op.qubits.at(0)); break;
    case OpKind::kBarrier: add_barrier(op.qubits); break;
    case OpKind::kChannel:
      if (op.angle_channel) {
        add_angle_dependent_channel(op.qubits, *op.angle_channel, op.angle);
      } else if (op.channel) {
        add_channel(op.qubits, *op.channel);
      } else {
        throw std::invalid_argument("a channel operation without a channel");
      }
      break;
  }
  if (op.condition.active()) condition_last(op.condition);
}

void Circuit::append(const Circuit& other) {
  if (other.num_qubits_ != num_qubits_ || other.num_clbits_ > num_clbits_) {
    throw std::invalid_argument("cannot append a circuit of " + std::to_string(other.num_qubits_) + " qubits and " +
                                std::to_string(other.num_clbits_) + " classical bits to one of " +
                                std::to_string(num_qubits_) + " and " + std::to_string(num_clbits_));
  }
  for (const Operation& op : other.ops_) add(op);
  set_num_parameters(other.num_parameters_);
  set_num_features(other.num_features_);
}

void Circuit::set_num_parameters(int n) {
  if (n < 0) throw std::invalid_argument("number of parameters must be >= 0");
  num_parameters_ = std::max(num_parameters_, n);
}

void Circuit::set_num_features(int n) {
  if (n < 0) throw std::invalid_argument("number of features must be >= 0");
  num_features_ = std::max(num_features_, n);
}

void Circuit::set_parameter_names(std::vector<std::string> names) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) throw std::invalid_argument("parameter " + std::to_string(i) + " has an empty name");
    for (std::size_t j = 0; j < i; ++j) {
      if (names[j] == names[i]) throw std::invalid_argument("parameter name '" + names[i] + "' is used twice");
    }
  }
  set_num_parameters(static_cast<int>(names.size()));
  parameter_names_ = std::move(names);
}

void Circuit::note_angle(const Angle& angle) {
  num_parameters_ = std::max(num_parameters_, angle.max_parameter() + 1);
  num_features_ = std::max(num_features_, angle.max_feature() + 1);
}

void Circuit::set_amplitude_initial_state(int num_features) {
  const double dim = std::ldexp(1.0, num_qubits_);
  if (num_features < 1 || static_cast<double>(num_features) > dim) {
    throw std::invalid_argument("amplitude encoding of " + std::to_string(num_features) + " features on " +
                                std::to_string(num_qubits_) + " qubits needs 1 <= features <= 2^n");
  }
  amplitude_features_ = num_features;
  set_num_features(num_features);
}

bool Circuit::is_parametrized() const {
  return amplitude_features_ > 0 ||
         std::any_of(ops_.begin(), ops_.end(), [](const Operation& op) { return op.has_angle && !op.angle.terms.empty(); });
}

bool Circuit::has_channels() const {
  return std::any_of(ops_.begin(), ops_.end(), [](const Operation& op) { return op.kind == OpKind::kChannel; });
}

bool Circuit::has_conditions() const {
  return std::any_of(ops_.begin(), ops_.end(), [](const Operation& op) { return op.condition.active(); });
}

bool Circuit::has_parameter_dependent_channels() const {
  return std::any_of(ops_.begin(), ops_.end(), [](const Operation& op) {
    return op.kind == OpKind::kChannel && op.has_angle && op.angle.depends_on_parameters();
  });
}

Circuit Circuit::bind(const double* theta, const double* x) const {
  if (amplitude_features_ > 0) {
    throw std::invalid_argument("a circuit with an amplitude-encoded initial state has no fixed-gate form");
  }
  Circuit c(num_qubits_, num_clbits_);
  c.registers_ = registers_;
  for (const Operation& op : ops_) {
    if (!op.has_angle) {
      c.ops_.push_back(op);
    } else if (op.kind == OpKind::kGate) {
      c.add_gate(op.gate, op.qubits, {op.angle.value(theta, x)});
      c.ops_.back().condition = op.condition;
    } else {
      c.add_channel(op.qubits, noise::Channel::from_superoperator(op.angle_channel->superoperator(op.angle.value(theta, x))));
      c.ops_.back().condition = op.condition;
    }
  }
  return c;
}


Operation inverse(const Operation& op) {
  // Undoing a conditional operation would need the classical bits it read.
  if (op.condition.active()) throw std::invalid_argument("a conditional '" + op.name() + "' has no inverse");
  Operation inv = op;
  switch (op.kind) {
    case OpKind::kBarrier: return inv;
    case OpKind::kUnitary: inv.matrix = op.matrix.t(); return inv;
    case OpKind::kMeasure:
    case OpKind::kReset:
    case OpKind::kChannel:
      throw std::invalid_argument("'" + op.name() + "' is not unitary and has no inverse");
    case OpKind::kGate: break;
  }
  if (op.has_angle) {  // a Pauli rotation: exp(-i a P / 2)^-1 = exp(i a P / 2)
    inv.angle.offset = -op.angle.offset;
    for (AngleTerm& t : inv.angle.terms) t.coeff = -t.coeff;
    return inv;
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
  if (circuit.amplitude_features() > 0) {
    throw std::invalid_argument("a circuit with an amplitude-encoded initial state has no inverse");
  }
  Circuit out(circuit.num_qubits(), circuit.num_clbits());
  out.set_classical_registers(circuit.classical_registers());
  const auto& ops = circuit.operations();
  for (std::size_t i = ops.size(); i-- > 0;) out.add(inverse(ops[i]));
  out.set_parameter_names(circuit.parameter_names());
  out.set_num_parameters(circuit.num_parameters());
  out.set_num_features(circuit.num_features());
  return out;
}

}  // namespace kraus::engine
