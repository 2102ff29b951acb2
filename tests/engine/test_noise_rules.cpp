// Noise rules that cannot silently miss (engine::resolve_gate_names, the rule checks of
// engine::validate_noise) and engine::noise_coverage: aliases resolve and then match the gates the
// QASM reader produces (against the same rule written on the table name and an analytic purity),
// every refused name and qubit with its exact message, and coverage counted by hand.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kraus/engine/circuit.hpp"
#include "kraus/engine/density_matrix.hpp"
#include "kraus/engine/qasm2.hpp"
#include "kraus/engine/simulator.hpp"
#include "kraus/noise/noise_model.hpp"
#include "reference/test_support.hpp"

namespace {

using kraus::engine::Circuit;
using kraus::engine::DensityMatrix;
using kraus::engine::Gate;
using kraus::engine::NoiseCoverage;
using kraus::noise::NoiseModel;
using kraus::noise::NoiseModelError;

// A model read from JSON with its names resolved, as the CLI and the experiments load one.
NoiseModel loaded(const std::string& json) {
  NoiseModel m = NoiseModel::from_json(json, "model.json");
  kraus::engine::resolve_gate_names(m);
  return m;
}

// One depolarizing rule (p) on the listed gates.
std::string depolarizing_on(const std::string& gates, double p) {
  return R"({"gate_noise": [{"gates": [)" + gates + R"(], "channel": {"type": "depolarizing", "p": )" +
         std::to_string(p) + "}}]}";
}

arma::cx_mat run(const Circuit& c, const NoiseModel* model) {
  DensityMatrix rho(c.num_qubits());
  kraus::engine::simulate(c, model, rho);
  return rho.matrix();
}

double purity(const arma::cx_mat& rho) { return std::real(arma::accu(rho % arma::conj(rho))); }

// The message resolve_gate_names gives for the model, or "" when it accepts it.
std::string resolve_error(const std::string& json) {
  try {
    loaded(json);
  } catch (const NoiseModelError& e) {
    return e.what();
  }
  return "";
}

// A rule on `gates` with a bit-flip channel, as code builds one (no gate_paths).
kraus::noise::GateNoiseRule bit_flip_rule(std::vector<std::string> gates) {
  kraus::noise::GateNoiseRule rule;
  rule.gates = std::move(gates);
  rule.channel.type = "bit_flip";
  rule.channel.params = {{"p", 0.1}};
  return rule;
}

std::string validate_error(const Circuit& c, const NoiseModel& m) {
  try {
    kraus::engine::validate_noise(c, m);
  } catch (const NoiseModelError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// ---- aliases -------------------------------------------------------------------------------------

TEST_CASE("noise rules: aliases resolve to the gate-table names; *, unitary and table names stay", "[noise-rules]") {
  NoiseModel m = loaded(R"({"gate_noise": [
      {"gates": ["u1", "cu1", "u", "cnot"], "channel": {"type": "depolarizing", "p": 0.1}},
      {"gates": ["*"], "channel": {"type": "bit_flip", "p": 0.1}},
      {"gates": ["unitary", "cx", "p", "ecr"], "channel": {"type": "bit_flip", "p": 0.1}}]})");
  CHECK(m.gate_noise[0].gates == std::vector<std::string>{"p", "cp", "u3", "cx"});
  CHECK(m.gate_noise[1].gates == std::vector<std::string>{"*"});
  CHECK(m.gate_noise[2].gates == std::vector<std::string>{"unitary", "cx", "p", "ecr"});
  // Every alias, resolved in a rule built in code (a new alias must be added here).
  REQUIRE(kraus::engine::gate_aliases().size() == 4);
  for (const auto& [alias, name] : std::vector<std::pair<std::string, std::string>>{
           {"u1", "p"}, {"u", "u3"}, {"cu1", "cp"}, {"cnot", "cx"}}) {
    NoiseModel code;
    code.gate_noise.push_back(bit_flip_rule({alias}));
    kraus::engine::resolve_gate_names(code);
    CHECK(code.gate_noise[0].gates[0] == name);
  }
}

TEST_CASE("noise rules: a u1 rule puts noise on the p gates the reader makes of u1", "[noise-rules]") {
  // u1(pi/2) after h takes |0> to |+i>; depolarizing p = 0.1 then shrinks the Bloch vector by
  // 1 - 4p/3, so the purity is (1 + (1 - 4p/3)^2) / 2.
  const Circuit c = kraus::engine::parse_qasm2(
      "OPENQASM 2.0;\ninclude \"qelib1.inc\";\nqreg q[1];\nh q[0];\nu1(pi/2) q[0];\n", "u1.qasm");
  REQUIRE(c.operations()[1].name() == "p");
  const NoiseModel on_u1 = loaded(depolarizing_on(R"("u1")", 0.1));
  const NoiseModel on_p = loaded(depolarizing_on(R"("p")", 0.1));
  REQUIRE_NOTHROW(kraus::engine::validate_noise(c, on_u1));
  const arma::cx_mat rho = run(c, &on_u1);
  REQUIRE_MATRIX_CLOSE(rho, run(c, &on_p), 1e-14);
  const double shrink = 1.0 - 4.0 * 0.1 / 3.0;
  CHECK_THAT(purity(rho), Catch::Matchers::WithinAbs((1.0 + shrink * shrink) / 2.0, 1e-12));
  // The Bloch vector points along +y: rho(1, 0) = i r / 2.
  CHECK_THAT(rho(1, 0).imag(), Catch::Matchers::WithinAbs(shrink / 2.0, 1e-12));
}

TEST_CASE("noise rules: qpe_n9 with a cu1 rule is as noisy as with the cp rule", "[noise-rules]") {
  const Circuit c = kraus::engine::read_qasm2_file(std::string(KRAUS_TEST_DATA_DIR) + "/cli/qpe_n9.qasm");
  REQUIRE(c.num_qubits() == 9);
  const NoiseModel on_cu1 = loaded(depolarizing_on(R"("cu1")", 0.02));
  const NoiseModel on_cp = loaded(depolarizing_on(R"("cp")", 0.02));
  REQUIRE_NOTHROW(kraus::engine::validate_noise(c, on_cu1));
  const arma::cx_mat rho = run(c, &on_cu1);
  REQUIRE_MATRIX_CLOSE(rho, run(c, &on_cp), 1e-13);
  // Thirty-six 2-qubit depolarizing channels: far from pure (before names were resolved a cu1 rule
  // matched nothing and the state stayed pure).
  CHECK(purity(rho) < 0.4);
  CHECK_THAT(purity(run(c, nullptr)), Catch::Matchers::WithinAbs(1.0, 1e-12));
  const NoiseCoverage cov = kraus::engine::noise_coverage(c, on_cu1);
  const auto cp = std::find_if(cov.gates.begin(), cov.gates.end(), [](const NoiseCoverage::Gate& g) { return g.name == "cp"; });
  REQUIRE(cp != cov.gates.end());
  CHECK(cp->instances == 36);
  CHECK(cp->with_noise == 36);
  for (const NoiseCoverage::Gate& g : cov.gates) {
    if (g.name != "cp") CHECK(g.with_noise == 0);
  }
}

TEST_CASE("noise rules: validate_noise refuses an alias that was not resolved", "[noise-rules]") {
  Circuit c(1);
  c.add_gate(Gate::kP, {0}, {0.3});
  const NoiseModel raw = NoiseModel::from_json(depolarizing_on(R"("h", "u1")", 0.1), "model.json");
  CHECK(validate_error(c, raw) ==
        "gate_noise[0].gates[1]: 'u1' is an alias of 'p': rules must name the gate 'p' (engine::resolve_gate_names "
        "rewrites aliases)");
}

// ---- refused names -------------------------------------------------------------------------------

TEST_CASE("noise rules: an unknown name is refused at its JSON path with the nearest names", "[noise-rules]") {
  CHECK(resolve_error(depolarizing_on(R"("h", "CNOT")", 0.1)) ==
        "gate_noise[0].gates[1]: 'CNOT' is not a gate (did you mean 'cx'?)");
  CHECK(resolve_error(depolarizing_on(R"("cz_")", 0.1)) == "gate_noise[0].gates[0]: 'cz_' is not a gate (did you mean 'cz'?)");
  CHECK(resolve_error(depolarizing_on(R"("U3")", 0.1)) == "gate_noise[0].gates[0]: 'U3' is not a gate (did you mean 'u3'?)");
  // Several names at the smallest distance, table order; an alias is suggested as its gate.
  CHECK(resolve_error(depolarizing_on(R"("hh")", 0.1)) ==
        "gate_noise[0].gates[0]: 'hh' is not a gate (did you mean 'h' or 'ch'?)");
  CHECK(resolve_error(depolarizing_on(R"("cu1x")", 0.1)) ==
        "gate_noise[0].gates[0]: 'cu1x' is not a gate (did you mean 'cp'?)");
  // Nothing near: the list of names.
  const std::string far = resolve_error(depolarizing_on(R"("toffoli")", 0.1));
  CHECK(far.rfind("gate_noise[0].gates[0]: 'toffoli' is not a gate (gate names: id, x, y, z, h,", 0) == 0);
  CHECK(far.find("ccx, cswap, \"unitary\" or \"*\"; names are case-sensitive)") != std::string::npos);
  // The second rule's path.
  CHECK(resolve_error(R"({"gate_noise": [{"gates": ["x"], "channel": {"type": "bit_flip", "p": 0.1}},
                                        {"gates": ["x", "y", "sxx"], "channel": {"type": "bit_flip", "p": 0.1}}]})") ==
        "gate_noise[1].gates[2]: 'sxx' is not a gate (did you mean 'sx' or 'rxx'?)");
}

TEST_CASE("noise rules: the paths of Aer models and of rules built in code", "[noise-rules]") {
  NoiseModel aer = NoiseModel::from_aer_json(R"({"errors": [
      {"type": "qerror", "operations": ["x", "CX"], "instructions": [[{"name": "id", "qubits": [0]}]],
       "probabilities": [1.0]}]})");
  try {
    kraus::engine::resolve_gate_names(aer);
    FAIL("resolve_gate_names accepted 'CX'");
  } catch (const NoiseModelError& e) {
    CHECK(std::string(e.what()) == "errors[0].operations[1]: 'CX' is not a gate (did you mean 'cx'?)");
  }
  NoiseModel code;
  code.gate_noise.push_back(bit_flip_rule({"x"}));
  code.gate_noise.push_back(bit_flip_rule({"x", "cnot", "Toffoli"}));
  try {
    kraus::engine::resolve_gate_names(code);
    FAIL("resolve_gate_names accepted 'Toffoli'");
  } catch (const NoiseModelError& e) {
    CHECK(std::string(e.what()).rfind("gate_noise[1].gates[2]: 'Toffoli' is not a gate", 0) == 0);
  }
}

TEST_CASE("noise rules: calibration gate names and qubits are checked at the calibration's paths", "[noise-rules]") {
  const std::string qubits = R"("qubits": [{"t1": 50, "t2": 70}, {"t1": 60, "t2": 80}, {"t1": 70, "t2": 90}])";
  NoiseModel aliased = loaded(R"({"calibration": {)" + qubits + R"(, "gates": [
      {"gate": "u1", "qubits": [0], "error": 0.001, "time": 0.05},
      {"gate": "cnot", "qubits": [1, 2], "error": 0.01, "time": 0.3}]}})");
  for (const kraus::noise::GateNoiseRule& rule : aliased.gate_noise) {
    CHECK((rule.gates == std::vector<std::string>{"p"} || rule.gates == std::vector<std::string>{"cx"}));
  }
  CHECK(resolve_error(R"({"calibration": {)" + qubits + R"(, "gates": [
      {"gate": "x", "qubits": [0], "error": 0.001, "time": 0.05},
      {"gate": "CNOT", "qubits": [1, 2], "error": 0.01, "time": 0.3}]}})") ==
        "calibration.gates[1].gate: 'CNOT' is not a gate (did you mean 'cx'?)");
  // On a 2-qubit circuit the cx on (1, 2) names an absent qubit (kraus simulate fits a device
  // model to the register first, NoiseModel::fitted).
  Circuit c(2);
  c.add_gate(Gate::kP, {0}, {0.2});
  CHECK(validate_error(c, aliased) == "calibration.gates[1].qubits: qubit 2 does not exist (the circuit has 2 qubits)");
  Circuit three(3);
  three.add_gate(Gate::kCX, {1, 2});
  CHECK(validate_error(three, aliased).empty());
}

TEST_CASE("noise rules: gates the reader expands are refused with their expansion", "[noise-rules]") {
  CHECK(resolve_error(depolarizing_on(R"("cx", "csx")", 0.1)) ==
        "gate_noise[0].gates[1]: 'csx' never reaches the simulator: the reader expands it into h, cp, h; put the "
        "noise on those gates");
  for (const kraus::engine::ExpandedGate& e : kraus::engine::qasm2_expanded_gates()) {
    INFO(e.name);
    CHECK_THROWS_AS(loaded(depolarizing_on("\"" + std::string(e.name) + "\"", 0.1)), NoiseModelError);
  }
}

TEST_CASE("noise rules: measure, reset, barrier and delay are refused", "[noise-rules]") {
  CHECK(resolve_error(depolarizing_on(R"("measure")", 0.1)) ==
        "gate_noise[0].gates[0]: noise rules apply after gates; 'measure' is not a gate: measurement errors go in the "
        "readout section");
  for (const std::string& name : {std::string("reset"), std::string("barrier"), std::string("delay")}) {
    CHECK(resolve_error(depolarizing_on("\"x\", \"" + name + "\"", 0.1)) ==
          "gate_noise[0].gates[1]: noise rules apply after gates; '" + name +
              "' is not a gate: noise on waiting qubits is idle_noise");
  }
}

// ---- qubits outside the circuit ------------------------------------------------------------------

TEST_CASE("noise rules: rule qubits outside the circuit are errors, like readout qubits", "[noise-rules]") {
  Circuit c(4);
  c.add_gate(Gate::kH, {0});
  c.add_gate(Gate::kCX, {0, 1});
  const NoiseModel qubits = loaded(R"({"gate_noise": [
      {"gates": ["h"], "qubits": [0, 3], "channel": {"type": "bit_flip", "p": 0.1}},
      {"gates": ["cx"], "qubits": [1, 7], "channel": {"type": "bit_flip", "p": 0.1}}]})");
  CHECK(validate_error(c, qubits) == "gate_noise[1].qubits: qubit 7 does not exist (the circuit has 4 qubits)");
  const NoiseModel tuples = loaded(R"({"gate_noise": [
      {"gates": ["cx"], "gate_qubits": [[0, 1], [2, 4]], "channel": {"type": "bit_flip", "p": 0.1}}]})");
  CHECK(validate_error(c, tuples) == "gate_noise[0].gate_qubits[1]: qubit 4 does not exist (the circuit has 4 qubits)");
  const NoiseModel aer = NoiseModel::from_aer_json(R"({"errors": [
      {"type": "qerror", "operations": ["cx"], "gate_qubits": [[5, 0]],
       "instructions": [[{"name": "id", "qubits": [0]}]], "probabilities": [1.0]}]})");
  CHECK(validate_error(c, aer) == "errors[0].gate_qubits[0]: qubit 5 does not exist (the circuit has 4 qubits)");
  Circuit one(1);
  one.add_gate(Gate::kX, {0});
  CHECK(validate_error(one, qubits) == "gate_noise[0].qubits: qubit 3 does not exist (the circuit has 1 qubit)");
  // The same rules on a register that has those qubits are fine.
  Circuit eight(8);
  eight.add_gate(Gate::kCX, {1, 7});
  CHECK(validate_error(eight, qubits).empty());
  CHECK(validate_error(eight, tuples).empty());
}

// ---- coverage ------------------------------------------------------------------------------------

namespace {

// h 0; h 1; cx 0,1; cx 1,2; cx 0,2; rz 3; a unitary on 3; measure 0; barrier; reset 1.
Circuit coverage_circuit() {
  Circuit c(4, 1);
  c.add_gate(Gate::kH, {0});
  c.add_gate(Gate::kH, {1});
  c.add_gate(Gate::kCX, {0, 1});
  c.add_gate(Gate::kCX, {1, 2});
  c.add_gate(Gate::kCX, {0, 2});
  c.add_gate(Gate::kRZ, {3}, {0.4});
  c.add_unitary({3}, kraus::engine::gate_matrix(Gate::kSX));
  c.add_measure(0, 0);
  c.add_barrier({0, 1, 2, 3});
  c.add_reset(1);
  return c;
}

void check_gate(const NoiseCoverage::Gate& g, const std::string& name, long instances, long with_noise) {
  INFO(g.name);
  CHECK(g.name == name);
  CHECK(g.instances == instances);
  CHECK(g.with_noise == with_noise);
}

}  // namespace

TEST_CASE("noise coverage: counts by hand and each warning's text", "[noise-rules]") {
  const Circuit c = coverage_circuit();
  const NoiseModel m = loaded(R"({"gate_noise": [
      {"gates": ["cx"], "gate_qubits": [[0, 1], [1, 2]], "channel": {"type": "depolarizing", "p": 0.01}},
      {"gates": ["rz", "x"], "channel": {"type": "amplitude_damping", "gamma": 0.01}},
      {"gates": ["cx"], "gate_qubits": [[0, 1]], "channel": {"type": "bit_flip", "p": 0.01}}]})");
  REQUIRE_NOTHROW(kraus::engine::validate_noise(c, m));
  const NoiseCoverage cov = kraus::engine::noise_coverage(c, m);
  REQUIRE(cov.gates.size() == 4);
  check_gate(cov.gates[0], "h", 2, 0);
  check_gate(cov.gates[1], "cx", 3, 2);
  check_gate(cov.gates[2], "rz", 1, 1);
  check_gate(cov.gates[3], "unitary", 1, 0);
  const std::string advice = " (rules name: cx, rz, x); translate to the model's basis with --basis, or add a rule";
  CHECK(cov.warnings == std::vector<std::string>{
                            "no noise on any of the 2 'h' gates: the model has no rule for 'h'" + advice,
                            "1 of 3 'cx' gates gets no noise: no rule for their qubits, e.g. cx 0,2",
                            "no noise on the 'unitary' gate: the model has no rule for 'unitary'" + advice,
                        });
}

TEST_CASE("noise coverage: rules on the name but not on those qubits", "[noise-rules]") {
  const Circuit c = coverage_circuit();
  const NoiseModel m = loaded(R"({"gate_noise": [
      {"gates": ["h", "unitary", "rz"], "qubits": [2, 3], "channel": {"type": "bit_flip", "p": 0.01}},
      {"gates": ["*"], "qubits": [1, 2], "channel": {"type": "bit_flip", "p": 0.01}}]})");
  const NoiseCoverage cov = kraus::engine::noise_coverage(c, m);
  REQUIRE(cov.gates.size() == 4);
  check_gate(cov.gates[0], "h", 2, 1);        // h 1 by the "*" rule
  check_gate(cov.gates[1], "cx", 3, 1);       // cx 1,2
  check_gate(cov.gates[2], "rz", 1, 1);       // rz 3
  check_gate(cov.gates[3], "unitary", 1, 1);  // on 3
  CHECK(cov.warnings == std::vector<std::string>{
                            "1 of 2 'h' gates gets no noise: no rule for their qubits, e.g. h 0",
                            "2 of 3 'cx' gates get no noise: no rule for their qubits, e.g. cx 0,1",
                        });
  const NoiseModel only_3 = loaded(R"({"gate_noise": [
      {"gates": ["h", "rz"], "qubits": [3], "channel": {"type": "bit_flip", "p": 0.01}}]})");
  const NoiseCoverage cov3 = kraus::engine::noise_coverage(c, only_3);
  CHECK(cov3.warnings.size() == 3);  // h (qubits), cx and unitary (no rule)
  CHECK(cov3.warnings.at(0) == "no noise on any of the 2 'h' gates: no rule for their qubits, e.g. h 0");
}

TEST_CASE("noise coverage: a rule that matches nothing, unless the model is for a device", "[noise-rules]") {
  const Circuit c = coverage_circuit();
  const std::string rules = R"("gate_noise": [
      {"gates": ["cu3", "rzz"], "qubits": [0, 1], "channel": {"type": "bit_flip", "p": 0.01}},
      {"gates": ["h", "unitary", "rz"], "channel": {"type": "bit_flip", "p": 0.01}},
      {"gates": ["cx"], "gate_qubits": [[2, 3], [3, 2]], "channel": {"type": "bit_flip", "p": 0.01}},
      {"gates": ["h"], "qubits": [3], "channel": {"type": "bit_flip", "p": 0.01}}])";
  const NoiseCoverage cov = kraus::engine::noise_coverage(c, loaded("{" + rules + "}"));
  CHECK(cov.warnings == std::vector<std::string>{
                            "no noise on any of the 3 'cx' gates: no rule for their qubits, e.g. cx 0,1",
                            "gate_noise[0] (cu3, rzz on qubits 0,1) matches no gate of this circuit",
                            "gate_noise[2] (cx on 2,3 or 3,2) matches no gate of this circuit",
                            "gate_noise[3] (h on qubits 3) matches no gate of this circuit",
                        });
  const NoiseModel device = loaded(R"({"device": {"num_qubits": 4}, )" + rules + "}");
  REQUIRE(device.device_qubits() == 4);
  CHECK(kraus::engine::noise_coverage(c, device).warnings ==
        std::vector<std::string>{"no noise on any of the 3 'cx' gates: no rule for their qubits, e.g. cx 0,1"});
  // A basis gate of the device that gets no noise was calibrated error-free (IBM's rz): no warning.
  const NoiseModel native = loaded(R"({"device": {"num_qubits": 4, "basis_gates": ["cx", "h"]}, )" + rules + "}");
  CHECK(kraus::engine::noise_coverage(c, native).warnings.empty());
}

TEST_CASE("noise coverage: no warnings without gate noise; idle noise is not gate noise", "[noise-rules]") {
  const Circuit c = coverage_circuit();
  for (const std::string& json : {std::string("{}"), std::string(R"({"idle_noise": {"type": "phase_damping", "lambda": 0.01},
                                                                      "readout": [{"qubits": "all", "p1_given_0": 0.01,
                                                                                   "p0_given_1": 0.01}]})")}) {
    const NoiseCoverage cov = kraus::engine::noise_coverage(c, loaded(json));
    REQUIRE(cov.gates.size() == 4);
    for (const NoiseCoverage::Gate& g : cov.gates) CHECK(g.with_noise == 0);
    CHECK(cov.warnings.empty());
  }
  // Every gate covered: no warnings.
  const NoiseCoverage all = kraus::engine::noise_coverage(c, loaded(depolarizing_on(R"("*")", 0.01)));
  for (const NoiseCoverage::Gate& g : all.gates) CHECK(g.with_noise == g.instances);
  CHECK(all.warnings.empty());
}

// ---- documentation -------------------------------------------------------------------------------

TEST_CASE("docs/noise-model.md lists every gate name, alias and expanded gate", "[noise-rules][docs]") {
  std::ifstream in(std::string(KRAUS_TEST_DATA_DIR) + "/../../docs/noise-model.md");
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  std::string flat;  // whitespace runs as one space, for the name list that wraps
  for (char ch : doc) {
    const bool space = ch == ' ' || ch == '\n';
    if (!space) {
      flat += ch;
    } else if (!flat.empty() && flat.back() != ' ') {
      flat += ' ';
    }
  }
  std::string names;
  for (const kraus::engine::GateInfo& info : kraus::engine::gate_table()) {
    names += (names.empty() ? "" : " ") + std::string(info.name);
  }
  CHECK(flat.find("`" + names + "`") != std::string::npos);
  // The table row of `name`, backticks removed ("" when there is none).
  auto row = [&](std::string_view name) {
    const std::size_t at = doc.find("| `" + std::string(name) + "` |");
    if (at == std::string::npos) return std::string();
    std::string line = doc.substr(at, doc.find('\n', at) - at);
    line.erase(std::remove(line.begin(), line.end(), '`'), line.end());
    return line;
  };
  for (const kraus::engine::GateAlias& a : kraus::engine::gate_aliases()) {
    INFO(a.alias);
    CHECK(row(a.alias).rfind("| " + std::string(a.alias) + " | " + std::string(kraus::engine::gate_info(a.gate).name) + " |", 0) == 0);
  }
  for (const kraus::engine::ExpandedGate& e : kraus::engine::qasm2_expanded_gates()) {
    INFO(e.name);
    CHECK(row(e.name).find("| " + std::string(e.expansion) + " |") != std::string::npos);
  }
}
