// Gate matrices against independent definitions: matrix exponentials of Paulis, Qiskit's written-out
// formulas, Kronecker-product controlled gates and actions on basis states.
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "kraus/engine/gates.hpp"
#include "reference/test_support.hpp"

namespace {

namespace ref = kraus::test;
using kraus::engine::Gate;
using kraus::engine::gate_from_name;
using kraus::engine::gate_info;
using kraus::engine::gate_matrix;
using kraus::engine::gate_table;
using ref::Complex;
using Params = std::vector<double>;

constexpr double kTol = 1e-12;
const Complex kI{0.0, 1.0};
const double kPi = std::acos(-1.0);

// exp(-i t H) for a Hermitian H through its eigendecomposition (accurate to rounding; Armadillo's
// expmat is only good to about 1e-11 for these arguments).
arma::cx_mat exp_minus_i(const arma::cx_mat& h, double t) {
  arma::vec values;
  arma::cx_mat vectors;
  arma::eig_sym(values, vectors, h);
  arma::cx_vec phases(values.n_elem);
  for (arma::uword i = 0; i < values.n_elem; ++i) phases(i) = std::exp(Complex(0, -t * values(i)));
  return vectors * arma::diagmat(phases) * vectors.t();
}

// exp(-i theta P / 2).
arma::cx_mat rotation(char p, double theta) { return exp_minus_i(ref::pauli(p), theta / 2); }

// exp(-i theta/2 A (x) B): A acts on the second listed qubit (high bit), B on the first.
arma::cx_mat rotation2(char high, char low, double theta) {
  return exp_minus_i(arma::kron(ref::pauli(high), ref::pauli(low)), theta / 2);
}

// Qiskit's U3 / U gate, written out.
arma::cx_mat qiskit_u3(double theta, double phi, double lambda) {
  const double c = std::cos(theta / 2), s = std::sin(theta / 2);
  arma::cx_mat m(2, 2);
  m(0, 0) = c;
  m(0, 1) = -std::exp(kI * lambda) * s;
  m(1, 0) = std::exp(kI * phi) * s;
  m(1, 1) = std::exp(kI * (phi + lambda)) * c;
  return m;
}

arma::cx_mat diag2(Complex a, Complex b) {
  arma::cx_mat m(2, 2, arma::fill::zeros);
  m(0, 0) = a;
  m(1, 1) = b;
  return m;
}

arma::cx_mat phase_gate(double lambda) { return diag2(1.0, std::exp(kI * lambda)); }

arma::cx_mat hadamard() { return (ref::pauli('X') + ref::pauli('Z')) / std::sqrt(2.0); }

// |0><0| (x) I + |1><1| (x) U with the control on the low bit: kron(I, P0) + kron(U, P1).
arma::cx_mat controlled(const arma::cx_mat& u) {
  return arma::kron(ref::pauli('I'), diag2(1, 0)) + arma::kron(u, diag2(0, 1));
}

// The matrix that sends |b> to phase(b) |image(b)|.
arma::cx_mat from_basis_action(arma::uword dim, const std::function<arma::uword(arma::uword)>& image,
                               const std::function<Complex(arma::uword)>& phase) {
  arma::cx_mat m(dim, dim, arma::fill::zeros);
  for (arma::uword b = 0; b < dim; ++b) m(image(b), b) = phase(b);
  return m;
}

Complex one(arma::uword) { return 1.0; }
arma::uword bit(arma::uword x, int j) { return (x >> j) & 1u; }
arma::uword swap_bits(arma::uword x, int i, int j) {
  return bit(x, i) == bit(x, j) ? x : x ^ ((arma::uword{1} << i) | (arma::uword{1} << j));
}

// An independent definition of every gate of the table.
const std::map<Gate, std::function<arma::cx_mat(const Params&)>>& references() {
  using P = const Params&;
  static const std::map<Gate, std::function<arma::cx_mat(const Params&)>> table = {
      {Gate::kI, [](P) { return ref::pauli('I'); }},
      {Gate::kX, [](P) { return ref::pauli('X'); }},
      {Gate::kY, [](P) { return ref::pauli('Y'); }},
      {Gate::kZ, [](P) { return ref::pauli('Z'); }},
      {Gate::kH, [](P) { return hadamard(); }},
      {Gate::kS, [](P) { return phase_gate(kPi / 2); }},
      {Gate::kSdg, [](P) { return arma::cx_mat(phase_gate(kPi / 2).t()); }},
      {Gate::kT, [](P) { return phase_gate(kPi / 4); }},
      {Gate::kTdg, [](P) { return arma::cx_mat(phase_gate(kPi / 4).t()); }},
      // Qiskit: SX = e^{i pi/4} RX(pi/2).
      {Gate::kSX, [](P) { return arma::cx_mat(std::exp(kI * (kPi / 4)) * rotation('X', kPi / 2)); }},
      {Gate::kSXdg, [](P) { return arma::cx_mat(std::exp(-kI * (kPi / 4)) * rotation('X', -kPi / 2)); }},
      {Gate::kRX, [](P a) { return rotation('X', a[0]); }},
      {Gate::kRY, [](P a) { return rotation('Y', a[0]); }},
      {Gate::kRZ, [](P a) { return rotation('Z', a[0]); }},
      {Gate::kP, [](P a) { return phase_gate(a[0]); }},
      {Gate::kU2, [](P a) { return qiskit_u3(kPi / 2, a[0], a[1]); }},
      {Gate::kU3, [](P a) { return qiskit_u3(a[0], a[1], a[2]); }},
      {Gate::kCX, [](P) { return controlled(ref::pauli('X')); }},
      {Gate::kCY, [](P) { return controlled(ref::pauli('Y')); }},
      {Gate::kCZ, [](P) { return controlled(ref::pauli('Z')); }},
      {Gate::kCH, [](P) { return controlled(hadamard()); }},
      {Gate::kSwap, [](P) { return from_basis_action(4, [](arma::uword b) { return swap_bits(b, 0, 1); }, one); }},
      {Gate::kISwap,
       [](P) {
         return from_basis_action(
             4, [](arma::uword b) { return swap_bits(b, 0, 1); },
             [](arma::uword b) { return bit(b, 0) != bit(b, 1) ? kI : Complex(1.0); });
       }},
      {Gate::kCRX, [](P a) { return controlled(rotation('X', a[0])); }},
      {Gate::kCRY, [](P a) { return controlled(rotation('Y', a[0])); }},
      {Gate::kCRZ, [](P a) { return controlled(rotation('Z', a[0])); }},
      {Gate::kCP, [](P a) { return controlled(phase_gate(a[0])); }},
      {Gate::kCU3, [](P a) { return controlled(qiskit_u3(a[0], a[1], a[2])); }},
      {Gate::kCU, [](P a) { return controlled(std::exp(kI * a[3]) * qiskit_u3(a[0], a[1], a[2])); }},
      {Gate::kRXX, [](P a) { return rotation2('X', 'X', a[0]); }},
      {Gate::kRYY, [](P a) { return rotation2('Y', 'Y', a[0]); }},
      {Gate::kRZZ, [](P a) { return rotation2('Z', 'Z', a[0]); }},
      // Z on the first listed qubit (low bit), X on the second.
      {Gate::kRZX, [](P a) { return rotation2('X', 'Z', a[0]); }},
      // Qiskit's ECRGate: (IX - XY)/sqrt2 in Qiskit's labels, X on the first listed qubit (low bit).
      {Gate::kECR,
       [](P) {
         return arma::cx_mat((arma::kron(ref::pauli('I'), ref::pauli('X')) - arma::kron(ref::pauli('X'), ref::pauli('Y'))) /
                             std::sqrt(2.0));
       }},
      {Gate::kCCX,
       [](P) {
         return from_basis_action(
             8, [](arma::uword b) { return bit(b, 0) && bit(b, 1) ? b ^ 4u : b; }, one);
       }},
      {Gate::kCSwap,
       [](P) { return from_basis_action(8, [](arma::uword b) { return bit(b, 0) ? swap_bits(b, 1, 2) : b; }, one); }},
  };
  return table;
}

Params random_params(int count, ref::Rng& rng) {
  std::uniform_real_distribution<double> angle(-2 * kPi, 2 * kPi);
  Params out;
  for (int i = 0; i < count; ++i) out.push_back(angle(rng));
  return out;
}

arma::cx_mat matrix_of(const std::string& name, const Params& params = {}) {
  const auto gate = gate_from_name(name);
  REQUIRE(gate.has_value());
  return gate_matrix(*gate, params);
}

}  // namespace

TEST_CASE("the gate table lists every gate once, in enum order", "[engine][gates]") {
  const auto& table = gate_table();
  REQUIRE(table.size() == static_cast<std::size_t>(Gate::kCSwap) + 1);
  std::set<std::string> names;
  for (std::size_t i = 0; i < table.size(); ++i) {
    CAPTURE(i, table[i].name);
    CHECK(static_cast<std::size_t>(table[i].gate) == i);
    CHECK(&gate_info(table[i].gate) == &table[i]);
    CHECK(names.insert(std::string(table[i].name)).second);
    CHECK(table[i].num_qubits >= 1);
    CHECK(table[i].num_qubits <= 3);
    CHECK(!table[i].definition.empty());
  }
  REQUIRE(references().size() == table.size());
}

TEST_CASE("every gate matrix equals its independent definition", "[engine][gates][reference]") {
  ref::Rng rng(11);
  for (const auto& info : gate_table()) {
    const auto& reference = references().at(info.gate);
    for (int trial = 0; trial < 8; ++trial) {
      const Params params = random_params(info.num_params, rng);
      CAPTURE(info.name, params);
      const arma::cx_mat m = gate_matrix(info.gate, params);
      const arma::uword dim = arma::uword{1} << info.num_qubits;
      REQUIRE(m.n_rows == dim);
      REQUIRE(m.n_cols == dim);
      REQUIRE_MATRIX_CLOSE(m, reference(params), kTol);
      // Unitary.
      REQUIRE_MATRIX_CLOSE(arma::cx_mat(m.t() * m), arma::cx_mat(dim, dim, arma::fill::eye), kTol);
      if (info.num_params == 0) break;
    }
  }
}

TEST_CASE("gate identities and aliases", "[engine][gates]") {
  ref::Rng rng(12);
  const arma::cx_mat x = matrix_of("x");
  REQUIRE_MATRIX_CLOSE(arma::cx_mat(matrix_of("sx") * matrix_of("sx")), x, kTol);
  REQUIRE_MATRIX_CLOSE(matrix_of("sxdg"), arma::cx_mat(matrix_of("sx").t()), kTol);
  REQUIRE_MATRIX_CLOSE(matrix_of("s"), matrix_of("p", {kPi / 2}), kTol);
  REQUIRE_MATRIX_CLOSE(matrix_of("t"), matrix_of("p", {kPi / 4}), kTol);
  REQUIRE_MATRIX_CLOSE(arma::cx_mat(matrix_of("t") * matrix_of("t")), matrix_of("s"), kTol);
  REQUIRE_MATRIX_CLOSE(arma::cx_mat(matrix_of("s") * matrix_of("s")), matrix_of("z"), kTol);
  REQUIRE_MATRIX_CLOSE(arma::cx_mat(matrix_of("h") * matrix_of("z") * matrix_of("h")), x, kTol);
  REQUIRE_MATRIX_CLOSE(matrix_of("y"), arma::cx_mat(kI * x * matrix_of("z")), kTol);
  for (int trial = 0; trial < 10; ++trial) {
    const Params a = random_params(4, rng);
    CAPTURE(a);
    // u3 = e^{i(phi + lambda)/2} RZ(phi) RY(theta) RZ(lambda) (Qiskit's decomposition).
    REQUIRE_MATRIX_CLOSE(matrix_of("u3", {a[0], a[1], a[2]}),
                         arma::cx_mat(std::exp(kI * ((a[1] + a[2]) / 2)) * matrix_of("rz", {a[1]}) *
                                      matrix_of("ry", {a[0]}) * matrix_of("rz", {a[2]})),
                         kTol);
    // p(lambda) = e^{i lambda/2} RZ(lambda); u1 is p.
    REQUIRE_MATRIX_CLOSE(matrix_of("p", {a[0]}),
                         arma::cx_mat(std::exp(kI * (a[0] / 2)) * matrix_of("rz", {a[0]})), kTol);
    REQUIRE_MATRIX_CLOSE(matrix_of("u1", {a[0]}), matrix_of("p", {a[0]}), kTol);
    REQUIRE_MATRIX_CLOSE(matrix_of("u3", {a[0], -kPi / 2, kPi / 2}), matrix_of("rx", {a[0]}), kTol);
    REQUIRE_MATRIX_CLOSE(matrix_of("u3", {a[0], 0, 0}), matrix_of("ry", {a[0]}), kTol);
    REQUIRE_MATRIX_CLOSE(matrix_of("u2", {a[1], a[2]}), matrix_of("u3", {kPi / 2, a[1], a[2]}), kTol);
    REQUIRE_MATRIX_CLOSE(matrix_of("u", {a[0], a[1], a[2]}), matrix_of("u3", {a[0], a[1], a[2]}), kTol);
    // cu with gamma = 0 is cu3, and gamma is a phase on the controlled block only.
    REQUIRE_MATRIX_CLOSE(matrix_of("cu", {a[0], a[1], a[2], 0.0}), matrix_of("cu3", {a[0], a[1], a[2]}), kTol);
    REQUIRE_MATRIX_CLOSE(matrix_of("cu1", {a[3]}), matrix_of("cp", {a[3]}), kTol);
  }
}

TEST_CASE("rotation gates equal arma::expmat(-i theta/2 P)", "[engine][gates][reference]") {
  // Armadillo's Pade approximant is accurate to about 1e-11 here, hence the looser tolerance;
  // the eigendecomposition reference above checks the same gates to 1e-12.
  ref::Rng rng(13);
  const std::vector<std::pair<std::string, arma::cx_mat>> generators = {
      {"rx", ref::pauli('X')},
      {"ry", ref::pauli('Y')},
      {"rz", ref::pauli('Z')},
      {"rxx", arma::kron(ref::pauli('X'), ref::pauli('X'))},
      {"ryy", arma::kron(ref::pauli('Y'), ref::pauli('Y'))},
      {"rzz", arma::kron(ref::pauli('Z'), ref::pauli('Z'))},
      {"rzx", arma::kron(ref::pauli('X'), ref::pauli('Z'))},
  };
  for (const auto& [name, generator] : generators) {
    for (int trial = 0; trial < 10; ++trial) {
      const double theta = random_params(1, rng)[0];
      CAPTURE(name, theta);
      REQUIRE_MATRIX_CLOSE(matrix_of(name, {theta}),
                           arma::cx_mat(arma::expmat(arma::cx_mat(Complex(0, -theta / 2) * generator))), 1e-10);
    }
  }
}

TEST_CASE("two- and three-qubit gates act on basis states with the first listed qubit as bit 0",
          "[engine][gates]") {
  struct Case {
    const char* gate;
    arma::uword input, output;
    Complex phase;
  };
  const Case cases[] = {
      // cx: control = first listed qubit = bit 0. |t=0 c=1> = 1 -> 3; |t=1 c=0> = 2 stays.
      {"cx", 1, 3, 1.0}, {"cx", 2, 2, 1.0}, {"cnot", 3, 1, 1.0},
      {"cz", 3, 3, -1.0}, {"cz", 2, 2, 1.0}, {"cy", 1, 3, kI},
      // swap and iswap: |01> (index 1) -> |10> (index 2), times i for iswap.
      {"swap", 1, 2, 1.0}, {"swap", 3, 3, 1.0}, {"iswap", 1, 2, kI}, {"iswap", 2, 1, kI}, {"iswap", 0, 0, 1.0},
      // ccx: controls bits 0 and 1, target bit 2: |011> = 3 -> |111> = 7; |101> = 5 stays.
      {"ccx", 3, 7, 1.0}, {"ccx", 7, 3, 1.0}, {"ccx", 5, 5, 1.0}, {"ccx", 6, 6, 1.0},
      // cswap: control bit 0 swaps bits 1 and 2: |011> = 3 -> |101> = 5; |110> = 6 stays.
      {"cswap", 3, 5, 1.0}, {"cswap", 5, 3, 1.0}, {"cswap", 6, 6, 1.0}, {"cswap", 7, 7, 1.0},
  };
  for (const Case& c : cases) {
    CAPTURE(c.gate, c.input);
    const arma::cx_mat m = matrix_of(c.gate);
    REQUIRE_MATRIX_CLOSE(arma::cx_mat(m * ref::basis_state(c.input, m.n_rows)),
                         arma::cx_mat(c.phase * ref::basis_state(c.output, m.n_rows)), 0.0);
  }
}

TEST_CASE("gate_from_name finds every gate and the aliases", "[engine][gates]") {
  for (const auto& info : gate_table()) {
    CAPTURE(info.name);
    const auto found = gate_from_name(info.name);
    REQUIRE(found.has_value());
    CHECK(*found == info.gate);
  }
  const std::vector<std::pair<std::string, Gate>> aliases = {
      {"u1", Gate::kP}, {"u", Gate::kU3}, {"cu1", Gate::kCP}, {"cnot", Gate::kCX}};
  for (const auto& [alias, gate] : aliases) {
    CAPTURE(alias);
    const auto found = gate_from_name(alias);
    REQUIRE(found.has_value());
    CHECK(*found == gate);
  }
  for (const char* unknown : {"", "foo", "CX", "X", "rx ", "u4", "ccz"}) {
    CAPTURE(unknown);
    CHECK_FALSE(gate_from_name(unknown).has_value());
  }
}

TEST_CASE("gate_matrix rejects a wrong number of parameters", "[engine][gates][validation]") {
  for (const auto& info : gate_table()) {
    CAPTURE(info.name);
    CHECK_THROWS_AS(gate_matrix(info.gate, Params(static_cast<std::size_t>(info.num_params) + 1, 0.1)),
                    std::invalid_argument);
    if (info.num_params > 0) {
      CHECK_THROWS_AS(gate_matrix(info.gate, Params(static_cast<std::size_t>(info.num_params) - 1, 0.1)),
                      std::invalid_argument);
    }
    CHECK_NOTHROW(gate_matrix(info.gate, Params(static_cast<std::size_t>(info.num_params), 0.1)));
  }
}
