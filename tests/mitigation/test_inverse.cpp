// engine::inverse: every gate of the table followed by its inverse is the identity, phases included.
#include <cmath>
#include <random>

#include "kraus/engine/circuit.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/simulator.hpp"
#include "reference/test_support.hpp"

using namespace kraus::engine;

namespace {

arma::cx_mat matrix_of(const Operation& op) {
  return op.kind == OpKind::kUnitary ? op.matrix : gate_matrix(op.gate, op.params);
}

}  // namespace

TEST_CASE("inverse(op) undoes every gate of the table exactly", "[mitigation][inverse]") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> angle(-3.0, 3.0);
  for (const GateInfo& info : gate_table()) {
    for (int trial = 0; trial < 3; ++trial) {
      Operation op;
      op.kind = OpKind::kGate;
      op.gate = info.gate;
      for (int q = 0; q < info.num_qubits; ++q) op.qubits.push_back(q);
      for (int k = 0; k < info.num_params; ++k) op.params.push_back(angle(rng));
      const Operation inv = inverse(op);
      INFO("gate " << info.name);
      REQUIRE(inv.qubits == op.qubits);
      const arma::cx_mat product = matrix_of(inv) * matrix_of(op);
      const arma::uword d = product.n_rows;
      REQUIRE_MATRIX_CLOSE(product, arma::cx_mat(arma::eye<arma::cx_mat>(d, d)), 1e-13);
      // The inverse is a table gate (or a unitary for iswap), never something unexpected.
      if (info.gate == Gate::kISwap) {
        REQUIRE(inv.kind == OpKind::kUnitary);
      } else {
        REQUIRE(inv.kind == OpKind::kGate);
        REQUIRE(static_cast<int>(inv.params.size()) == gate_info(inv.gate).num_params);
      }
      // Involution up to the representation: inverse(inverse(op)) has op's matrix.
      REQUIRE_MATRIX_CLOSE(matrix_of(inverse(inv)), matrix_of(op), 1e-13);
    }
  }
}

TEST_CASE("inverse names the expected partner gates", "[mitigation][inverse]") {
  auto inv_gate = [](Gate g, std::vector<double> params = {}) {
    Operation op;
    op.gate = g;
    op.qubits.resize(static_cast<std::size_t>(gate_info(g).num_qubits));
    for (std::size_t i = 0; i < op.qubits.size(); ++i) op.qubits[i] = static_cast<int>(i);
    op.params = std::move(params);
    return inverse(op);
  };
  REQUIRE(inv_gate(Gate::kS).gate == Gate::kSdg);
  REQUIRE(inv_gate(Gate::kSdg).gate == Gate::kS);
  REQUIRE(inv_gate(Gate::kT).gate == Gate::kTdg);
  REQUIRE(inv_gate(Gate::kSX).gate == Gate::kSXdg);
  REQUIRE(inv_gate(Gate::kH).gate == Gate::kH);
  REQUIRE(inv_gate(Gate::kRX, {0.3}).params == std::vector<double>{-0.3});
  const Operation u2 = inv_gate(Gate::kU2, {0.1, 0.2});
  REQUIRE(u2.gate == Gate::kU3);
  REQUIRE_CLOSE(u2.params[0], -std::acos(-1.0) / 2, 1e-15);
  REQUIRE(u2.params[1] == -0.2);
  REQUIRE(u2.params[2] == -0.1);
  REQUIRE(inv_gate(Gate::kCU, {0.1, 0.2, 0.3, 0.4}).params == std::vector<double>{-0.1, -0.3, -0.2, -0.4});
}

TEST_CASE("inverse of unitaries, barriers, and refusal of measure and reset", "[mitigation][inverse]") {
  Circuit c(2, 1);
  const arma::cx_mat u = gate_matrix(Gate::kU3, {0.3, 1.1, -0.4});
  c.add_unitary({1}, u);
  c.add_barrier({0, 1});
  c.add_measure(0, 0);
  c.add_reset(1);
  const auto& ops = c.operations();
  const Operation inv = inverse(ops[0]);
  REQUIRE(inv.kind == OpKind::kUnitary);
  REQUIRE_MATRIX_CLOSE(arma::cx_mat(inv.matrix * u), arma::cx_mat(arma::eye<arma::cx_mat>(2, 2)), 1e-14);
  REQUIRE(inverse(ops[1]).kind == OpKind::kBarrier);
  REQUIRE_THROWS_AS(inverse(ops[2]), std::invalid_argument);
  REQUIRE_THROWS_AS(inverse(ops[3]), std::invalid_argument);
  REQUIRE_THROWS_AS(inverse(c), std::invalid_argument);
}

TEST_CASE("a circuit followed by its inverse circuit gives back |0><0|", "[mitigation][inverse]") {
  Circuit c(3);
  c.add_gate(Gate::kH, {0});
  c.add_gate(Gate::kCX, {0, 1});
  c.add_gate(Gate::kISwap, {1, 2});
  c.add_gate(Gate::kU2, {2}, {0.4, -1.3});
  c.add_gate(Gate::kCU, {2, 0}, {0.5, 0.6, 0.7, 0.8});
  c.add_gate(Gate::kRZX, {0, 2}, {1.2});
  c.add_gate(Gate::kCSwap, {1, 0, 2});
  c.add_gate(Gate::kSX, {1});
  c.add_gate(Gate::kT, {0});
  const Circuit inv = inverse(c);
  REQUIRE(inv.operations().size() == c.operations().size());
  Circuit both(3);
  for (const Operation& op : c.operations()) both.add_gate(op.gate, op.qubits, op.params);
  for (const Operation& op : inv.operations()) {
    if (op.kind == OpKind::kUnitary) both.add_unitary(op.qubits, op.matrix);
    else both.add_gate(op.gate, op.qubits, op.params);
  }
  DensityMatrix rho(3);
  simulate(both, nullptr, rho);
  REQUIRE_CLOSE(rho.probabilities()[0], 1.0, 1e-12);
  REQUIRE_CLOSE(rho.purity(), 1.0, 1e-12);
}
