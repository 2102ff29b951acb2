// IBM device files (Qiskit's BackendProperties and BackendConfiguration JSON) read as Qiskit Aer's
// NoiseModel.from_backend builds its model at temperature 0. Every calibrated instance is checked
// against a dense reference built here from the properties file (read by the test itself):
// depolarising with Aer's parameter, then thermal relaxation written as amplitude damping followed
// by phase damping, and the composed channel's average gate infidelity against gate_error.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "kraus/noise/ibm_backend.hpp"
#include "kraus/noise/noise_model.hpp"
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
using json = nlohmann::json;

const std::vector<std::string> kDevices = {"manila", "lagos", "guadalupe"};

std::string ibm_path(const std::string& name) { return std::string(KRAUS_TEST_SOURCE_DIR) + "/data/noise/ibm/" + name; }

json props_of(const std::string& device) { return json::parse(read_text(ibm_path("props_" + device + ".json"))); }
std::string conf_text(const std::string& device) { return read_text(ibm_path("conf_" + device + ".json")); }

noise::NoiseModel model_of(const json& props, const std::string& device, std::vector<std::string>* warnings = nullptr) {
  return noise::from_ibm_backend(props.dump(), conf_text(device), "props.json", "conf.json", warnings);
}

std::string error_of(const json& props, const std::string& device = "manila") {
  try {
    model_of(props, device);
  } catch (const noise::NoiseModelError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("(not a NoiseModelError) ") + e.what();
  }
  return "(no error)";
}

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

// The entry named `name` of a list of {name, unit, value} entries.
const json& entry(const json& list, const std::string& name) {
  for (const json& e : list) {
    if (e["name"] == name) return e;
  }
  throw std::runtime_error("no entry " + name);
}

// The k-qubit superoperator of the channels placed after a gate on `gate_qubits`, in order.
arma::cx_mat total_superop(const std::vector<noise::PlacedChannel>& placed, const std::vector<int>& gate_qubits) {
  const int k = static_cast<int>(gate_qubits.size());
  const arma::uword d = arma::uword{1} << k;
  arma::cx_mat total(d * d, d * d, arma::fill::eye);
  for (const noise::PlacedChannel& p : placed) {
    std::vector<int> local;
    for (int q : p.qubits) local.push_back(static_cast<int>(std::find(gate_qubits.begin(), gate_qubits.end(), q) - gate_qubits.begin()));
    std::vector<arma::cx_mat> ops;
    for (const noise::Matrix& op : p.channel->kraus()) ops.push_back(ref::embed(to_arma(op), local, k));
    total = ref::superoperator_from_kraus(ops) * total;
  }
  return total;
}

double average_infidelity(const arma::cx_mat& s, double d) {
  const double f_pro = arma::trace(s).real() / (d * d);
  return 1 - (d * f_pro + 1) / (d + 1);
}

// Relaxation of one qubit at zero temperature: amplitude damping 1 - exp(-t/T1), then phase damping
// bringing the coherence to exp(-t/T2) (T2 <= 2 T1).
std::vector<arma::cx_mat> relaxation_kraus(double t1, double t2, double t) {
  const double gamma = 1 - std::exp(-t / t1), lambda = 1 - std::exp(-2 * t / t2 + t / t1);
  std::vector<arma::cx_mat> ops;
  for (const arma::cx_mat& p : ref::phase_damping_kraus(lambda))
    for (const arma::cx_mat& a : ref::amplitude_damping_kraus(gamma)) ops.push_back(p * a);
  return ops;
}

// rho -> (1 - lambda) rho + lambda Tr(rho) I / d on the column-stacked block.
arma::cx_mat depolarizing_superop(double lambda, arma::uword d) {
  arma::cx_vec vec_i(d * d, arma::fill::zeros);
  for (arma::uword a = 0; a < d; ++a) vec_i(a + a * d) = 1;
  return (1 - lambda) * arma::cx_mat(d * d, d * d, arma::fill::eye) + lambda / static_cast<double>(d) * vec_i * vec_i.t();
}

struct Reference {
  arma::cx_mat relax, depol, total;  // total = relax after depol
  bool has_depol;
  double lambda;  // Qiskit's depolarising parameter
};

// Aer's channel for one gate instance, from the properties file's figures (times in ns).
Reference aer_reference(const json& props, const std::vector<int>& qubits, double error, double length_ns) {
  const int k = static_cast<int>(qubits.size());
  const arma::uword d = arma::uword{1} << k;
  std::vector<arma::cx_mat> relax_ops = {arma::cx_mat(1, 1, arma::fill::ones)};
  for (int q : qubits) {  // the first qubit is the least significant: the rightmost Kronecker factor
    const double t1 = 1e3 * entry(props["qubits"][q], "T1")["value"].get<double>();
    const double t2 = std::min(1e3 * entry(props["qubits"][q], "T2")["value"].get<double>(), 2 * t1);
    std::vector<arma::cx_mat> next;
    for (const arma::cx_mat& one : relaxation_kraus(t1, t2, length_ns))
      for (const arma::cx_mat& rest : relax_ops) next.push_back(arma::kron(one, rest));
    relax_ops = next;
  }
  Reference r;
  r.relax = ref::superoperator_from_kraus(relax_ops);
  const double dd = static_cast<double>(d), relax_infid = average_infidelity(r.relax, dd);
  r.has_depol = error > relax_infid;
  r.lambda = 0;
  if (r.has_depol) {
    r.lambda = dd * (std::min(error, dd / (dd + 1)) - relax_infid) / (dd * (1 - relax_infid) - 1);
    r.lambda = std::min(r.lambda, dd * dd / (dd * dd - 1));
  }
  r.depol = depolarizing_superop(r.lambda, d);
  r.total = r.relax * r.depol;
  return r;
}

}  // namespace

TEST_CASE("IBM devices: every calibrated sx and cx instance has total average infidelity gate_error",
          "[noise][ibm]") {
  for (const std::string& device : kDevices) {
    CAPTURE(device);
    const json props = props_of(device);
    std::vector<std::string> warnings;
    const noise::NoiseModel m = noise::from_ibm_backend_files(ibm_path("props_" + device + ".json"),
                                                             ibm_path("conf_" + device + ".json"), &warnings);
    CHECK(warnings.empty());
    int with_depolarizing = 0, relaxation_only = 0;
    for (std::size_t g = 0; g < props["gates"].size(); ++g) {
      const json& gate = props["gates"][g];
      const std::string name = gate["gate"];
      if (name != "sx" && name != "cx") continue;
      const std::vector<int> qubits = gate["qubits"];
      CAPTURE(name, qubits);
      REQUIRE(entry(gate["parameters"], "gate_length")["unit"] == "ns");
      const double error = entry(gate["parameters"], "gate_error")["value"];
      const double length = entry(gate["parameters"], "gate_length")["value"];
      const std::vector<noise::PlacedChannel> placed = m.channels_after(name, qubits);
      const arma::cx_mat total = total_superop(placed, qubits);
      const double d = static_cast<double>(1 << qubits.size());
      const Reference r = aer_reference(props, qubits, error, length);
      CHECK(ref::max_abs_diff(total, r.total) <= 1e-12);
      if (r.has_depol) {
        // Depolarising on the gate's qubits jointly, then relaxation of each qubit.
        REQUIRE(placed.size() == 1 + qubits.size());
        CHECK(placed[0].qubits == qubits);
        CHECK(placed[0].channel->kraus().size() == (qubits.size() == 1 ? 4u : 16u));
        CHECK(std::abs(average_infidelity(total, d) - error) <= 1e-12);
        CHECK(ref::max_abs_diff(total_superop(std::vector<noise::PlacedChannel>(placed.begin() + 1, placed.end()), qubits),
                                r.relax) <= 1e-12);
        ++with_depolarizing;
      } else {
        // Relaxation alone already loses more than gate_error (short sx on some qubits).
        CHECK(placed.size() == qubits.size());
        CHECK(average_infidelity(total, d) >= error);
        ++relaxation_only;
      }
      // The rules say where the gate was written.
      for (const noise::GateNoiseRule& rule : m.gate_noise) {
        if (rule.matches(name, qubits)) CHECK(rule.gate_paths == std::vector<std::string>{"gates[" + std::to_string(g) + "].gate"});
      }
    }
    CHECK(with_depolarizing + relaxation_only == static_cast<int>(m.device->num_qubits + m.device->coupling_map.size()));
    // Both cases occur on every device (short sx and the best cx pairs are relaxation only).
    CHECK(with_depolarizing > 0);
    CHECK(relaxation_only > 0);
    // rz has zero error and length: no noise; reset gets no rule.
    CHECK(m.channels_after("rz", {0}).empty());
    CHECK(m.channels_after("reset", {0}).empty());
    // id and x are calibrated like sx.
    CHECK(m.channels_after("id", {1}).size() == 2);
    CHECK(m.channels_after("x", {1}).size() == 2);
  }
}

TEST_CASE("IBM devices: device block, readout errors and the JSON round trip", "[noise][ibm]") {
  const json props = props_of("manila");
  const noise::NoiseModel m = model_of(props, "manila");
  REQUIRE(m.device.has_value());
  CHECK(m.device->name == "ibmq_manila");
  CHECK(m.device->num_qubits == 5);
  CHECK(m.device_qubits() == 5);
  CHECK(m.device->basis_gates == std::vector<std::string>{"cx", "id", "rz", "sx", "x"});
  CHECK(m.device->coupling_map ==
        std::vector<std::pair<int, int>>{{0, 1}, {1, 0}, {1, 2}, {2, 1}, {2, 3}, {3, 2}, {3, 4}, {4, 3}});
  // Asymmetric readout from prob_meas1_prep0 / prob_meas0_prep1.
  REQUIRE(m.readout.size() == 5);
  for (int q = 0; q < 5; ++q) {
    CAPTURE(q);
    CHECK(m.readout[q].qubits == std::vector<int>{q});
    CHECK(m.readout[q].p1_given_0 == entry(props["qubits"][q], "prob_meas1_prep0")["value"].get<double>());
    CHECK(m.readout[q].p0_given_1 == entry(props["qubits"][q], "prob_meas0_prep1")["value"].get<double>());
  }
  // Without them, the symmetric readout_error; without any, no readout error.
  json sym = props;
  for (json& q : sym["qubits"]) {
    json kept = json::array();
    for (const json& e : q) {
      if (e["name"] != "prob_meas1_prep0") kept.push_back(e);
    }
    q = kept;
  }
  json none = sym;
  for (json& q : none["qubits"]) {
    json kept = json::array();
    for (const json& e : q) {
      if (e["name"] != "readout_error") kept.push_back(e);
    }
    q = kept;
  }
  const noise::NoiseModel ms = model_of(sym, "manila");
  REQUIRE(ms.readout.size() == 5);
  CHECK(ms.readout[2].p1_given_0 == entry(props["qubits"][2], "readout_error")["value"].get<double>());
  CHECK(ms.readout[2].p0_given_1 == ms.readout[2].p1_given_0);
  CHECK(model_of(none, "manila").readout.empty());

  // to_json / from_json keep every rule, the readout and the device block.
  const std::string text = m.to_json();
  const noise::NoiseModel back = noise::NoiseModel::from_json(text, "round trip");
  CHECK(back.to_json() == text);
  REQUIRE(back.device.has_value());
  CHECK(back.device->name == "ibmq_manila");
  CHECK(back.device->coupling_map == m.device->coupling_map);
  CHECK(back.device->basis_gates == m.device->basis_gates);
  REQUIRE(back.gate_noise.size() == m.gate_noise.size());
  for (const auto& [gate, qubits] : std::vector<std::pair<std::string, std::vector<int>>>{{"sx", {3}}, {"cx", {2, 3}}}) {
    CHECK(ref::max_abs_diff(total_superop(back.channels_after(gate, qubits), qubits),
                            total_superop(m.channels_after(gate, qubits), qubits)) <= 1e-15);
  }
}

TEST_CASE("IBM devices: depolarising comes before relaxation, as in Aer", "[noise][ibm]") {
  // After one cx(0, 1) on manila (noise only, from |+1>): the two orders differ in <Z_q> by
  // lambda (1 - exp(-t/T1_q)) (relaxing the depolarised part moves it towards |0>), about 2e-5.
  const json props = props_of("manila");
  const noise::NoiseModel m = model_of(props, "manila");
  const json* cx = nullptr;
  for (const json& g : props["gates"]) {
    if (g["gate"] == "cx" && g["qubits"] == json({0, 1})) cx = &g;
  }
  REQUIRE(cx != nullptr);
  const double error = entry((*cx)["parameters"], "gate_error")["value"];
  const double length = entry((*cx)["parameters"], "gate_length")["value"];
  const Reference r = aer_reference(props, {0, 1}, error, length);

  arma::cx_vec psi(4, arma::fill::zeros);
  psi(2) = psi(3) = 1 / std::sqrt(2.0);  // qubit 0 in |+>, qubit 1 in |1>
  const arma::cx_mat rho = psi * psi.t();
  arma::cx_mat model_rho = rho;
  const std::vector<int> gate_qubits = {0, 1};
  for (const noise::PlacedChannel& p : m.channels_after("cx", gate_qubits)) {
    noise::apply_channel(model_rho.memptr(), 2, p.qubits.data(), *p.channel);
  }
  const arma::cx_mat depol_then_relax = ref::apply_superoperator(rho, r.relax * r.depol, gate_qubits, 2);
  const arma::cx_mat relax_then_depol = ref::apply_superoperator(rho, r.depol * r.relax, gate_qubits, 2);
  CHECK(ref::max_abs_diff(model_rho, depol_then_relax) <= 1e-14);
  for (int q = 0; q < 2; ++q) {
    CAPTURE(q);
    const arma::cx_mat z = ref::embed(ref::pauli('Z'), {q}, 2);
    const double a = arma::trace(z * depol_then_relax).real(), b = arma::trace(z * relax_then_depol).real();
    const double t1 = 1e3 * entry(props["qubits"][q], "T1")["value"].get<double>();
    CHECK(std::abs((a - b) - r.lambda * (1 - std::exp(-length / t1))) <= 1e-12);
    CHECK(a - b > 5e-6);
    CHECK(a - b < 1e-4);
    CHECK(std::abs(arma::trace(z * model_rho).real() - a) <= 1e-14);
  }
}

TEST_CASE("IBM devices: an error below relaxation alone gives relaxation only; errors above the maximum are clipped",
          "[noise][ibm]") {
  json props = props_of("manila");
  // sx on qubit 2 (gates[12]): an error far below its relaxation alone; cx(1, 2) (gates[24]): error 1
  // (IBM's mark of a broken pair), clipped to the 2-qubit maximum 4/5.
  REQUIRE(props["gates"][12]["name"] == "sx2");
  REQUIRE(props["gates"][24]["name"] == "cx1_2");
  props["gates"][12]["parameters"][0]["value"] = 1e-7;
  props["gates"][24]["parameters"][0]["value"] = 1.0;
  std::vector<std::string> warnings;
  const noise::NoiseModel m = model_of(props, "manila", &warnings);
  const auto sx = m.channels_after("sx", {2});
  REQUIRE(sx.size() == 1);
  const double length = entry(props["gates"][12]["parameters"], "gate_length")["value"];
  const Reference r = aer_reference(props, {2}, 1e-7, length);
  CHECK_FALSE(r.has_depol);
  CHECK(ref::max_abs_diff(total_superop(sx, {2}), r.relax) <= 1e-12);
  CHECK(average_infidelity(r.relax, 2) > 1e-7);

  REQUIRE(warnings.size() == 1);
  CHECK(contains(warnings[0], "props.json: gates[24].parameters[0].value: gate_error 1 exceeds"));
  CHECK(contains(warnings[0], "0.8"));
  const auto cx = m.channels_after("cx", {1, 2});
  REQUIRE(cx.size() == 3);
  const arma::cx_mat total = total_superop(cx, {1, 2});
  // The largest 2-qubit depolarising parameter 16/15 (the fully depolarising Pauli channel, p = 1),
  // then relaxation: the infidelity stays just under the maximum 4/5.
  CHECK(ref::max_abs_diff(total, aer_reference(props, {1, 2}, 1.0, entry(props["gates"][24]["parameters"], "gate_length")["value"]).total) <= 1e-12);
  CHECK(average_infidelity(total, 4) <= 0.8 + 1e-12);
}

TEST_CASE("IBM devices: units are read from each entry; missing and impossible values name their JSON path",
          "[noise][ibm]") {
  const json props = props_of("manila");
  const noise::NoiseModel m = model_of(props, "manila");
  auto same_model = [&](const noise::NoiseModel& other) {
    REQUIRE(other.gate_noise.size() == m.gate_noise.size());
    for (const json& g : props["gates"]) {
      const std::vector<int> qubits = g["qubits"];
      const std::string name = g["gate"];
      CAPTURE(name, qubits);
      CHECK(ref::max_abs_diff(total_superop(other.channels_after(name, qubits), qubits),
                              total_superop(m.channels_after(name, qubits), qubits)) <= 1e-12);
    }
  };
  SECTION("T1 and T2 in ms or s, gate lengths in us or µs give the same model") {
    json scaled = props;
    for (json& q : scaled["qubits"]) {
      for (json& e : q) {
        if (e["name"] == "T1") {
          e["value"] = e["value"].get<double>() * 1e-3;
          e["unit"] = "ms";
        }
        if (e["name"] == "T2") {
          e["value"] = e["value"].get<double>() * 1e-6;
          e["unit"] = "s";
        }
      }
    }
    bool micro = false;
    for (json& g : scaled["gates"]) {
      for (json& e : g["parameters"]) {
        if (e["name"] != "gate_length") continue;
        e["value"] = e["value"].get<double>() * 1e-3;
        e["unit"] = (micro = !micro) ? "us" : "\u00b5s";
      }
    }
    same_model(model_of(scaled, "manila"));
  }
  SECTION("errors") {
    json p = props;
    p["qubits"][0][0].erase("unit");
    CHECK(error_of(p) == "props.json: qubits[0][0].unit: missing: the value's unit");
    p = props;
    p["qubits"][1][1]["unit"] = "fortnights";
    CHECK(error_of(p) == "props.json: qubits[1][1].unit: unknown time unit 'fortnights' (s, ms, us, \u00b5s or ns)");
    p = props;
    p["gates"][10]["parameters"][1]["unit"] = "";
    CHECK(contains(error_of(p), "props.json: gates[10].parameters[1].unit: unknown time unit ''"));
    p = props;
    p["qubits"][0][0]["value"] = 1e300;
    p["qubits"][0][0]["unit"] = "s";
    CHECK(error_of(p) == "props.json: qubits[0][0].value: too large (beyond 1.8e308 ns)");
    p = props;
    p["qubits"][3].erase(0);
    CHECK(error_of(p) == "props.json: qubits[3]: missing: T1 (an entry named \"T1\")");
    p = props;
    p["qubits"][2][1]["value"] = 0;
    CHECK(error_of(p) == "props.json: qubits[2][1].value: T2 must be > 0");
    p = props;
    p["gates"][10]["parameters"][0]["value"] = -0.001;
    CHECK(error_of(p) == "props.json: gates[10].parameters[0].value: gate_error -0.001 is negative");
    p = props;
    p["gates"][10]["parameters"][0]["unit"] = "%";
    CHECK(error_of(p) == "props.json: gates[10].parameters[0].unit: expected \"\" (a unitless number), found '%'");
    p = props;
    p["gates"][20]["parameters"][1]["value"] = -5;
    CHECK(error_of(p) == "props.json: gates[20].parameters[1].value: gate_length -5 ns is negative");
    p = props;
    p["qubits"][4][5]["value"] = 1.5;
    CHECK(error_of(p) == "props.json: qubits[4][5].value: 1.5 is outside [0, 1]");
    p = props;
    p["gates"][20]["qubits"] = {4, 5};
    CHECK(error_of(p) == "props.json: gates[20].qubits[1]: qubit 5 is not on the device (5 qubits)");
    p = props;
    p["qubits"].erase(4);
    CHECK(error_of(p) == "props.json: qubits: 4 qubits, but conf.json: n_qubits is 5");
    p = props;
    p.erase("gates");
    CHECK(error_of(p) == "props.json: gates: missing: the per-gate properties");
    CHECK(contains(error_of(props, "lagos"), "props.json: qubits: 5 qubits, but conf.json: n_qubits is 7"));
    CHECK_THROWS_AS(noise::from_ibm_backend_files(ibm_path("props_manila.json"), ibm_path("no_such_conf.json")),
                    noise::NoiseModelError);
    try {
      noise::from_ibm_backend("{}", "{\"n_qubits\": 5, \"coupling_map\": [[0, 7]]}", "p.json", "c.json");
      FAIL("no error");
    } catch (const noise::NoiseModelError& e) {
      CHECK(std::string(e.what()) == "c.json: coupling_map[0][1]: qubit 7 is not on the device (n_qubits is 5)");
    }
    CHECK(contains(error_of(json::parse("[1]")), "props.json"));
  }
  SECTION("T2 above 2 T1 is clipped to 2 T1 with a warning") {
    json p = props;
    const double t1 = entry(p["qubits"][0], "T1")["value"];
    p["qubits"][0][1]["value"] = 3 * t1;
    std::vector<std::string> warnings;
    const noise::NoiseModel clipped = model_of(p, "manila", &warnings);
    REQUIRE(warnings.size() == 1);
    CHECK(contains(warnings[0], "props.json: qubits[0][1]: T2 = "));
    CHECK(contains(warnings[0], "clipped to 2 T1"));
    const auto placed = clipped.channels_after("sx", {0});
    REQUIRE(placed.size() == 2);
    json two = p;
    two["qubits"][0][1]["value"] = 2 * t1;
    CHECK(ref::max_abs_diff(total_superop(placed, {0}), total_superop(model_of(two, "manila").channels_after("sx", {0}), {0})) == 0.0);
    for (const noise::GateNoiseRule& r : clipped.gate_noise) {
      if (r.channel.type == "thermal_relaxation") CHECK(r.channel.params.at("t2") <= 2 * r.channel.params.at("t1"));
    }
  }
}

TEST_CASE("IBM devices: fitted to a smaller register", "[noise][ibm]") {
  const noise::NoiseModel m = noise::from_ibm_backend_files(ibm_path("props_manila.json"), ibm_path("conf_manila.json"));
  // Register qubits 0, 1, 2 are device qubits 2, 3, 4.
  std::vector<std::string> dropped;
  const noise::NoiseModel f = m.fitted({2, 3, 4}, &dropped);
  CHECK(dropped.empty());
  REQUIRE(f.device.has_value());
  CHECK(f.device->num_qubits == 3);
  CHECK(f.device->name == "ibmq_manila");
  CHECK(f.device->coupling_map == std::vector<std::pair<int, int>>{{0, 1}, {1, 0}, {1, 2}, {2, 1}});
  for (const auto& [gate, reg, dev] : std::vector<std::tuple<std::string, std::vector<int>, std::vector<int>>>{
           {"sx", {0}, {2}}, {"x", {2}, {4}}, {"cx", {0, 1}, {2, 3}}, {"cx", {2, 1}, {4, 3}}}) {
    CAPTURE(gate, reg);
    const auto a = f.channels_after(gate, reg), b = m.channels_after(gate, dev);
    REQUIRE(a.size() == b.size());
    REQUIRE(!a.empty());
    CHECK(ref::max_abs_diff(total_superop(a, reg), total_superop(b, dev)) == 0.0);
  }
  for (const noise::GateNoiseRule& r : f.gate_noise) {
    for (const auto& t : r.gate_qubits)
      for (int q : t) CHECK(q < 3);
  }
  REQUIRE(f.readout.size() == 3);
  CHECK(f.readout[0].qubits == std::vector<int>{0});
  CHECK(f.readout[0].p1_given_0 == m.readout[2].p1_given_0);
  CHECK(f.readout[2].p0_given_1 == m.readout[4].p0_given_1);
  // Device qubit 5 does not exist on manila.
  CHECK_THROWS_AS(m.fitted({0, 5}), noise::NoiseModelError);
}

TEST_CASE("IBM devices: every value replaced by hostile ones gives a model or a NoiseModelError", "[noise][ibm][hardening]") {
  // Each node of manila's props (of two qubits and of one instance of each gate; dates are never
  // read) and of the configuration keys that are read becomes each hostile value in turn; the answer
  // is a model or a NoiseModelError naming the file, never another exception.
  const std::vector<json> hostile = {nullptr, "", -1, 0, 1e300, json::array(), json::object(), "fortnights"};
  const json props = props_of("manila");
  const json conf = json::parse(conf_text("manila"));
  auto pointers_of = [](const json& doc, const std::vector<std::string>& prefixes) {
    std::vector<json::json_pointer> pointers;
    const json flat = doc.flatten();
    for (auto it = flat.begin(); it != flat.end(); ++it) {
      const std::string key = it.key();
      if (key.size() >= 5 && key.compare(key.size() - 5, 5, "/date") == 0) continue;
      if (std::none_of(prefixes.begin(), prefixes.end(), [&](const std::string& p) { return key.rfind(p, 0) == 0; })) {
        continue;
      }
      for (auto p = json::json_pointer(key); !p.empty(); p = p.parent_pointer()) {
        if (std::find(pointers.begin(), pointers.end(), p) == pointers.end()) pointers.push_back(p);
      }
    }
    return pointers;
  };
  std::size_t runs = 0, models = 0;
  for (int which = 0; which < 2; ++which) {
    const json& original = which == 0 ? props : conf;
    const auto pointers = pointers_of(
        original, which == 0 ? std::vector<std::string>{"/qubits/0/", "/qubits/4/", "/gates/0/", "/gates/5/", "/gates/10/",
                                                        "/gates/15/", "/gates/20/", "/gates/28/"}
                             : std::vector<std::string>{"/backend_name", "/n_qubits", "/basis_gates", "/coupling_map"});
    for (const auto& pointer : pointers) {
      for (const json& value : hostile) {
        json doc = original;
        doc[pointer] = value;
        const std::string p = which == 0 ? doc.dump() : props.dump(), c = which == 0 ? conf.dump() : doc.dump();
        try {
          noise::from_ibm_backend(p, c, "props.json", "conf.json");
          ++models;
        } catch (const noise::NoiseModelError& e) {
          const std::string what = e.what();
          CAPTURE(pointer.to_string(), value.dump(), what);
          CHECK((what.rfind("props.json: ", 0) == 0 || what.rfind("conf.json: ", 0) == 0));
          CHECK_FALSE(contains(what, "[json.exception"));
        } catch (const std::exception& e) {
          CAPTURE(pointer.to_string(), value.dump());
          FAIL(std::string("not a NoiseModelError: ") + e.what());
        }
        ++runs;
      }
    }
  }
  CHECK(runs > 1000);
  CHECK(models > 0);  // e.g. a frequency or an unread key replaced
}
