// Noise models: the JSON format (the issue's example as written, rule semantics, round trips and one
// clear error per malformed case), scaling, calibration-derived models and the Qiskit Aer format.
// Channels are compared through their superoperators against references built here.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kraus/noise/channel.hpp"
#include "kraus/noise/channel_table.hpp"
#include "kraus/noise/noise_model.hpp"
#include "kraus/noise/readout.hpp"
#include "reference/noise_support.hpp"
#include "reference/test_support.hpp"

#ifndef KRAUS_TEST_SOURCE_DIR
#error "KRAUS_TEST_SOURCE_DIR must name the tests/ folder"
#endif

namespace {

using kraus::test::to_arma;
using kraus::test::read_text;

namespace ref = kraus::test;
namespace noise = kraus::noise;
using ref::Complex;

constexpr double kTol = 1e-12;

const std::string kIssueExample =
    R"({"gate_noise": [{"gates": ["h", "rx"], "qubits": [0, 2], "channel": {"type": "depolarizing", "p": 0.01}}, )"
    R"({"gates": ["cx"], "channel": {"type": "depolarizing", "p": 0.02}}, )"
    R"({"gates": ["*"], "channel": {"type": "amplitude_damping", "gamma": 0.01}}], )"
    R"("idle_noise": {"type": "phase_damping", "lambda": 0.001}, )"
    R"("readout": [{"qubits": "all", "p1_given_0": 0.02, "p0_given_1": 0.05}]})";

std::string data_path(const std::string& name) { return std::string(KRAUS_TEST_SOURCE_DIR) + "/data/noise/" + name; }

std::vector<arma::cx_mat> kraus_of(const noise::Channel& c) {
  std::vector<arma::cx_mat> out;
  for (const noise::Matrix& k : c.kraus()) out.push_back(to_arma(k));
  return out;
}

arma::cx_mat superop(const noise::Channel& c) { return to_arma(c.superoperator()); }

arma::cx_mat eye(arma::uword d) { return arma::cx_mat(d, d, arma::fill::eye); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const noise::NoiseModelError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("(not a NoiseModelError) ") + e.what();
  }
  return "(no error)";
}

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

// Superoperators of the written-out standard channels.
arma::cx_mat depolarizing_1q(double p) {
  return ref::superoperator_from_kraus({std::sqrt(1 - p) * ref::pauli('I'), std::sqrt(p / 3) * ref::pauli('X'),
                                        std::sqrt(p / 3) * ref::pauli('Y'), std::sqrt(p / 3) * ref::pauli('Z')});
}
arma::cx_mat depolarizing_2q(double p) {
  std::vector<arma::cx_mat> ops = {std::sqrt(1 - p) * eye(4)};
  for (char a : std::string("IXYZ"))
    for (char b : std::string("IXYZ"))
      if (a != 'I' || b != 'I') ops.push_back(std::sqrt(p / 15) * ref::pauli_string_operator(std::string{a, b}));
  return ref::superoperator_from_kraus(ops);
}
std::vector<arma::cx_mat> amplitude_damping_ops(double g) { return ref::amplitude_damping_kraus(g); }
arma::cx_mat amplitude_damping(double g) { return ref::superoperator_from_kraus(ref::amplitude_damping_kraus(g)); }
arma::cx_mat phase_damping(double l) { return ref::superoperator_from_kraus(ref::phase_damping_kraus(l)); }

// Checks one placed channel: its superoperator and its qubits.
void check_placed(const noise::PlacedChannel& placed, const arma::cx_mat& expected, const std::vector<int>& qubits) {
  REQUIRE(placed.channel != nullptr);
  CHECK(placed.qubits == qubits);
  CHECK(ref::max_abs_diff(superop(*placed.channel), expected) <= kTol);
}

// Average gate fidelity (d F_pro + 1) / (d + 1) with F_pro = Tr(S) / d^2.
double average_fidelity(const arma::cx_mat& s, double d) {
  const double f_pro = arma::trace(s).real() / (d * d);
  return (d * f_pro + 1) / (d + 1);
}

// The channels a model places after a gate, applied in order to rho through apply_channel.
arma::cx_mat run_after(const noise::NoiseModel& m, const std::string& gate, const std::vector<int>& qubits,
                       const arma::cx_mat& rho, int n) {
  arma::cx_mat out = rho;
  for (const noise::PlacedChannel& p : m.channels_after(gate, qubits)) {
    noise::apply_channel(out.memptr(), n, p.qubits.data(), *p.channel);
  }
  return out;
}

void check_same_spec(const noise::ChannelSpec& a, const noise::ChannelSpec& b) {
  CHECK(a.type == b.type);
  CHECK(a.params == b.params);
  CHECK(a.pauli_probabilities == b.pauli_probabilities);
  CHECK(a.axis == b.axis);
  CHECK(a.num_qubits == b.num_qubits);
  REQUIRE(a.kraus_operators.size() == b.kraus_operators.size());
  for (std::size_t i = 0; i < a.kraus_operators.size(); ++i) {
    CHECK(ref::max_abs_diff(to_arma(a.kraus_operators[i]), to_arma(b.kraus_operators[i])) == 0.0);
  }
  const int k = a.fixed_num_qubits() > 0 ? a.fixed_num_qubits() : 1;
  CHECK(ref::max_abs_diff(superop(a.build(k)), superop(b.build(k))) <= kTol);
  if (a.fixed_num_qubits() == 0) CHECK(ref::max_abs_diff(superop(a.build(2)), superop(b.build(2))) <= kTol);
}

void check_same_model(const noise::NoiseModel& a, const noise::NoiseModel& b) {
  REQUIRE(a.gate_noise.size() == b.gate_noise.size());
  for (std::size_t i = 0; i < a.gate_noise.size(); ++i) {
    CAPTURE(i);
    CHECK(a.gate_noise[i].gates == b.gate_noise[i].gates);
    CHECK(a.gate_noise[i].qubits == b.gate_noise[i].qubits);
    check_same_spec(a.gate_noise[i].channel, b.gate_noise[i].channel);
  }
  REQUIRE(a.idle_noise.has_value() == b.idle_noise.has_value());
  if (a.idle_noise) check_same_spec(*a.idle_noise, *b.idle_noise);
  REQUIRE(a.readout.size() == b.readout.size());
  for (std::size_t i = 0; i < a.readout.size(); ++i) {
    CAPTURE(i);
    CHECK(a.readout[i].all_qubits == b.readout[i].all_qubits);
    CHECK(a.readout[i].qubits == b.readout[i].qubits);
    CHECK(a.readout[i].p1_given_0 == b.readout[i].p1_given_0);
    CHECK(a.readout[i].p0_given_1 == b.readout[i].p0_given_1);
    CHECK(a.readout[i].matrix == b.readout[i].matrix);
  }
}

// Two readout models act the same on random probability vectors.
void check_same_readout(const noise::ReadoutModel& a, const noise::ReadoutModel& b, int n, ref::Rng& rng) {
  for (int trial = 0; trial < 3; ++trial) {
    std::vector<double> p(std::size_t{1} << n);
    double total = 0;
    for (double& x : p) total += (x = std::uniform_real_distribution<double>(0, 1)(rng));
    for (double& x : p) x /= total;
    std::vector<double> pa = p, pb = p;
    a.apply(pa, n);
    b.apply(pb, n);
    for (std::size_t i = 0; i < p.size(); ++i) CHECK(std::abs(pa[i] - pb[i]) <= kTol);
  }
}

}  // namespace

// ---- the issue's example and the rule semantics --------------------------------------------------

TEST_CASE("the issue's example is accepted as written and places the right channels", "[noise][model]") {
  const noise::NoiseModel m = noise::NoiseModel::from_json(kIssueExample);
  // The fixture holds the same text.
  const noise::NoiseModel from_file = noise::NoiseModel::from_json_file(data_path("issue_example.json"));
  check_same_model(m, from_file);

  REQUIRE(m.gate_noise.size() == 3);
  SECTION("h on qubit 0: depolarising (the rule on qubits 0, 2) then amplitude damping") {
    const auto placed = m.channels_after("h", {0});
    REQUIRE(placed.size() == 2);
    check_placed(placed[0], depolarizing_1q(0.01), {0});
    check_placed(placed[1], amplitude_damping(0.01), {0});
  }
  SECTION("h on qubit 1: only the \"*\" rule") {
    const auto placed = m.channels_after("h", {1});
    REQUIRE(placed.size() == 1);
    check_placed(placed[0], amplitude_damping(0.01), {1});
  }
  SECTION("rx on qubit 2 and an unnamed gate") {
    const auto placed = m.channels_after("rx", {2});
    REQUIRE(placed.size() == 2);
    check_placed(placed[0], depolarizing_1q(0.01), {2});
    check_placed(placed[1], amplitude_damping(0.01), {2});
    const auto other = m.channels_after("sx", {0});
    REQUIRE(other.size() == 1);
    check_placed(other[0], amplitude_damping(0.01), {0});
  }
  SECTION("cx(0, 1): 2-qubit depolarising jointly, then amplitude damping on each qubit") {
    const auto placed = m.channels_after("cx", {0, 1});
    REQUIRE(placed.size() == 3);
    check_placed(placed[0], depolarizing_2q(0.02), {0, 1});
    check_placed(placed[1], amplitude_damping(0.01), {0});
    check_placed(placed[2], amplitude_damping(0.01), {1});
    // The same through the kernels on a 3-qubit state, against the dense reference.
    ref::Rng rng(71);
    const arma::cx_mat rho = ref::random_density_matrix(3, rng);
    std::vector<arma::cx_mat> dep;
    dep.push_back(std::sqrt(0.98) * eye(4));
    for (char a : std::string("IXYZ"))
      for (char b : std::string("IXYZ"))
        if (a != 'I' || b != 'I') dep.push_back(std::sqrt(0.02 / 15) * ref::pauli_string_operator(std::string{a, b}));
    arma::cx_mat expected = ref::apply_kraus(rho, dep, {0, 1}, 3);
    expected = ref::apply_kraus(expected, amplitude_damping_ops(0.01), {0}, 3);
    expected = ref::apply_kraus(expected, amplitude_damping_ops(0.01), {1}, 3);
    CHECK(ref::max_abs_diff(run_after(m, "cx", {0, 1}, rho, 3), expected) <= kTol);
  }
  SECTION("cx(2, 1): the channels follow the gate's qubit order") {
    const auto placed = m.channels_after("cx", {2, 1});
    REQUIRE(placed.size() == 3);
    check_placed(placed[0], depolarizing_2q(0.02), {2, 1});
    check_placed(placed[1], amplitude_damping(0.01), {2});
    check_placed(placed[2], amplitude_damping(0.01), {1});
  }
  SECTION("idle noise and readout") {
    REQUIRE(m.idle_channel() != nullptr);
    CHECK(ref::max_abs_diff(superop(*m.idle_channel()), phase_damping(0.001)) <= kTol);
    const noise::ReadoutModel ro = m.readout_model(3);
    REQUIRE(ro.errors().size() == 3);
    for (int q = 0; q < 3; ++q) {
      CHECK(ro.errors()[q].qubits == std::vector<int>{q});
      CHECK(ro.errors()[q].confusion == std::vector<double>{0.98, 0.02, 0.05, 0.95});
    }
    CHECK(noise::NoiseModel().idle_channel() == nullptr);
    CHECK(noise::NoiseModel().readout_model(3).empty());
  }
}

TEST_CASE("rules: qubit-subset matching, file order, arity and multi-qubit ordering", "[noise][model]") {
  const noise::NoiseModel m = noise::NoiseModel::from_json(R"({"gate_noise": [
    {"gates": ["cx"], "qubits": [0, 2], "channel": {"type": "bit_flip", "p": 0.1}},
    {"gates": ["*"], "channel": {"type": "phase_flip", "p": 0.2}},
    {"gates": ["cx", "h"], "channel": {"type": "bit_phase_flip", "p": 0.3}},
    {"gates": ["cz"], "channel": {"type": "pauli", "probabilities": {"XZ": 0.1}}},
    {"gates": ["ccx"], "channel": {"type": "depolarizing", "p": 0.05}}
  ]})");
  const arma::cx_mat bf = ref::superoperator_from_kraus(ref::pauli_kraus(0.1, 0, 0));
  const arma::cx_mat pf = ref::superoperator_from_kraus(ref::pauli_kraus(0, 0, 0.2));
  const arma::cx_mat bpf = ref::superoperator_from_kraus(ref::pauli_kraus(0, 0.3, 0));
  SECTION("a rule with qubits applies to gates all of whose qubits are listed; every rule in file order") {
    const auto placed = m.channels_after("cx", {2, 0});
    REQUIRE(placed.size() == 6);
    check_placed(placed[0], bf, {2});
    check_placed(placed[1], bf, {0});
    check_placed(placed[2], pf, {2});
    check_placed(placed[3], pf, {0});
    check_placed(placed[4], bpf, {2});
    check_placed(placed[5], bpf, {0});
    CHECK(m.channels_after("cx", {0, 1}).size() == 4);  // qubit 1 is not listed in rule 0
    CHECK(m.channels_after("h", {2}).size() == 2);     // rule 0 is for cx only
    CHECK(m.gate_noise[0].matches("cx", {0}));
    CHECK(m.gate_noise[0].matches("cx", {2, 0}));
    CHECK_FALSE(m.gate_noise[0].matches("cx", {0, 1}));
    CHECK_FALSE(m.gate_noise[0].matches("CX", {0, 2}));
    CHECK(m.gate_noise[1].matches("anything", {5, 7}));
  }
  SECTION("a 2-qubit channel's first qubit is the gate's first qubit (least significant)") {
    // pauli "XZ" after cz(1, 0): X on qubit 1 (the gate's first), Z on qubit 0.
    ref::Rng rng(72);
    const arma::cx_mat rho = ref::random_density_matrix(3, rng);
    const auto placed = m.channels_after("cz", {1, 0});
    // Rule 1 ("*", phase flip) comes first in the file: on each qubit; then rule 3 jointly.
    REQUIRE(placed.size() == 3);
    CHECK(placed[0].qubits == std::vector<int>{1});
    CHECK(placed[1].qubits == std::vector<int>{0});
    CHECK(placed[2].qubits == std::vector<int>{1, 0});
    const arma::cx_mat xz = ref::embed(ref::pauli('X'), {1}, 3) * ref::embed(ref::pauli('Z'), {0}, 3);
    const arma::cx_mat expected =
        ref::apply_kraus(rho, {std::sqrt(0.9) * eye(8), std::sqrt(0.1) * xz}, {0, 1, 2}, 3);
    arma::cx_mat out = rho;
    noise::apply_channel(out.memptr(), 3, placed[2].qubits.data(), *placed[2].channel);
    CHECK(ref::max_abs_diff(out, expected) <= kTol);
  }
  SECTION("a channel whose arity fits neither the gate nor 1 is an error naming the rule") {
    const noise::NoiseModel bad = noise::NoiseModel::from_json(
        R"({"gate_noise": [{"gates": ["x"], "channel": {"type": "bit_flip", "p": 0.1}},
                           {"gates": ["h"], "channel": {"type": "pauli", "probabilities": {"XZ": 0.1}}}]})");
    const std::string message = error_of([&] { bad.channels_after("h", {0}); });
    INFO(message);
    CHECK(contains(message, "gate_noise[1]"));
    CHECK(contains(message, "pauli"));
    CHECK(contains(message, "'h'"));
    CHECK_FALSE(contains(message, "not a NoiseModelError"));
    // The 2-qubit pauli channel after a 3-qubit gate is refused too; depolarizing takes the gate's arity.
    CHECK(contains(error_of([&] { m.channels_after("cz", {0, 1, 2}); }), "gate_noise[3]"));
    const auto ccx = m.channels_after("ccx", {0, 1, 2});
    REQUIRE(ccx.size() == 4);
    CHECK(ccx[3].channel->num_qubits() == 3);
    const noise::NoiseModel fixed = noise::NoiseModel::from_json(
        R"({"gate_noise": [{"gates": ["h"], "channel": {"type": "depolarizing", "p": 0.1, "num_qubits": 2}}]})");
    CHECK(contains(error_of([&] { fixed.channels_after("h", {0}); }), "gate_noise[0]"));
  }
}

// ---- JSON round trip and errors -----------------------------------------------------------------

TEST_CASE("from_json(to_json()) gives the same model", "[noise][model][json]") {
  for (const char* file : {"issue_example.json", "every_channel.json", "calibration.json"}) {
    CAPTURE(file);
    const noise::NoiseModel m = noise::NoiseModel::from_json_file(data_path(file));
    REQUIRE(!m.gate_noise.empty());
    const std::string text = m.to_json();
    const noise::NoiseModel back = noise::NoiseModel::from_json(text, "round trip");
    check_same_model(m, back);
    CHECK(back.to_json() == text);
    ref::Rng rng(73);
    check_same_readout(m.readout_model(4), back.readout_model(4), 4, rng);
  }
  // Every standard type is in the fixture.
  const noise::NoiseModel all = noise::NoiseModel::from_json_file(data_path("every_channel.json"));
  for (const noise::ChannelType& t : noise::channel_types()) {
    CAPTURE(t.name);
    CHECK(std::any_of(all.gate_noise.begin(), all.gate_noise.end(),
                      [&](const noise::GateNoiseRule& r) { return r.channel.type == t.name; }));
  }
  // The kraus fixture channels are amplitude damping with gamma = 0.19 (and its tensor square).
  const auto star = all.channels_after("id", {3});
  REQUIRE(star.size() == 1);
  check_placed(star[0], amplitude_damping(0.19), {3});
  const auto swap = all.channels_after("swap", {1, 0});
  REQUIRE(swap.size() == 3);
  std::vector<arma::cx_mat> tensor;
  for (const arma::cx_mat& a : amplitude_damping_ops(0.19))
    for (const arma::cx_mat& b : amplitude_damping_ops(0.19)) tensor.push_back(arma::kron(a, b));
  check_placed(swap[0], ref::superoperator_from_kraus(tensor), {1, 0});
}

TEST_CASE("malformed noise models give one clear error each, with the JSON path", "[noise][model][json][validation]") {
  struct Bad {
    const char* what;
    std::string json;
    std::vector<std::string> expected;  // substrings of the message
  };
  const std::string h = R"({"gates": ["h"], )";
  const std::vector<Bad> cases = {
      {"missing channel", R"({"gate_noise": [{"gates": ["h"]}]})", {"model.json: gate_noise[0].channel: missing"}},
      {"missing gates", R"({"gate_noise": [{"channel": {"type": "bit_flip", "p": 0.1}}]})", {"gate_noise[0].gates"}},
      {"empty gates", R"({"gate_noise": [{"gates": [], "channel": {"type": "bit_flip", "p": 0.1}}]})", {"gate_noise[0].gates"}},
      {"missing type", R"({"gate_noise": [)" + h + R"("channel": {"p": 0.1}}]})", {"gate_noise[0].channel.type", "missing"}},
      {"missing parameter", R"({"gate_noise": [)" + h + R"("channel": {"type": "amplitude_damping"}}]})",
       {"gate_noise[0].channel.gamma", "missing"}},
      {"missing thermal time", R"({"gate_noise": [)" + h + R"("channel": {"type": "thermal_relaxation", "t1": 5, "t2": 5}}]})",
       {"gate_noise[0].channel.time", "missing"}},
      {"unknown type", R"({"gate_noise": [)" + h + R"("channel": {"type": "depolarising", "p": 0.1}}]})",
       {"gate_noise[0].channel.type", "unknown channel type 'depolarising'", "depolarizing"}},
      {"unknown top-level key", R"({"gate_nosie": []})", {"model.json: gate_nosie: unknown key"}},
      {"unknown rule key", R"({"gate_noise": [{"gates": ["h"], "qubit": [0], "channel": {"type": "bit_flip", "p": 0.1}}]})",
       {"gate_noise[0].qubit", "unknown key"}},
      {"unknown channel key", R"({"gate_noise": [)" + h + R"("channel": {"type": "amplitude_damping", "gamma": 0.1, "gama": 0.1}}]})",
       {"gate_noise[0].channel.gama", "no parameter 'gama'"}},
      {"unknown readout key", R"({"readout": [{"qubits": [0], "p1_given_0": 0.1, "p0_given_1": 0.1, "p": 1}]})",
       {"readout[0].p", "unknown key"}},
      {"out of range",
       R"({"gate_noise": [{"gates": ["h", "rx"], "qubits": [0, 2], "channel": {"type": "depolarizing", "p": 0.01}}, )"
       R"({"gates": ["cx"], "channel": {"type": "depolarizing", "p": 0.02}}, )"
       R"({"gates": ["*"], "channel": {"type": "depolarizing", "p": 1.5}}]})",
       {"model.json: gate_noise[2].channel.p: 1.5 is outside [0, 1] for a depolarizing channel"}},
      {"negative gamma", R"({"gate_noise": [)" + h + R"("channel": {"type": "amplitude_damping", "gamma": -0.1}}]})",
       {"gate_noise[0].channel.gamma", "-0.1 is outside [0, 1]"}},
      {"not a number", R"({"gate_noise": [)" + h + R"("channel": {"type": "bit_flip", "p": "0.1"}}]})",
       {"gate_noise[0].channel.p", "expected a number"}},
      {"pauli probability out of range", R"({"gate_noise": [)" + h + R"("channel": {"type": "pauli", "probabilities": {"X": 1.5}}}]})",
       {"gate_noise[0].channel", "1.5"}},
      {"pauli sum above 1", R"({"gate_noise": [)" + h + R"("channel": {"type": "pauli", "probabilities": {"X": 0.6, "Z": 0.6}}}]})",
       {"gate_noise[0].channel", "sum"}},
      {"kraus ragged row", R"({"gate_noise": [)" + h + R"("channel": {"type": "kraus", "operators": [[[[1,0],[0,0]],[[0,0]]]]}}]})",
       {"gate_noise[0].channel.operators[0][1]", "square"}},
      {"kraus 3x3", R"({"gate_noise": [)" + h +
                        R"("channel": {"type": "kraus", "operators": [[[[1,0],[0,0],[0,0]],[[0,0],[1,0],[0,0]],[[0,0],[0,0],[1,0]]]]}}]})",
       {"gate_noise[0].channel.operators[0]", "2x2 or 4x4"}},
      {"kraus sizes differ", R"({"gate_noise": [)" + h +
                                 R"("channel": {"type": "kraus", "operators": [[[[1,0],[0,0]],[[0,0],[1,0]]], )"
                                 R"([[[1,0],[0,0],[0,0],[0,0]],[[0,0],[1,0],[0,0],[0,0]],[[0,0],[0,0],[1,0],[0,0]],[[0,0],[0,0],[0,0],[1,0]]]]}}]})",
       {"gate_noise[0].channel.operators[1]", "unlike operator 0"}},
      {"kraus entry not complex", R"({"gate_noise": [)" + h + R"("channel": {"type": "kraus", "operators": [[[[1,0],"x"],[[0,0],[1,0]]]]}}]})",
       {"gate_noise[0].channel.operators[0][0][1]"}},
      {"kraus not CPTP", R"({"gate_noise": [)" + h + R"("channel": {"type": "kraus", "operators": [[[[1.1,0],[0,0]],[[0,0],[1.1,0]]]]}}]})",
       {"gate_noise[0].channel", "not trace preserving"}},
      {"t2 > 2 t1", R"({"gate_noise": [)" + h + R"("channel": {"type": "thermal_relaxation", "t1": 50, "t2": 120, "time": 1}}]})",
       {"gate_noise[0].channel", "t2", "120"}},
      {"overrotation axis", R"({"gate_noise": [)" + h + R"("channel": {"type": "coherent_overrotation", "axis": "w", "angle": 0.1}}]})",
       {"gate_noise[0].channel.axis"}},
      {"overlapping readout groups",
       R"({"readout": [{"qubits": [0, 1], "p1_given_0": 0.1, "p0_given_1": 0.1}, {"qubits": [1, 2], "p1_given_0": 0.1, "p0_given_1": 0.1}]})",
       {"readout[1].qubits", "qubit 1"}},
      {"readout all after a list",
       R"({"readout": [{"qubits": [0], "p1_given_0": 0.1, "p0_given_1": 0.1}, {"qubits": "all", "p1_given_0": 0.1, "p0_given_1": 0.1}]})",
       {"readout[1].qubits", "overlaps"}},
      {"readout probability", R"({"readout": [{"qubits": "all", "p1_given_0": 1.2, "p0_given_1": 0.1}]})",
       {"readout[0].p1_given_0", "outside [0, 1]"}},
      {"readout missing probability", R"({"readout": [{"qubits": "all", "p1_given_0": 0.2}]})", {"readout[0].p0_given_1"}},
      {"readout matrix not stochastic", R"({"readout": [{"qubits": [1], "matrix": [[0.9, 0.2], [0.1, 0.9]]}]})",
       {"readout[0].matrix", "sums to"}},
      {"readout matrix shape", R"({"readout": [{"qubits": [1, 0], "matrix": [[0.9, 0.1], [0.1, 0.9]]}]})",
       {"readout[0].matrix", "4 rows"}},
      {"negative qubit", R"({"gate_noise": [{"gates": ["h"], "qubits": [-1], "channel": {"type": "bit_flip", "p": 0.1}}]})",
       {"gate_noise[0].qubits[0]"}},
      {"qubit listed twice", R"({"gate_noise": [{"gates": ["h"], "qubits": [1, 1], "channel": {"type": "bit_flip", "p": 0.1}}]})",
       {"gate_noise[0].qubits", "twice"}},
      {"idle noise on 2 qubits", R"({"idle_noise": {"type": "pauli", "probabilities": {"XX": 0.1}}})", {"idle_noise", "1-qubit"}},
      {"not an object", R"([1, 2])", {"a noise model is a JSON object"}},
      {"gate_noise not a list", R"({"gate_noise": {"gates": ["h"]}})", {"gate_noise", "list"}},
      {"calibration qubit without entry",
       R"({"calibration": {"qubits": [{"t1": 50, "t2": 40}], "gates": [{"gate": "cx", "qubits": [0, 1], "error": 0.01, "time": 0.3}]}})",
       {"calibration.gates[0].qubits", "qubit 1"}},
      {"calibration t1 missing", R"({"calibration": {"qubits": [{"t2": 40}]}})", {"calibration.qubits[0].t1", "missing"}},
      {"calibration error out of range",
       R"({"calibration": {"qubits": [{"t1": 50, "t2": 40}], "gates": [{"gate": "x", "qubits": [0], "error": 2, "time": 0.3}]}})",
       {"calibration.gates[0].error", "outside [0, 1]"}},
  };
  for (const Bad& bad : cases) {
    CAPTURE(bad.what, bad.json);
    const std::string message = error_of([&] { noise::NoiseModel::from_json(bad.json, "model.json"); });
    INFO(message);
    CHECK(message.rfind("model.json", 0) == 0);  // names the source first
    for (const std::string& e : bad.expected) CHECK(contains(message, e));
  }
  // The exact message of the issue.
  const auto issue = std::find_if(cases.begin(), cases.end(), [](const Bad& b) { return std::string(b.what) == "out of range"; });
  REQUIRE(issue != cases.end());
  CHECK(error_of([&] { noise::NoiseModel::from_json(issue->json, "model.json"); }) ==
        "model.json: gate_noise[2].channel.p: 1.5 is outside [0, 1] for a depolarizing channel");
}

TEST_CASE("invalid JSON syntax is reported with line and column; files are named in errors", "[noise][model][json][validation]") {
  // Line 3, column 21 is the second comma.
  const std::string text = "{\n  \"gate_noise\": [\n    {\"gates\": [\"h\"],, \"channel\": {\"type\": \"bit_flip\", \"p\": 0.1}}\n  ]\n}\n";
  const std::string message = error_of([&] { noise::NoiseModel::from_json(text, "model.json"); });
  INFO(message);
  CHECK(message.rfind("model.json:3:21: invalid JSON", 0) == 0);
  // Unterminated input: the end of the text.
  const std::string eof = error_of([&] { noise::NoiseModel::from_json("{\"gate_noise\": [", "m.json"); });
  INFO(eof);
  CHECK(eof.rfind("m.json:1:", 0) == 0);
  CHECK(contains(eof, "invalid JSON"));

  const std::string file_syntax = error_of([] { noise::NoiseModel::from_json_file(data_path("bad_syntax.json")); });
  INFO(file_syntax);
  CHECK(file_syntax.rfind(data_path("bad_syntax.json") + ":3:21: invalid JSON", 0) == 0);
  const std::string file_range = error_of([] { noise::NoiseModel::from_json_file(data_path("bad_out_of_range.json")); });
  CHECK(file_range == data_path("bad_out_of_range.json") +
                          ": gate_noise[2].channel.p: 1.5 is outside [0, 1] for a depolarizing channel");
  const std::string missing = error_of([] { noise::NoiseModel::from_json_file(data_path("no_such_file.json")); });
  INFO(missing);
  CHECK(contains(missing, "no_such_file.json"));
  CHECK_FALSE(contains(missing, "not a NoiseModelError"));
}

// ---- scaling ---------------------------------------------------------------------------------------

TEST_CASE("NoiseModel::scaled scales every rule and the idle noise, not the readout", "[noise][model][scaling]") {
  const noise::NoiseModel m = noise::NoiseModel::from_json(kIssueExample);
  const noise::NoiseModel twice = m.scaled(2);
  REQUIRE(twice.gate_noise.size() == 3);
  CHECK(twice.gate_noise[0].channel.params.at("p") == 0.02);
  CHECK(twice.gate_noise[1].channel.params.at("p") == 0.04);
  CHECK(std::abs(twice.gate_noise[2].channel.params.at("gamma") - (1 - 0.99 * 0.99)) <= 1e-15);
  CHECK(twice.gate_noise[0].qubits == m.gate_noise[0].qubits);
  CHECK(twice.gate_noise[1].gates == m.gate_noise[1].gates);
  REQUIRE(twice.idle_noise.has_value());
  CHECK(std::abs(twice.idle_noise->params.at("lambda") - (1 - 0.999 * 0.999)) <= 1e-15);
  // Damping twice as strong is the channel applied twice.
  const auto once = m.channels_after("h", {1}), double_ = twice.channels_after("h", {1});
  REQUIRE(double_.size() == 1);
  CHECK(ref::max_abs_diff(superop(*double_[0].channel), superop(*once[0].channel) * superop(*once[0].channel)) <= kTol);
  CHECK(ref::max_abs_diff(superop(*twice.idle_channel()), superop(*m.idle_channel()) * superop(*m.idle_channel())) <= kTol);
  ref::Rng rng(74);
  check_same_readout(m.readout_model(3), twice.readout_model(3), 3, rng);
  CHECK(twice.readout.size() == m.readout.size());
  // scaled(0) removes all gate noise.
  const noise::NoiseModel none = m.scaled(0);
  for (const auto& placed : none.channels_after("cx", {0, 1})) {
    const arma::uword d2 = arma::uword{1} << (2 * placed.qubits.size());
    CHECK(ref::max_abs_diff(superop(*placed.channel), eye(d2)) <= kTol);
  }
  // Refusals name the rule.
  const noise::NoiseModel kraus = noise::NoiseModel::from_json_file(data_path("every_channel.json"));
  const std::string message = error_of([&] { kraus.scaled(2); });
  INFO(message);
  CHECK(contains(message, "gate_noise[14].channel"));
  CHECK_FALSE(contains(message, "not a NoiseModelError"));
  CHECK(contains(error_of([&] { m.scaled(60); }), "gate_noise[1].channel"));  // p = 1.2
  CHECK_THROWS(m.scaled(-1));
}

// ---- calibration ---------------------------------------------------------------------------------

namespace {

// The total 1- or 2-qubit superoperator of the channels placed after a gate on `gate_qubits`,
// combined with the dense reference (a channel on one of the gate's qubits is tensored with the
// identity on the others).
arma::cx_mat total_superop(const std::vector<noise::PlacedChannel>& placed, const std::vector<int>& gate_qubits) {
  const int k = static_cast<int>(gate_qubits.size());
  const arma::uword d = arma::uword{1} << k;
  arma::cx_mat total = eye(d * d);
  for (const noise::PlacedChannel& p : placed) {
    // Local positions of the channel's qubits among the gate's.
    std::vector<int> local;
    for (int q : p.qubits) local.push_back(static_cast<int>(std::find(gate_qubits.begin(), gate_qubits.end(), q) - gate_qubits.begin()));
    std::vector<arma::cx_mat> ops;
    for (const arma::cx_mat& op : kraus_of(*p.channel)) ops.push_back(ref::embed(op, local, k));
    total = ref::superoperator_from_kraus(ops) * total;
  }
  return total;
}

}  // namespace

TEST_CASE("calibration: depolarising then thermal relaxation (as Qiskit Aer), with average fidelity 1 - error",
          "[noise][model][calibration]") {
  const std::vector<noise::QubitCalibration> qubits = {{50.0, 70.0, 0.0, 0.0, 0.0}, {80.0, 200.0, 0.02, 0.01, 0.03}};
  const std::vector<noise::GateCalibration> gates = {{"sx", {0}, 5e-4, 0.035, "g0"},
                                                     {"sx", {1}, 1e-6, 0.035, ""},
                                                     {"cx", {0, 1}, 1e-2, 0.3, ""},
                                                     {"x", {1}, 3e-3, 0.0, ""}};
  const noise::NoiseModel m = noise::NoiseModel::from_calibration(qubits, gates);

  SECTION("1-qubit gate") {
    const auto placed = m.channels_after("sx", {0});
    REQUIRE(placed.size() == 2);
    CHECK(placed[0].channel->kraus().size() == 4);  // depolarising
    check_placed(placed[1], superop(noise::thermal_relaxation(50, 70, 0.035)), {0});
    CHECK(std::abs(average_fidelity(total_superop(placed, {0}), 2) - (1 - 5e-4)) <= 1e-12);
    // Relaxation alone loses less than the error.
    CHECK(average_fidelity(superop(*placed[1].channel), 2) > 1 - 5e-4);
    // Aer's parameter: lambda = d (e - r) / (d F_relax - 1), r = 1 - F_relax; depolarising p = 3 lambda / 4.
    const double f_relax = average_fidelity(superop(noise::thermal_relaxation(50, 70, 0.035)), 2);
    const double lambda = 2 * (5e-4 - (1 - f_relax)) / (2 * f_relax - 1);
    check_placed(placed[0], depolarizing_1q(0.75 * lambda), {0});
    // The order matters: relaxation after depolarising is not depolarising after relaxation.
    CHECK(ref::max_abs_diff(superop(*placed[1].channel) * superop(*placed[0].channel),
                            superop(*placed[0].channel) * superop(*placed[1].channel)) > 1e-7);
    for (const noise::GateNoiseRule& r : m.gate_noise) {
      if (r.gate_qubits == std::vector<std::vector<int>>{{0}} && r.gates[0] == "sx") CHECK(r.gate_paths == std::vector<std::string>{"g0"});
    }
  }
  SECTION("an error smaller than relaxation alone adds no depolarising rule") {
    const auto placed = m.channels_after("sx", {1});
    REQUIRE(placed.size() == 1);
    // T2 is clipped to 2 T1 = 160, as Qiskit Aer does.
    check_placed(placed[0], superop(noise::thermal_relaxation(80, 160, 0.035, 0.02)), {1});
    CHECK(average_fidelity(superop(*placed[0].channel), 2) < 1 - 1e-6);
    int depolarizing_rules_on_q1 = 0;
    for (const noise::GateNoiseRule& r : m.gate_noise) {
      if (r.channel.type == "depolarizing" && r.gates == std::vector<std::string>{"sx"} &&
          r.gate_qubits == std::vector<std::vector<int>>{{1}}) {
        ++depolarizing_rules_on_q1;
      }
      if (r.channel.type == "thermal_relaxation") CHECK(r.channel.params.at("t2") <= 2 * r.channel.params.at("t1"));
    }
    CHECK(depolarizing_rules_on_q1 == 0);
  }
  SECTION("2-qubit gate: 2-qubit depolarising, then relaxation on each qubit") {
    const auto placed = m.channels_after("cx", {0, 1});
    REQUIRE(placed.size() == 3);
    CHECK(placed[0].qubits == std::vector<int>{0, 1});
    CHECK(placed[0].channel->num_qubits() == 2);
    CHECK(placed[0].channel->kraus().size() == 16);  // depolarising
    // The relaxation rule is one tensor channel, relaxation of qubit 0 (first, least significant)
    // beside that of qubit 1; it is placed as its two factors, each on its qubit.
    check_placed(placed[1], superop(noise::thermal_relaxation(50, 70, 0.3)), {0});
    check_placed(placed[2], superop(noise::thermal_relaxation(80, 160, 0.3, 0.02)), {1});
    CHECK(ref::max_abs_diff(total_superop({placed[1], placed[2]}, {0, 1}),
                            superop(noise::thermal_relaxation(50, 70, 0.3).tensor(
                                noise::thermal_relaxation(80, 160, 0.3, 0.02)))) <= 1e-14);
    CHECK(std::abs(average_fidelity(total_superop(placed, {0, 1}), 4) - (1 - 1e-2)) <= 1e-12);
    // On the reversed tuple the factors follow the gate's qubit order.
    const noise::NoiseModel reversed = noise::NoiseModel::from_calibration(qubits, {{"cx", {1, 0}, 1e-2, 0.3, ""}});
    const auto placed10 = reversed.channels_after("cx", {1, 0});
    REQUIRE(placed10.size() == 3);
    check_placed(placed10[1], superop(noise::thermal_relaxation(80, 160, 0.3, 0.02)), {1});
    check_placed(placed10[2], superop(noise::thermal_relaxation(50, 70, 0.3)), {0});
    // The calibration is for cx(0, 1): cx(1, 0) is another gate and gets none of it.
    CHECK(m.channels_after("cx", {1, 0}).empty());
  }
  SECTION("a gate of zero duration gets only depolarising noise") {
    const auto placed = m.channels_after("x", {1});
    REQUIRE(placed.size() == 1);
    CHECK(std::abs(average_fidelity(total_superop(placed, {1}), 2) - (1 - 3e-3)) <= 1e-12);
  }
  SECTION("an error above the maximum d / (d + 1) is clipped; the parameter stops at 4^k / (4^k - 1)") {
    // No relaxation (time 0): e = min(1, 2/3), lambda = 2 e / (2 - 1) = 4/3, the maximum: p = 1.
    const noise::NoiseModel broken = noise::NoiseModel::from_calibration(qubits, {{"x", {1}, 1.0, 0.0, ""}});
    const auto placed = broken.channels_after("x", {1});
    REQUIRE(placed.size() == 1);
    check_placed(placed[0], depolarizing_1q(1.0), {1});
    CHECK(std::abs(average_fidelity(total_superop(placed, {1}), 2) - 1.0 / 3) <= 1e-12);
  }
  SECTION("readout from the qubit figures; the JSON calibration section gives the same model and a device") {
    const noise::ReadoutModel ro = m.readout_model(2);
    REQUIRE(ro.errors().size() == 1);
    CHECK(ro.errors()[0].qubits == std::vector<int>{1});
    CHECK(ro.errors()[0].confusion == std::vector<double>{0.99, 0.01, 0.03, 0.97});
    const std::vector<noise::GateCalibration> first_three(gates.begin(), gates.begin() + 3);
    const noise::NoiseModel from_json = noise::NoiseModel::from_json_file(data_path("calibration.json"));
    check_same_model(noise::NoiseModel::from_calibration(qubits, first_three), from_json);
    CHECK_FALSE(m.device.has_value());
    REQUIRE(from_json.device.has_value());
    CHECK(from_json.device_qubits() == 2);
    CHECK(from_json.device->name.empty());
    CHECK(from_json.gate_noise[0].gate_paths == std::vector<std::string>{"calibration.gates[0].gate"});
  }
}

// ---- Qiskit Aer format -----------------------------------------------------------------------------

namespace {

// Every (gate, qubits) placement of interest on 3 qubits must give the same channels in two models.
void check_same_placements(const noise::NoiseModel& a, const noise::NoiseModel& b, const std::vector<std::string>& gates1,
                           const std::vector<std::string>& gates2) {
  std::vector<std::pair<std::string, std::vector<int>>> probes;
  for (const std::string& g : gates1)
    for (int q = 0; q < 3; ++q) probes.push_back({g, {q}});
  for (const std::string& g : gates2)
    for (const std::vector<int>& t : ref::ordered_tuples(3, 2)) probes.push_back({g, t});
  for (const auto& [gate, qubits] : probes) {
    CAPTURE(gate, qubits);
    const auto pa = a.channels_after(gate, qubits), pb = b.channels_after(gate, qubits);
    // Compare the total effect (the exported form may merge or split channels).
    CHECK(ref::max_abs_diff(total_superop(pa, qubits), total_superop(pb, qubits)) <= 1e-10);
  }
}

}  // namespace

TEST_CASE("to_aer_json then from_aer_json gives the same channels and readout", "[noise][model][aer]") {
  const noise::NoiseModel m = noise::NoiseModel::from_json(R"({
    "gate_noise": [
      {"gates": ["h", "rx"], "qubits": [0, 2], "channel": {"type": "depolarizing", "p": 0.01, "num_qubits": 1}},
      {"gates": ["sx"], "channel": {"type": "thermal_relaxation", "t1": 50, "t2": 30, "time": 0.5, "excited_population": 0.1}},
      {"gates": ["cx"], "channel": {"type": "depolarizing", "p": 0.02, "num_qubits": 2}},
      {"gates": ["cx"], "channel": {"type": "pauli", "probabilities": {"XZ": 0.05, "YI": 0.01}}},
      {"gates": ["x", "sx"], "qubits": [1], "channel": {"type": "amplitude_damping", "gamma": 0.19}},
      {"gates": ["rz"], "channel": {"type": "coherent_overrotation", "axis": "z", "angle": 0.1}}
    ],
    "readout": [
      {"qubits": [0], "p1_given_0": 0.02, "p0_given_1": 0.05},
      {"qubits": [2, 1], "matrix": [[0.9, 0.05, 0.03, 0.02], [0.04, 0.9, 0.01, 0.05], [0.02, 0.03, 0.92, 0.03], [0.01, 0.02, 0.07, 0.9]]}
    ]})");
  const std::string aer = m.to_aer_json(3);
  const noise::NoiseModel back = noise::NoiseModel::from_aer_json(aer, "export");
  check_same_placements(m, back, {"h", "rx", "sx", "x", "rz", "y"}, {"cx", "cz"});
  ref::Rng rng(75);
  check_same_readout(m.readout_model(3), back.readout_model(3), 3, rng);
  // Twice round: still the same.
  const noise::NoiseModel again = noise::NoiseModel::from_aer_json(back.to_aer_json(3));
  check_same_placements(m, again, {"h", "rx", "sx", "x", "rz"}, {"cx"});

  SECTION("what Aer cannot express is refused") {
    const noise::NoiseModel issue = noise::NoiseModel::from_json(kIssueExample);
    CHECK_THROWS_AS(issue.to_aer_json(3), noise::NoiseModelError);  // idle noise and "*"
    const noise::NoiseModel star =
        noise::NoiseModel::from_json(R"({"gate_noise": [{"gates": ["*"], "channel": {"type": "bit_flip", "p": 0.1}}]})");
    CHECK(contains(error_of([&] { star.to_aer_json(3); }), "gate_noise[0]"));
    const noise::NoiseModel open =
        noise::NoiseModel::from_json(R"({"gate_noise": [{"gates": ["h"], "channel": {"type": "depolarizing", "p": 0.1}}]})");
    CHECK(contains(error_of([&] { open.to_aer_json(3); }), "num_qubits"));
  }
}

TEST_CASE("to_aer_json then from_aer_json keeps a 2-qubit rule restricted to qubits", "[noise][model][aer]") {
  // A pauli "XZ" after cz on qubits {1, 2} acts once after cz(1, 2) (X on 1, Z on 2) and once after
  // cz(2, 1) (X on 2, Z on 1). The export lists both orders as Aer gate_qubits; the import must not
  // apply both tuples to one gate.
  const noise::NoiseModel m = noise::NoiseModel::from_json(
      R"({"gate_noise": [{"gates": ["cz"], "qubits": [1, 2], "channel": {"type": "pauli", "probabilities": {"XZ": 0.05}}}]})");
  const noise::NoiseModel back = noise::NoiseModel::from_aer_json(m.to_aer_json(3));
  for (const std::vector<int>& qubits : ref::ordered_tuples(3, 2)) {
    CAPTURE(qubits);
    const auto pa = m.channels_after("cz", qubits), pb = back.channels_after("cz", qubits);
    CHECK(pa.size() == pb.size());
    CHECK(ref::max_abs_diff(total_superop(pa, qubits), total_superop(pb, qubits)) <= 1e-10);
  }
}

TEST_CASE("a hand-written Qiskit Aer noise dict is read with the right channels", "[noise][model][aer]") {
  const noise::NoiseModel m = noise::NoiseModel::from_aer_json(read_text(data_path("aer_channels_md.json")), "aer.json");
  SECTION("pauli qerror on cx [[0, 1]]: 0.99 II + 0.01 XZ, little-endian (Z on qubit 0, X on qubit 1)") {
    const auto placed = m.channels_after("cx", {0, 1});
    REQUIRE(placed.size() == 1);
    CHECK(placed[0].qubits == std::vector<int>{0, 1});
    // arma::kron(X, Z): X on the more significant bit = the second listed qubit (1).
    check_placed(placed[0],
                 ref::superoperator_from_kraus({std::sqrt(0.99) * eye(4),
                                                std::sqrt(0.01) * arma::kron(ref::pauli('X'), ref::pauli('Z'))}),
                 {0, 1});
    CHECK(m.channels_after("cx", {1, 2}).empty());
  }
  SECTION("kraus qerror on sx and x, all qubits: amplitude damping with gamma = 0.19") {
    for (const char* gate : {"sx", "x"}) {
      for (int q = 0; q < 3; ++q) {
        CAPTURE(gate, q);
        const auto placed = m.channels_after(gate, {q});
        REQUIRE(placed.size() == 1);
        check_placed(placed[0], amplitude_damping(0.19), {q});
      }
    }
    CHECK(m.channels_after("h", {0}).empty());
  }
  SECTION("roerror [[0.98, 0.02], [0.05, 0.95]] on qubit 0") {
    REQUIRE(m.readout.size() == 1);
    CHECK(m.readout[0].qubits == std::vector<int>{0});
    CHECK(m.readout[0].p1_given_0 == 0.02);
    CHECK(m.readout[0].p0_given_1 == 0.05);
    const noise::ReadoutModel ro = m.readout_model(2);
    REQUIRE(ro.errors().size() == 1);
    CHECK(ro.errors()[0].confusion == std::vector<double>{0.98, 0.02, 0.05, 0.95});
  }
}

TEST_CASE("Aer gate_qubits are ordered tuples: an error on cx [[0, 1]] does not follow cx(1, 0)", "[noise][model][aer]") {
  // In Qiskit Aer, add_quantum_error(err, "cx", [0, 1]) is direction-sensitive: cx(1, 0) gets no noise.
  const noise::NoiseModel m = noise::NoiseModel::from_aer_json(read_text(data_path("aer_channels_md.json")), "aer.json");
  CHECK(m.channels_after("cx", {1, 0}).empty());
}

TEST_CASE("Aer reset, id/x/z and unitary instructions and correlated roerrors are read", "[noise][model][aer]") {
  // thermal_relaxation_error(t1, t2, time, p1) for T2 <= T1 as Aer writes it: a mixture of id, z, reset,
  // and reset followed by x.
  const double t1 = 50, t2 = 30, time = 10, e = 0.2;
  const double pr = 1 - std::exp(-time / t1), pz = (1 - pr) * (1 - std::exp(-time * (1 / t2 - 1 / t1))) / 2;
  const double p0 = (1 - e) * pr, p1 = e * pr, pid = 1 - pz - p0 - p1;
  const double angle = 0.3;
  std::ostringstream text;
  text.precision(17);
  text << R"({"errors": [
    {"type": "qerror", "operations": ["sx"], "gate_qubits": [[1]],
     "instructions": [[{"name": "id", "qubits": [0]}], [{"name": "z", "qubits": [0]}], [{"name": "reset", "qubits": [0]}],
                      [{"name": "reset", "qubits": [0]}, {"name": "x", "qubits": [0]}]],
     "probabilities": [)"
       << pid << ", " << pz << ", " << p0 << ", " << p1 << R"(]},
    {"type": "qerror", "operations": ["rx"],
     "instructions": [[{"name": "unitary", "qubits": [0], "params": [[[[)"
       << std::cos(angle / 2) << R"(, 0], [0, )" << -std::sin(angle / 2) << R"(]], [[0, )" << -std::sin(angle / 2)
       << R"(], [)" << std::cos(angle / 2) << R"(, 0]]]]}]],
     "probabilities": [1.0]},
    {"type": "qerror", "operations": ["cz"], "gate_qubits": [[2, 0]],
     "instructions": [[{"name": "pauli", "qubits": [1], "params": ["Y"]}], [{"name": "id", "qubits": [0]}]],
     "probabilities": [0.25, 0.75]},
    {"type": "roerror", "operations": ["measure"], "gate_qubits": [[1, 0]],
     "probabilities": [[0.9, 0.05, 0.03, 0.02], [0.04, 0.9, 0.01, 0.05], [0.02, 0.03, 0.92, 0.03], [0.01, 0.02, 0.07, 0.9]]},
    {"type": "roerror", "operations": ["measure"], "probabilities": [[0.97, 0.03], [0.1, 0.9]]}
  ]})";
  const noise::NoiseModel m = noise::NoiseModel::from_aer_json(text.str(), "aer.json");
  const auto sx = m.channels_after("sx", {1});
  REQUIRE(sx.size() == 1);
  check_placed(sx[0], superop(noise::thermal_relaxation(t1, t2, time, e)), {1});
  CHECK(m.channels_after("sx", {0}).empty());
  const auto rx = m.channels_after("rx", {2});
  REQUIRE(rx.size() == 1);
  check_placed(rx[0], superop(noise::coherent_overrotation('x', angle)), {2});
  // A 2-qubit error whose only non-identity instruction is on its second qubit (Y on qubit 0 of cz(2, 0)).
  const auto cz = m.channels_after("cz", {2, 0});
  REQUIRE(cz.size() == 1);
  check_placed(cz[0],
               ref::superoperator_from_kraus({std::sqrt(0.75) * eye(4), std::sqrt(0.25) * arma::kron(ref::pauli('Y'), ref::pauli('I'))}),
               {2, 0});
  // Readout: the correlated matrix on (1, 0) and the per-qubit error on all qubits.
  REQUIRE(m.readout.size() == 2);
  CHECK(m.readout[0].qubits == std::vector<int>{1, 0});
  CHECK(m.readout[0].matrix.size() == 16);
  CHECK(m.readout[1].all_qubits);
  CHECK(m.readout[1].p1_given_0 == 0.03);
  CHECK(m.readout[1].p0_given_1 == 0.1);

  SECTION("unsupported or broken Aer input is refused with the error's path") {
    const std::string unsupported = error_of([] {
      noise::NoiseModel::from_aer_json(
          R"({"errors": [{"type": "qerror", "operations": ["x"], "instructions": [[{"name": "h", "qubits": [0]}]], "probabilities": [1.0]}]})",
          "aer.json");
    });
    INFO(unsupported);
    CHECK(contains(unsupported, "aer.json"));
    CHECK(contains(unsupported, "errors[0].instructions[0][0]"));
    CHECK(contains(error_of([] { noise::NoiseModel::from_aer_json("{\"errors\": [", "aer.json"); }), "invalid JSON"));
    CHECK(contains(error_of([] {
                     noise::NoiseModel::from_aer_json(R"({"errors": [{"type": "plerror", "operations": ["x"]}]})", "aer.json");
                   }),
                   "errors[0].type"));
    CHECK(contains(error_of([] {
                     noise::NoiseModel::from_aer_json(
                         R"({"errors": [{"type": "qerror", "operations": ["x"], "instructions": [[{"name": "x", "qubits": [0]}]], "probabilities": [0.5]}]})",
                         "aer.json");
                   }),
                   "errors[0]"));  // probabilities not summing to 1: not trace preserving
    CHECK_THROWS_AS(noise::NoiseModel::from_aer_json(R"({"gate_noise": []})"), noise::NoiseModelError);
  }
}

// ---- hostile input (issue 11, items 2, 3, 5 and 8) ------------------------------------------------

namespace {

std::string hardening_path(const std::string& name) { return data_path("hardening/" + name); }

// The error of f, which must be a NoiseModelError and come within `seconds` (generous: the
// sanitizer build runs these too; before the fixes the same inputs took 12 s or crashed).
std::string quick_error_of(const std::function<void()>& f, double seconds = 5.0) {
  const auto start = std::chrono::steady_clock::now();
  const std::string message = error_of(f);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO(message);
  CHECK(elapsed < seconds);
  CHECK_FALSE(contains(message, "not a NoiseModelError"));
  CHECK_FALSE(contains(message, "json.exception"));
  return message;
}

std::string nested_tensor(int levels) {
  std::string c = R"({"gate_noise": [{"gates": ["h"], "channel": )";
  for (int i = 0; i < levels; ++i) c += R"({"type": "tensor", "channels": [)";
  c += R"({"type": "bit_flip", "p": 0.01})";
  for (int i = 0; i < levels; ++i) c += "]}";
  return c + "}]}";
}

bool has_control_byte(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

}  // namespace

TEST_CASE("hardening: tensor channels nest at most 8 levels; deeper JSON is refused before parsing",
          "[noise][model][json][hardening]") {
  // 8 tensor levels are accepted and are the bit flip itself.
  const noise::NoiseModel eight = noise::NoiseModel::from_json_file(hardening_path("tensor_nested_8.json"));
  const auto placed = eight.channels_after("h", {0});
  REQUIRE(placed.size() == 1);
  check_placed(placed[0], ref::superoperator_from_kraus({std::sqrt(0.99) * eye(2), std::sqrt(0.01) * ref::pauli('X')}), {0});
  // The 9th level is refused at its path, before its factors are read.
  const std::string nine = quick_error_of([] { noise::NoiseModel::from_json_file(hardening_path("tensor_nested_9.json")); });
  std::string path = "gate_noise[0].channel";
  for (int i = 0; i < 8; ++i) path += ".channels[0]";
  CHECK(nine == hardening_path("tensor_nested_9.json") + ": " + path + ": tensor channels nest at most 8 levels deep");
  // The issue's 8 000 levels (a stack overflow before) and 1 000 levels (12 s): the JSON nesting
  // limit refuses them at the byte where depth 65 opens.
  for (int levels : {1000, 8000}) {
    CAPTURE(levels);
    const std::string text = nested_tensor(levels);
    const std::string message = quick_error_of([&] { noise::NoiseModel::from_json(text, "deep.json"); });
    CHECK(message.rfind("deep.json:1:", 0) == 0);
    CHECK(contains(message, "JSON nested deeper than 64 levels"));
  }
  const std::string text = nested_tensor(8000);
  std::size_t depth = 0, at = 0;
  for (; at < text.size(); ++at) {
    if ((text[at] == '[' || text[at] == '{') && ++depth == 65) break;
    if (text[at] == ']' || text[at] == '}') --depth;
  }
  CHECK(quick_error_of([&] { noise::NoiseModel::from_json(text, "deep.json"); }) ==
        "deep.json:1:" + std::to_string(at + 1) + ": JSON nested deeper than 64 levels");
}

TEST_CASE("hardening: arrays or objects nested 100 000 deep anywhere are refused with file:line:col",
          "[noise][model][json][hardening]") {
  const std::string arrays = "{\n\"readout\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  std::string objects = "{\n\"x\":";
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(100000, '}') + "}";
  for (const std::string* text : {&arrays, static_cast<const std::string*>(&objects)}) {
    // Column 12 (arrays) or 6 (objects) of line 2 opens the 65th level.
    const std::string where = text == &arrays ? "doc.json:2:75: " : "doc.json:2:";
    const std::string message = quick_error_of([&] { noise::NoiseModel::from_json(*text, "doc.json"); });
    CHECK(message.rfind(where, 0) == 0);
    CHECK(contains(message, "JSON nested deeper than 64 levels"));
    const std::string aer = quick_error_of([&] { noise::NoiseModel::from_aer_json(*text, "aer.json"); });
    CHECK(aer.rfind("aer.json:2:", 0) == 0);
  }
  // Brackets inside strings do not count.
  CHECK(contains(error_of([] { noise::NoiseModel::from_json("{\"g" + std::string(1000, '[') + "\": 1}", "s.json"); }),
                 "unknown key"));
}

TEST_CASE("hardening: matrix shapes are checked before anything is allocated", "[noise][model][json][hardening]") {
  // The issue's Kraus operator of 20 000 and 40 000 one-element rows (6.3 GB, then bad_alloc, before).
  for (int rows : {20000, 40000}) {
    CAPTURE(rows);
    std::string m = "[";
    for (int r = 0; r < rows; ++r) m += std::string(r ? "," : "") + "[[1,0]]";
    m += "]";
    const std::string kraus = R"({"gate_noise": [{"gates": ["h"], "channel": {"type": "kraus", "operators": [)" + m + "]}}]}";
    CHECK(quick_error_of([&] { noise::NoiseModel::from_json(kraus, "k.json"); }) ==
          "k.json: gate_noise[0].channel.operators[0]: expected a 2x2 or 4x4 matrix: a list of rows of [re, im] pairs "
          "(got " + std::to_string(rows) + " rows)");
    const std::string aer = R"({"errors": [{"type": "qerror", "operations": ["x"], "probabilities": [1], )"
                            R"("instructions": [[{"name": "kraus", "qubits": [0], "params": [)" + m + "]}]]}]}";
    CHECK(contains(quick_error_of([&] { noise::NoiseModel::from_aer_json(aer, "a.json"); }),
                   "a.json: errors[0].instructions[0][0].params[0]: expected a 2x2 matrix"));
    std::string p = "[";
    for (int r = 0; r < rows; ++r) p += std::string(r ? "," : "") + "[1]";
    p += "]";
    CHECK(quick_error_of([&] { noise::NoiseModel::from_json(R"({"readout": [{"qubits": [0], "matrix": )" + p + "}]}", "r.json"); }) ==
          "r.json: readout[0].matrix: expected 2 rows of probabilities");
    CHECK(contains(quick_error_of([&] {
                     noise::NoiseModel::from_aer_json(R"({"errors": [{"type": "roerror", "operations": ["measure"], "probabilities": )" + p + "}]}",
                                                      "a.json");
                   }),
                   "a.json: errors[0].probabilities: expected 2^m rows"));
  }
  // A correlated readout matrix on 11 qubits is refused from its qubit list, before its 2^22 entries.
  CHECK(quick_error_of([] {
          noise::NoiseModel::from_json(R"({"readout": [{"qubits": [0,1,2,3,4,5,6,7,8,9,10], "matrix": []}]})", "r.json");
        }) == "r.json: readout[0].qubits: a correlated readout matrix acts on at most 10 qubits");
  // A ragged row is found before the matrix is read.
  CHECK(quick_error_of([] {
          noise::NoiseModel::from_json(R"({"gate_noise": [{"gates": ["h"], "channel": {"type": "kraus", "operators": [[[1, 0], [0]]]}}]})",
                                       "k.json");
        }) == "k.json: gate_noise[0].channel.operators[0][1]: expected a row of 2 [re, im] pairs (the matrix must be square)");
}

TEST_CASE("hardening: JSON library errors become messages with the file and line or path", "[noise][model][json][hardening]") {
  // The issue's {"p": 1e400}: line 2, column 57 is where the number starts.
  const std::string overflow = quick_error_of([] { noise::NoiseModel::from_json_file(hardening_path("number_overflow.json")); });
  CHECK(overflow == hardening_path("number_overflow.json") + ":2:57: number 1e400 is out of range (beyond +-1.8e308)");
  CHECK(quick_error_of([] { noise::NoiseModel::from_aer_json(R"({"errors": [-1e999]})", "a.json"); }) ==
        "a.json:1:13: number -1e999 is out of range (beyond +-1.8e308)");
  // A million digits: out of range, or (after "0.") underflow to 0, in bounded time.
  CHECK(contains(quick_error_of([] {
                   noise::NoiseModel::from_json(R"({"gate_noise": [{"gates": ["h"], "channel": {"type": "bit_flip", "p": )" +
                                                    std::string(1000000, '1') + "}}]}",
                                                "m.json");
                 }),
                 "m.json:1:71: number 1111"));
  const auto start = std::chrono::steady_clock::now();
  const noise::NoiseModel zero = noise::NoiseModel::from_json(
      R"({"gate_noise": [{"gates": ["h"], "channel": {"type": "bit_flip", "p": 0.)" + std::string(1000000, '0') + "1}}]}");
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 5.0);
  CHECK(zero.gate_noise.at(0).channel.params.at("p") == 0.0);
  // Wrong types where the readers expected others (type_error before).
  CHECK(quick_error_of([] { noise::NoiseModel::from_json(R"({"gate_noise": [{"gates": ["h"], "channel": {"type": 7}}]})", "m.json"); }) ==
        "m.json: gate_noise[0].channel.type: expected the channel type (a string)");
  CHECK(quick_error_of([] { noise::NoiseModel::from_aer_json(R"({"errors": [{"type": 1}]})", "a.json"); }) ==
        "a.json: errors[0].type: expected qerror or roerror (a string)");
  CHECK(quick_error_of([] {
          noise::NoiseModel::from_aer_json(R"({"errors": [{"type": "qerror", "operations": ["x"], "probabilities": [1], )"
                                           R"("instructions": [[{"name": "x", "qubits": ["0"]}]]}]})",
                                           "a.json");
        }) == "a.json: errors[0].instructions[0][0].qubits[0]: expected an integer in [0, 62]");
  // Missing members of const objects (undefined behaviour in the Aer reader before).
  CHECK(quick_error_of([] { noise::NoiseModel::from_aer_json(R"({"errors": [{"type": "qerror"}]})", "a.json"); }) ==
        "a.json: errors[0].probabilities: missing: a list of probabilities");
  CHECK(quick_error_of([] { noise::NoiseModel::from_aer_json(R"({"errors": [{"type": "roerror", "probabilities": [[1, 0], [0]]}]})", "a.json"); }) ==
        "a.json: errors[0].probabilities[1]: expected a row of 2 probabilities");
  // Duplicate keys were silently the last one.
  CHECK(quick_error_of([] { noise::NoiseModel::from_json_file(hardening_path("duplicate_key.json")); }) ==
        hardening_path("duplicate_key.json") + ": gate_noise[0].channel.p: duplicate key");
  // NaN and Infinity are not JSON.
  for (const char* literal : {"NaN", "Infinity", "-Infinity"}) {
    CAPTURE(literal);
    CHECK(quick_error_of([&] {
            noise::NoiseModel::from_json(std::string(R"({"gate_noise": [{"gates": ["h"], "channel": {"type": "bit_flip", "p": )") +
                                             literal + "}}]}",
                                         "m.json");
          }).rfind("m.json:1:", 0) == 0);
  }
}

TEST_CASE("hardening: integers are range-checked, underflow reads as 0, control bytes are escaped, CR ends lines",
          "[noise][model][json][hardening]") {
  // 4294967297 wrapped to 1 before.
  CHECK(quick_error_of([] { noise::NoiseModel::from_json_file(hardening_path("num_qubits_wrap.json")); }) ==
        hardening_path("num_qubits_wrap.json") + ": gate_noise[0].channel.num_qubits: 4294967297 is not an integer in [1, 3]");
  const std::string h = R"({"gate_noise": [{"gates": ["h"], )";
  for (const char* value : {"2.5", "2.0", "-1", "18446744073709551615", "1e3"}) {
    CAPTURE(value);
    CHECK(contains(quick_error_of([&] {
                     noise::NoiseModel::from_json(h + R"("channel": {"type": "depolarizing", "p": 0.1, "num_qubits": )" + value + "}}]}",
                                                  "m.json");
                   }),
                   "m.json: gate_noise[0].channel.num_qubits: "));
    CHECK(contains(quick_error_of([&] {
                     noise::NoiseModel::from_json(h + R"("qubits": [)" + value + R"(], "channel": {"type": "bit_flip", "p": 0.1}}]})",
                                                  "m.json");
                   }),
                   "m.json: gate_noise[0].qubits[0]: "));
  }
  // 1e-400 is 0 in double and 4.9e-324 the smallest denormal: both read as strtod gives them.
  const noise::NoiseModel tiny = noise::NoiseModel::from_json_file(hardening_path("number_underflow.json"));
  REQUIRE(tiny.gate_noise.size() == 2);
  CHECK(tiny.gate_noise[0].channel.params.at("p") == 0.0);
  CHECK(tiny.gate_noise[1].channel.params.at("p") == std::strtod("4.9e-324", nullptr));
  CHECK(tiny.gate_noise[1].channel.params.at("p") > 0.0);
  // A key with NUL and ESC (a terminal colour sequence) is echoed escaped.
  const std::string control = quick_error_of([] { noise::NoiseModel::from_json_file(hardening_path("control_key.json")); });
  CHECK(control == hardening_path("control_key.json") +
                       ": gate_noise[0].channel.q\\x00\\x1b[31m: a bit_flip channel has no parameter 'q\\x00\\x1b[31m'");
  CHECK_FALSE(has_control_byte(control));
  CHECK_FALSE(has_control_byte(quick_error_of([] {
    noise::NoiseModel::from_json(R"({"gate_noise": [{"gates": ["h\u0007"], "channel": {"type": "bit_flip", "p": 0.1}}]})", "m.json");
  })));
  CHECK_FALSE(has_control_byte(quick_error_of([] { noise::NoiseModel::from_json(std::string("{\"a\u007f\x01") + "\": 1}", "m.json"); })));
  // A 1 MB key is echoed cut to 64 bytes.
  CHECK(quick_error_of([] { noise::NoiseModel::from_json("{\"" + std::string(1 << 20, 'k') + "\": 1}", "m.json"); }) ==
        "m.json: " + std::string(64, 'k') + "...: unknown key (expected one of: device, gate_noise, idle_noise, readout, calibration)");
  // CR-only line ends: the second comma is on line 3, column 21 (as with "\n" and "\r\n").
  CHECK(quick_error_of([] { noise::NoiseModel::from_json_file(hardening_path("cr_only_syntax.json")); })
            .rfind(hardening_path("cr_only_syntax.json") + ":3:21: invalid JSON", 0) == 0);
  const std::string lf = read_text(hardening_path("cr_only_syntax.json"));
  for (const std::string& end : {std::string("\n"), std::string("\r\n")}) {
    std::string text;
    for (char c : lf) text += c == '\r' ? end : std::string(1, c);
    CHECK(error_of([&] { noise::NoiseModel::from_json(text, "m.json"); }).rfind("m.json:3:21: invalid JSON", 0) == 0);
  }
}

TEST_CASE("hardening: every value of valid models replaced by hostile ones gives a NoiseModelError or a model",
          "[noise][model][json][hardening]") {
  // Each node of the shipped test models in turn becomes each hostile value; the readers must
  // answer with a model or a NoiseModelError naming the source, never another exception, a JSON
  // library message or a raw control byte.
  const std::vector<nlohmann::ordered_json> hostile = {
      nullptr, "", std::string(1, '\0'), -1, 4294967297LL, 2.5, 1e300, -1e300, nlohmann::ordered_json::array(),
      nlohmann::ordered_json::object(), nlohmann::ordered_json::array({nlohmann::ordered_json::array({1})}),
      nlohmann::ordered_json::parse(R"({"type": "tensor", "channels": []})")};
  struct Doc {
    std::string file;
    bool aer;
  };
  std::size_t runs = 0;
  for (const Doc& doc : {Doc{"every_channel.json", false}, Doc{"calibration.json", false}, Doc{"issue_example.json", false},
                         Doc{"aer_channels_md.json", true}}) {
    const nlohmann::ordered_json original = nlohmann::ordered_json::parse(read_text(data_path(doc.file)));
    std::vector<nlohmann::ordered_json::json_pointer> pointers;
    const nlohmann::ordered_json flat = original.flatten();
    for (auto it = flat.begin(); it != flat.end(); ++it) {
      // Every leaf and every container above it.
      for (auto p = nlohmann::ordered_json::json_pointer(it.key()); !p.empty(); p = p.parent_pointer()) {
        if (std::find(pointers.begin(), pointers.end(), p) == pointers.end()) pointers.push_back(p);
      }
    }
    for (const auto& pointer : pointers) {
      for (const nlohmann::ordered_json& value : hostile) {
        nlohmann::ordered_json mutated = original;
        mutated[pointer] = value;
        const std::string text = mutated.dump();
        std::string message;
        try {
          if (doc.aer) {
            noise::NoiseModel::from_aer_json(text, "hostile.json");
          } else {
            noise::NoiseModel::from_json(text, "hostile.json");
          }
        } catch (const noise::NoiseModelError& e) {
          message = e.what();
          if (message.rfind("hostile.json", 0) != 0 || contains(message, "json.exception") || has_control_byte(message)) {
            FAIL_CHECK(doc.file << " " << pointer.to_string() << " = " << value.dump() << ": " << message);
          }
        } catch (const std::exception& e) {
          FAIL_CHECK(doc.file << " " << pointer.to_string() << " = " << value.dump() << ": not a NoiseModelError: " << e.what());
        }
        ++runs;
      }
    }
  }
  CHECK(runs > 1000);
}

// ---- the device block and fitting to a register ----------------------------------------------------

TEST_CASE("the device block: read, written back, checked against the model's qubits", "[noise][model][device]") {
  const std::string text = R"({"device": {"name": "ibmq_test", "num_qubits": 3, "basis_gates": ["sx", "cx"],
                                          "coupling_map": [[0, 1], [1, 2]]},
    "gate_noise": [{"gates": ["cx"], "gate_qubits": [[1, 2]], "channel": {"type": "depolarizing", "p": 0.01}}],
    "readout": [{"qubits": [2], "p1_given_0": 0.01, "p0_given_1": 0.02}]})";
  const noise::NoiseModel m = noise::NoiseModel::from_json(text, "dev.json");
  REQUIRE(m.device.has_value());
  CHECK(m.device->name == "ibmq_test");
  CHECK(m.device_qubits() == 3);
  CHECK(m.device->basis_gates == std::vector<std::string>{"sx", "cx"});
  CHECK(m.device->coupling_map == std::vector<std::pair<int, int>>{{0, 1}, {1, 2}});
  const noise::NoiseModel back = noise::NoiseModel::from_json(m.to_json());
  CHECK(back.to_json() == m.to_json());
  CHECK(back.device->coupling_map == m.device->coupling_map);
  CHECK(noise::NoiseModel::from_json(R"({"device": {"num_qubits": 2}})").device_qubits() == 2);
  CHECK(noise::NoiseModel::from_json("{}").device_qubits() == 0);
  // A copy and a scaled model keep the device.
  const noise::NoiseModel copy = m;
  CHECK(copy.device_qubits() == 3);
  CHECK(m.scaled(2).device_qubits() == 3);

  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"device": {"name": "x"}})", "dev.json: device.num_qubits: missing"},
      {R"({"device": {"num_qubits": 0}})", "dev.json: device.num_qubits: 0 is not an integer in [1, 63]"},
      {R"({"device": {"num_qubits": 2, "coupling_map": [[0, 2]]}})",
       "dev.json: device.coupling_map[0][1]: qubit 2 is not on the device (device.num_qubits is 2)"},
      {R"({"device": {"num_qubits": 2, "coupling_map": [[1, 1]]}})", "dev.json: device.coupling_map[0]: an edge joins"},
      {R"({"device": {"num_qubits": 2, "coupling_map": [[0, 1, 1]]}})", "dev.json: device.coupling_map[0]: expected a pair"},
      {R"({"device": {"num_qubits": 2, "basis_gates": ["c x"]}})", "dev.json: device.basis_gates[0]: 'c x' is not a gate name"},
      {R"({"device": {"num_qubits": 2, "qubits": 2}})", "dev.json: device.qubits: unknown key"},
      {R"({"device": {"num_qubits": 2}, "gate_noise": [{"gates": ["x"], "qubits": [0, 2], "channel": {"type": "bit_flip", "p": 0.1}}]})",
       "dev.json: gate_noise[0].qubits[1]: qubit 2 is not on the device (device.num_qubits is 2)"},
      {R"({"device": {"num_qubits": 2}, "gate_noise": [{"gates": ["cx"], "gate_qubits": [[0, 1], [1, 3]], "channel": {"type": "bit_flip", "p": 0.1}}]})",
       "dev.json: gate_noise[0].gate_qubits[1][1]: qubit 3 is not on the device"},
      {R"({"device": {"num_qubits": 2}, "readout": [{"qubits": [4], "p1_given_0": 0.1, "p0_given_1": 0.1}]})",
       "dev.json: readout[0].qubits[0]: qubit 4 is not on the device"},
      {R"({"device": {"num_qubits": 1}, "calibration": {"qubits": [{"t1": 50, "t2": 40}, {"t1": 50, "t2": 40}]}})",
       "dev.json: calibration.qubits: 2 qubits, but device.num_qubits is 1"},
  };
  for (const auto& [doc, message] : bad) {
    CAPTURE(doc);
    const std::string e = error_of([&] { noise::NoiseModel::from_json(doc, "dev.json"); });
    CAPTURE(e);
    CHECK(e.rfind(message, 0) == 0);
  }
}

TEST_CASE("fitted(): rules, readout and device renumbered to the register, the rest dropped", "[noise][model][device]") {
  const noise::NoiseModel m = noise::NoiseModel::from_json(R"({
    "device": {"name": "d", "num_qubits": 6, "basis_gates": ["x", "cx"], "coupling_map": [[4, 1], [1, 4], [2, 3], [5, 4]]},
    "gate_noise": [
      {"gates": ["x"], "qubits": [1, 2, 4], "channel": {"type": "bit_flip", "p": 0.1}},
      {"gates": ["x"], "qubits": [0, 3], "channel": {"type": "bit_flip", "p": 0.2}},
      {"gates": ["cx"], "gate_qubits": [[4, 1], [1, 2], [5, 4]], "channel": {"type": "depolarizing", "p": 0.01}},
      {"gates": ["cx"], "gate_qubits": [[0, 1]], "channel": {"type": "depolarizing", "p": 0.02}},
      {"gates": ["*"], "channel": {"type": "phase_flip", "p": 0.03}}],
    "idle_noise": {"type": "phase_damping", "lambda": 0.001},
    "readout": [{"qubits": [0, 1, 4], "p1_given_0": 0.01, "p0_given_1": 0.02},
                {"qubits": [2], "p1_given_0": 0.03, "p0_given_1": 0.04},
                {"qubits": [5, 3], "matrix": [[0.9, 0.1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]}]})");
  // Register qubits 0, 1, 2 are device qubits 4, 1, 2.
  std::vector<std::string> dropped;
  const noise::NoiseModel f = m.fitted({4, 1, 2}, &dropped);
  REQUIRE(f.gate_noise.size() == 3);
  CHECK(f.gate_noise[0].qubits == std::vector<int>{1, 2, 0});  // device 1, 2, 4
  CHECK(f.gate_noise[0].channel.params.at("p") == 0.1);
  CHECK(f.gate_noise[1].gate_qubits == std::vector<std::vector<int>>{{0, 1}, {1, 2}});  // (4,1), (1,2); (5,4) dropped
  CHECK(f.gate_noise[2].gates == std::vector<std::string>{"*"});
  CHECK(f.idle_noise.has_value());
  REQUIRE(f.readout.size() == 2);
  CHECK(f.readout[0].qubits == std::vector<int>{1, 0});  // device 1, 4
  CHECK(f.readout[0].p1_given_0 == 0.01);
  CHECK(f.readout[1].qubits == std::vector<int>{2});
  REQUIRE(dropped.size() == 1);
  CHECK(dropped[0] == "readout[2]: the correlated readout error on device qubits 5, 3 is dropped (not all of them are "
                      "in the register)");
  CHECK(m.fitted({3, 4}, &dropped).readout.size() == 1);  // qubit 5 of the group is missing
  CHECK(dropped.size() == 2);
  REQUIRE(f.device.has_value());
  CHECK(f.device->num_qubits == 3);
  CHECK(f.device->name == "d");
  CHECK(f.device->basis_gates == m.device->basis_gates);
  CHECK(f.device->coupling_map == std::vector<std::pair<int, int>>{{0, 1}, {1, 0}});
  // The same channels land on the register's qubits as on the device's.
  CHECK(f.channels_after("cx", {0, 1}).size() == m.channels_after("cx", {4, 1}).size());
  CHECK(f.channels_after("x", {2}).size() == 2);   // bit flip 0.1 and the phase flip
  CHECK(m.channels_after("x", {3}).size() == 2);   // bit flip 0.2 on device qubit 3 is gone with the qubit
  CHECK(f.readout_model(3).errors().size() == 3);
  // A correlated group wholly in the register is kept, renumbered.
  const noise::NoiseModel g = m.fitted({3, 5});
  REQUIRE(g.readout.size() == 1);
  CHECK(g.readout[0].qubits == std::vector<int>{1, 0});
  CHECK(g.readout[0].matrix == m.readout[2].matrix);
  // Bad registers.
  CHECK(contains(error_of([&] { m.fitted({0, 6}); }), "register qubit 1 is device qubit 6, but the device has qubits 0 to 5"));
  CHECK(contains(error_of([&] { m.fitted({1, 1}); }), "device qubit 1 is listed twice"));
  CHECK(contains(error_of([&] { m.fitted({}); }), "the register has no qubits"));
  CHECK(contains(error_of([&] { m.fitted({-1}); }), "register qubit 0 is device qubit -1"));
  // Without a device block, any qubit up to 62 may be chosen and no device block appears.
  const noise::NoiseModel plain = noise::NoiseModel::from_json(kIssueExample);
  const noise::NoiseModel pf = plain.fitted({2, 0});
  CHECK_FALSE(pf.device.has_value());
  CHECK(pf.gate_noise[0].qubits == std::vector<int>{1, 0});  // h, rx on device qubits 0 and 2, in that order
  CHECK(pf.readout[0].all_qubits);
  CHECK(contains(error_of([&] { plain.fitted({63}); }), "outside 0 to 62"));
}

TEST_CASE("from_json reads a Qiskit Aer NoiseModel.to_dict() document", "[noise][model][aer]") {
  const std::string text = read_text(data_path("aer_channels_md.json"));
  const noise::NoiseModel direct = noise::NoiseModel::from_aer_json(text, "aer.json");
  for (const noise::NoiseModel& m : {noise::NoiseModel::from_json(text, "aer.json"),
                                     noise::NoiseModel::from_json_file(data_path("aer_channels_md.json"))}) {
    check_same_model(direct, m);
    CHECK(m.gate_noise[0].gate_qubits == std::vector<std::vector<int>>{{0, 1}});
    CHECK(m.gate_noise[0].gate_paths == std::vector<std::string>{"errors[0].operations[0]"});
  }
  // An empty Aer dict is an empty model; errors keep Aer's paths.
  CHECK(noise::NoiseModel::from_json(R"({"errors": []})").gate_noise.empty());
  CHECK(contains(error_of([] { noise::NoiseModel::from_json(R"({"errors": [{"type": "xerror"}]})", "a.json"); }),
                 "a.json: errors[0].type: 'xerror' is not supported"));
  // Mixed with kraus keys, "errors" is an unknown key.
  CHECK(contains(error_of([] { noise::NoiseModel::from_json(R"({"errors": [], "readout": []})", "a.json"); }),
                 "a.json: errors: unknown key"));
}

TEST_CASE("device_like.json fitted to 3 qubits keeps the rules on qubits 0..2 only", "[noise][model][device]") {
  const noise::NoiseModel dev =
      noise::NoiseModel::from_json_file(std::string(KRAUS_TEST_SOURCE_DIR) + "/../experiments/noise_models/device_like.json");
  REQUIRE(dev.device_qubits() == 16);
  const noise::NoiseModel f = dev.fitted({0, 1, 2});
  CHECK(f.device_qubits() == 3);
  REQUIRE(!f.gate_noise.empty());
  std::size_t expected = 0;
  for (const noise::GateNoiseRule& r : dev.gate_noise) {
    bool inside = true;
    for (const auto& t : r.gate_qubits)
      for (int q : t) inside = inside && q < 3;
    expected += inside ? 1 : 0;
  }
  CHECK(f.gate_noise.size() == expected);
  for (const noise::GateNoiseRule& r : f.gate_noise) {
    REQUIRE(r.gate_qubits.size() == 1);
    for (int q : r.gate_qubits[0]) CHECK(q < 3);
  }
  for (const auto& [gate, qubits] : std::vector<std::pair<std::string, std::vector<int>>>{
           {"sx", {0}}, {"h", {2}}, {"cx", {0, 1}}, {"cx", {2, 1}}}) {
    CAPTURE(gate, qubits);
    const auto a = f.channels_after(gate, qubits), b = dev.channels_after(gate, qubits);
    REQUIRE(a.size() == b.size());
    REQUIRE(!a.empty());
    CHECK(ref::max_abs_diff(total_superop(a, qubits), total_superop(b, qubits)) == 0.0);
  }
  CHECK(f.readout_model(3).errors().size() == 3);
  CHECK_THROWS(dev.readout_model(3));
}
