// Qiskit's BackendProperties and BackendConfiguration JSON -> a noise model (ibm_backend.hpp).
#include "kraus/noise/ibm_backend.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>

#include "json_matrix.hpp"
#include "kraus/noise/text.hpp"

namespace kraus::noise {
namespace {

using detail::JsonReader;

// Time units and their length in nanoseconds, as Qiskit Aer converts them (µ as the micro sign
// U+00B5 or the Greek letter U+03BC).
const std::map<std::string, double>& nanoseconds_per_unit() {
  static const std::map<std::string, double> units = {
      {"s", 1e9}, {"ms", 1e6}, {"us", 1e3}, {"\u00b5s", 1e3}, {"\u03bcs", 1e3}, {"ns", 1.0}};
  return units;
}

// Checked reads of the {"name", "unit", "value"} entries of a properties file.
struct PropsReader : JsonReader {
  // The index of the first entry of `list` named `name` (Aer takes the first), or -1.
  long find(const json& list, const std::string& path, const char* name) const {
    for (std::size_t i = 0; i < list.size(); ++i) {
      const json& e = object(list[i], element(path, i));
      const auto n = e.find("name");
      if (n != e.end() && n->is_string() && n->get<std::string>() == name) return static_cast<long>(i);
    }
    return -1;
  }
  double value(const json& entry, const std::string& path) const {
    return number(required(entry, path, "value", "the value"), member(path, "value"));
  }
  std::string unit(const json& entry, const std::string& path) const {
    return string(required(entry, path, "unit", "the value's unit"), member(path, "unit"), "a unit");
  }
  // A duration in nanoseconds, converted from the entry's unit.
  double nanoseconds(const json& entry, const std::string& path) const {
    const std::string u = unit(entry, path);
    const auto it = nanoseconds_per_unit().find(u);
    if (it == nanoseconds_per_unit().end()) {
      fail(member(path, "unit"), "unknown time unit '" + printable(u, kMaxQuotedBytes) + "' (s, ms, us, \u00b5s or ns)");
    }
    const double ns = value(entry, path) * it->second;
    if (!std::isfinite(ns)) fail(member(path, "value"), "too large (beyond 1.8e308 ns)");
    return ns;
  }
  // A unitless number (unit "").
  double unitless(const json& entry, const std::string& path) const {
    const std::string u = unit(entry, path);
    if (!u.empty()) fail(member(path, "unit"), "expected \"\" (a unitless number), found '" + printable(u, kMaxQuotedBytes) + "'");
    return value(entry, path);
  }
  double probability(const json& entry, const std::string& path) const {
    const double v = unitless(entry, path);
    if (!(v >= 0 && v <= 1)) fail(member(path, "value"), short_number(v) + " is outside [0, 1]");
    return v;
  }
};

// The configuration's device block.
DeviceInfo read_configuration(std::string_view text, const std::string& source) {
  const JsonReader r{source};
  const json j = detail::parse_json(text, source);
  r.object(j, "");
  DeviceInfo d;
  if (j.contains("backend_name")) d.name = r.string(j["backend_name"], "backend_name", "the backend name");
  d.num_qubits = static_cast<int>(
      r.integer(r.required(j, "", "n_qubits", "the number of qubits"), "n_qubits", 1, kMaxQubitIndex + 1));
  if (j.contains("basis_gates")) {
    const json& b = r.array(j["basis_gates"], "basis_gates", "a list of gate names");
    for (std::size_t i = 0; i < b.size(); ++i) d.basis_gates.push_back(r.gate_name(b[i], JsonReader::element("basis_gates", i)));
  }
  if (j.contains("coupling_map") && !j["coupling_map"].is_null()) {
    const json& c = r.array(j["coupling_map"], "coupling_map", "a list of qubit pairs (or null)");
    for (std::size_t i = 0; i < c.size(); ++i) {
      const std::string ep = JsonReader::element("coupling_map", i);
      if (!c[i].is_array() || c[i].size() != 2) r.fail(ep, "expected a pair of qubits [a, b]");
      int pair[2];
      for (std::size_t e = 0; e < 2; ++e) {
        pair[e] = r.index(c[i][e], JsonReader::element(ep, e));
        if (pair[e] >= d.num_qubits) {
          r.fail(JsonReader::element(ep, e), "qubit " + std::to_string(pair[e]) + " is not on the device (n_qubits is " +
                                                 std::to_string(d.num_qubits) + ")");
        }
      }
      if (pair[0] == pair[1]) r.fail(ep, "an edge joins two different qubits");
      d.coupling_map.emplace_back(pair[0], pair[1]);
    }
  }
  return d;
}

}  // namespace

NoiseModel from_ibm_backend(std::string_view props_json, std::string_view conf_json, const std::string& props_source,
                            const std::string& conf_source, std::vector<std::string>* warnings) {
  const DeviceInfo device = read_configuration(conf_json, conf_source);
  const PropsReader r{{props_source}};
  const json j = detail::parse_json(props_json, props_source);
  r.object(j, "");
  auto warn = [&](const std::string& path, const std::string& message) {
    if (warnings != nullptr) warnings->push_back(props_source + ": " + path + ": " + message);
  };

  const json& qs = r.array(r.required(j, "", "qubits", "the per-qubit properties"), "qubits", "a list of per-qubit lists");
  if (qs.size() != static_cast<std::size_t>(device.num_qubits)) {
    r.fail("qubits", std::to_string(qs.size()) + " qubits, but " + conf_source + ": n_qubits is " +
                         std::to_string(device.num_qubits));
  }
  std::vector<QubitCalibration> qubits;
  for (std::size_t q = 0; q < qs.size(); ++q) {
    const std::string qp = JsonReader::element("qubits", q);
    const json& list = r.array(qs[q], qp, "a list of {name, unit, value} entries");
    QubitCalibration c;
    double* times[2] = {&c.t1, &c.t2};
    std::string time_paths[2];
    for (int t = 0; t < 2; ++t) {
      const char* name = t == 0 ? "T1" : "T2";
      const long i = r.find(list, qp, name);
      if (i < 0) r.fail(qp, std::string("missing: ") + name + " (an entry named \"" + name + "\")");
      time_paths[t] = JsonReader::element(qp, static_cast<std::size_t>(i));
      *times[t] = r.nanoseconds(list[static_cast<std::size_t>(i)], time_paths[t]);
      if (!(*times[t] > 0)) r.fail(JsonReader::member(time_paths[t], "value"), std::string(name) + " must be > 0");
    }
    if (c.t2 > 2 * c.t1) {
      warn(time_paths[1], "T2 = " + short_number(c.t2) + " ns exceeds 2 T1 = " + short_number(2 * c.t1) +
                              " ns; clipped to 2 T1, as Qiskit Aer does");
      c.t2 = 2 * c.t1;
    }
    const long m1p0 = r.find(list, qp, "prob_meas1_prep0"), m0p1 = r.find(list, qp, "prob_meas0_prep1");
    const long symmetric = r.find(list, qp, "readout_error");
    auto probability = [&](long i) {
      return r.probability(list[static_cast<std::size_t>(i)], JsonReader::element(qp, static_cast<std::size_t>(i)));
    };
    if (m1p0 >= 0 && m0p1 >= 0) {
      c.p1_given_0 = probability(m1p0);
      c.p0_given_1 = probability(m0p1);
    } else if (symmetric >= 0) {
      c.p1_given_0 = c.p0_given_1 = probability(symmetric);
    }
    qubits.push_back(c);
  }

  std::vector<GateCalibration> gates;
  const json& gs = r.array(r.required(j, "", "gates", "the per-gate properties"), "gates", "a list of gates");
  for (std::size_t g = 0; g < gs.size(); ++g) {
    const std::string gp = JsonReader::element("gates", g);
    const json& entry = r.object(gs[g], gp);
    GateCalibration c;
    c.path = JsonReader::member(gp, "gate");
    c.gate = r.gate_name(r.required(entry, gp, "gate", "the gate name"), c.path);
    c.qubits = r.qubit_list(r.required(entry, gp, "qubits", "the gate's qubits"), JsonReader::member(gp, "qubits"));
    for (std::size_t i = 0; i < c.qubits.size(); ++i) {
      if (c.qubits[i] >= device.num_qubits) {
        r.fail(JsonReader::element(JsonReader::member(gp, "qubits"), i),
               "qubit " + std::to_string(c.qubits[i]) + " is not on the device (" + std::to_string(device.num_qubits) + " qubits)");
      }
    }
    if (c.gate == "reset" || c.gate == "measure") continue;  // kraus applies no noise rule to these
    if (c.qubits.empty() || c.qubits.size() > 3) r.fail(JsonReader::member(gp, "qubits"), "calibrated gates act on 1 to 3 qubits");
    const std::string pp = JsonReader::member(gp, "parameters");
    const json& params = r.array(r.required(entry, gp, "parameters", "the gate's properties"), pp, "a list of {name, unit, value} entries");
    const long error = r.find(params, pp, "gate_error"), length = r.find(params, pp, "gate_length");
    if (error >= 0) {
      const std::string ep = JsonReader::element(pp, static_cast<std::size_t>(error));
      c.error = r.unitless(params[static_cast<std::size_t>(error)], ep);
      if (!(c.error >= 0)) r.fail(JsonReader::member(ep, "value"), "gate_error " + short_number(c.error) + " is negative");
      const double d = static_cast<double>(1 << c.qubits.size()), largest = d / (d + 1);
      if (c.error > largest) {
        warn(JsonReader::member(ep, "value"), "gate_error " + short_number(c.error) + " exceeds the largest average infidelity of a " +
                                                  std::to_string(c.qubits.size()) + "-qubit channel, " + short_number(largest) +
                                                  "; clipped, as Qiskit Aer does");
        c.error = largest;
      }
    }
    if (length >= 0) {
      const std::string lp = JsonReader::element(pp, static_cast<std::size_t>(length));
      c.time = r.nanoseconds(params[static_cast<std::size_t>(length)], lp);
      if (!(c.time >= 0)) r.fail(JsonReader::member(lp, "value"), "gate_length " + short_number(c.time) + " ns is negative");
    }
    gates.push_back(c);
  }
  NoiseModel model = NoiseModel::from_calibration(qubits, gates);
  model.device = device;
  return model;
}

NoiseModel from_ibm_backend_files(const std::string& props_path, const std::string& conf_path,
                                  std::vector<std::string>* warnings) {
  return from_ibm_backend(detail::read_bounded_file(props_path, "device file"),
                          detail::read_bounded_file(conf_path, "device file"), props_path, conf_path, warnings);
}

}  // namespace kraus::noise
