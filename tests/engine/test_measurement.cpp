// Classical bits: registers, the measurement map and Aer-style keys, counts keyed by classical bits
// from simulated circuits, and the refusal of mid-circuit measurements that a bit would report.
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kraus/engine/circuit.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/measurement.hpp"
#include "kraus/engine/qasm2.hpp"
#include "kraus/engine/sampling.hpp"
#include "kraus/engine/simulator.hpp"
#include "reference/test_support.hpp"

namespace {

using kraus::engine::Circuit;
using kraus::engine::ClassicalRegister;
using kraus::engine::clbit_counts;
using kraus::engine::measurement_map;
using kraus::engine::MeasurementMap;
using kraus::engine::parse_qasm2;
using KeyCounts = std::map<std::string, std::uint64_t>;

const std::string kHeader = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n";

// `shots` shots of the circuit's noiseless final state, keyed by classical bits.
KeyCounts run_counts(const Circuit& circuit, std::uint64_t shots, std::uint64_t seed) {
  kraus::engine::DensityMatrix rho(circuit.num_qubits());
  kraus::engine::simulate(circuit, nullptr, rho);
  std::mt19937_64 rng(seed);
  return clbit_counts(kraus::engine::sample_counts(rho.probabilities(), shots, rng), measurement_map(circuit));
}

}  // namespace

TEST_CASE("classical registers: one 'c' by default, the cregs of a QASM program, checked sizes",
          "[engine][measurement]") {
  CHECK(Circuit(2).classical_registers().empty());
  const Circuit plain(2, 3);
  REQUIRE(plain.classical_registers().size() == 1);
  CHECK(plain.classical_registers()[0].name == "c");
  CHECK(plain.classical_registers()[0].size == 3);

  const Circuit c = parse_qasm2(kHeader + "creg a[2];\nqreg q[2];\ncreg b[1];\nmeasure q[0] -> b[0];\n");
  REQUIRE(c.classical_registers().size() == 2);
  CHECK(c.classical_registers()[0].name == "a");
  CHECK(c.classical_registers()[0].size == 2);
  CHECK(c.classical_registers()[1].name == "b");
  CHECK(c.classical_registers()[1].size == 1);
  CHECK(c.operations()[0].clbit == 2);

  Circuit d(1, 3);
  d.set_classical_registers({{"x", 1}, {"y", 2}});
  CHECK(d.classical_registers()[1].name == "y");
  CHECK(kraus::engine::inverse(d).classical_registers()[1].name == "y");
  CHECK_THROWS_WITH(d.set_classical_registers({{"x", 1}}),
                    "classical registers of 1 bits in all for a circuit of 3 classical bits");
  CHECK_THROWS_WITH(d.set_classical_registers({{"x", 0}, {"y", 3}}),
                    "classical register 'x' needs at least one bit, got 0");
  CHECK_THROWS_WITH(d.set_classical_registers({{"", 3}}), "a classical register needs a name");
}

TEST_CASE("Aer keys: registers in reverse declaration order, highest bit leftmost, unmeasured bits 0",
          "[engine][measurement]") {
  // cregs a[2], b[1]: the key is "b0 a1a0". q0 -> a[1], q2 -> b[0]; a[0] is never written.
  const Circuit c = parse_qasm2(kHeader + "qreg q[3];\ncreg a[2];\ncreg b[1];\n"
                                          "measure q[0] -> a[1];\nmeasure q[2] -> b[0];\n");
  const MeasurementMap map = measurement_map(c);
  REQUIRE(map.clbit_qubit == std::vector<int>{-1, 0, 2});
  CHECK(map.measured_qubits() == std::vector<int>{0, 2});
  CHECK_FALSE(map.empty());
  // Outcome bit q = qubit q: q0 = 1, q1 = 1, q2 = 0 -> a[1] = 1, a[0] = 0, b[0] = 0.
  CHECK(map.key(0b011) == "0 10");
  CHECK(map.key(0b100) == "1 00");
  CHECK(map.key(0b111) == "1 10");
  CHECK(map.key(0b010) == "0 00");  // q1 is not measured
  const MeasurementMap inconsistent{{0}, {{"a", 2}}};
  CHECK_THROWS_WITH(inconsistent.key(0),
                    "measurement map: the registers hold more bits than the 1 classical bits mapped");

  // Simulated: x on q0 and q2 gives "1 10" on every shot.
  const Circuit x = parse_qasm2(kHeader + "qreg q[3];\ncreg a[2];\ncreg b[1];\nx q[0];\nx q[2];\n"
                                          "measure q[0] -> a[1];\nmeasure q[2] -> b[0];\n");
  CHECK(run_counts(x, 100, 1) == KeyCounts{{"1 10", 100}});
}

TEST_CASE("counts are keyed by classical bits, not qubits", "[engine][measurement]") {
  // Two qubits, one classical bit reading q[1]: qubit outcomes 00 (7 shots) and 11 (3 shots) are
  // "0" and "1".
  const Circuit c = parse_qasm2(kHeader + "qreg q[2];\ncreg c[1];\nh q[1];\ncx q[1], q[0];\nmeasure q[1] -> c[0];\n");
  const MeasurementMap map = measurement_map(c);
  CHECK(clbit_counts({{0b00, 7}, {0b11, 3}}, map) == KeyCounts{{"0", 7}, {"1", 3}});
  // Outcomes with the same key are added up.
  CHECK(clbit_counts({{0b00, 2}, {0b01, 5}, {0b11, 3}}, map) == KeyCounts{{"0", 7}, {"1", 3}});
  // Simulated: P(1) = 1/2, so both keys appear and nothing else.
  const KeyCounts counts = run_counts(c, 10000, 7);
  REQUIRE(counts.size() == 2);
  CHECK(counts.at("0") + counts.at("1") == 10000);
  CHECK(std::abs(static_cast<double>(counts.at("1")) - 5000.0) <= 5 * 50.0);
}

TEST_CASE("no measurement, no counts", "[engine][measurement]") {
  const Circuit c = parse_qasm2(kHeader + "qreg q[2];\ncreg c[2];\nh q[0];\n");
  const MeasurementMap map = measurement_map(c);
  CHECK(map.empty());
  CHECK(map.clbit_qubit.empty());
  CHECK(map.registers.empty());
  CHECK(map.measured_qubits().empty());
  CHECK(clbit_counts({{0, 5}, {1, 5}}, map).empty());
  CHECK(measurement_map(Circuit(3)).empty());
}

TEST_CASE("a qubit measured into two bits gives both the same outcome", "[engine][measurement]") {
  const Circuit c = parse_qasm2(kHeader + "qreg q[2];\ncreg c[3];\nh q[0];\nmeasure q[0] -> c[0];\n"
                                          "measure q[0] -> c[2];\nbarrier q;\n");
  const MeasurementMap map = measurement_map(c);
  CHECK(map.clbit_qubit == std::vector<int>{0, -1, 0});
  const KeyCounts counts = run_counts(c, 1000, 3);
  REQUIRE(counts.size() == 2);
  CHECK(counts.count("000") == 1);
  CHECK(counts.count("101") == 1);
}

TEST_CASE("a bit's last write decides: an earlier mid-circuit write is overwritten", "[engine][measurement]") {
  // c[0] first reads q0 mid-circuit, then q1 at the end: allowed, c[0] reads q1.
  const Circuit c = parse_qasm2(kHeader + "qreg q[2];\ncreg c[1];\nmeasure q[0] -> c[0];\nx q[0];\nx q[1];\n"
                                          "measure q[1] -> c[0];\n");
  CHECK(measurement_map(c).clbit_qubit == std::vector<int>{1});
  CHECK(run_counts(c, 10, 1) == KeyCounts{{"1", 10}});
  // A mid-circuit measurement into a bit nobody reports later is the measurement channel only.
  const Circuit d = parse_qasm2(kHeader + "qreg q[1];\ncreg c[2];\nh q[0];\nmeasure q[0] -> c[0];\nh q[0];\n"
                                          "measure q[0] -> c[0];\nmeasure q[0] -> c[1];\n");
  // measure-then-h leaves |+><+| mixed: after the channel rho = I/2, so both outcomes appear.
  const KeyCounts counts = run_counts(d, 10000, 5);
  REQUIRE(counts.size() == 2);
  CHECK(std::abs(static_cast<double>(counts.at("11")) - 5000.0) <= 5 * 50.0);
}

TEST_CASE("a bit whose last write is a mid-circuit measurement is refused", "[engine][measurement][validation]") {
  const Circuit c = parse_qasm2(kHeader + "qreg q[2];\ncreg c[2];\nmeasure q[0] -> c[1];\nmeasure q[1] -> c[0];\n"
                                          "barrier q;\nh q[1];\n");
  CHECK_THROWS_WITH(measurement_map(c),
                    "counts need every classical bit's last measurement to be final; c[0] is written by the "
                    "measurement of qubit 1 (operation 1) which is followed by 'h' on qubit 1 (operation 3): not "
                    "yet supported (needs trajectories)");
  // A reset counts as acting on the qubit.
  const Circuit r = parse_qasm2(kHeader + "qreg q[1];\ncreg flag[1];\nmeasure q[0] -> flag[0];\nreset q[0];\n");
  CHECK_THROWS_WITH(measurement_map(r),
                    "counts need every classical bit's last measurement to be final; flag[0] is written by the "
                    "measurement of qubit 0 (operation 0) which is followed by 'reset' on qubit 0 (operation 1): "
                    "not yet supported (needs trajectories)");
}

TEST_CASE("circuits with more classical bits than a key may hold are refused when they measure",
          "[engine][measurement][validation]") {
  Circuit big(1, kraus::engine::kMaxCountedClbits + 1);
  CHECK(measurement_map(big).empty());
  big.add_measure(0, 5);
  CHECK_THROWS_WITH(measurement_map(big), "counts support at most 4096 classical bits (one character each in a "
                                          "key); the circuit has 4097");
  Circuit fits(1, kraus::engine::kMaxCountedClbits);
  fits.add_measure(0, 0);
  CHECK(measurement_map(fits).key(1).size() == 4096);
}
