#include "kraus/engine/gates.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace kraus::engine {
namespace {

using cx = std::complex<double>;
constexpr cx kI{0.0, 1.0};

arma::cx_mat mat2(cx a, cx b, cx c, cx d) {
  arma::cx_mat m(2, 2);
  m(0, 0) = a; m(0, 1) = b; m(1, 0) = c; m(1, 1) = d;
  return m;
}

arma::cx_mat u3(double theta, double phi, double lambda) {
  const double c = std::cos(theta / 2), s = std::sin(theta / 2);
  return mat2(c, -std::exp(kI * lambda) * s, std::exp(kI * phi) * s,
              std::exp(kI * (phi + lambda)) * c);
}

// Controlled-U with control on bit 0 and target on bit 1 (listed qubits: control, target).
arma::cx_mat controlled(const arma::cx_mat& u) {
  arma::cx_mat m(4, 4, arma::fill::eye);
  // basis index = control + 2 * target; control = 1 at indices 1 and 3.
  m(1, 1) = u(0, 0); m(1, 3) = u(0, 1);
  m(3, 1) = u(1, 0); m(3, 3) = u(1, 1);
  return m;
}

// exp(-i theta/2 A (x) B) for Paulis with A on the second listed qubit and B on the first:
// (A (x) B)^2 = I, so exp(-i t P) = cos t I - i sin t P.
arma::cx_mat two_qubit_rotation(const arma::cx_mat& p_high, const arma::cx_mat& p_low, double theta) {
  const arma::cx_mat p = arma::kron(p_high, p_low);
  return std::cos(theta / 2) * arma::cx_mat(4, 4, arma::fill::eye) - kI * std::sin(theta / 2) * p;
}

const arma::cx_mat& pauli(char c) {
  static const arma::cx_mat x = mat2(0, 1, 1, 0), y = mat2(0, -kI, kI, 0), z = mat2(1, 0, 0, -1);
  return c == 'X' ? x : c == 'Y' ? y : z;
}

}  // namespace

const std::vector<GateInfo>& gate_table() {
  static const std::vector<GateInfo> table = {
      {Gate::kI, "id", 1, 0, "[[1,0],[0,1]]"},
      {Gate::kX, "x", 1, 0, "[[0,1],[1,0]]"},
      {Gate::kY, "y", 1, 0, "[[0,-i],[i,0]]"},
      {Gate::kZ, "z", 1, 0, "[[1,0],[0,-1]]"},
      {Gate::kH, "h", 1, 0, "[[1,1],[1,-1]]/sqrt2"},
      {Gate::kS, "s", 1, 0, "diag(1, i)"},
      {Gate::kSdg, "sdg", 1, 0, "diag(1, -i)"},
      {Gate::kT, "t", 1, 0, "diag(1, e^{i pi/4})"},
      {Gate::kTdg, "tdg", 1, 0, "diag(1, e^{-i pi/4})"},
      {Gate::kSX, "sx", 1, 0, "[[1+i,1-i],[1-i,1+i]]/2 (square root of X)"},
      {Gate::kSXdg, "sxdg", 1, 0, "[[1-i,1+i],[1+i,1-i]]/2"},
      {Gate::kRX, "rx", 1, 1, "exp(-i theta X/2)"},
      {Gate::kRY, "ry", 1, 1, "exp(-i theta Y/2)"},
      {Gate::kRZ, "rz", 1, 1, "exp(-i theta Z/2) = diag(e^{-i theta/2}, e^{i theta/2})"},
      {Gate::kP, "p", 1, 1, "diag(1, e^{i lambda}) (alias u1)"},
      {Gate::kU2, "u2", 1, 2, "u3(pi/2, phi, lambda)"},
      {Gate::kU3, "u3", 1, 3,
       "[[cos(t/2), -e^{i l} sin(t/2)], [e^{i p} sin(t/2), e^{i(p+l)} cos(t/2)]] (alias u)"},
      {Gate::kCX, "cx", 2, 0, "controlled X (control, target)"},
      {Gate::kCY, "cy", 2, 0, "controlled Y"},
      {Gate::kCZ, "cz", 2, 0, "controlled Z"},
      {Gate::kCH, "ch", 2, 0, "controlled H"},
      {Gate::kSwap, "swap", 2, 0, "exchanges the two qubits"},
      {Gate::kISwap, "iswap", 2, 0, "|01> -> i|10>, |10> -> i|01>"},
      {Gate::kCRX, "crx", 2, 1, "controlled rx(theta)"},
      {Gate::kCRY, "cry", 2, 1, "controlled ry(theta)"},
      {Gate::kCRZ, "crz", 2, 1, "controlled rz(theta)"},
      {Gate::kCP, "cp", 2, 1, "controlled p(lambda) (alias cu1)"},
      {Gate::kCU3, "cu3", 2, 3, "controlled u3(theta, phi, lambda)"},
      {Gate::kCU, "cu", 2, 4, "controlled e^{i gamma} u3(theta, phi, lambda)"},
      {Gate::kRXX, "rxx", 2, 1, "exp(-i theta X(x)X/2)"},
      {Gate::kRYY, "ryy", 2, 1, "exp(-i theta Y(x)Y/2)"},
      {Gate::kRZZ, "rzz", 2, 1, "exp(-i theta Z(x)Z/2)"},
      {Gate::kRZX, "rzx", 2, 1, "exp(-i theta Z(x)X/2), Z on the first qubit, X on the second"},
      {Gate::kECR, "ecr", 2, 0, "(IX - XY)/sqrt2 as in Qiskit (X on the first qubit): [[0,1,0,i],[1,0,-i,0],[0,i,0,1],[-i,0,1,0]]/sqrt2"},
      {Gate::kCCX, "ccx", 3, 0, "Toffoli (control, control, target)"},
      {Gate::kCSwap, "cswap", 3, 0, "Fredkin (control, target, target)"},
  };
  return table;
}

const GateInfo& gate_info(Gate gate) { return gate_table()[static_cast<std::size_t>(gate)]; }

const std::vector<GateAlias>& gate_aliases() {
  static const std::vector<GateAlias> aliases = {
      {"u1", Gate::kP}, {"u", Gate::kU3}, {"cu1", Gate::kCP}, {"cnot", Gate::kCX}};
  return aliases;
}

std::optional<Gate> gate_from_name(std::string_view name) {
  for (const GateAlias& a : gate_aliases()) {
    if (a.alias == name) return a.gate;
  }
  for (const GateInfo& info : gate_table()) {
    if (info.name == name) return info.gate;
  }
  return std::nullopt;
}

arma::cx_mat gate_matrix(Gate gate, const std::vector<double>& params) {
  const GateInfo& info = gate_info(gate);
  if (static_cast<int>(params.size()) != info.num_params) {
    throw std::invalid_argument("gate '" + std::string(info.name) + "' takes " +
                                std::to_string(info.num_params) + " parameter(s), got " +
                                std::to_string(params.size()));
  }
  const double pi = std::acos(-1.0);
  const double r2 = 1.0 / std::sqrt(2.0);
  const auto& a = params;
  switch (gate) {
    case Gate::kI: return mat2(1, 0, 0, 1);
    case Gate::kX: return pauli('X');
    case Gate::kY: return pauli('Y');
    case Gate::kZ: return pauli('Z');
    case Gate::kH: return mat2(r2, r2, r2, -r2);
    case Gate::kS: return mat2(1, 0, 0, kI);
    case Gate::kSdg: return mat2(1, 0, 0, -kI);
    case Gate::kT: return mat2(1, 0, 0, std::exp(kI * (pi / 4)));
    case Gate::kTdg: return mat2(1, 0, 0, std::exp(-kI * (pi / 4)));
    case Gate::kSX: return 0.5 * mat2(1.0 + kI, 1.0 - kI, 1.0 - kI, 1.0 + kI);
    case Gate::kSXdg: return 0.5 * mat2(1.0 - kI, 1.0 + kI, 1.0 + kI, 1.0 - kI);
    case Gate::kRX: return mat2(std::cos(a[0] / 2), -kI * std::sin(a[0] / 2), -kI * std::sin(a[0] / 2), std::cos(a[0] / 2));
    case Gate::kRY: return mat2(std::cos(a[0] / 2), -std::sin(a[0] / 2), std::sin(a[0] / 2), std::cos(a[0] / 2));
    case Gate::kRZ: return mat2(std::exp(-kI * (a[0] / 2)), 0, 0, std::exp(kI * (a[0] / 2)));
    case Gate::kP: return mat2(1, 0, 0, std::exp(kI * a[0]));
    case Gate::kU2: return u3(pi / 2, a[0], a[1]);
    case Gate::kU3: return u3(a[0], a[1], a[2]);
    case Gate::kCX: return controlled(pauli('X'));
    case Gate::kCY: return controlled(pauli('Y'));
    case Gate::kCZ: return controlled(pauli('Z'));
    case Gate::kCH: return controlled(mat2(r2, r2, r2, -r2));
    case Gate::kSwap: {
      arma::cx_mat m(4, 4, arma::fill::zeros);
      m(0, 0) = m(1, 2) = m(2, 1) = m(3, 3) = 1.0;
      return m;
    }
    case Gate::kISwap: {
      arma::cx_mat m(4, 4, arma::fill::zeros);
      m(0, 0) = m(3, 3) = 1.0;
      m(1, 2) = m(2, 1) = kI;
      return m;
    }
    case Gate::kCRX: return controlled(gate_matrix(Gate::kRX, a));
    case Gate::kCRY: return controlled(gate_matrix(Gate::kRY, a));
    case Gate::kCRZ: return controlled(gate_matrix(Gate::kRZ, a));
    case Gate::kCP: return controlled(gate_matrix(Gate::kP, a));
    case Gate::kCU3: return controlled(u3(a[0], a[1], a[2]));
    case Gate::kCU: return controlled(std::exp(kI * a[3]) * u3(a[0], a[1], a[2]));
    case Gate::kRXX: return two_qubit_rotation(pauli('X'), pauli('X'), a[0]);
    case Gate::kRYY: return two_qubit_rotation(pauli('Y'), pauli('Y'), a[0]);
    case Gate::kRZZ: return two_qubit_rotation(pauli('Z'), pauli('Z'), a[0]);
    // Z on the first listed qubit (bit 0, the low factor of the Kronecker product), X on the second.
    case Gate::kRZX: return two_qubit_rotation(pauli('X'), pauli('Z'), a[0]);
    case Gate::kECR: {
      arma::cx_mat m(4, 4, arma::fill::zeros);
      m(0, 1) = r2; m(0, 3) = kI * r2;
      m(1, 0) = r2; m(1, 2) = -kI * r2;
      m(2, 1) = kI * r2; m(2, 3) = r2;
      m(3, 0) = -kI * r2; m(3, 2) = r2;
      return m;
    }
    case Gate::kCCX: {
      arma::cx_mat m(8, 8, arma::fill::eye);
      // controls are bits 0 and 1; target bit 2: swap |011> (3) and |111> (7).
      m(3, 3) = m(7, 7) = 0.0;
      m(3, 7) = m(7, 3) = 1.0;
      return m;
    }
    case Gate::kCSwap: {
      arma::cx_mat m(8, 8, arma::fill::eye);
      // control bit 0; swap bits 1 and 2 when it is set: |011> (3) <-> |101> (5).
      m(3, 3) = m(5, 5) = 0.0;
      m(3, 5) = m(5, 3) = 1.0;
      return m;
    }
  }
  throw std::invalid_argument("unknown gate");
}

void check_qubit_operands(const std::vector<int>& qubits, int num_qubits) {
  for (std::size_t k = 0; k < qubits.size(); ++k) {
    if (qubits[k] < 0 || qubits[k] >= num_qubits) {
      throw std::invalid_argument("qubit " + std::to_string(qubits[k]) + " is out of range [0, " +
                                  std::to_string(num_qubits - 1) + "]");
    }
    for (std::size_t j = 0; j < k; ++j) {
      if (qubits[j] == qubits[k]) {
        throw std::invalid_argument("qubit " + std::to_string(qubits[k]) + " is used twice in one operation");
      }
    }
  }
}

}  // namespace kraus::engine
