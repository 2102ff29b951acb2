// Classical control (`if (creg == n) op;`) on trajectories (trajectories.hpp, program.hpp):
//  * feedback, active reset and teleportation circuits, noiseless and noisy (noise rules after
//    conditional gates, amplitude damping, depolarising): the trajectory means of observables and
//    probabilities within 5 standard errors of an exact branch-by-branch computation done here with
//    the dense reference (every measurement outcome enumerated as a projected, unnormalised density
//    matrix with its classical bits), with enough trajectories that a 10 % bias fails; the counts'
//    classical-bit keys (Aer's convention) against the exact distribution of the keys;
//  * compilation: conditions on steps and on the noise after a conditional gate, recorded
//    measurements, layering after the measurements a condition reads, no fusion across them;
//  * every other executor refuses a program with conditions.
#include <cmath>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/noisy_reference.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/measurement.hpp"
#include "kraus/engine/observables.hpp"
#include "kraus/engine/program.hpp"
#include "kraus/engine/qasm2.hpp"
#include "kraus/engine/simulator.hpp"
#include "kraus/engine/state_vector.hpp"
#include "kraus/engine/transpile.hpp"
#include "kraus/engine/trajectories.hpp"
#include "kraus/noise/noise_model.hpp"
#include "reference/test_support.hpp"

namespace {

namespace ref = kraus::test;
namespace engine = kraus::engine;
namespace noise = kraus::noise;

using cx = std::complex<double>;

// Gate matrices written out here (first listed qubit = least significant bit).
using kraus::test::noisy::mat2;
const arma::cx_mat kX = mat2(0, 1, 1, 0);
const arma::cx_mat kZ = mat2(1, 0, 0, -1);
const arma::cx_mat kH = mat2(1, 1, 1, -1) / std::sqrt(2.0);
arma::cx_mat ry(double a) { return mat2(std::cos(a / 2), -std::sin(a / 2), std::sin(a / 2), std::cos(a / 2)); }
arma::cx_mat rz(double a) { return mat2(std::exp(cx(0, -a / 2)), 0, 0, std::exp(cx(0, a / 2))); }
// cx with control = first listed qubit (bit 0), target = second (bit 1).
arma::cx_mat cnot() {
  arma::cx_mat m(4, 4, arma::fill::zeros);
  m(0, 0) = m(2, 2) = 1;
  m(3, 1) = m(1, 3) = 1;
  return m;
}

// One step of the exact reference: a unitary, a channel, or a measurement into a classical bit,
// each under an optional condition (bits cond_clbit .. cond_clbit + cond_size - 1 hold cond_value).
struct RefStep {
  enum Kind { kUnitary, kKraus, kMeasure } kind = kUnitary;
  arma::cx_mat u;
  std::vector<arma::cx_mat> kraus;
  std::vector<int> qubits;
  int clbit = -1;
  int cond_clbit = -1, cond_size = 0;
  unsigned cond_value = 0;
};

RefStep unitary(arma::cx_mat u, std::vector<int> qubits) {
  RefStep s;
  s.u = std::move(u);
  s.qubits = std::move(qubits);
  return s;
}
RefStep channel(std::vector<arma::cx_mat> kraus, std::vector<int> qubits) {
  RefStep s;
  s.kind = RefStep::kKraus;
  s.kraus = std::move(kraus);
  s.qubits = std::move(qubits);
  return s;
}
RefStep measure(int qubit, int clbit) {
  RefStep s;
  s.kind = RefStep::kMeasure;
  s.qubits = {qubit};
  s.clbit = clbit;
  return s;
}
RefStep when(RefStep s, int clbit, int size, unsigned value) {
  s.cond_clbit = clbit;
  s.cond_size = size;
  s.cond_value = value;
  return s;
}

// One branch: an unnormalised density matrix (its trace is the branch's probability) and the
// classical bits its measurements wrote.
struct Branch {
  arma::cx_mat rho;
  std::vector<int> bits;
};

std::vector<Branch> enumerate_branches(int n, int num_clbits, const std::vector<RefStep>& steps) {
  const arma::uword dim = arma::uword{1} << n;
  Branch start{arma::cx_mat(dim, dim, arma::fill::zeros), std::vector<int>(static_cast<std::size_t>(num_clbits), 0)};
  start.rho(0, 0) = 1.0;
  std::vector<Branch> branches{start};
  for (const RefStep& s : steps) {
    std::vector<Branch> next;
    for (Branch& b : branches) {
      bool holds = true;
      for (int j = 0; j < s.cond_size; ++j) {
        holds = holds && b.bits[static_cast<std::size_t>(s.cond_clbit + j)] == static_cast<int>((s.cond_value >> j) & 1u);
      }
      if (!holds) {
        next.push_back(b);
        continue;
      }
      if (s.kind == RefStep::kUnitary) {
        b.rho = ref::apply_unitary(b.rho, s.u, s.qubits, n);
        next.push_back(b);
      } else if (s.kind == RefStep::kKraus) {
        b.rho = ref::apply_kraus(b.rho, s.kraus, s.qubits, n);
        next.push_back(b);
      } else {
        const std::vector<arma::cx_mat> projectors = ref::measurement_kraus();
        for (int outcome = 0; outcome < 2; ++outcome) {
          Branch o = b;
          o.rho = ref::apply_kraus(b.rho, {projectors[static_cast<std::size_t>(outcome)]}, s.qubits, n);
          o.bits[static_cast<std::size_t>(s.clbit)] = outcome;
          if (std::real(arma::trace(o.rho)) > 1e-15) next.push_back(o);
        }
      }
    }
    branches = std::move(next);
  }
  return branches;
}

// Aer's key: registers (sizes in declaration order) last first, each with its highest bit leftmost.
std::string aer_key(const std::vector<int>& bits, const std::vector<int>& register_sizes) {
  std::string key;
  std::size_t end = bits.size();
  for (std::size_t r = register_sizes.size(); r-- > 0;) {
    if (!key.empty()) key += ' ';
    const std::size_t begin = end - static_cast<std::size_t>(register_sizes[r]);
    for (std::size_t b = end; b-- > begin;) key += bits[b] != 0 ? '1' : '0';
    end = begin;
  }
  return key;
}

struct Exact {
  std::vector<double> probabilities;       // of the final state, per basis state
  std::map<std::string, double> keys;      // classical-bit key -> probability
  arma::cx_mat rho;                        // the average state
};

// final_reads: (clbit, qubit) of the final measurements, applied in order to each basis outcome of
// each branch's final state.
Exact exact(int n, int num_clbits, const std::vector<RefStep>& steps, const std::vector<std::pair<int, int>>& final_reads,
            const std::vector<int>& register_sizes) {
  const arma::uword dim = arma::uword{1} << n;
  Exact e;
  e.rho = arma::cx_mat(dim, dim, arma::fill::zeros);
  e.probabilities.assign(dim, 0.0);
  for (const Branch& b : enumerate_branches(n, num_clbits, steps)) {
    e.rho += b.rho;
    for (arma::uword i = 0; i < dim; ++i) {
      const double p = std::real(b.rho(i, i));
      e.probabilities[i] += p;
      std::vector<int> bits = b.bits;
      for (const auto& [clbit, qubit] : final_reads) bits[static_cast<std::size_t>(clbit)] = static_cast<int>((i >> qubit) & 1u);
      if (p > 1e-15) e.keys[aer_key(bits, register_sizes)] += p;
    }
  }
  return e;
}

double exact_expectation(const arma::cx_mat& rho, const std::string& labels) {
  return std::real(arma::trace(ref::pauli_string_operator(labels) * rho));
}

// Runs `circuit` under `model` as trajectories (one shot each) and checks observables,
// probabilities and counts against `e`. `labels`: Pauli strings, one letter per qubit (qubit 0 first).
void check_against_exact(const engine::Circuit& circuit, const noise::NoiseModel* model, const Exact& e,
                         const std::vector<std::string>& labels, std::uint64_t trajectories = 20000) {
  const int n = circuit.num_qubits();
  const engine::Program program = engine::compile(circuit, model);
  REQUIRE(program.has_conditions());
  engine::TrajectoryOptions options;
  options.trajectories = trajectories;
  options.seed = 11;
  options.probabilities = true;
  options.shots = trajectories;
  options.measurement = engine::measurement_map(circuit, true);
  std::vector<engine::PauliSum> observables;
  for (const std::string& l : labels) {
    std::string text;
    for (int q = 0; q < n; ++q) {
      if (l[static_cast<std::size_t>(q)] != 'I') text += std::string(text.empty() ? "" : " ") + l[static_cast<std::size_t>(q)] + std::to_string(q);
    }
    observables.push_back(engine::PauliSum::parse(text));
  }
  const engine::TrajectoryResult r = engine::run_trajectories(program, nullptr, nullptr, observables, options);
  for (std::size_t o = 0; o < labels.size(); ++o) {
    const double want = exact_expectation(e.rho, labels[o]);
    INFO("observable " << labels[o] << ": " << r.expectations[o].mean << " +- " << r.expectations[o].standard_error
                       << ", exact " << want);
    CHECK(std::abs(r.expectations[o].mean - want) <= 5.0 * r.expectations[o].standard_error + 1e-12);
  }
  for (std::size_t i = 0; i < e.probabilities.size(); ++i) {
    INFO("probability of " << i << ": " << r.probabilities[i] << " +- " << r.probability_errors[i] << ", exact "
                           << e.probabilities[i]);
    CHECK(std::abs(r.probabilities[i] - e.probabilities[i]) <= 5.0 * r.probability_errors[i] + 1e-12);
  }
  // Counts: every key has a nonzero exact probability, and each frequency is within 5 binomial
  // standard deviations of it.
  std::uint64_t total = 0;
  for (const auto& [key, count] : r.clbit_counts) {
    INFO("key '" << key << "' counted " << count);
    CHECK(e.keys.count(key) == 1);
    total += count;
  }
  CHECK(total == options.shots);
  const double shots = static_cast<double>(options.shots);
  for (const auto& [key, p] : e.keys) {
    const auto it = r.clbit_counts.find(key);
    const double f = it == r.clbit_counts.end() ? 0.0 : static_cast<double>(it->second) / shots;
    INFO("key '" << key << "': frequency " << f << ", exact " << p);
    CHECK(std::abs(f - p) <= 5.0 * std::sqrt(p * (1.0 - p) / shots) + 1e-9);
  }
}

const std::string kHeader = "OPENQASM 2.0;\ninclude \"qelib1.inc\";\n";

}  // namespace

TEST_CASE("classical control: feedback on a mid-circuit measurement, noiseless and noisy", "[trajectories][if]") {
  // c[0] is measured mid-circuit (q0 is rotated again) and read by the condition, then overwritten
  // by a final measurement; d[0] is a final measurement of the conditionally flipped qubit.
  const engine::Circuit circuit = engine::parse_qasm2(kHeader +
                                                      "qreg q[2];\ncreg c[1];\ncreg d[1];\n"
                                                      "ry(1.0) q[0];\n"
                                                      "measure q[0] -> c[0];\n"
                                                      "if(c==1) x q[1];\n"
                                                      "ry(0.7) q[0];\n"
                                                      "measure q[1] -> d[0];\n"
                                                      "measure q[0] -> c[0];\n");
  const std::vector<std::string> labels = {"ZI", "IZ", "XI", "ZZ", "IX"};
  const std::vector<std::pair<int, int>> finals = {{1, 1}, {0, 0}};
  SECTION("noiseless") {
    const std::vector<RefStep> steps = {unitary(ry(1.0), {0}), measure(0, 0), when(unitary(kX, {1}), 0, 1, 1),
                                        unitary(ry(0.7), {0})};
    const Exact e = exact(2, 2, steps, finals, {1, 1});
    // The branches: P(c = 1) = sin^2(0.5); d always equals the mid-circuit outcome.
    CHECK(std::abs(e.probabilities[2] + e.probabilities[3] - std::pow(std::sin(0.5), 2)) < 1e-12);
    check_against_exact(circuit, nullptr, e, labels);
  }
  SECTION("damping on ry, depolarising on the conditional x") {
    const noise::NoiseModel model = noise::NoiseModel::from_json(R"({"gate_noise": [
        {"gates": ["ry"], "channel": {"type": "amplitude_damping", "gamma": 0.3}},
        {"gates": ["x"], "channel": {"type": "depolarizing", "p": 0.4}}]})");
    const std::vector<RefStep> steps = {unitary(ry(1.0), {0}),
                                        channel(ref::amplitude_damping_kraus(0.3), {0}),
                                        measure(0, 0),
                                        when(unitary(kX, {1}), 0, 1, 1),
                                        when(channel(ref::depolarizing_kraus(0.4), {1}), 0, 1, 1),
                                        unitary(ry(0.7), {0}),
                                        channel(ref::amplitude_damping_kraus(0.3), {0})};
    const Exact e = exact(2, 2, steps, finals, {1, 1});
    check_against_exact(circuit, &model, e, labels);
    // Had the noise after the conditional x acted in every trajectory, q1 would be depolarised
    // also when c = 0: <Z1> would differ by more than the tolerance.
    const std::vector<RefStep> wrong = {unitary(ry(1.0), {0}),
                                        channel(ref::amplitude_damping_kraus(0.3), {0}),
                                        measure(0, 0),
                                        when(unitary(kX, {1}), 0, 1, 1),
                                        channel(ref::depolarizing_kraus(0.4), {1}),
                                        unitary(ry(0.7), {0}),
                                        channel(ref::amplitude_damping_kraus(0.3), {0})};
    CHECK(std::abs(exact_expectation(exact(2, 2, wrong, finals, {1, 1}).rho, "IZ") - exact_expectation(e.rho, "IZ")) > 0.1);
  }
}

TEST_CASE("classical control: active reset by measurement and a conditional x", "[trajectories][if]") {
  // c = c1 c0: c0 the first read-out, c1 the read-out after the conditional flip.
  const engine::Circuit circuit = engine::parse_qasm2(kHeader +
                                                      "qreg q[1];\ncreg c[2];\n"
                                                      "ry(2.1) q[0];\n"
                                                      "measure q[0] -> c[0];\n"
                                                      "if(c==1) x q[0];\n"
                                                      "measure q[0] -> c[1];\n");
  const noise::NoiseModel model = noise::NoiseModel::from_json(R"({"gate_noise": [
      {"gates": ["x"], "channel": {"type": "depolarizing", "p": 0.3}},
      {"gates": ["ry"], "channel": {"type": "amplitude_damping", "gamma": 0.2}}]})");
  const std::vector<RefStep> steps = {unitary(ry(2.1), {0}), channel(ref::amplitude_damping_kraus(0.2), {0}),
                                      measure(0, 0), when(unitary(kX, {0}), 0, 2, 1),
                                      when(channel(ref::depolarizing_kraus(0.3), {0}), 0, 2, 1)};
  const Exact e = exact(1, 2, steps, {{1, 0}}, {2});
  CHECK(e.keys.count("00") == 1);
  CHECK(e.keys.count("01") == 1);  // reset to 0 after reading 1
  CHECK(e.keys.count("11") == 1);  // the depolarised flip failed
  CHECK(e.keys.count("10") == 0);
  check_against_exact(circuit, &model, e, {"Z", "X"});
}

TEST_CASE("classical control: a conditional final measurement is recorded, not read from the state", "[trajectories][if]") {
  // q1 is |1> in every trajectory, but d[0] holds it only where c = 1 let the measurement act.
  const engine::Circuit circuit = engine::parse_qasm2(kHeader +
                                                      "qreg q[2];\ncreg c[1];\ncreg d[1];\n"
                                                      "ry(1.3) q[0];\nx q[1];\n"
                                                      "measure q[0] -> c[0];\n"
                                                      "if(c==1) measure q[1] -> d[0];\n");
  const noise::NoiseModel model = noise::NoiseModel::from_json(R"({"gate_noise": [
      {"gates": ["x"], "channel": {"type": "amplitude_damping", "gamma": 0.35}}]})");
  const std::vector<RefStep> steps = {unitary(ry(1.3), {0}), unitary(kX, {1}),
                                      channel(ref::amplitude_damping_kraus(0.35), {1}), measure(0, 0),
                                      when(measure(1, 1), 0, 1, 1)};
  const Exact e = exact(2, 2, steps, {}, {1, 1});
  CHECK(e.keys.count("1 0") == 0);
  check_against_exact(circuit, &model, e, {"ZI", "IZ", "ZZ"});
}

TEST_CASE("classical control: teleportation", "[trajectories][if]") {
  // q0's state ry(1.1) rz(0.4)|0> is teleported to q2; m0, m1 are final measurements that the
  // conditions read (so they are sampled and recorded), r reads q2 from the final state.
  const std::string text = kHeader +
                           "qreg q[3];\ncreg m0[1];\ncreg m1[1];\ncreg r[1];\n"
                           "ry(1.1) q[0];\nrz(0.4) q[0];\n"
                           "h q[1];\ncx q[1], q[2];\n"
                           "cx q[0], q[1];\nh q[0];\n"
                           "measure q[0] -> m0[0];\nmeasure q[1] -> m1[0];\n"
                           "if(m1==1) x q[2];\nif(m0==1) z q[2];\n"
                           "measure q[2] -> r[0];\n";
  const engine::Circuit circuit = engine::parse_qasm2(text);
  const std::vector<std::string> labels = {"IIX", "IIY", "IIZ", "ZZI", "XII"};
  SECTION("noiseless: every trajectory ends with the teleported state on q2") {
    const engine::Program program = engine::compile(circuit, nullptr);
    engine::TrajectoryOptions options;
    options.trajectories = 64;
    options.shots = 64;
    options.measurement = engine::measurement_map(circuit, true);
    const engine::TrajectoryResult r = engine::run_trajectories(
        program, nullptr, nullptr,
        {engine::PauliSum::parse("X2"), engine::PauliSum::parse("Y2"), engine::PauliSum::parse("Z2")}, options);
    arma::cx_vec psi(2);
    psi(0) = 1.0;
    psi(1) = 0.0;
    psi = rz(0.4) * ry(1.1) * psi;
    const arma::cx_mat one = psi * psi.t();
    const double want[3] = {std::real(arma::trace(ref::pauli('X') * one)), std::real(arma::trace(ref::pauli('Y') * one)),
                            std::real(arma::trace(ref::pauli('Z') * one))};
    for (int o = 0; o < 3; ++o) {
      INFO("observable " << o);
      CHECK(std::abs(r.expectations[static_cast<std::size_t>(o)].mean - want[o]) < 1e-10);
      CHECK(r.expectations[static_cast<std::size_t>(o)].standard_error < 1e-10);
    }
    // All four (m1, m0) outcomes occur; keys are "r0 m1 m0".
    std::map<std::string, std::uint64_t> by_m;
    for (const auto& [key, count] : r.clbit_counts) {
      REQUIRE(key.size() == 5);
      CHECK(key[1] == ' ');
      CHECK(key[3] == ' ');
      by_m[key.substr(2)] += count;
    }
    CHECK(by_m.size() == 4);
  }
  SECTION("noisy: depolarising on every gate, also after the conditional x and z") {
    const noise::NoiseModel model = noise::NoiseModel::from_json(R"({"gate_noise": [
        {"gates": ["cx"], "channel": {"type": "depolarizing", "p": 0.1}},
        {"gates": ["x", "z", "h"], "channel": {"type": "depolarizing", "p": 0.2}},
        {"gates": ["ry"], "channel": {"type": "amplitude_damping", "gamma": 0.15}}]})");
    const auto dep1 = ref::depolarizing_kraus(0.2);
    // The 2-qubit depolarising channel of the channel table: the identity with weight 1 - p, each
    // other Pauli product with p / 15.
    std::vector<arma::cx_mat> dep2;
    const double p2 = 0.1;
    for (int a = 0; a < 4; ++a)
      for (int b = 0; b < 4; ++b) {
        const double w = a == 0 && b == 0 ? 1.0 - p2 : p2 / 15.0;
        dep2.push_back(std::sqrt(w) * arma::kron(ref::pauli("IXYZ"[b]), ref::pauli("IXYZ"[a])));
      }
    const std::vector<RefStep> steps = {unitary(ry(1.1), {0}), channel(ref::amplitude_damping_kraus(0.15), {0}),
                                        unitary(rz(0.4), {0}),
                                        unitary(kH, {1}), channel(dep1, {1}),
                                        unitary(cnot(), {1, 2}), channel(dep2, {1, 2}),
                                        unitary(cnot(), {0, 1}), channel(dep2, {0, 1}),
                                        unitary(kH, {0}), channel(dep1, {0}),
                                        measure(0, 0), measure(1, 1),
                                        when(unitary(kX, {2}), 1, 1, 1), when(channel(dep1, {2}), 1, 1, 1),
                                        when(unitary(kZ, {2}), 0, 1, 1), when(channel(dep1, {2}), 0, 1, 1)};
    const Exact e = exact(3, 3, steps, {{2, 2}}, {1, 1, 1});
    check_against_exact(circuit, &model, e, labels);
  }
}

TEST_CASE("classical control: compiled steps", "[program][if]") {
  // The conditional x on q2 has a free qubit from the start; it must still wait for the
  // measurement of q0 (after two layers of x on q1), also when idle noise reorders by layers.
  const engine::Circuit circuit = engine::parse_qasm2(kHeader +
                                                      "qreg q[3];\ncreg c[1];\n"
                                                      "x q[0];\nx q[0];\n"
                                                      "measure q[0] -> c[0];\n"
                                                      "if(c==1) x q[2];\n"
                                                      "measure q[2] -> c[0];\n");
  const noise::NoiseModel model = noise::NoiseModel::from_json(R"({"gate_noise": [
      {"gates": ["x"], "channel": {"type": "depolarizing", "p": 0.1}}],
      "idle_noise": {"type": "phase_damping", "lambda": 0.05}})");
  for (const bool fusion : {false, true}) {
    INFO("fusion " << fusion);
    engine::CompileOptions options;
    options.fusion = fusion;
    const engine::Program p = engine::compile(circuit, &model, options);
    CHECK(p.num_clbits == 1);
    int measure_step = -1, conditional = 0, first_conditional = -1;
    for (std::size_t i = 0; i < p.steps.size(); ++i) {
      const engine::Step& s = p.steps[i];
      if (s.clbit >= 0) {
        CHECK(s.clbit == 0);
        CHECK(measure_step < 0);  // the final measurement into c[0] is read from the final state
        measure_step = static_cast<int>(i);
      }
      if (s.condition.active()) {
        if (first_conditional < 0) first_conditional = static_cast<int>(i);
        ++conditional;
        CHECK(s.condition.clbit == 0);
        CHECK(s.condition.size == 1);
        CHECK(s.condition.value == 1);
        CHECK(s.call.qubits[0] == 2);
      }
    }
    REQUIRE(measure_step >= 0);
    CHECK(conditional == 2);  // the x and its depolarising channel; the idle channels are unconditional
    CHECK(first_conditional > measure_step);
  }
  // Without conditions nothing changes: a final measurement is no step.
  engine::Circuit plain(1, 1);
  plain.add_gate(engine::Gate::kH, {0});
  plain.add_measure(0, 0);
  const engine::Program p = engine::compile(plain, nullptr);
  CHECK(p.steps.size() == 1);
  CHECK_FALSE(p.has_conditions());
}

TEST_CASE("classical control: the same counts for a seed, whatever the threads", "[trajectories][if]") {
  const engine::Circuit circuit = engine::parse_qasm2(kHeader +
                                                      "qreg q[2];\ncreg c[2];\n"
                                                      "h q[0];\nmeasure q[0] -> c[0];\n"
                                                      "if(c==1) h q[1];\nmeasure q[1] -> c[1];\n");
  const noise::NoiseModel model = noise::NoiseModel::from_json(R"({"gate_noise": [
      {"gates": ["h"], "channel": {"type": "amplitude_damping", "gamma": 0.3}}],
      "readout": [{"qubits": [1], "p1_given_0": 0.1, "p0_given_1": 0.2}]})");
  const engine::Program program = engine::compile(circuit, &model);
  engine::TrajectoryOptions options;
  options.trajectories = 300;
  options.shots = 1000;
  options.readout = model.readout_model(2);
  options.measurement = engine::measurement_map(circuit, true);
  const int before = engine::num_threads();
  engine::set_num_threads(1);
  const engine::TrajectoryResult one = engine::run_trajectories(program, nullptr, nullptr, {}, options);
  engine::set_num_threads(2);
  const engine::TrajectoryResult two = engine::run_trajectories(program, nullptr, nullptr, {}, options);
  engine::set_num_threads(before);
  CHECK(one.clbit_counts == two.clbit_counts);
  CHECK(one.counts == two.counts);
  std::uint64_t total = 0;
  for (const auto& [key, count] : one.clbit_counts) {
    CHECK(key.size() == 2);
    total += count;
  }
  CHECK(total == 1000);
  // c0 = 0 leaves q1 in |0>: "10" only from a readout error of q1, which acts on the final
  // read-out; the read-out of c0 is the sampled mid-circuit outcome, free of readout errors.
  CHECK(one.clbit_counts.count("10") == 1);
}

TEST_CASE("classical control: every other executor refuses it", "[if][validation]") {
  const engine::Circuit circuit = engine::parse_qasm2(kHeader +
                                                      "qreg q[2];\ncreg c[1];\n"
                                                      "h q[0];\nmeasure q[0] -> c[0];\nif(c==1) x q[1];\n");
  const engine::Program program = engine::compile(circuit, nullptr);
  // The message of the std::invalid_argument that f throws ("" when it throws none).
  auto refusal = [](const auto& f) -> std::string {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  const std::string why = "classical control (if) needs the trajectory method: ";
  engine::DensityMatrix rho(2);
  CHECK(refusal([&] { engine::run(program, nullptr, nullptr, rho); }) == why + "the density matrix cannot run it");
  CHECK(refusal([&] { engine::simulate(circuit, nullptr, rho); }) == why + "the density matrix cannot run it");
  engine::StateVector psi(2);
  CHECK(refusal([&] { engine::run(program, nullptr, nullptr, psi); }) == why + "the state vector cannot run it");
  double gradient = 0.0;
  CHECK(refusal([&] { engine::adjoint_gradient(program, nullptr, nullptr, engine::PauliSum::parse("Z1"), &gradient); }) ==
        why + "the adjoint gradient cannot run it");
  engine::TranspileOptions t;
  t.basis = {"cx", "rz", "sx", "x"};
  CHECK(refusal([&] { engine::transpile(circuit, t); }) == "transpile: classical control (if) is not supported yet");
  CHECK(refusal([&] { engine::inverse(circuit); }) == "a conditional 'x' has no inverse");
  // The measurement of q0 is final but read by the condition: trajectories record it.
  CHECK(engine::measurement_map(circuit).clbit_qubit == std::vector<int>{0});
  CHECK(engine::measurement_map(circuit, true).clbit_qubit == std::vector<int>{engine::kRecordedClbit});
}
