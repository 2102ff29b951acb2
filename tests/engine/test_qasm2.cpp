// OpenQASM 2.0 reader: operation lists of hand-checked programs, simulated results of real-world
// programs (tests/data/qasm) against values derived by hand, the qelib1.inc extras against their
// explicit matrices, and every error with its exact message.
#include <cmath>
#include <complex>
#include <cstdint>
#include <string>
#include <vector>

#include "kraus/engine/circuit.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/gates.hpp"
#include "kraus/engine/qasm2.hpp"
#include "reference/test_support.hpp"

#ifndef KRAUS_TEST_DATA_DIR
#error "KRAUS_TEST_DATA_DIR must name tests/data"
#endif

namespace {

namespace ref = kraus::test;
using kraus::engine::Circuit;
using kraus::engine::DensityMatrix;
using kraus::engine::Gate;
using kraus::engine::OpKind;
using kraus::engine::Operation;
using kraus::engine::parse_qasm2;
using kraus::engine::QasmError;
using kraus::engine::read_qasm2_file;
using ref::Complex;

const double kPi = std::acos(-1.0);
const Complex kI{0.0, 1.0};
const std::string kData = std::string(KRAUS_TEST_DATA_DIR) + "/qasm/";
const std::string kHeader = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n";

// Runs every gate, unitary and reset of the circuit on `rho` (measure and barrier are skipped).
void run(const Circuit& c, DensityMatrix& rho) {
  for (const Operation& op : c.operations()) {
    switch (op.kind) {
      case OpKind::kGate: rho.apply(op.gate, op.qubits, op.params); break;
      case OpKind::kUnitary: rho.apply_unitary(op.qubits, op.matrix); break;
      case OpKind::kReset: rho.reset(op.qubits[0]); break;
      case OpKind::kMeasure:
      case OpKind::kBarrier: break;
    }
  }
}

// The circuit run on |0...0><0...0|.
DensityMatrix simulate(const Circuit& c) {
  DensityMatrix rho(c.num_qubits());
  run(c, rho);
  return rho;
}

// The circuit's unitary from the gate table's matrices and the dense reference's Kronecker
// embedding (no kraus kernel involved). Requires a circuit of gates, unitaries and barriers only.
arma::cx_mat circuit_unitary(const Circuit& c) {
  const arma::uword dim = arma::uword{1} << c.num_qubits();
  arma::cx_mat u(dim, dim, arma::fill::eye);
  for (const Operation& op : c.operations()) {
    if (op.kind == OpKind::kGate) {
      u = ref::embed(kraus::engine::gate_matrix(op.gate, op.params), op.qubits, c.num_qubits()) * u;
    } else if (op.kind == OpKind::kUnitary) {
      u = ref::embed(op.matrix, op.qubits, c.num_qubits()) * u;
    } else {
      REQUIRE(op.kind == OpKind::kBarrier);
    }
  }
  return u;
}

// The message of the QasmError the program raises ("no error" when it parses).
std::string error_of(const std::string& source, const std::string& filename = "<string>") {
  try {
    parse_qasm2(source, filename);
  } catch (const QasmError& e) {
    return e.what();
  }
  return "no error";
}

std::string file_error_of(const std::string& path) {
  try {
    read_qasm2_file(path);
  } catch (const QasmError& e) {
    return e.what();
  }
  return "no error";
}

// A compact description of an operation list: "h 0; cx 0 1; rz(0.5) 2; measure 1->0; barrier 0 1".
std::string describe(const Circuit& c) {
  std::string s;
  for (const Operation& op : c.operations()) {
    if (!s.empty()) s += "; ";
    s += op.name();
    if (!op.params.empty()) {
      s += "(";
      for (std::size_t k = 0; k < op.params.size(); ++k) {
        if (k > 0) s += ",";
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.17g", op.params[k]);
        s += buf;
      }
      s += ")";
    }
    for (int q : op.qubits) s += " " + std::to_string(q);
    if (op.kind == OpKind::kMeasure) s += "->" + std::to_string(op.clbit);
  }
  return s;
}

// The one parameter of the one operation of `rz(EXPR) q[0];`.
double eval_expr(const std::string& expr) {
  const Circuit c = parse_qasm2(kHeader + "qreg q[1];\nrz(" + expr + ") q[0];\n");
  REQUIRE(c.operations().size() == 1);
  REQUIRE(c.operations()[0].params.size() == 1);
  return c.operations()[0].params[0];
}

arma::cx_mat identity(arma::uword dim) { return arma::cx_mat(dim, dim, arma::fill::eye); }

// The 2x2 block {{a, b}, {c, d}} placed on rows/columns (i, j) of the identity.
arma::cx_mat with_block(arma::uword dim, arma::uword i, arma::uword j, Complex a, Complex b, Complex c, Complex d) {
  arma::cx_mat m = identity(dim);
  m(i, i) = a;
  m(i, j) = b;
  m(j, i) = c;
  m(j, j) = d;
  return m;
}

}  // namespace

// ---- language features --------------------------------------------------------------------------

TEST_CASE("qasm2: header, include and U/CX primitives", "[qasm]") {
  // U and CX need no include; U(theta, phi, lambda) is u3 and CX is cx.
  const Circuit c = parse_qasm2("OPENQASM 2.0;\nqreg q[2];\nU(pi/2, 0, pi) q[0];\nCX q[0], q[1];\n");
  REQUIRE(c.num_qubits() == 2);
  REQUIRE(c.num_clbits() == 0);
  REQUIRE(describe(c) == "u3(1.5707963267948966,0,3.1415926535897931) 0; cx 0 1");
  // u3(pi/2, 0, pi) = H, so this is a Bell state.
  const std::vector<double> p = simulate(c).probabilities();
  REQUIRE_CLOSE(p[0], 0.5, 1e-12);
  REQUIRE_CLOSE(p[3], 0.5, 1e-12);
  REQUIRE_CLOSE(p[1] + p[2], 0.0, 1e-12);

  // The version may be written "2"; including qelib1.inc twice is harmless.
  REQUIRE(describe(parse_qasm2("OPENQASM 2;\ninclude \"qelib1.inc\";\ninclude \"qelib1.inc\";\nqreg q[1];\nh q[0];")) ==
          "h 0");
}

TEST_CASE("qasm2: comments and whitespace anywhere", "[qasm]") {
  const std::string src =
      "// leading comment\n"
      "  OPENQASM   2.0 ; // version\n"
      "include\t\"qelib1.inc\"//no space before the comment\n"
      ";\r\n"
      "qreg\nq\n[\n2\n]\n;\n"
      "rx( pi // half a turn\n"
      "  / 2 ) q [ 1 ] ;cx q[1],q[0];h q[0];// the end, without a newline";
  REQUIRE(describe(parse_qasm2(src)) == "rx(1.5707963267948966) 1; cx 1 0; h 0");
  // No whitespace at all where none is needed.
  REQUIRE(describe(parse_qasm2("OPENQASM 2.0;include\"qelib1.inc\";qreg q[1];u1(.5)q[0];")) == "p(0.5) 0");
  // A UTF-8 byte-order mark is skipped.
  REQUIRE(describe(parse_qasm2("\xEF\xBB\xBFOPENQASM 2.0;qreg q[1];U(0,0,0) q[0];")) == "u3(0,0,0) 0");
}

TEST_CASE("qasm2: qubits and bits are numbered across registers in declaration order", "[qasm]") {
  const Circuit c = parse_qasm2(kHeader +
                                "qreg a[2];\n"
                                "creg c[1];\n"
                                "qreg b[3];\n"
                                "creg d[2];\n"
                                "x b[1];\n"
                                "cx a[1], b[0];\n"
                                "measure b[2] -> d[1];\n"
                                "measure a[0] -> c[0];\n"
                                "qreg late[1];\n"  // a register may follow operations
                                "h late[0];\n");
  REQUIRE(c.num_qubits() == 6);
  REQUIRE(c.num_clbits() == 3);
  REQUIRE(describe(c) == "x 3; cx 1 2; measure 4->2; measure 0->0; h 5");
  // x on qubit 3 then cx(1 -> 2) does nothing (qubit 1 is 0): the state is |001000>.
  const std::vector<double> p = simulate(c).probabilities();
  REQUIRE_CLOSE(p[0b001000] + p[0b101000], 1.0, 1e-12);
  REQUIRE_CLOSE(p[0b001000], 0.5, 1e-12);
}

TEST_CASE("qasm2: register broadcasting", "[qasm]") {
  const Circuit c = parse_qasm2(kHeader +
                                "qreg a[3];\nqreg b[3];\ncreg c[3];\n"
                                "h a;\n"
                                "cx a, b;\n"
                                "cx a[0], b;\n"
                                "cx b, a[2];\n"
                                "rz(0.25) b;\n"
                                "barrier a, b[1];\n"
                                "reset b;\n"
                                "reset a[1];\n"
                                "measure a -> c;\n"
                                "measure b[2] -> c[0];\n");
  REQUIRE(describe(c) ==
          "h 0; h 1; h 2; "
          "cx 0 3; cx 1 4; cx 2 5; "
          "cx 0 3; cx 0 4; cx 0 5; "
          "cx 3 2; cx 4 2; cx 5 2; "
          "rz(0.25) 3; rz(0.25) 4; rz(0.25) 5; "
          "barrier 0 1 2 4; "
          "reset 3; reset 4; reset 5; reset 1; "
          "measure 0->0; measure 1->1; measure 2->2; measure 5->0");
}

