#include "kraus/optim/circuit.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace kraus::optim {

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

bool is_pauli_rotation(engine::Gate gate) {
  using engine::Gate;
  switch (gate) {
    case Gate::kRX: case Gate::kRY: case Gate::kRZ:
    case Gate::kRXX: case Gate::kRYY: case Gate::kRZZ: case Gate::kRZX:
      return true;
    default:
      return false;
  }
}

ParametrizedCircuit::ParametrizedCircuit(int num_qubits) : num_qubits_(num_qubits) {
  if (num_qubits < 1 || num_qubits > 30) {
    throw std::invalid_argument("number of qubits " + std::to_string(num_qubits) + " is outside [1, 30]");
  }
}

void ParametrizedCircuit::set_num_parameters(int n) {
  if (n < 0) throw std::invalid_argument("number of parameters must be >= 0");
  num_parameters_ = std::max(num_parameters_, n);
}

void ParametrizedCircuit::set_num_features(int n) {
  if (n < 0) throw std::invalid_argument("number of features must be >= 0");
  num_features_ = std::max(num_features_, n);
}

void ParametrizedCircuit::set_amplitude_initial_state(int num_features) {
  const double dim = std::ldexp(1.0, num_qubits_);
  if (num_features < 1 || static_cast<double>(num_features) > dim) {
    throw std::invalid_argument("amplitude encoding of " + std::to_string(num_features) + " features on " +
                                std::to_string(num_qubits_) + " qubits needs 1 <= features <= 2^n");
  }
  initial_state_ = InitialState::kAmplitude;
  amplitude_features_ = num_features;
  set_num_features(num_features);
}

void ParametrizedCircuit::note_angle(const Angle& angle) {
  num_parameters_ = std::max(num_parameters_, angle.max_parameter() + 1);
  num_features_ = std::max(num_features_, angle.max_feature() + 1);
}

void ParametrizedCircuit::add_gate(engine::Gate gate, std::vector<int> qubits, std::vector<double> params) {
  const engine::GateInfo& info = engine::gate_info(gate);
  if (static_cast<int>(qubits.size()) != info.num_qubits) {
    throw std::invalid_argument("gate '" + std::string(info.name) + "' acts on " + std::to_string(info.num_qubits) +
                                " qubit(s), got " + std::to_string(qubits.size()));
  }
  if (static_cast<int>(params.size()) != info.num_params) {
    throw std::invalid_argument("gate '" + std::string(info.name) + "' takes " + std::to_string(info.num_params) +
                                " parameter(s), got " + std::to_string(params.size()));
  }
  if (info.num_qubits > 3) throw std::invalid_argument("gates on more than 3 qubits are not supported");
  engine::check_qubit_operands(qubits, num_qubits_);
  CircuitOp op;
  op.type = OpType::kGate;
  op.gate = gate;
  op.qubits = std::move(qubits);
  op.fixed_params = std::move(params);
  op.tag = tag_;
  ops_.push_back(std::move(op));
}

void ParametrizedCircuit::add_rotation(engine::Gate gate, std::vector<int> qubits, Angle angle) {
  const engine::GateInfo& info = engine::gate_info(gate);
  if (!is_pauli_rotation(gate)) {
    throw std::invalid_argument("gate '" + std::string(info.name) +
                                "' cannot carry a parametrised angle: only the Pauli rotations rx, ry, rz, rxx, "
                                "ryy, rzz, rzx can (exact gradients need a Pauli generator)");
  }
  if (static_cast<int>(qubits.size()) != info.num_qubits) {
    throw std::invalid_argument("gate '" + std::string(info.name) + "' acts on " + std::to_string(info.num_qubits) +
                                " qubit(s), got " + std::to_string(qubits.size()));
  }
  engine::check_qubit_operands(qubits, num_qubits_);
  for (const AngleTerm& t : angle.terms) {
    if (t.param < -1 || t.feature < -1) throw std::invalid_argument("angle term with a bad index");
  }
  note_angle(angle);
  CircuitOp op;
  op.type = OpType::kGate;
  op.gate = gate;
  op.qubits = std::move(qubits);
  op.has_angle = true;
  op.angle = std::move(angle);
  op.tag = tag_;
  ops_.push_back(std::move(op));
}

void ParametrizedCircuit::add_channel(std::vector<int> qubits, noise::Channel channel) {
  engine::check_qubit_operands(qubits, num_qubits_);
  if (channel.num_qubits() != static_cast<int>(qubits.size()) || qubits.empty() || qubits.size() > 3) {
    throw std::invalid_argument("a " + std::to_string(channel.num_qubits()) + "-qubit channel placed on " +
                                std::to_string(qubits.size()) + " qubit(s); explicit channels act on 1 to 3 qubits");
  }
  CircuitOp op;
  op.type = OpType::kChannel;
  op.qubits = std::move(qubits);
  op.channel = std::make_shared<const noise::Channel>(std::move(channel));
  op.tag = tag_;
  ops_.push_back(std::move(op));
}

void ParametrizedCircuit::add_angle_dependent_channel(std::vector<int> qubits, AngleDependentChannel channel,
                                                      Angle angle) {
  engine::check_qubit_operands(qubits, num_qubits_);
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
  CircuitOp op;
  op.type = OpType::kAngleChannel;
  op.qubits = std::move(qubits);
  op.has_angle = true;
  op.angle = std::move(angle);
  op.angle_channel = std::make_shared<const AngleDependentChannel>(std::move(channel));
  op.tag = tag_;
  ops_.push_back(std::move(op));
}

void ParametrizedCircuit::add_global_depolarizing(double p) {
  if (!(p >= 0.0 && p <= 1.0)) {
    throw std::invalid_argument("global depolarising probability " + std::to_string(p) + " is outside [0, 1]");
  }
  CircuitOp op;
  op.type = OpType::kGlobalDepolarizing;
  op.probability = p;
  op.tag = tag_;
  ops_.push_back(std::move(op));
}

void ParametrizedCircuit::add_barrier(std::vector<int> qubits) {
  engine::check_qubit_operands(qubits, num_qubits_);
  CircuitOp op;
  op.type = OpType::kBarrier;
  op.qubits = std::move(qubits);
  op.tag = tag_;
  ops_.push_back(std::move(op));
}

void ParametrizedCircuit::append(const ParametrizedCircuit& other) {
  if (other.num_qubits_ != num_qubits_) {
    throw std::invalid_argument("cannot append a " + std::to_string(other.num_qubits_) + "-qubit circuit to a " +
                                std::to_string(num_qubits_) + "-qubit one");
  }
  for (const CircuitOp& op : other.ops_) {
    if (op.has_angle) note_angle(op.angle);
    ops_.push_back(op);
  }
  num_parameters_ = std::max(num_parameters_, other.num_parameters_);
  num_features_ = std::max(num_features_, other.num_features_);
}

bool ParametrizedCircuit::has_explicit_channels() const {
  return std::any_of(ops_.begin(), ops_.end(), [](const CircuitOp& op) {
    return op.type == OpType::kChannel || op.type == OpType::kAngleChannel || op.type == OpType::kGlobalDepolarizing;
  });
}

bool ParametrizedCircuit::has_parameter_dependent_channels() const {
  return std::any_of(ops_.begin(), ops_.end(), [](const CircuitOp& op) {
    return op.type == OpType::kAngleChannel && op.angle.depends_on_parameters();
  });
}

engine::Circuit ParametrizedCircuit::bind(const double* theta, const double* x) const {
  if (initial_state_ != InitialState::kZero) {
    throw std::invalid_argument("a circuit with an amplitude-encoded initial state has no engine::Circuit form");
  }
  engine::Circuit c(num_qubits_);
  for (const CircuitOp& op : ops_) {
    switch (op.type) {
      case OpType::kGate:
        if (op.has_angle) {
          c.add_gate(op.gate, op.qubits, {op.angle.value(theta, x)});
        } else {
          c.add_gate(op.gate, op.qubits, op.fixed_params);
        }
        break;
      case OpType::kBarrier: c.add_barrier(op.qubits); break;
      default:
        throw std::invalid_argument("a circuit with explicit channels has no engine::Circuit form");
    }
  }
  return c;
}

}  // namespace kraus::optim
