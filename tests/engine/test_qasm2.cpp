// OpenQASM 2.0 reader: operation lists of hand-checked programs, simulated results of real-world
// programs (tests/data/qasm) against values derived by hand, the qelib1.inc extras against their
// explicit matrices, and every error with its exact message.
#include <cmath>
#include <complex>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "kraus/engine/circuit.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/gates.hpp"
#include "kraus/engine/qasm2.hpp"
#include "kraus/engine/simulator.hpp"
#include "reference/test_support.hpp"

#ifndef KRAUS_TEST_DATA_DIR
#error "KRAUS_TEST_DATA_DIR must name tests/data"
#endif

namespace {

namespace ref = kraus::test;
using kraus::engine::Angle;
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
      case OpKind::kChannel: throw std::logic_error("the QASM 2 parser made a channel operation");
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

TEST_CASE("qasm2: user gate definitions, nested and parametrised", "[qasm]") {
  const Circuit c = parse_qasm2(kHeader +
                                "gate rot(a, b) q { rz(a) q; ry(b / 2) q; }\n"
                                "gate pair(t) x, y {\n"
                                "  rot(t, 2*t) x;\n"
                                "  cx x, y;\n"
                                "  barrier x, y;\n"
                                "  rot(-t, t) y;\n"
                                "}\n"
                                "gate empty() q { }\n"
                                "gate outer x, y { pair(pi/3) y, x; empty y; }\n"
                                "qreg q[2];\n"
                                "outer q[0], q[1];\n");
  // outer q0, q1 = pair(pi/3) q1, q0 = rot(pi/3, 2pi/3) q1; cx q1, q0; barrier; rot(-pi/3, pi/3) q0.
  const auto& ops = c.operations();
  REQUIRE(ops.size() == 6);
  REQUIRE(ops[0].gate == Gate::kRZ);
  REQUIRE(ops[0].qubits == std::vector<int>{1});
  REQUIRE(ops[0].params == std::vector<double>{kPi / 3});
  REQUIRE(ops[1].gate == Gate::kRY);
  REQUIRE(ops[1].qubits == std::vector<int>{1});
  REQUIRE(ops[1].params == std::vector<double>{kPi / 3});
  REQUIRE(ops[2].gate == Gate::kCX);
  REQUIRE(ops[2].qubits == std::vector<int>{1, 0});
  REQUIRE(ops[3].kind == OpKind::kBarrier);
  REQUIRE(ops[3].qubits == std::vector<int>{1, 0});
  REQUIRE(ops[4].gate == Gate::kRZ);
  REQUIRE(ops[4].qubits == std::vector<int>{0});
  REQUIRE(ops[4].params == std::vector<double>{-kPi / 3});
  REQUIRE(ops[5].gate == Gate::kRY);
  REQUIRE(ops[5].qubits == std::vector<int>{0});
  REQUIRE(ops[5].params == std::vector<double>{kPi / 6});

  // Simulated: ry(pi/3)|0> on qubit 1 gives cos(pi/6)|0> + sin(pi/6)|1>, the cx copies it onto
  // qubit 0, and ry(pi/6) on qubit 0 sends |0> to cos(pi/12)|0> + sin(pi/12)|1> and |1> to
  // -sin(pi/12)|0> + cos(pi/12)|1>. The rz gates only change phases of the two orthogonal branches.
  const std::vector<double> p = simulate(c).probabilities();
  const double s = std::sin(kPi / 12), co = std::cos(kPi / 12);
  REQUIRE_CLOSE(p[0b00], 0.75 * co * co, 1e-12);
  REQUIRE_CLOSE(p[0b01], 0.75 * s * s, 1e-12);
  REQUIRE_CLOSE(p[0b11], 0.25 * co * co, 1e-12);
  REQUIRE_CLOSE(p[0b10], 0.25 * s * s, 1e-12);
}

TEST_CASE("qasm2: gate bodies use earlier user gates and builtins; names are case-sensitive", "[qasm]") {
  const Circuit c = parse_qasm2(kHeader +
                                "gate H a { U(pi/2, 0, pi) a; }\n"  // not qelib1's h
                                "gate bell a, b { H a; CX a, b; }\n"
                                "gate Bell a, b { bell b, a; }\n"
                                "qreg q[3];\n"
                                "Bell q[2], q[0];\n"
                                "h q[1];\n");
  REQUIRE(describe(c) == "u3(1.5707963267948966,0,3.1415926535897931) 0; cx 0 2; h 1");
}

TEST_CASE("qasm2: qelib1 aliases, u0 and delay", "[qasm]") {
  const Circuit c = parse_qasm2(kHeader +
                                "qreg q[2];\n"
                                "u1(0.5) q[0];\n"
                                "u(1, 2, 3) q[1];\n"
                                "cu1(0.25) q[0], q[1];\n"
                                "u0(7) q[1];\n"
                                "delay(100) q;\n"
                                "u2(0, pi) q[0];\n"
                                "cu(1, 2, 3, 4) q[1], q[0];\n");
  REQUIRE(describe(c) ==
          "p(0.5) 0; u3(1,2,3) 1; cp(0.25) 0 1; id 1; u2(0,3.1415926535897931) 0; cu(1,2,3,4) 1 0");
}

TEST_CASE("qasm2: every name of the gate table is accepted with its arity", "[qasm]") {
  for (const kraus::engine::GateInfo& info : kraus::engine::gate_table()) {
    std::string call(info.name);
    if (info.num_params > 0) {
      call += "(";
      for (int k = 0; k < info.num_params; ++k) call += (k > 0 ? ", 0.1*" : "0.1*") + std::to_string(k + 1);
      call += ")";
    }
    for (int k = 0; k < info.num_qubits; ++k) call += (k > 0 ? ", q[" : " q[") + std::to_string(2 - k) + "]";
    CAPTURE(call);
    const Circuit c = parse_qasm2(kHeader + "qreg q[3];\n" + call + ";\n");
    REQUIRE(c.operations().size() == 1);
    const Operation& op = c.operations()[0];
    REQUIRE(op.gate == info.gate);
    REQUIRE(op.qubits.size() == static_cast<std::size_t>(info.num_qubits));
    for (int k = 0; k < info.num_qubits; ++k) REQUIRE(op.qubits[k] == 2 - k);
    for (int k = 0; k < info.num_params; ++k) REQUIRE_CLOSE(op.params[k], 0.1 * (k + 1), 1e-15);
  }
}

TEST_CASE("qasm2: parameter expressions", "[qasm]") {
  // Exact: -pi/4 is exact, so is the product by 2^2 = 4.
  REQUIRE(eval_expr("-pi/4*2^2") == -kPi);
  REQUIRE(eval_expr("pi") == kPi);
  REQUIRE(eval_expr("2^3^2") == 512.0);  // right-associative: 2^(3^2)
  REQUIRE(eval_expr("-2^2") == -4.0);    // ^ binds tighter than unary minus
  REQUIRE(eval_expr("2^-1") == 0.5);
  REQUIRE(eval_expr("(-2)^2") == 4.0);
  REQUIRE(eval_expr("1+2*3") == 7.0);
  REQUIRE(eval_expr("(1+2)*3") == 9.0);
  REQUIRE(eval_expr("8-3-2") == 3.0);    // left-associative
  REQUIRE(eval_expr("10/4/5") == 0.5);   // left-associative
  REQUIRE(eval_expr("2*-3") == -6.0);
  REQUIRE(eval_expr("-(-3)") == 3.0);
  REQUIRE(eval_expr("+1.5") == 1.5);
  REQUIRE(eval_expr("1e-3") == 0.001);
  REQUIRE(eval_expr("1.5E+2") == 150.0);
  REQUIRE(eval_expr(".5") == 0.5);
  REQUIRE(eval_expr("5.") == 5.0);
  REQUIRE(eval_expr("007") == 7.0);
  REQUIRE(eval_expr("2*pi/3 - pi") == 2 * kPi / 3 - kPi);
  REQUIRE(eval_expr("sin(pi/6)") == std::sin(kPi / 6));
  REQUIRE(eval_expr("cos(0)") == 1.0);
  REQUIRE(eval_expr("tan(pi/4)") == std::tan(kPi / 4));
  REQUIRE(eval_expr("exp(1)") == std::exp(1.0));
  REQUIRE(eval_expr("ln(exp(2))") == std::log(std::exp(2.0)));
  REQUIRE(eval_expr("sqrt(2)*sqrt(2)") == std::sqrt(2.0) * std::sqrt(2.0));
  REQUIRE(eval_expr("sqrt(0)") == 0.0);
  REQUIRE(eval_expr("-sin(pi/2)^2") == -1.0);
  REQUIRE(eval_expr("((((1))))") == 1.0);

  // rx(-pi/4*2^2) is rx(-pi): |0> -> i|1>.
  const Circuit c = parse_qasm2(kHeader + "qreg q[1];\nrx(-pi/4*2^2) q[0];\n");
  REQUIRE(c.operations()[0].params[0] == -kPi);
  const DensityMatrix rho = simulate(c);
  REQUIRE_CLOSE(rho.probabilities()[1], 1.0, 1e-15);

  // Expressions of the enclosing gate's parameters, several levels deep.
  const Circuit g = parse_qasm2(kHeader +
                                "gate inner(x) q { rz(x^2 - 1) q; }\n"
                                "gate mid(a, b) q { inner(a/b) q; inner(-(a + b)) q; }\n"
                                "qreg q[1];\n"
                                "mid(3, 2) q[0];\n");
  REQUIRE(describe(g) == "rz(1.25) 0; rz(24) 0");
}

// ---- real-world programs -------------------------------------------------------------------------

TEST_CASE("qasm2: 4-qubit QFT of |5> has amplitudes exp(2 pi i 5 k / 16) / 4", "[qasm]") {
  const Circuit c = read_qasm2_file(kData + "qft4.qasm");
  REQUIRE(c.num_qubits() == 4);
  REQUIRE(c.num_clbits() == 4);
  const DensityMatrix rho = simulate(c);
  // rho(j, k) = psi_j conj(psi_k) = exp(2 pi i 5 (j - k) / 16) / 16.
  double worst = 0;
  for (int j = 0; j < 16; ++j) {
    for (int k = 0; k < 16; ++k) {
      const Complex expected = std::exp(kI * (2 * kPi * 5 * (j - k) / 16.0)) / 16.0;
      worst = std::max(worst, std::abs(rho.matrix()(j, k) - expected));
    }
  }
  REQUIRE_CLOSE(worst, 0.0, 1e-12);
}

TEST_CASE("qasm2: GHZ on 5 qubits", "[qasm]") {
  const Circuit c = read_qasm2_file(kData + "ghz5.qasm");
  REQUIRE(c.num_qubits() == 5);
  const DensityMatrix rho = simulate(c);
  const std::vector<double> p = rho.probabilities();
  REQUIRE_CLOSE(p[0], 0.5, 1e-12);
  REQUIRE_CLOSE(p[31], 0.5, 1e-12);
  REQUIRE_CLOSE(std::abs(rho.matrix()(0, 31) - Complex(0.5)), 0.0, 1e-12);  // coherent, not a mixture
  // the final `measure q -> c` maps qubit k to bit k
  int measures = 0;
  for (const Operation& op : c.operations()) {
    if (op.kind != OpKind::kMeasure) continue;
    REQUIRE(op.qubits[0] == measures);
    REQUIRE(op.clbit == measures);
    ++measures;
  }
  REQUIRE(measures == 5);
}

TEST_CASE("qasm2: Grover on 3 qubits finds the marked item with probability 121/128", "[qasm]") {
  const Circuit c = read_qasm2_file(kData + "grover3.qasm");
  const std::vector<double> p = simulate(c).probabilities();
  // sin^2(5 theta) with sin(theta) = 1/sqrt(8): 121/128; the other 7 items share 7/128.
  for (int k = 0; k < 8; ++k) {
    CAPTURE(k);
    REQUIRE_CLOSE(p[k], k == 5 ? 0.9453125 : 0.0078125, 1e-12);
  }
}

TEST_CASE("qasm2: teleportation with deferred measurement delivers the input state to Bob", "[qasm]") {
  const Circuit c = read_qasm2_file(kData + "teleport.qasm");
  REQUIRE(c.num_qubits() == 3);
  REQUIRE(c.num_clbits() == 3);
  const DensityMatrix bob = simulate(c).reduced({2});
  // u3(theta, phi, lambda)|0> = (cos(theta/2), e^{i phi} sin(theta/2)).
  const double theta = 1.1, phi = 0.7;
  arma::cx_vec psi(2);
  psi(0) = std::cos(theta / 2);
  psi(1) = std::exp(kI * phi) * std::sin(theta / 2);
  REQUIRE_MATRIX_CLOSE(bob.matrix(), arma::cx_mat(psi * psi.t()), 1e-12);
  // Alice's qubits end up uniformly mixed.
  const std::vector<double> alice = simulate(c).marginal_probabilities({0, 1});
  for (double x : alice) REQUIRE_CLOSE(x, 0.25, 1e-12);
}

TEST_CASE("qasm2: Cuccaro ripple-carry adder", "[qasm]") {
  const Circuit c = read_qasm2_file(kData + "adder4.qasm");
  REQUIRE(c.num_qubits() == 10);  // cin, a[4], b[4], cout
  REQUIRE(c.num_clbits() == 5);
  // 7 + 11 = 18: a stays 7, b becomes 18 mod 16 = 2, cout = 1, cin = 0.
  const std::uint64_t expected = (7u << 1) | (2u << 5) | (1u << 9);
  const std::vector<double> p = simulate(c).probabilities();
  REQUIRE_CLOSE(p[expected], 1.0, 1e-12);

  // The same operation list on every input (the leading x gates flip a by 7 and b by 11, so
  // starting from a0, b0 adds a0 ^ 7 and b0 ^ 11), run as a classical reversible circuit.
  for (std::uint32_t a0 = 0; a0 < 16; ++a0) {
    for (std::uint32_t b0 = 0; b0 < 16; ++b0) {
      std::uint32_t bits = (a0 << 1) | (b0 << 5);
      for (const Operation& op : c.operations()) {
        auto bit = [&](int q) { return (bits >> op.qubits[q]) & 1u; };
        if (op.kind != OpKind::kGate) continue;
        if (op.gate == Gate::kX) bits ^= 1u << op.qubits[0];
        else if (op.gate == Gate::kCX) bits ^= bit(0) << op.qubits[1];
        else if (op.gate == Gate::kCCX) bits ^= (bit(0) & bit(1)) << op.qubits[2];
        else FAIL("unexpected gate " << op.name());
      }
      const std::uint32_t a = a0 ^ 7u, b = b0 ^ 11u, sum = a + b;
      CAPTURE(a, b);
      REQUIRE((bits & 1u) == 0u);
      REQUIRE(((bits >> 1) & 15u) == a);
      REQUIRE(((bits >> 5) & 15u) == (sum & 15u));
      REQUIRE((bits >> 9) == (sum >> 4));
    }
  }
}

// ---- the qelib1.inc extras -----------------------------------------------------------------------

namespace {

struct Extra {
  std::string call;          // applied to a 5-qubit register with scrambled operands
  std::vector<int> qubits;   // the operands, first = least significant bit of `matrix`
  arma::cx_mat matrix;       // the gate's matrix, global phase included
};

std::vector<Extra> extras() {
  const Complex a = (1.0 + kI) / 2.0, b = (1.0 - kI) / 2.0;  // sqrt(X) = [[a, b], [b, a]]
  arma::cx_mat rccx = identity(8);  // Qiskit's RCCXGate
  rccx(3, 3) = 0;
  rccx(7, 7) = 0;
  rccx(3, 7) = -kI;
  rccx(7, 3) = kI;
  rccx(5, 5) = -1;
  arma::cx_mat rc3x = identity(16);  // Qiskit's RC3XGate
  rc3x(3, 3) = kI;
  rc3x(11, 11) = -kI;
  rc3x(7, 7) = 0;
  rc3x(15, 15) = 0;
  rc3x(7, 15) = 1;
  rc3x(15, 7) = -1;
  return {
      {"u0(0.3) q[2]", {2}, identity(2)},
      {"csx q[3], q[1]", {3, 1}, with_block(4, 1, 3, a, b, b, a)},
      {"c3x q[2], q[4], q[0], q[3]", {2, 4, 0, 3}, with_block(16, 7, 15, 0, 1, 1, 0)},
      {"c3sqrtx q[2], q[4], q[0], q[3]", {2, 4, 0, 3}, with_block(16, 7, 15, a, b, b, a)},
      {"c4x q[4], q[1], q[3], q[0], q[2]", {4, 1, 3, 0, 2}, with_block(32, 15, 31, 0, 1, 1, 0)},
      {"rccx q[3], q[0], q[4]", {3, 0, 4}, rccx},
      {"rc3x q[2], q[4], q[0], q[3]", {2, 4, 0, 3}, rc3x},
  };
}

}  // namespace

TEST_CASE("qasm2: qelib1 extras are exact decompositions of their matrices", "[qasm]") {
  constexpr int n = 5;
  ref::Rng rng(20240611);
  for (const Extra& e : extras()) {
    CAPTURE(e.call);
    const Circuit c = parse_qasm2(kHeader + "qreg q[" + std::to_string(n) + "];\n" + e.call + ";\n");
    REQUIRE(c.num_qubits() == n);
    for (const Operation& op : c.operations()) REQUIRE(op.kind == OpKind::kGate);
    const arma::cx_mat full = ref::embed(e.matrix, e.qubits, n);
    // The unitary from the table's matrices, global phase included.
    REQUIRE_MATRIX_CLOSE(circuit_unitary(c), full, 1e-12);

    // Simulated on every basis state of the operands (spectators set to 1 for every other state)
    // and on a random superposition, which also sees the relative phases.
    const arma::uword k = e.qubits.size();
    for (arma::uword local = 0; local < (arma::uword{1} << k); ++local) {
      arma::uword index = (local % 2 == 1) ? (arma::uword{1} << n) - 1 : 0;
      for (arma::uword j = 0; j < k; ++j) {
        const arma::uword bit = arma::uword{1} << e.qubits[j];
        index = ((local >> j) & 1u) ? (index | bit) : (index & ~bit);
      }
      DensityMatrix rho = DensityMatrix::from_state_vector(ref::basis_state(index, 1u << n));
      run(c, rho);
      const arma::cx_vec out = full * ref::basis_state(index, 1u << n);
      CAPTURE(local);
      REQUIRE_MATRIX_CLOSE(rho.matrix(), arma::cx_mat(out * out.t()), 1e-12);
    }
    const arma::cx_vec psi = ref::random_state_vector(n, rng);
    DensityMatrix rho = DensityMatrix::from_state_vector(psi);
    run(c, rho);
    const arma::cx_vec out = full * psi;
    REQUIRE_MATRIX_CLOSE(rho.matrix(), arma::cx_mat(out * out.t()), 1e-12);
  }
}

TEST_CASE("qasm2: delay emits nothing; extras work inside user gates and with broadcasting", "[qasm]") {
  REQUIRE(parse_qasm2(kHeader + "qreg q[3];\ndelay(10) q;\ndelay(1.5) q[1];\n").operations().empty());
  // rccx in a user gate, broadcast over registers: twice rccx = diagonal (rccx^2 = CZ-like phases),
  // compare with the explicit matrix squared.
  const Circuit c = parse_qasm2(kHeader +
                                "gate twice a, b, c { rccx a, b, c; rccx a, b, c; }\n"
                                "qreg x[1];\nqreg y[2];\nqreg z[2];\n"
                                "twice x[0], y, z;\n");
  const arma::cx_mat rccx = extras()[5].matrix;
  const arma::cx_mat sq = rccx * rccx;
  const arma::cx_mat expected = ref::embed(sq, {0, 2, 4}, 5) * ref::embed(sq, {0, 1, 3}, 5);
  REQUIRE_MATRIX_CLOSE(circuit_unitary(c), expected, 1e-12);
}

TEST_CASE("qasm2: rccx and rc3x agree with the relative-phase Toffoli circuits of Maslov", "[qasm]") {
  // The 3-CNOT relative-phase Toffoli (arXiv:1508.03273, Fig. 3) and its 4-qubit version (Fig. 4)
  // as user gates with H = u2(0, pi), T = u1(pi/4): they must give exactly the same unitary as the
  // built-in names.
  const std::string defs =
      "gate my_rccx a, b, c { u2(0,pi) c; u1(pi/4) c; cx b, c; u1(-pi/4) c; cx a, c; u1(pi/4) c; cx b, c;\n"
      "  u1(-pi/4) c; u2(0,pi) c; }\n"
      "gate my_rc3x a, b, c, d { u2(0,pi) d; u1(pi/4) d; cx c, d; u1(-pi/4) d; u2(0,pi) d; cx a, d;\n"
      "  u1(pi/4) d; cx b, d; u1(-pi/4) d; cx a, d; u1(pi/4) d; cx b, d; u1(-pi/4) d; u2(0,pi) d;\n"
      "  u1(pi/4) d; cx c, d; u1(-pi/4) d; u2(0,pi) d; }\n"
      "qreg q[4];\n";
  REQUIRE_MATRIX_CLOSE(circuit_unitary(parse_qasm2(kHeader + defs + "my_rccx q[1], q[3], q[0];")),
                       circuit_unitary(parse_qasm2(kHeader + defs + "rccx q[1], q[3], q[0];")), 1e-12);
  REQUIRE_MATRIX_CLOSE(circuit_unitary(parse_qasm2(kHeader + defs + "my_rc3x q[1], q[3], q[0], q[2];")),
                       circuit_unitary(parse_qasm2(kHeader + defs + "rc3x q[1], q[3], q[0], q[2];")), 1e-12);
}

// ---- errors --------------------------------------------------------------------------------------

TEST_CASE("qasm2: file errors name the file", "[qasm]") {
  REQUIRE(file_error_of("/nonexistent/dir/prog.qasm") ==
          "/nonexistent/dir/prog.qasm: cannot open the file (No such file or directory)");
  REQUIRE(file_error_of(kData) == kData + ": cannot read the file (Is a directory)");
  REQUIRE(file_error_of(kData + "bad_missing_semicolon.qasm") ==
          kData + "bad_missing_semicolon.qasm:4:7: expected ';' after the qubit list, found 'cx'");
}

TEST_CASE("qasm2: header errors", "[qasm]") {
  REQUIRE(error_of("") == "<string>:1:1: expected 'OPENQASM 2.0;' at the start of the program, found end of file");
  REQUIRE(error_of("// only a comment\n") ==
          "<string>:2:1: expected 'OPENQASM 2.0;' at the start of the program, found end of file");
  REQUIRE(error_of("qreg q[1];\nh q[0];") ==
          "<string>:1:1: expected 'OPENQASM 2.0;' at the start of the program, found 'qreg'");
  REQUIRE(error_of("OPENQASM 3.0;\nqreg q[1];") == "<string>:1:10: unsupported OpenQASM version 3.0 (only 2.0 is supported)");
  REQUIRE(error_of("OPENQASM 2.1;") == "<string>:1:10: unsupported OpenQASM version 2.1 (only 2.0 is supported)");
  REQUIRE(error_of("OPENQASM two;") == "<string>:1:10: expected a version number after 'OPENQASM', found 'two'");
  REQUIRE(error_of("OPENQASM 2.0\nqreg q[1];") == "<string>:1:13: expected ';' after 'OPENQASM 2.0', found 'qreg'");
  REQUIRE(error_of("OPENQASM 2.0;\n") == "<string>:2:1: the program declares no qubits (a 'qreg' is needed)");
  REQUIRE(error_of("OPENQASM 2.0;\ncreg c[2];\n") == "<string>:3:1: the program declares no qubits (a 'qreg' is needed)");
  REQUIRE(error_of("OPENQASM 2.0;\nqreg q[1];\nOPENQASM 2.0;\n") ==
          "<string>:3:1: 'OPENQASM' may only appear once, at the start of the program");
}

TEST_CASE("qasm2: include errors", "[qasm]") {
  REQUIRE(error_of("OPENQASM 2.0;\ninclude \"stdgates.inc\";\n") ==
          "<string>:2:9: cannot include \"stdgates.inc\": only \"qelib1.inc\" can be included (it is built in; no "
          "file is read)");
  REQUIRE(error_of("OPENQASM 2.0;\ninclude qelib1.inc;\n") ==
          "<string>:2:9: expected a file name in double quotes after 'include', found 'qelib1'");
  REQUIRE(error_of("OPENQASM 2.0;\ninclude \"qelib1.inc\"\nqreg q[1];") ==
          "<string>:2:21: expected ';' after the include, found 'qreg'");
  REQUIRE(error_of("OPENQASM 2.0;\ninclude \"qelib1.inc;\nqreg q[1];") ==
          "<string>:2:9: unterminated string (missing '\"' before the end of the line)");
  // A user gate that qelib1.inc would redefine.
  REQUIRE(error_of("OPENQASM 2.0;\ngate h a { U(pi/2,0,pi) a; }\ninclude \"qelib1.inc\";\n") ==
          "<string>:3:9: qelib1.inc defines gate 'h', which is already defined at line 2");
}

TEST_CASE("qasm2: syntax errors say what was expected", "[qasm]") {
  // The example of the specification: a missing comma is seen as a missing ';'.
  REQUIRE(error_of("OPENQASM 2.0;\nqreg q[2];\nCX q[0] q[1];\n", "bell.qasm") ==
          "bell.qasm:3:9: expected ';' after the qubit list, found 'q'");
  // A missing ';' at the end of a line is reported where it is missing.
  REQUIRE(error_of(kHeader + "qreg q[2];\nh q[0]\nh q[1];\n") ==
          "<string>:4:7: expected ';' after the qubit list, found 'h'");
  REQUIRE(error_of(kHeader + "qreg q[2];\nh q[0]") == "<string>:4:7: expected ';' after the qubit list, found end of file");
  REQUIRE(error_of(kHeader + "qreg q[2]\n") == "<string>:3:10: expected ';' after the register declaration, found end of file");
  REQUIRE(error_of(kHeader + "qreg q;\n") == "<string>:3:7: expected '[' after the register name, found ';'");
  REQUIRE(error_of(kHeader + "qreg q[n];\n") ==
          "<string>:3:8: expected the register size (a non-negative integer), found 'n'");
  REQUIRE(error_of(kHeader + "qreg q[2.0];\n") ==
          "<string>:3:8: expected the register size (a non-negative integer), found '2.0'");
  REQUIRE(error_of(kHeader + "qreg [2];\n") == "<string>:3:6: expected a register name after 'qreg', found '['");
  REQUIRE(error_of(kHeader + "qreg q[2];\nh q[1;\n") == "<string>:4:6: expected ']' after the index, found ';'");
  REQUIRE(error_of(kHeader + "qreg q[2];\nh q[-1];\n") ==
          "<string>:4:5: expected an index (a non-negative integer), found '-'");
  REQUIRE(error_of(kHeader + "qreg q[2];\nrx(pi q[0];\n") ==
          "<string>:4:7: expected ',' or ')' in the parameter list, found 'q'");
  REQUIRE(error_of(kHeader + "qreg q[2];\nrx(pi/) q[0];\n") == "<string>:4:7: expected an expression, found ')'");
  REQUIRE(error_of(kHeader + "qreg q[2];\nrx(sin pi) q[0];\n") ==
          "<string>:4:8: expected '(' after the function name 'sin', found 'pi'");
  REQUIRE(error_of(kHeader + "qreg q[2];\nrx((1+2) q[0];\n") ==
          "<string>:4:10: expected ',' or ')' in the parameter list, found 'q'");
  REQUIRE(error_of(kHeader + "qreg q[2];\nrx((1+2 q[0];\n") ==
          "<string>:4:9: expected ')' to close the parenthesis, found 'q'");
  REQUIRE(error_of(kHeader + "qreg q[2];\nh;\n") == "<string>:4:2: expected a qubit or quantum register, found ';'");
  REQUIRE(error_of(kHeader + "qreg q[2];\n[h] q;\n") == "<string>:4:1: expected a statement, found '['");
  REQUIRE(error_of(kHeader + "qreg q[2];\nh q[0]; }\n") == "<string>:4:9: expected a statement, found '}'");
  REQUIRE(error_of(kHeader + "qreg q[2];\nh q[0]; @\n") == "<string>:4:9: expected a statement, found '@'");
  REQUIRE(error_of(kHeader + "qreg q[2];\nrx(\xCF\x80) q[0];\n") ==
          "<string>:4:4: expected an expression, found a non-ASCII byte (0xCF)");
  REQUIRE(error_of(kHeader + "qreg q[2];\ncreg c[2];\nmeasure q[0] c[0];\n") ==
          "<string>:5:14: expected '->' after the measured qubits, found 'c'");
  REQUIRE(error_of(kHeader + "qreg q[2];\nbarrier;\n") == "<string>:4:8: expected a qubit or quantum register, found ';'");
  REQUIRE(error_of(kHeader + "qreg q[2];\nrx(1e999) q[0];\n") == "<string>:4:4: number 1e999 is out of range");
  REQUIRE(error_of(kHeader + "qreg q[2];\nrx(theta) q[0];\n") ==
          "<string>:4:4: unknown identifier 'theta' in an expression (only pi and numbers are allowed here)");
  REQUIRE(error_of(kHeader + "qreg q[2];\nrx(" + std::string(300, '(') + "1" + std::string(300, ')') + ") q[0];\n")
              .find("expression nested too deeply") != std::string::npos);
}

TEST_CASE("qasm2: registers, indices and operand errors", "[qasm]") {
  REQUIRE(error_of(kHeader + "qreg q[2];\nh q[2];\n") == "<string>:4:5: index 2 is out of range for register 'q' of size 2");
  REQUIRE(error_of(kHeader + "qreg q[2];\ncreg c[1];\nmeasure q[0] -> c[1];\n") ==
          "<string>:5:19: index 1 is out of range for register 'c' of size 1");
  REQUIRE(error_of(kHeader + "qreg q[2];\nh r[0];\n") == "<string>:4:3: unknown quantum register 'r'");
  REQUIRE(error_of(kHeader + "qreg q[2];\ncreg c[2];\nh c[0];\n") ==
          "<string>:5:3: 'c' is a classical register; expected a quantum one");
  REQUIRE(error_of(kHeader + "qreg q[2];\nmeasure q[0] -> q[1];\n") ==
          "<string>:4:17: 'q' is a quantum register; expected a classical one");
  REQUIRE(error_of(kHeader + "qreg q[2];\nmeasure q[0] -> c[1];\n") == "<string>:4:17: unknown classical register 'c'");
  REQUIRE(error_of(kHeader + "qreg q[2];\ncreg q[2];\n") == "<string>:4:6: register 'q' is already declared");
  REQUIRE(error_of(kHeader + "qreg q[0];\n") == "<string>:3:8: a register needs at least one element");
  REQUIRE(error_of(kHeader + "qreg q[20];\nqreg r[11];\n") ==
          "<string>:4:6: too many qubits: the program declares 31 so far, at most 30 are supported");
  REQUIRE(error_of(kHeader + "qreg q[99999999999];\n") == "<string>:3:8: register size 99999999999 is too large");
  // Unequal broadcasting.
  REQUIRE(error_of(kHeader + "qreg a[2];\nqreg b[3];\ncx a, b;\n") ==
          "<string>:5:7: registers of different sizes in one gate call: 'a' has 2 qubits, 'b' has 3");
  REQUIRE(error_of(kHeader + "qreg a[2];\ncreg c[3];\nmeasure a -> c;\n") ==
          "<string>:5:14: measure needs registers of the same size: 'a' has 2 qubits, 'c' has 3 bits");
  REQUIRE(error_of(kHeader + "qreg a[2];\ncreg c[3];\nmeasure a -> c[0];\n") ==
          "<string>:5:9: measure takes a qubit and a bit, or a quantum and a classical register of the same size, "
          "not a register and a single element");
  REQUIRE(error_of(kHeader + "qreg a[2];\ncreg c[3];\nmeasure a[0] -> c;\n") ==
          "<string>:5:17: measure takes a qubit and a bit, or a quantum and a classical register of the same size, "
          "not a register and a single element");
  // The same qubit twice in one operation.
  REQUIRE(error_of(kHeader + "qreg q[2];\ncx q[0], q[0];\n") == "<string>:4:10: qubit q[0] is used twice in one gate call");
  REQUIRE(error_of(kHeader + "qreg q[2];\ncx q, q;\n") == "<string>:4:7: qubit q[0] is used twice in one gate call");
  REQUIRE(error_of(kHeader + "qreg q[2];\ncx q[1], q;\n") == "<string>:4:10: qubit q[1] is used twice in one gate call");
  REQUIRE(error_of(kHeader + "qreg q[3];\nccx q[0], q[1], q[0];\n") ==
          "<string>:4:17: qubit q[0] is used twice in one gate call");
  REQUIRE(error_of(kHeader + "qreg q[2];\nbarrier q, q[1];\n") == "<string>:4:12: qubit q[1] appears twice in the barrier");
}

TEST_CASE("qasm2: unknown gates and wrong arity", "[qasm]") {
  REQUIRE(error_of(kHeader + "qreg q[2];\nfoo q[0];\n") == "<string>:4:1: unknown gate 'foo'");
  REQUIRE(error_of("OPENQASM 2.0;\nqreg q[2];\nh q[0];\n") ==
          "<string>:3:1: unknown gate 'h' (it is defined in qelib1.inc: add 'include \"qelib1.inc\";')");
  REQUIRE(error_of(kHeader + "qreg q[2];\nH q[0];\n") == "<string>:4:1: unknown gate 'H'");  // case-sensitive
  REQUIRE(error_of(kHeader + "qreg q[2];\ncnot q[0], q[1];\n") == "<string>:4:1: unknown gate 'cnot'");
  REQUIRE(error_of(kHeader + "qreg q[2];\nrx q[0];\n") == "<string>:4:1: gate 'rx' takes 1 parameter, got 0");
  REQUIRE(error_of(kHeader + "qreg q[2];\nh(0.5) q[0];\n") == "<string>:4:1: gate 'h' takes 0 parameters, got 1");
  REQUIRE(error_of(kHeader + "qreg q[2];\nu3(1, 2) q[0];\n") == "<string>:4:1: gate 'u3' takes 3 parameters, got 2");
  REQUIRE(error_of(kHeader + "qreg q[2];\ncx q[0];\n") == "<string>:4:1: gate 'cx' acts on 2 qubits, got 1");
  REQUIRE(error_of(kHeader + "qreg q[2];\nh q[0], q[1];\n") == "<string>:4:1: gate 'h' acts on 1 qubit, got 2");
  REQUIRE(error_of(kHeader + "qreg q[5];\nc4x q[0], q[1], q[2], q[3];\n") ==
          "<string>:4:1: gate 'c4x' acts on 5 qubits, got 4");
  REQUIRE(error_of(kHeader + "gate g(a, b) x { rz(a + b) x; }\nqreg q[2];\ng(1) q[0];\n") ==
          "<string>:5:1: gate 'g' takes 2 parameters, got 1");
}

TEST_CASE("qasm2: classical control", "[qasm]") {
  using kraus::engine::Condition;
  // Registers: c (bits 0-1), d (bit 2), e (bits 3-5); a broadcast and a user gate carry the condition.
  const Circuit c = parse_qasm2(kHeader +
                                "gate pair a, b { h a; cx a, b; }\n"
                                "qreg q[3];\ncreg c[2];\ncreg d[1];\ncreg e[3];\n"
                                "h q[0];\nmeasure q[0] -> c[1];\n"
                                "if(c==2) x q[1];\n"
                                "if (e == 5) rz(pi/2) q;\n"
                                "if(d==1) pair q[1], q[2];\n"
                                "if(c==3) measure q[2] -> d[0];\n"
                                "if(e==0) reset q[0];\n"
                                "measure q[1] -> e[2];\n");
  const auto& ops = c.operations();
  REQUIRE(ops.size() == 11);
  auto check = [&](std::size_t i, OpKind kind, int clbit, int size, std::uint64_t value) {
    INFO("operation " << i);
    REQUIRE(ops[i].kind == kind);
    REQUIRE(ops[i].condition.clbit == clbit);
    REQUIRE(ops[i].condition.size == size);
    REQUIRE(ops[i].condition.value == value);
  };
  check(0, OpKind::kGate, -1, 0, 0);     // h
  check(1, OpKind::kMeasure, -1, 0, 0);
  check(2, OpKind::kGate, 0, 2, 2);      // x under c == 2
  for (std::size_t i = 3; i < 6; ++i) check(i, OpKind::kGate, 3, 3, 5);  // rz on q[0], q[1], q[2]
  check(6, OpKind::kGate, 2, 1, 1);      // pair's h
  check(7, OpKind::kGate, 2, 1, 1);      // pair's cx
  check(8, OpKind::kMeasure, 0, 2, 3);
  REQUIRE(ops[8].clbit == 2);
  check(9, OpKind::kReset, 3, 3, 0);
  check(10, OpKind::kMeasure, -1, 0, 0);
  REQUIRE(c.has_conditions());
  REQUIRE_FALSE(parse_qasm2(kHeader + "qreg q[1];\ncreg c[1];\nmeasure q[0] -> c[0];\n").has_conditions());
  // The largest value of a 64-bit register.
  const Circuit wide = parse_qasm2(kHeader + "qreg q[1];\ncreg c[64];\nif(c==18446744073709551615) x q[0];\n");
  REQUIRE(wide.operations()[0].condition.value == ~std::uint64_t{0});
  // Conditions have no inverse, and appending keeps them.
  REQUIRE_THROWS_AS(kraus::engine::inverse(ops[2]), std::invalid_argument);
  Circuit copy(3, 6);
  copy.set_classical_registers(c.classical_registers());
  copy.append(c);
  REQUIRE(copy.operations()[2].condition.value == 2);
  REQUIRE(copy.operations()[8].condition.size == 2);
}

TEST_CASE("qasm2: classical control errors", "[qasm]") {
  const std::string regs = kHeader + "qreg q[2];\ncreg c[2];\n";  // statements from line 5
  REQUIRE(error_of(regs + "if (c == 4) x q[0];\n") ==
          "<string>:5:10: value 4 does not fit in register 'c' of 2 bits (at most 3)");
  REQUIRE(error_of(regs + "if (d == 1) x q[0];\n") == "<string>:5:5: unknown classical register 'd'");
  REQUIRE(error_of(regs + "if (q == 1) x q[0];\n") ==
          "<string>:5:5: 'q' is a quantum register; a condition compares a classical register");
  REQUIRE(error_of(regs + "if (c[0] == 1) x q[0];\n") ==
          "<string>:5:6: a condition compares a whole classical register ('if (c == n)'); OpenQASM 2 has no "
          "condition on one bit");
  REQUIRE(error_of(regs + "if (c = 1) x q[0];\n") == "<string>:5:7: expected '==' after the register in the condition, found '='");
  REQUIRE(error_of(regs + "if (c == -1) x q[0];\n") ==
          "<string>:5:10: expected a non-negative integer to compare the register with, found '-'");
  REQUIRE(error_of(regs + "if (c == 1.5) x q[0];\n") ==
          "<string>:5:10: expected a non-negative integer to compare the register with, found '1.5'");
  REQUIRE(error_of(regs + "if (c == 1 x q[0];\n") == "<string>:5:12: expected ')' to close the condition, found 'x'");
  REQUIRE(error_of(regs + "if c == 1) x q[0];\n") == "<string>:5:4: expected '(' after 'if', found 'c'");
  REQUIRE(error_of(regs + "if (c == 1) barrier q;\n") == "<string>:5:13: a barrier cannot be conditional");
  REQUIRE(error_of(regs + "if (c == 1) if (c == 0) x q[0];\n") == "<string>:5:13: conditions cannot be nested");
  REQUIRE(error_of(regs + "if (c == 1) creg d[1];\n") ==
          "<string>:5:13: expected a gate call, measure or reset after the condition, found 'creg'");
  REQUIRE(error_of(regs + "if (c == 1) measure q -> c;\n") ==
          "<string>:5:1: a conditional measurement broadcast into the register its condition reads ('c') is not "
          "supported");
  REQUIRE(error_of(regs + "if (c == 1) x q[2];\n") == "<string>:5:17: index 2 is out of range for register 'q' of size 2");
  REQUIRE(error_of(kHeader + "qreg q[1];\ncreg c[64];\nif(c==18446744073709551616) x q[0];\n") ==
          "<string>:5:7: value 18446744073709551616 is too large");
}

TEST_CASE("qasm2: unsupported statements", "[qasm]") {
  REQUIRE(error_of(kHeader + "qreg q[2];\nopaque magic(a) x, y;\n") ==
          "<string>:4:1: opaque gate declarations are not supported");
}

TEST_CASE("qasm2: arithmetic errors", "[qasm]") {
  REQUIRE(error_of(kHeader + "qreg q[1];\nrx(1/0) q[0];\n") == "<string>:4:5: division by zero");
  REQUIRE(error_of(kHeader + "qreg q[1];\nrx(pi/(1-1)) q[0];\n") == "<string>:4:6: division by zero");
  REQUIRE(error_of(kHeader + "qreg q[1];\nrx(ln(0)) q[0];\n") == "<string>:4:4: ln of a non-positive number (0.000000)");
  REQUIRE(error_of(kHeader + "qreg q[1];\nrx(sqrt(-1)) q[0];\n") ==
          "<string>:4:4: sqrt of a negative number (-1.000000)");
  REQUIRE(error_of(kHeader + "qreg q[1];\nrx((-8)^(1/3)) q[0];\n") ==
          "<string>:4:8: -8.000000 ^ 0.333333 is not a real number");
  REQUIRE(error_of(kHeader + "qreg q[1];\nrx(exp(1000)) q[0];\n") ==
          "<string>:4:4: the expression's value is not a finite number");
  REQUIRE(error_of(kHeader + "gate g(a) x { rx(2 * exp(a)) x; }\nqreg q[1];\ng(1000) q[0];\n") ==
          "<string>:3:18: the expression's value is not a finite number in the body of gate 'g', expanding the call "
          "at line 5, column 1");
  // In a gate body the error points into the body and names the call being expanded.
  REQUIRE(error_of(kHeader + "gate g(a) x {\n  rx(1/a) x;\n}\nqreg q[1];\ng(0.5) q[0];\ng(0) q[0];\n") ==
          "<string>:4:7: division by zero in the body of gate 'g', expanding the call at line 8, column 1");
}

TEST_CASE("qasm2: gate definition errors", "[qasm]") {
  REQUIRE(error_of(kHeader + "gate g a { h a;\nqreg q[1];\n") ==
          "<string>:4:1: registers cannot be declared in a gate body");
  REQUIRE(error_of(kHeader + "gate g a { h a;\n") ==
          "<string>:4:1: expected '}' to close the body of gate 'g' (opened at line 3), found end of file");
  REQUIRE(error_of(kHeader + "gate g a { h a; }\ngate g b { x b; }\n") ==
          "<string>:4:6: gate 'g' is already defined at line 3");
  REQUIRE(error_of(kHeader + "gate h a { x a; }\n") == "<string>:3:6: gate 'h' is already defined by qelib1.inc");
  REQUIRE(error_of("OPENQASM 2.0;\ngate CX a, b { }\n") == "<string>:2:6: gate 'CX' is already defined (it is built in)");
  REQUIRE(error_of(kHeader + "gate g a { g a; }\n") == "<string>:3:12: gate 'g' cannot call itself");
  REQUIRE(error_of(kHeader + "gate g a { later a; }\ngate later a { }\n") == "<string>:3:12: unknown gate 'later'");
  REQUIRE(error_of(kHeader + "gate g a { h b; }\n") ==
          "<string>:3:14: unknown qubit argument 'b' (not an argument of gate 'g')");
  REQUIRE(error_of(kHeader + "gate g a, b { cx a, a; }\n") ==
          "<string>:3:21: qubit argument 'a' is used twice in one operation");
  REQUIRE(error_of(kHeader + "gate g a, a { }\n") == "<string>:3:11: qubit argument 'a' is listed twice");
  REQUIRE(error_of(kHeader + "gate g(t, t) a { }\n") == "<string>:3:11: parameter 't' is listed twice");
  REQUIRE(error_of(kHeader + "gate g(t) t { }\n") == "<string>:3:11: 't' is already a parameter name");
  REQUIRE(error_of(kHeader + "gate g(pi) a { }\n") == "<string>:3:8: 'pi' cannot be a parameter name");
  REQUIRE(error_of(kHeader + "gate g(t) a { rx(s) a; }\n") ==
          "<string>:3:18: unknown parameter 's' (not a parameter of this gate)");
  REQUIRE(error_of(kHeader + "gate g a { h a[0]; }\n") ==
          "<string>:3:15: qubit arguments in a gate body are single qubits and cannot be indexed");
  REQUIRE(error_of(kHeader + "gate g a { rx(1, 2) a; }\n") == "<string>:3:12: gate 'rx' takes 1 parameter, got 2");
  REQUIRE(error_of(kHeader + "gate g a { cx a; }\n") == "<string>:3:12: gate 'cx' acts on 2 qubits, got 1");
  REQUIRE(error_of(kHeader + "gate g a { measure a; }\n") == "<string>:3:12: 'measure' is not allowed in a gate body");
  REQUIRE(error_of(kHeader + "gate g a { reset a; }\n") == "<string>:3:12: 'reset' is not allowed in a gate body");
  REQUIRE(error_of(kHeader + "gate g a { gate f b { } }\n") == "<string>:3:12: gate definitions cannot be nested");
  REQUIRE(error_of(kHeader + "gate g a { if (c==1) x a; }\n") ==
          "<string>:3:12: classical control (if) is not allowed in a gate body");
  REQUIRE(error_of(kHeader + "gate g a h a; }\n") == "<string>:3:10: expected '{' to open the body of gate 'g', found 'h'");
  REQUIRE(error_of(kHeader + "gate g { }\n") == "<string>:3:8: expected a qubit argument name, found '{'");
  REQUIRE(error_of(kHeader + "gate (a) { }\n") == "<string>:3:6: expected a gate name after 'gate', found '('");
  REQUIRE(error_of(kHeader + "gate g a { h a }\n") == "<string>:3:16: expected ';' after the qubit list, found '}'");
  REQUIRE(error_of(kHeader + "gate measure a { }\n") ==
          "<string>:3:6: 'measure' is a reserved word and cannot name a gate");
  {
    // 1001 levels of user gates, each calling the one before: g1000 is one too many.
    std::string src = kHeader + "gate g0 a { x a; }\n";
    for (int k = 1; k <= 1000; ++k) {
      src += "gate g" + std::to_string(k) + " a { g" + std::to_string(k - 1) + " a; }\n";
    }
    REQUIRE(error_of(src) == "<string>:1003:16: gate calls nested more than 1000 levels deep");
    // 1000 levels are fine, and expand to the one x gate.
    src = src.substr(0, src.rfind("gate g1000"));
    REQUIRE(describe(parse_qasm2(src + "qreg q[1];\ng999 q[0];\n")) == "x 0");
  }
  REQUIRE(error_of(kHeader + "gate g a { 1 a; }\n") ==
          "<string>:3:12: expected a gate call or '}' in the body of gate 'g', found '1'");
}

// ---- hostile input (issue 11): every reproducer ends in bounded time with a located message ----

const std::string kHardening = kData + "hardening/";
const std::string kStepsMessage =
    "the program expands to more than 1000000 steps (operations, gate calls, barrier qubits and parameter "
    "evaluations) at this statement";

TEST_CASE("qasm2: gate calls that emit nothing count against the expansion limit", "[qasm]") {
  // 2^65 - 1 calls of gates with empty bodies, of delay, and of barriers over 20 qubits: the error
  // names the top-level call after a million steps instead of running for ever.
  REQUIRE(file_error_of(kHardening + "nested_empty_gates.qasm") ==
          kHardening + "nested_empty_gates.qasm:68:1: " + kStepsMessage);
  REQUIRE(file_error_of(kHardening + "nested_delay.qasm") == kHardening + "nested_delay.qasm:68:1: " + kStepsMessage);
  REQUIRE(file_error_of(kHardening + "nested_barrier_20q.qasm") ==
          kHardening + "nested_barrier_20q.qasm:20:1: " + kStepsMessage);

  // The count is exact: m makes 1 + 999 * (1 + 1000) = 1000000 calls of user gates (no operation),
  // which is allowed; one more call of e after it is not.
  std::string body;
  for (int k = 0; k < 1000; ++k) body += "e a; ";
  std::string src = kHeader + "gate e a { }\ngate k a { " + body + "}\ngate m a { ";
  for (int k = 0; k < 999; ++k) src += "k a; ";
  src += "}\nqreg q[1];\nm q[0];\n";
  REQUIRE(parse_qasm2(src).operations().empty());
  REQUIRE(error_of(src + "x q[0];\n") == "<string>:8:1: " + kStepsMessage);
  // Operations, calls of user gates, barrier qubits, resets and measurements count one each: the
  // statement one step past the limit is named.
  std::string flat = kHeader + "gate e a { }\ngate k a { " + body + "}\nqreg q[2];\ncreg c[1];\n";
  for (int k = 0; k < 998; ++k) flat += "k q[0];\n";  // 998 * 1001 = 998998 steps
  for (int k = 0; k < 999; ++k) flat += "x q[0];\n";  // 999997
  flat += "barrier q;\nreset q[1];\n";              // 999999, 1000000 on line 2005
  REQUIRE(parse_qasm2(flat).operations().size() == 999u + 1u + 1u);
  REQUIRE(error_of(flat + "measure q[0] -> c[0];\n") == "<string>:2006:1: " + kStepsMessage);
  REQUIRE(error_of(flat + "x q[1];\n") == "<string>:2006:1: " + kStepsMessage);
}

TEST_CASE("qasm2: parameter expressions evaluated during expansion count against the limit", "[qasm]") {
  // A 20001-instruction expression evaluated 2^10 times is 20 million steps, refused at the call.
  std::string expr = "x";
  for (int k = 0; k < 10000; ++k) expr += "+x";
  std::string src = kHeader + "gate e0(x) a { rz(" + expr + ") a; }\n";
  for (int k = 1; k <= 10; ++k) {
    src += "gate e" + std::to_string(k) + "(x) a { e" + std::to_string(k - 1) + "(x) a; e" + std::to_string(k - 1) +
           "(x) a; }\n";
  }
  REQUIRE(error_of(src + "qreg q[1];\ne10(0.5) q[0];\n") == "<string>:15:1: " + kStepsMessage);
  // Two levels are fine and give the right angle: 4 rz of 10001 * 0.5.
  const Circuit c = parse_qasm2(src + "qreg q[1];\ne2(0.5) q[0];\n");
  REQUIRE(c.operations().size() == 4);
  REQUIRE_THAT(c.operations()[0].params[0], Catch::Matchers::WithinAbs(5000.5, 1e-9));
}

TEST_CASE("qasm2: check_qubits runs at each qreg, before anything is expanded", "[qasm]") {
  std::vector<int> seen;
  kraus::engine::Qasm2Options options;
  options.check_qubits = [&seen](int n) {
    seen.push_back(n);
    if (n > 12) throw std::runtime_error(std::to_string(n) + " qubits need 16384.0 GiB");
  };
  // The expansion after the qreg would take a million steps; the callback stops the program first.
  std::string error;
  try {
    read_qasm2_file(kHardening + "nested_barrier_20q.qasm", options);
  } catch (const QasmError& e) {
    error = e.what();
  }
  REQUIRE(error == kHardening + "nested_barrier_20q.qasm:19:6: 20 qubits need 16384.0 GiB");
  REQUIRE(seen == std::vector<int>{20});
  // Called with the running total at every declaration; a callback that does not throw changes nothing.
  seen.clear();
  const std::string src = kHeader + "qreg a[3];\ncreg c[2];\nh a;\nqreg b[4];\ncx a[0], b[3];\n";
  REQUIRE(describe(parse_qasm2(src, "<string>", options)) == describe(parse_qasm2(src)));
  REQUIRE(seen == std::vector<int>{3, 7});
  // Any std::exception: its what() follows the location of the qreg that raised the total.
  options.check_qubits = [](int n) {
    if (n > 3) throw std::length_error("no room for " + std::to_string(n));
  };
  REQUIRE_THROWS_WITH(parse_qasm2(src, "prog.qasm", options), "prog.qasm:6:6: no room for 7");
}

TEST_CASE("qasm2: \\r, \\r\\n and \\n each end one line", "[qasm]") {
  REQUIRE(file_error_of(kHardening + "cr_line_ends.qasm") == kHardening + "cr_line_ends.qasm:5:1: unknown gate 'foo'");
  // Mixed line ends, a comment ended by "\r", and columns counted from the start of each line.
  REQUIRE(error_of("OPENQASM 2.0;\r\ninclude \"qelib1.inc\";\rqreg q[2]; // c\rh q[0];\n  foo q[1];\r\n") ==
          "<string>:5:3: unknown gate 'foo'");
  // "\r\r" is two line ends, "\n\r" too.
  REQUIRE(error_of("OPENQASM 2.0;\r\rqreg q[1];\n\rfoo q[0];") == "<string>:5:1: unknown gate 'foo'");
  // A string does not run on past a "\r".
  REQUIRE(error_of("OPENQASM 2.0;\rinclude \"qelib1.inc\r\";\r") ==
          "<string>:2:9: unterminated string (missing '\"' before the end of the line)");
  // A missing ';' is reported at the end of its line with "\r" line ends as with "\n".
  REQUIRE(error_of("OPENQASM 2.0;\rinclude \"qelib1.inc\";\rqreg q[2];\rh q[0]\rcx q[0], q[1];\r") ==
          "<string>:4:7: expected ';' after the qubit list, found 'cx'");
}

TEST_CASE("qasm2: control bytes and invalid UTF-8 are escaped in messages, long text is cut", "[qasm]") {
  REQUIRE(file_error_of(kHardening + "control_bytes.qasm") ==
          kHardening + "control_bytes.qasm:4:9: expected a statement, found a control byte (0x00)");
  REQUIRE(file_error_of(kHardening + "control_bytes_include.qasm") ==
          kHardening + "control_bytes_include.qasm:2:9: cannot include \"\\x1b[31mevil\\x00\\xff.inc\": only "
                       "\"qelib1.inc\" can be included (it is built in; no file is read)");
  REQUIRE(error_of(kHeader + "qreg q[1];\nh q[0];\x7f\n") == "<string>:4:8: expected a statement, found a control byte (0x7F)");
  REQUIRE(error_of(kHeader + "qreg q[1];\nh q[0];\x1b\n") == "<string>:4:8: expected a statement, found a control byte (0x1B)");
  // A name of a million bytes is quoted by its first 64.
  REQUIRE(error_of(kHeader + "qreg q[1];\n" + std::string(1000000, 'g') + " q[0];\n") ==
          "<string>:4:1: unknown gate '" + std::string(64, 'g') + "...'");
  REQUIRE(error_of(kHeader + "qreg " + std::string(100, 'r') + "[2];\nh " + std::string(100, 'r') + "[2];\n") ==
          "<string>:4:" + std::to_string(4 + 100) + ": index 2 is out of range for register '" + std::string(64, 'r') +
              "...' of size 2");
  // No message quotes a raw byte outside printable ASCII, whatever byte stands where.
  for (int b = 0; b < 256; ++b) {
    if (b == '\n' || b == '\r') continue;
    const char c = static_cast<char>(b);
    for (const std::string& src :
         {kHeader + "qreg q[1];\n" + std::string(1, c) + " q[0];\n", kHeader + "include \"" + std::string(1, c) + "\";\n",
          kHeader + "qreg q[1];\nrx(" + std::string(1, c) + ") q[0];\n", kHeader + "qreg q" + std::string(1, c) + ";\n"}) {
      const std::string msg = error_of(src);
      for (char m : msg) {
        INFO("byte " << b << ": " << msg);
        REQUIRE(static_cast<unsigned char>(m) >= 0x20);
        REQUIRE(static_cast<unsigned char>(m) < 0x7F);
      }
    }
  }
}

TEST_CASE("qasm2: integer literals do not wrap", "[qasm]") {
  REQUIRE(file_error_of(kHardening + "huge_register.qasm") ==
          kHardening + "huge_register.qasm:2:8: register size 4294967297 is too large");
  REQUIRE(file_error_of(kHardening + "huge_index.qasm") == kHardening + "huge_index.qasm:4:5: index 4294967296 is too large");
  REQUIRE(error_of(kHeader + "creg c[18446744073709551617];\n") ==
          "<string>:3:8: register size 18446744073709551617 is too large");
  REQUIRE(error_of(kHeader + "qreg q[2];\nh q[" + std::string(100, '9') + "];\n") ==
          "<string>:4:5: index " + std::string(64, '9') + "... is too large");
  // Leading zeros are no overflow.
  REQUIRE(describe(parse_qasm2(kHeader + "qreg q[00000000000000000000002];\nh q[000000000000000000001];\n")) == "h 1");
}

TEST_CASE("qasm2: gate definitions have at most 30 qubit arguments and 100 parameters", "[qasm]") {
  std::string qubits = "a0";
  for (int k = 1; k < 30; ++k) qubits += ", a" + std::to_string(k);
  std::string params = "p0";
  for (int k = 1; k < 100; ++k) params += ", p" + std::to_string(k);
  REQUIRE(error_of(kHeader + "gate g(" + params + ") " + qubits + " { }\nqreg q[1];\n") == "no error");
  const std::string more_qubits = kHeader + "gate g " + qubits + ", b { }\n";
  REQUIRE(error_of(more_qubits) == "<string>:3:" + std::to_string(more_qubits.find(", b {") - kHeader.size() + 3) +
                                       ": gate 'g' has more than 30 qubit arguments (at most 30 qubits are supported)");
  const std::string more_params = kHeader + "gate g(" + params + ", s) a { }\n";
  REQUIRE(error_of(more_params) == "<string>:3:" + std::to_string(more_params.find(", s)") - kHeader.size() + 3) +
                                       ": gate 'g' has more than 100 parameters");
}

TEST_CASE("qasm2: programs are at most 64 MiB", "[qasm]") {
  std::string big = kHeader + "qreg q[1];\n";
  big.resize((std::size_t{64} << 20) + 1, ' ');
  REQUIRE(error_of(big, "big.qasm") == "big.qasm: the program is larger than 64 MiB");
  // An endless file stops there too.
  REQUIRE(file_error_of("/dev/zero") == "/dev/zero: the program is larger than 64 MiB");
}

// ---- inputs (the kraus extension for named parameters) -------------------------------------------

namespace {

// Operation by operation: kind, gate, qubits, fixed parameters, and the angle's offset and terms.
void require_same_operations(const Circuit& got, const Circuit& want) {
  REQUIRE(got.num_qubits() == want.num_qubits());
  REQUIRE(got.operations().size() == want.operations().size());
  for (std::size_t i = 0; i < got.operations().size(); ++i) {
    INFO("operation " << i);
    const Operation& a = got.operations()[i];
    const Operation& b = want.operations()[i];
    REQUIRE(a.kind == b.kind);
    REQUIRE(a.gate == b.gate);
    REQUIRE(a.qubits == b.qubits);
    REQUIRE(a.params.size() == b.params.size());
    for (std::size_t k = 0; k < a.params.size(); ++k) REQUIRE_CLOSE(a.params[k], b.params[k], 1e-15);
    REQUIRE(a.has_angle == b.has_angle);
    REQUIRE_CLOSE(a.angle.offset, b.angle.offset, 1e-15);
    REQUIRE(a.angle.terms.size() == b.angle.terms.size());
    for (std::size_t k = 0; k < a.angle.terms.size(); ++k) {
      REQUIRE(a.angle.terms[k].param == b.angle.terms[k].param);
      REQUIRE(a.angle.terms[k].feature == b.angle.terms[k].feature);
      REQUIRE_CLOSE(a.angle.terms[k].coeff, b.angle.terms[k].coeff, 1e-15);
    }
  }
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
  return s;
}

const std::string kAffineMessage = ": angles must be affine in the input parameters";
const std::string kRotationsOnly =
    ": only rx, ry, rz, rxx, ryy, rzz, rzx (and p, u1 as rz) can (exact gradients need a Pauli-rotation generator)";

}  // namespace

TEST_CASE("qasm2: inputs give parametrised rotations equal to the circuit built in code", "[qasm2]") {
  const Circuit c = parse_qasm2(kHeader +
                                "input float[64] theta;\n"
                                "input angle phi;\n"
                                "input float[64] unused;\n"
                                "qreg q[2];\n"
                                "rx(theta) q[0];\n"
                                "ry(2*theta - phi/4 + pi) q[1];\n"
                                "rzz(-(theta + phi) * 3) q[0], q[1];\n"
                                "rzx(phi - 2*theta + theta*3) q[1], q[0];\n"
                                "rz(theta - theta + 0.5) q[0];\n"
                                "ryy(0.25) q[0], q[1];\n"
                                "rx(phi) q;\n"
                                "h q[1];\n");
  Circuit want(2);
  want.add_rotation(Gate::kRX, {0}, Angle::parameter(0));
  want.add_rotation(Gate::kRY, {1}, Angle::parameter(0, 2.0, kPi).add(1, -1, -0.25));
  want.add_rotation(Gate::kRZZ, {0, 1}, Angle::parameter(0, -3.0).add(1, -1, -3.0));
  want.add_rotation(Gate::kRZX, {1, 0}, Angle::parameter(0, 1.0).add(1, -1, 1.0));
  // The input cancels, but the rotation stays parametrised (with zero derivative).
  want.add_rotation(Gate::kRZ, {0}, Angle::constant(0.5));
  want.add_gate(Gate::kRYY, {0, 1}, {0.25});
  want.add_rotation(Gate::kRX, {0}, Angle::parameter(1));
  want.add_rotation(Gate::kRX, {1}, Angle::parameter(1));
  want.add_gate(Gate::kH, {1});
  require_same_operations(c, want);
  // Every input is a parameter, in declaration order, including one that no gate uses.
  REQUIRE(c.parameter_names() == std::vector<std::string>{"theta", "phi", "unused"});
  REQUIRE(c.num_parameters() == 3);
  REQUIRE(c.is_parametrized());
  // Without inputs nothing changes: no names, no parameters.
  const Circuit plain = parse_qasm2(kHeader + "qreg q[1];\nrz(0.5) q[0];\n");
  REQUIRE(plain.parameter_names().empty());
  REQUIRE(plain.num_parameters() == 0);
  REQUIRE_FALSE(plain.operations()[0].has_angle);
}

TEST_CASE("qasm2: user gates pass affine expressions of inputs to their bodies", "[qasm2]") {
  const Circuit c = parse_qasm2(kHeader +
                                "input float[64] theta;\n"
                                "input float[64] phi;\n"
                                "gate layer(a, b) q0, q1 { ry(a) q0; rz(2*b - pi/4) q1; }\n"
                                "gate outer(c) x, y { layer(-c, c/2 + 1) y, x; cx x, y; u3(0.1, 0, pi) x; }\n"
                                "qreg q[2];\n"
                                "layer(theta, 0.5*phi) q[0], q[1];\n"
                                "outer(theta + 2*phi) q[0], q[1];\n");
  Circuit want(2);
  want.add_rotation(Gate::kRY, {0}, Angle::parameter(0));
  want.add_rotation(Gate::kRZ, {1}, Angle::parameter(1, 1.0, -kPi / 4));
  want.add_rotation(Gate::kRY, {1}, Angle::parameter(0, -1.0).add(1, -1, -2.0));
  want.add_rotation(Gate::kRZ, {0}, Angle::parameter(0, 1.0, 2.0 - kPi / 4).add(1, -1, 2.0));
  want.add_gate(Gate::kCX, {0, 1});
  want.add_gate(Gate::kU3, {0}, {0.1, 0.0, kPi});
  require_same_operations(c, want);
  REQUIRE(c.parameter_names() == std::vector<std::string>{"theta", "phi"});
}

TEST_CASE("qasm2: p and u1 of an input become rz (equal up to a global phase)", "[qasm2]") {
  const Circuit c = parse_qasm2(kHeader +
                                "input float[64] w;\n"
                                "gate half(a) x { p(a/2) x; }\n"
                                "qreg q[2];\n"
                                "p(w) q[0];\n"
                                "u1(2*w + 1) q[1];\n"
                                "half(w) q[1];\n"
                                "p(0.5) q[0];\n"
                                "u1(0.25) q[1];\n"
                                "cu1(0.5) q[0], q[1];\n");
  Circuit want(2);
  want.add_rotation(Gate::kRZ, {0}, Angle::parameter(0));
  want.add_rotation(Gate::kRZ, {1}, Angle::parameter(0, 2.0, 1.0));
  want.add_rotation(Gate::kRZ, {1}, Angle::parameter(0, 0.5));
  // Constant angles are read as before.
  want.add_gate(Gate::kP, {0}, {0.5});
  want.add_gate(Gate::kP, {1}, {0.25});
  want.add_gate(Gate::kCP, {0, 1}, {0.5});
  require_same_operations(c, want);
}

TEST_CASE("qasm2: a parametrised circuit bound at theta simulates as the file with the numbers written in",
          "[qasm2]") {
  const std::string body =
      "gate layer(a, b) q0, q1 { ry(a) q0; rz(2*b - pi/4) q1; cx q0, q1; }\n"
      "qreg q[3];\n"
      "h q;\n"
      "layer(T, 0.5*P) q[0], q[1];\n"
      "rx(-T/3 + 0.2) q[2];\n"
      "rzz(2*P - T) q[1], q[2];\n"
      "p(P + pi/8) q[0];\n"
      "u1(3*T) q[2];\n"
      "cx q[2], q[0];\n"
      "rxx(T + P) q[0], q[2];\n"
      "ryy(0.7 - P) q[1], q[0];\n"
      "rzx(T) q[0], q[1];\n"
      "u3(0.3, 0.2, 0.1) q[1];\n";
  const Circuit param = parse_qasm2(kHeader + "input float[64] theta;\ninput float[64] phi;\n" +
                                    replace_all(replace_all(body, "T", "theta"), "P", "phi"));
  const Circuit numbers = parse_qasm2(kHeader + replace_all(replace_all(body, "T", "(0.37)"), "P", "(-1.21)"));
  REQUIRE(param.operations().size() == numbers.operations().size());
  const double theta[] = {0.37, -1.21};
  DensityMatrix bound(3), written(3);
  kraus::engine::simulate(param.bind(theta, nullptr), nullptr, bound);
  kraus::engine::simulate(numbers, nullptr, written);
  REQUIRE_MATRIX_CLOSE(bound.matrix(), written.matrix(), 1e-14);
  // The parameters matter: other values give another state.
  const double other[] = {0.37, -0.9};
  DensityMatrix moved(3);
  kraus::engine::simulate(param.bind(other, nullptr), nullptr, moved);
  REQUIRE(ref::max_abs_diff(moved.matrix(), written.matrix()) > 1e-2);
}

TEST_CASE("qasm2: non-affine uses of inputs are errors at the operator", "[qasm2]") {
  const std::string in = kHeader + "input float[64] theta;\ninput float[64] phi;\nqreg q[2];\n";
  REQUIRE(error_of(in + "rz(sin(theta)) q[0];\n") == "<string>:6:4: 'sin' of a parameter" + kAffineMessage);
  for (const std::string f : {"cos", "tan", "exp", "ln", "sqrt"}) {
    REQUIRE(error_of(in + "rz(" + f + "(theta)) q[0];\n") ==
            "<string>:6:4: '" + f + "' of a parameter" + kAffineMessage);
  }
  REQUIRE(error_of(in + "rz(cos(2*theta - theta)) q[0];\n") == "<string>:6:4: 'cos' of a parameter" + kAffineMessage);
  REQUIRE(error_of(in + "rz(theta*phi) q[0];\n") == "<string>:6:9: '*' of two parameters" + kAffineMessage);
  REQUIRE(error_of(in + "rz((theta - theta) * (0*phi)) q[0];\n") ==
          "<string>:6:20: '*' of two parameters" + kAffineMessage);
  REQUIRE(error_of(in + "rz(theta^2) q[0];\n") == "<string>:6:9: '^' of a parameter" + kAffineMessage);
  REQUIRE(error_of(in + "rz(2^theta) q[0];\n") == "<string>:6:5: '^' of a parameter" + kAffineMessage);
  REQUIRE(error_of(in + "rz(1/theta) q[0];\n") == "<string>:6:5: '/' by a parameter" + kAffineMessage);
  REQUIRE(error_of(in + "rz(theta/0) q[0];\n") == "<string>:6:9: division by zero");
  REQUIRE(error_of(in + "rz(1e308*theta*10) q[0];\n") == "<string>:6:4: the expression's value is not a finite number");
  // In a gate body: at the operator, naming the gate and the top-level call being expanded.
  REQUIRE(error_of(in + "gate g(a) x { rz(sin(a)) x; }\ng(theta) q[0];\n") ==
          "<string>:6:18: 'sin' of a parameter" + kAffineMessage +
              " in the body of gate 'g', expanding the call at line 7, column 1");
  REQUIRE(error_of(in + "gate g(a, b) x { rz(a*b) x; }\ng(theta, 2*phi + 1) q[0];\n") ==
          "<string>:6:22: '*' of two parameters" + kAffineMessage +
              " in the body of gate 'g', expanding the call at line 7, column 1");
  // Constant arguments keep the constant arithmetic.
  REQUIRE(error_of(in + "gate g(a, b) x { rz(a*b + sin(a)) x; }\ng(0.5, 2) q[0];\n") == "no error");
}

TEST_CASE("qasm2: only Pauli rotations, p and u1 take inputs; the error names the gate written", "[qasm2]") {
  const std::string in = kHeader + "input float[64] theta;\ninput float[64] phi;\nqreg q[2];\n";
  REQUIRE(error_of(in + "u3(0, theta, 0) q[0];\n") ==
          "<string>:6:7: 'u3' cannot take the parameter 'theta'" + kRotationsOnly);
  // The first input of the argument in declaration order is named; cu1 is named as written (not cp).
  REQUIRE(error_of(in + "cu1(2*phi + theta) q[0], q[1];\n") ==
          "<string>:6:5: 'cu1' cannot take the parameter 'theta'" + kRotationsOnly);
  REQUIRE(error_of(in + "crx(phi) q[0], q[1];\n") ==
          "<string>:6:5: 'crx' cannot take the parameter 'phi'" + kRotationsOnly);
  REQUIRE(error_of(in + "cp(theta - theta) q[0], q[1];\n") ==
          "<string>:6:4: 'cp' cannot take the parameter 'theta'" + kRotationsOnly);
  REQUIRE(error_of(in + "U(0.5, 0, phi) q[0];\n") ==
          "<string>:6:11: 'U' cannot take the parameter 'phi'" + kRotationsOnly);
  // The qelib1.inc extras with a parameter (expanded, or ignored) are refused too.
  REQUIRE(error_of(in + "u0(theta) q[0];\n") ==
          "<string>:6:4: 'u0' cannot take the parameter 'theta'" + kRotationsOnly);
  REQUIRE(error_of(in + "delay(theta) q[0];\n") ==
          "<string>:6:7: 'delay' cannot take the parameter 'theta'" + kRotationsOnly);
  // In a gate body: at the argument there, naming the top-level call; also through two levels.
  REQUIRE(error_of(in + "gate g(a) x { u3(a, 0, 0) x; }\ng(0.5 * theta) q[0];\n") ==
          "<string>:6:18: 'u3' cannot take the parameter 'theta'" + kRotationsOnly +
              " in the body of gate 'g', expanding the call at line 7, column 1");
  REQUIRE(error_of(in + "gate g(a) x { u3(a, 0, 0) x; }\ngate k(b) x, y { rz(b) y; g(b + 1) x; }\n" +
                   "k(phi) q[0], q[1];\n") ==
          "<string>:6:18: 'u3' cannot take the parameter 'phi'" + kRotationsOnly +
              " in the body of gate 'g', expanding the call at line 8, column 1");
  // A body whose non-rotation gates do not use the parametrised argument is fine.
  REQUIRE(error_of(in + "gate g(a) x { u3(0.1, 0, 0) x; rz(a) x; u0(2) x; }\ng(theta) q[0];\n") == "no error");
}

TEST_CASE("qasm2: input declarations and their errors", "[qasm2]") {
  const std::string q1 = "qreg q[1];\n";
  // Types: float[64] and angle only.
  REQUIRE(error_of(kHeader + "input float[32] w;\n") ==
          "<string>:3:13: float[32] inputs are not supported: inputs are 'float[64]' or 'angle'");
  REQUIRE(error_of(kHeader + "input angle[8] w;\n") ==
          "<string>:3:12: sized angles (angle[N]) are not supported: inputs are 'float[64]' or 'angle' (double "
          "precision)");
  REQUIRE(error_of(kHeader + "input int w;\n") ==
          "<string>:3:7: expected the input type 'float[64]' or 'angle' after 'input', found 'int'");
  REQUIRE(error_of(kHeader + "input float w;\n") ==
          "<string>:3:13: expected '[' after 'float' (inputs are 'float[64]'), found 'w'");
  REQUIRE(error_of(kHeader + "input float[64];\n") == "<string>:3:16: expected an input name, found ';'");
  REQUIRE(error_of(kHeader + "input float[64] w\n" + q1) ==
          "<string>:3:18: expected ';' after the input declaration, found 'qreg'");
  // Names distinct from registers, gates, reserved words and other inputs, in either order.
  REQUIRE(error_of(kHeader + q1 + "input float[64] q;\n") ==
          "<string>:4:17: 'q' is already a quantum register and cannot name an input");
  REQUIRE(error_of(kHeader + "creg c[1];\ninput angle c;\n") ==
          "<string>:4:13: 'c' is already a classical register and cannot name an input");
  REQUIRE(error_of(kHeader + "input float[64] rx;\n") ==
          "<string>:3:17: 'rx' is already a gate (defined by qelib1.inc) and cannot name an input");
  REQUIRE(error_of(kHeader + "input float[64] U;\n") ==
          "<string>:3:17: 'U' is already a gate (built in) and cannot name an input");
  REQUIRE(error_of(kHeader + "gate g a { }\ninput float[64] g;\n") ==
          "<string>:4:17: 'g' is already a gate (defined at line 3) and cannot name an input");
  for (const std::string w : {"pi", "sin", "sqrt", "input", "qreg"}) {
    REQUIRE(error_of(kHeader + "input float[64] " + w + ";\n") ==
            "<string>:3:17: '" + w + "' is a reserved word and cannot name an input");
  }
  REQUIRE(error_of(kHeader + "input float[64] w;\ninput angle w;\n") ==
          "<string>:4:13: input 'w' is already declared at line 3");
  REQUIRE(error_of(kHeader + "input float[64] w;\nqreg w[1];\n") ==
          "<string>:4:6: 'w' is already declared as an input at line 3 and cannot name a register");
  REQUIRE(error_of(kHeader + "input float[64] w;\ncreg w[1];\n") ==
          "<string>:4:6: 'w' is already declared as an input at line 3 and cannot name a register");
  REQUIRE(error_of(kHeader + "input float[64] w;\ngate w a { }\n") ==
          "<string>:4:6: 'w' is already declared as an input at line 3 and cannot name a gate");
  REQUIRE(error_of("OPENQASM 2.0;\ninput float[64] h;\ninclude \"qelib1.inc\";\n") ==
          "<string>:3:9: qelib1.inc defines gate 'h', which is already declared as an input at line 2");
  REQUIRE(error_of(kHeader + "gate input a { }\n") ==
          "<string>:3:6: 'input' is a reserved word and cannot name a gate");
  // Top level only, declared before use, used in a gate body only through the gate's parameters.
  REQUIRE(error_of(kHeader + "gate g a { input float[64] w; }\n") ==
          "<string>:3:12: inputs cannot be declared in a gate body");
  REQUIRE(error_of(kHeader + "input float[64] w;\ngate g a { rz(w) a; }\n") ==
          "<string>:4:15: input 'w' cannot be used in a gate body (pass it to the gate as a parameter)");
  REQUIRE(error_of(kHeader + q1 + "rz(w) q[0];\ninput float[64] w;\n") ==
          "<string>:4:4: unknown identifier 'w' in an expression (only pi and numbers are allowed here)");
  REQUIRE(error_of(kHeader + "input float[64] v;\n" + q1 + "rz(w) q[0];\ninput float[64] w;\n") ==
          "<string>:5:4: unknown identifier 'w' in an expression (only pi, numbers and the inputs declared before it "
          "are allowed here)");
  // A gate parameter may have an input's name: in the body it is the parameter.
  const Circuit c = parse_qasm2(kHeader + "input float[64] w;\ngate g(w) a { rz(2*w) a; }\n" + q1 + "g(0.25) q[0];\n");
  REQUIRE(describe(c) == "rz(0.5) 0");
}

TEST_CASE("qasm2: work on input terms counts against the expansion limit", "[qasm2]") {
  // Each intermediate value counts one step per input term: the sum of 1000 inputs is about half a
  // million steps; multiplying it by 1 a thousand times more is refused at the statement.
  std::string src = kHeader;
  std::string sum = "t0";
  for (int k = 0; k < 1000; ++k) {
    src += "input float[64] t" + std::to_string(k) + ";\n";
    if (k > 0) sum += "+t" + std::to_string(k);
  }
  src += "qreg q[1];\n";  // line 1003
  const Circuit c = parse_qasm2(src + "rz(" + sum + ") q[0];\n");
  REQUIRE(c.operations().size() == 1);
  REQUIRE(c.operations()[0].angle.terms.size() == 1000);
  REQUIRE(c.operations()[0].angle.terms[999].param == 999);
  REQUIRE(c.num_parameters() == 1000);
  std::string product = "(" + sum + ")";
  for (int k = 0; k < 1000; ++k) product += "*1";
  REQUIRE(error_of(src + "rz(" + product + ") q[0];\n") == "<string>:1004:1: " + kStepsMessage);
}
